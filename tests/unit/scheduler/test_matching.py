"""The pure matcher: hard rules never broken, the objective's order, and the reasons given."""

from __future__ import annotations

from dataclasses import replace
from datetime import date, timedelta
from typing import Any

import pytest

from bench.workload import generate, violations
from scheduler.matching import (
    Booking,
    CaseRequest,
    MatchPolicy,
    MatchResult,
    MediatorProfile,
    Party,
    SolveOptions,
    VenueProfile,
    match,
)
from tests.support.matching import NOW, POLICY, at, case, daily, mediator, venue


def run(cases: list[CaseRequest], mediators: list[MediatorProfile],
        venues: list[VenueProfile], policy: MatchPolicy = POLICY,
        options: SolveOptions | None = None) -> MatchResult:
    result = match(cases, mediators, venues, now=NOW, policy=policy, options=options)
    assert violations(cases, mediators, venues, policy, NOW, result.bookings) == []
    assert {b.case_id for b in result.bookings} | set(result.unbooked) == {
        c.case_id for c in cases}
    assert not {b.case_id for b in result.bookings} & set(result.unbooked)
    return result


def only(result: MatchResult) -> Booking:
    assert len(result.bookings) == 1, result.unbooked
    return result.bookings[0]


LATER = daily(20, 30, 13, 23)


@pytest.mark.parametrize(
    ("name", "bad"),
    [
        ("general training short", {"general_hours": 39.5}),
        ("specialised training short", {"specialised_hours": 24}),
        ("training expired", {"training_expires_on": date(2026, 8, 31)}),
        ("training expires before the session", {"training_expires_on": date(2026, 9, 1)}),
        ("former police", {"former_police": True}),
        ("knows the officer", {"conflict_person_ids": frozenset({"O-K1"})}),
        ("knows the complainant", {"conflict_person_ids": frozenset({"C-K1"})}),
        ("same officer 3 months ago", {"recent_officers": (("O-K1", date(2026, 6, 1)),)}),
        ("does not speak Polish", {"languages": frozenset({"en", "es"})}),
        ("takes no sessions", {"max_sessions_per_week": 0}),
    ],
)
def test_ineligible_mediator_is_never_booked(name: str, bad: dict[str, Any]) -> None:
    k = case(languages=frozenset({"pl", "en"}))
    good = mediator("GOOD", languages=frozenset({"pl", "en"}), available=LATER)
    worse = mediator("BAD", **{"languages": frozenset({"pl", "en"}), **bad})
    booked = only(run([k], [worse, good], [venue()]))
    assert booked.mediator_ids == ("GOOD",), name
    assert booked.start >= at(20, 13)
    alone = run([k], [worse], [venue()])
    assert alone.bookings == [] and "K1" in alone.unbooked


def test_same_officer_long_ago_is_allowed() -> None:
    m = mediator(recent_officers=(("O-K1", date(2026, 1, 2)),))
    assert only(run([case()], [m], [venue()])).mediator_ids == ("M1",)


def test_the_session_language_decides_the_mediator_and_an_interpreter_takes_a_seat() -> None:
    english = case(languages=frozenset({"en"}), interpreter=True)
    assert only(run([english], [mediator()], [venue()])).mediator_ids == ("M1",)
    spanish = case(languages=frozenset({"es"}), interpreter=True)
    speaker = mediator("ES", languages=frozenset({"es", "en"}), available=LATER)
    assert only(run([spanish], [mediator(), speaker], [venue()])).mediator_ids == ("ES",)
    assert run([spanish], [mediator()], [venue()]).unbooked["K1"] == \
        "no qualified Spanish-speaking mediator"
    # two parties, the interpreter and the mediator: 4 seats
    assert run([english], [mediator()], [venue(capacity=3)]).bookings == []
    assert only(run([english], [mediator()], [venue(capacity=4)])).venue_id == "V1"


def test_a_case_needing_two_mediators_is_booked_as_a_pair_under_a_single_policy() -> None:
    k = case(co_mediation=True)
    booked = only(run([k], [mediator("A"), mediator("B"), mediator("C")], [venue()]))
    assert len(set(booked.mediator_ids)) == 2
    single = only(run([case("K2")], [mediator("A"), mediator("B")], [venue()]))
    assert len(single.mediator_ids) == 1
    alone = run([k], [mediator("A")], [venue()])
    assert alone.bookings == [] and "pair of mediators" in alone.unbooked["K1"]


@pytest.mark.parametrize(
    ("session", "languages", "booked"),
    [
        ({"pl", "en"}, [{"pl"}, {"en"}], True),  # each speaks one, together both
        ({"pl"}, [{"pl", "en"}, {"en"}], False),  # the second speaks none of the session's
        ({"pl", "en"}, [{"en"}, {"en"}], False),  # nobody speaks Polish
        ({"pl", "en"}, [{"pl"}, {"pl"}], False),  # nobody speaks English
    ],
)
def test_a_pair_covers_the_session_language(session: set[str], languages: list[set[str]],
                                             booked: bool) -> None:
    k = case(co_mediation=True, languages=frozenset(session))
    mediators = [mediator(f"M{i}", languages=frozenset(lang)) for i, lang in enumerate(languages)]
    result = run([k], mediators, [venue()])
    assert bool(result.bookings) is booked, result.unbooked
    if not booked:
        assert "pair of mediators" in result.unbooked["K1"]


def test_a_venue_lacking_a_needed_access_feature_is_not_chosen() -> None:
    k = case(access_needs=frozenset({"hearing_loop"}))
    near = venue("NEAR")
    far = venue("FAR", location=(41.92, -87.63), features=frozenset({"hearing_loop"}))
    assert only(run([k], [mediator()], [near, far])).venue_id == "FAR"
    refused = run([k], [mediator()], [near])
    assert refused.bookings == []
    assert refused.unbooked["K1"].startswith("no neutral venue with hearing loop")
    # step-free access is what ``accessible`` offers
    stairs = venue("STAIRS", accessible=False, features=frozenset({"hearing_loop"}))
    both = case(access_needs=frozenset({"hearing_loop", "step_free"}))
    assert run([both], [mediator()], [stairs]).bookings == []
    assert only(run([both], [mediator()], [stairs, far])).venue_id == "FAR"


@pytest.mark.parametrize(
    ("name", "bad", "case_kw"),
    [
        ("not neutral", {"neutral": False}, {}),
        ("police facility", {"police_facility": True}, {}),
        ("not accessible", {"accessible": False}, {"accessibility": True}),
        ("video not accepted", {"kind": "video", "location": None}, {}),
        ("too small", {"capacity": 2}, {}),
        ("too far", {"location": (42.3, -87.63)}, {}),
    ],
)
def test_unsuitable_venue_is_never_booked(name: str, bad: dict[str, Any],
                                          case_kw: dict[str, Any]) -> None:
    policy = replace(POLICY, max_venue_km=10.0)
    k = case(**case_kw)
    booked = only(run([k], [mediator()], [venue("BAD", **bad), venue("GOOD", opening=LATER)],
                      policy))
    assert booked.venue_id == "GOOD", name
    assert run([k], [mediator()], [venue("BAD", **bad)], policy).bookings == []


def test_video_when_the_parties_accept_it() -> None:
    video = venue("VIDEO", kind="video", location=None)
    k = case(accepts_video=True)
    assert only(run([k], [mediator()], [video])).venue_id == "VIDEO"


def test_nearest_venue_wins() -> None:
    far = venue("FAR", location=(41.95, -87.63))
    near = venue("NEAR", location=(41.885, -87.63))
    assert only(run([case()], [mediator()], [far, near])).venue_id == "NEAR"


def test_minimum_notice_deadline_and_holidays() -> None:
    windows = daily(1, 30, 13, 16)
    policy = replace(POLICY, min_notice=timedelta(hours=72), holidays=frozenset({date(2026, 9, 4),
                                                                                  date(2026, 9, 7)}))
    booked = only(run([case(windows=windows)], [mediator()], [venue()], policy))
    assert booked.start == at(5, 13)  # 4th is a holiday, before the 4th is inside the notice
    k = case(windows=windows, deadline=at(4, 16))
    result = run([k], [mediator()], [venue()], policy)
    assert result.unbooked["K1"].startswith("the parties have no common 90-minute window")


def test_buffer_between_sessions_of_one_mediator() -> None:
    windows = ((at(3, 13), at(3, 17)),)
    result = run([case("K1", windows), case("K2", windows)], [mediator()], [venue(rooms=2)])
    first, second = result.bookings
    assert second.start - first.end >= POLICY.buffer
    assert second.start == at(3, 15)


def test_mediator_busy_time_and_weekly_cap_are_respected() -> None:
    m = mediator(busy=((at(3, 14), at(3, 15)),), max_sessions_per_week=1,
                 sessions_by_week={(2026, 37): 1})
    windows = daily(3, 9, 13, 18)  # Thu 3rd .. Wed 9th; ISO week 37 starts Mon 7th
    booked = only(run([case(windows=windows)], [m], [venue()]))
    assert booked.start == at(3, 15, 30)  # busy until 15:00 plus a 30-minute buffer
    k2 = case("K2", windows=windows)
    result = run([case(windows=windows), k2], [m], [venue(rooms=2)])
    assert len(result.bookings) == 1  # week 36 cap 1 taken, week 37 full already
    assert "at their weekly limit" in result.unbooked["K2"]


def test_existing_venue_bookings_take_a_room() -> None:
    v = venue(booked=((at(3, 13), at(3, 15)),))
    windows = ((at(3, 13), at(3, 18)),)
    assert only(run([case(windows=windows)], [mediator()], [v])).start == at(3, 15, 30)


def test_repair_books_what_greedy_cannot() -> None:
    # K1 (earlier deadline) can meet at 13:00 or 16:00, K2 only at 13:00; one mediator.
    both = ((at(3, 13), at(3, 14, 30)), (at(3, 16), at(3, 17, 30)))
    k1 = case("K1", both, deadline=at(10, 0))
    k2 = case("K2", ((at(3, 13), at(3, 14, 30)),), deadline=at(20, 0))
    greedy = SolveOptions(repair_depth=0, compact=False, rotate=False, target=False,
                          portfolio=False)
    assert len(run([k1, k2], [mediator()], [venue(rooms=2)], options=greedy).bookings) == 1
    result = run([k1, k2], [mediator()], [venue(rooms=2)])
    assert {b.case_id: b.start for b in result.bookings} == {"K1": at(3, 16), "K2": at(3, 13)}


def test_repair_follows_a_chain_of_two_moves() -> None:
    # K3 needs slot A; K2 holds A but can go to B; K1 holds B but can go to C.
    a, b, c = (at(3, 13), at(3, 14, 30)), (at(3, 16), at(3, 17, 30)), (at(3, 19), at(3, 20, 30))
    k1 = case("K1", (b, c), deadline=at(5, 0))
    k2 = case("K2", (a, b), deadline=at(6, 0))
    k3 = case("K3", (a,), deadline=at(7, 0))
    result = run([k1, k2, k3], [mediator()], [venue(rooms=3)])
    assert len(result.bookings) == 3


def test_older_case_gets_the_earlier_session() -> None:
    windows = ((at(3, 13), at(3, 14, 30)), (at(4, 13), at(4, 14, 30)))
    young = case("YOUNG", windows, referred_at=NOW - timedelta(days=1))
    old = case("OLD", windows, referred_at=NOW - timedelta(days=30))
    result = run([young, old], [mediator()], [venue()])
    assert {b.case_id: b.start for b in result.bookings} == {"OLD": at(3, 13),
                                                            "YOUNG": at(4, 13)}


def test_rotation_spreads_load_on_a_symmetric_instance() -> None:
    mediators = [mediator(f"M{i}") for i in range(4)]
    cases = [case(f"K{i}", daily(3 + i, 3 + i, 13, 17)) for i in range(8)]
    result = run(cases, mediators, [venue(rooms=8)])
    load: dict[str, int] = {}
    for b in result.bookings:
        load[b.mediator_ids[0]] = load.get(b.mediator_ids[0], 0) + 1
    assert len(result.bookings) == 8
    assert sorted(load.values()) == [2, 2, 2, 2]


def test_a_case_that_can_be_on_time_is_not_pushed_past_its_target() -> None:
    # one mediator, two times; OLD is past its target already (and has the earlier deadline),
    # NEW can still meet its target on the 3rd, but not on the 10th
    windows = ((at(3, 13), at(3, 14, 30)), (at(10, 13), at(10, 14, 30)))
    old = case("OLD", windows, referred_at=NOW - timedelta(days=35), deadline=at(20, 0),
               target=NOW - timedelta(days=5))
    new = case("NEW", windows, referred_at=NOW - timedelta(days=26), deadline=at(25, 0),
               target=at(5, 0))
    result = run([old, new], [mediator()], [venue()])
    assert {b.case_id: b.start for b in result.bookings} == {"NEW": at(3, 13),
                                                            "OLD": at(10, 13)}
    # without targets the older referral keeps the earlier session
    plain = run([replace(old, target=None), replace(new, target=None)], [mediator()], [venue()])
    assert {b.case_id: b.start for b in plain.bookings} == {"OLD": at(3, 13), "NEW": at(10, 13)}


def test_the_load_follows_the_mediators_stated_capacity() -> None:
    # same hours, one takes 2 sessions a week and the other 6: the shares follow 2 : 6
    light, heavy = mediator("LIGHT", max_sessions_per_week=2), mediator("HEAVY",
                                                                        max_sessions_per_week=6)
    cases = [case(f"K{i}", daily(8 + i, 8 + i, 13, 17)) for i in range(4)]  # Tue-Fri, one week
    result = run(cases, [light, heavy], [venue(rooms=4)])
    load: dict[str, int] = {}
    for b in result.bookings:
        load[b.mediator_ids[0]] = load.get(b.mediator_ids[0], 0) + 1
    assert len(result.bookings) == 4 and load == {"LIGHT": 1, "HEAVY": 3}


def test_co_mediation_pairs_are_distinct_and_cover_the_language() -> None:
    policy = replace(POLICY, co_mediation=True)
    mediators = [mediator("EN1"), mediator("EN2"), mediator("PL", languages=frozenset({"pl", "en"}))]
    k = case(languages=frozenset({"pl", "en"}))
    booked = only(run([k], mediators, [venue()], policy))
    assert len(set(booked.mediator_ids)) == 2 and "PL" in booked.mediator_ids
    lone = run([k], [mediator("PL", languages=frozenset({"pl"})), mediator("PL2",
               languages=frozenset({"pl"}), conflict_person_ids=frozenset({"O-K1"}))],
               [venue()], policy)
    assert lone.bookings == []


SHORT = ((at(3, 13), at(3, 14, 30)),)


@pytest.mark.parametrize(
    ("name", "cases", "mediators", "venues", "expected"),
    [
        ("no speaker", [case(languages=frozenset({"pl", "en"}))], [mediator()], [venue()],
         "no qualified Polish-speaking mediator"),
        ("nobody qualified", [case()], [mediator(general_hours=10)], [venue()],
         "no mediator is qualified"),
        ("conflict", [case()], [mediator(conflict_person_ids=frozenset({"C-K1"}))], [venue()],
         "every qualified English-speaking mediator has a conflict of interest"),
        ("no venue", [case(accessibility=True)], [mediator()], [venue(accessible=False)],
         "no accessible neutral venue"),
        ("no common window", [CaseRequest(
            "K1", NOW, at(30, 0), (Party("O", "officer", daily(3, 29, 13, 15)),
                                   Party("C", "complainant", daily(3, 29, 16, 18))))],
         [mediator()], [venue()],
         "the parties have no common 90-minute window between 2026-09-02 08:00 and the "
         "deadline 2026-09-29"),
        ("mediator never free", [case(windows=daily(3, 29, 13, 15))],
         [mediator(available=daily(3, 29, 16, 20))], [venue()],
         "no qualified English-speaking mediator free in the parties' common windows "
         "before 2026-09-29"),
        ("venue closed", [case(windows=daily(3, 29, 13, 15))], [mediator()],
         [venue(opening=daily(3, 29, 16, 20))],
         "no neutral venue open when the parties and a qualified English-speaking mediator "
         "are free before 2026-09-29"),
        ("mediator taken", [case("K0", SHORT, referred_at=NOW - timedelta(days=20)),
                            case("K1", SHORT)], [mediator()], [venue(rooms=2)],
         "every qualified English-speaking mediator free in the parties' common windows "
         "before 2026-09-29 is already booked or at their weekly limit"),
        ("room taken", [case("K0", SHORT, referred_at=NOW - timedelta(days=20)),
                        case("K1", SHORT)], [mediator("A"), mediator("B")], [venue()],
         "no venue room is left when the parties and a qualified English-speaking mediator "
         "are free before 2026-09-29"),
        ("party taken", [case("K0", SHORT, officer="O", referred_at=NOW - timedelta(days=20)),
                         case("K1", SHORT, officer="O")], [mediator("A"), mediator("B")],
         [venue(rooms=2)], "a party is already booked in another case at every common time"),
    ],
)
def test_reasons(name: str, cases: list[CaseRequest], mediators: list[MediatorProfile],
                 venues: list[VenueProfile], expected: str) -> None:
    result = run(cases, mediators, venues)
    assert result.unbooked["K1"].startswith(expected), (name, result.unbooked["K1"])


@pytest.mark.parametrize("seed", [1, 2, 3, 4])
@pytest.mark.parametrize("co_mediation", [False, True])
def test_random_workloads_never_break_a_hard_rule(seed: int, co_mediation: bool) -> None:
    w = generate(seed, n_cases=150, n_mediators=25, n_venues=6, business_days=15)
    policy = replace(w.policy, co_mediation=co_mediation)
    result = match(w.cases, w.mediators, w.venues, now=w.now, policy=policy)
    assert violations(w.cases, w.mediators, w.venues, policy, w.now, result.bookings) == []
    assert len(result.bookings) + len(result.unbooked) == len(w.cases)
    assert all(result.unbooked.values())
    baseline = match(w.cases, w.mediators, w.venues, now=w.now, policy=policy,
                     options=SolveOptions(order="fifo", fair=False, repair_depth=0,
                                          target=False, portfolio=False))
    assert len(result.bookings) >= len(baseline.bookings)


def test_match_is_pure_and_deterministic() -> None:
    w = generate(7, n_cases=60, n_mediators=12, n_venues=5, business_days=10)
    first = match(w.cases, w.mediators, w.venues, now=w.now, policy=w.policy)
    again = match(w.cases, w.mediators, w.venues, now=w.now, policy=w.policy)
    assert first == again


def test_naive_datetimes_are_refused() -> None:
    with pytest.raises(ValueError, match="aware"):
        match([case()], [mediator()], [venue()], now=NOW.replace(tzinfo=None))
