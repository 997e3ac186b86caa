"""A party changes their own session from their booking link: moves it to a time the matcher
offers (once, however often it is tapped and on however many phones), is told kindly when the
policy's limit is reached or no time fits, withdraws after a plain confirmation step, and sees
the video link that only the session's people see. SQLite and PostgreSQL."""

from __future__ import annotations

import html
import re
import threading
from dataclasses import replace
from datetime import datetime, timedelta
from typing import Any

import pytest
from sqlalchemy import func, select
from sqlalchemy.orm import Session, sessionmaker

from cases.clock import FixedClock
from cases.database import transaction
from cases.models import AuditEvent, MediationSession, Notification, Venue
from cases.policy import Policy, load_policy
from notifiers.compose.terms import zone_name
from tests.support.api import Api, link, mediator, scheduling_case, start_in, venue
from tests.support.staff import sign_in
from tests.support.web import SECRET, case_body
from web.pages.i18n import LANGUAGES
from web.pages.party_changes import form_token

OFFER = re.compile(
    r'<form method="post" action="([^"]+)" class="answer">\s*'
    r'<input type="hidden" name="option" value="([^"]+)">\s*'
    r'<input type="hidden" name="sequence" value="(\d+)">\s*'
    r'<input type="hidden" name="csrf_token" value="([^"]+)">\s*'
    r"<button type=\"submit\">([^<]+)</button>")
WEDNESDAY_EVENING = {"windows": [{"weekday": 2, "start": "17:00", "end": "18:30"}]}


@pytest.fixture
def policy() -> Policy:
    """One move allowed, and bookings within 10 days (so a week's windows can leave no other
    time)."""
    return replace(load_policy(), max_reschedules=1, booking_limit=timedelta(days=10))


def offers(page: str) -> list[dict[str, str]]:
    return [{"action": html.unescape(a), "option": html.unescape(o), "sequence": s,
             "csrf_token": c, "label": html.unescape(b).strip()}
            for a, o, s, c, b in OFFER.findall(page)]


def post_offer(api: Api, offer: dict[str, str]) -> Any:
    return api.client.post(offer["action"], data={k: offer[k] for k in
                                                  ("option", "sequence", "csrf_token")},
                           follow_redirects=False)


def post_withdraw(api: Api, path: str, csrf: str) -> Any:
    return api.client.post(f"{path}/withdraw", data={"csrf_token": csrf}, follow_redirects=False)


def booked(api: Api, clock: FixedClock, windows: dict[str, Any] | None = None,
           **venue_changes: Any) -> tuple[dict[str, Any], dict[str, Any], dict[str, Any]]:
    video = {"accepts_video": True} if venue_changes.get("kind") == "video" else {}
    case = scheduling_case(api, windows, **video)
    m, v = mediator(api), venue(api, **venue_changes)
    row = api.post("/api/sessions", json={"case_id": case["id"], "mediator_id": m["id"],
                                          "venue_id": v["id"], "starts_at": start_in(clock)})
    assert row.status_code == 201, row.text
    return case, m, row.json()


def notices(factory: sessionmaker[Session], case_id: int, kind: str) -> list[Notification]:
    with transaction(factory) as s:
        return list(s.scalars(select(Notification).where(Notification.case_id == case_id,
                                                         Notification.kind == kind)))


def audits(factory: sessionmaker[Session], case_id: int, action: str) -> list[AuditEvent]:
    with transaction(factory) as s:
        return list(s.scalars(select(AuditEvent).where(AuditEvent.case_id == case_id,
                                                       AuditEvent.action == action)))


def test_a_party_moves_their_session_to_an_offered_time(
        api: Api, clock: FixedClock, session_factory: sessionmaker[Session]) -> None:
    case, m, row = booked(api, clock)
    path = link(api, case, 0, "booking")
    page = api.client.get(path)
    assert '<html lang="es"' in page.text
    assert "hora de Chicago" in page.text and "America/Chicago" not in page.text
    choices = offers(page.text)
    assert len(choices) == 3 and all(c["label"].startswith("Cambiar al ") for c in choices)
    assert all(c["sequence"] == "0" for c in choices)
    first = choices[0]
    new_start = datetime.fromisoformat(first["option"].split("|")[0])
    assert new_start != datetime.fromisoformat(row["starts_at"])

    moved = post_offer(api, first)
    assert moved.status_code == 303 and "done=moved" in moved.headers["location"]
    after = api.client.get(moved.headers["location"])
    assert "Listo. Su sesión es ahora el " in after.text
    session = api.get(f"/api/sessions/{row['id']}").json()
    assert datetime.fromisoformat(session["starts_at"]) == new_start
    assert session["sequence"] == 1 and session["status"] == "booked"
    # everyone is told once, with the moved invite; the mover is the party, in the audit
    told = notices(session_factory, case["id"], "reschedule")
    recipients = {(n.party_id, n.mediator_id) for n in told}
    parties = {p["id"] for p in case["parties"]}
    assert {p for p, _ in recipients if p} == parties
    assert {mid for _, mid in recipients if mid} == {m["id"]}
    [event] = audits(session_factory, case["id"], "session.rescheduled")
    assert event.actor == f"party:{case['parties'][0]['id']}" and event.detail["sequence"] == 1
    # the reminders follow the session to its new time
    reminders = [n for n in notices(session_factory, case["id"], "reminder")
                 if n.status == "pending"]
    assert reminders and all(n.due_at < new_start for n in reminders)
    assert all(n.context.get("sequence", 1) == 1 for n in reminders
               if "sequence" in n.context)
    # the policy allows one move: the page now says so kindly and offers to ask staff
    assert offers(after.text) == []
    assert "ya se cambió tantas veces como permite el programa" in after.text
    assert "Pedir otro horario" in after.text


def test_a_second_tap_and_the_other_phone_change_nothing_more(
        api: Api, clock: FixedClock, session_factory: sessionmaker[Session]) -> None:
    case, _, row = booked(api, clock)
    mine = offers(api.client.get(link(api, case, 0, "booking")).text)
    theirs = offers(api.client.get(link(api, case, 1, "booking") + "?lang=en").text)
    assert post_offer(api, mine[0]).headers["location"].endswith("done=moved")
    again = post_offer(api, mine[0])  # the same button tapped twice
    assert again.headers["location"].endswith("done=moved")
    other = post_offer(api, theirs[1])  # the officer's page was drawn before the move
    assert other.headers["location"].endswith("done=move_changed")
    assert "Your session was changed a moment ago" in api.client.get(
        other.headers["location"]).text
    session = api.get(f"/api/sessions/{row['id']}").json()
    assert session["sequence"] == 1
    assert datetime.fromisoformat(session["starts_at"]) == datetime.fromisoformat(
        mine[0]["option"].split("|")[0])
    assert len(audits(session_factory, case["id"], "session.rescheduled")) == 1
    per_recipient = [(n.party_id, n.mediator_id, n.channel)
                     for n in notices(session_factory, case["id"], "reschedule")]
    assert len(per_recipient) == len(set(per_recipient))


def test_taps_at_the_same_moment_move_the_session_once(
        api: Api, clock: FixedClock, session_factory: sessionmaker[Session]) -> None:
    """Eight taps at once — four on the complainant's button, four on the officer's other
    time — end with one move: the database lock on the case orders them."""
    case, _, row = booked(api, clock)
    mine = offers(api.client.get(link(api, case, 0, "booking")).text)[0]
    theirs = offers(api.client.get(link(api, case, 1, "booking")).text)[1]
    start = threading.Barrier(8)
    results: list[str] = []

    def tap(offer: dict[str, str]) -> None:
        start.wait()
        results.append(post_offer(api, offer).headers["location"].rsplit("done=", 1)[1])

    threads = [threading.Thread(target=tap, args=(o,)) for o in [mine, theirs] * 4]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    session = api.get(f"/api/sessions/{row['id']}").json()
    assert session["sequence"] == 1
    starts = {datetime.fromisoformat(o["option"].split("|")[0]): o for o in (mine, theirs)}
    winner = starts[datetime.fromisoformat(session["starts_at"])]
    # the four taps on the winning button all read "moved"; the other four, "changed"
    assert results.count("moved") == 4 and results.count("move_changed") == 4, (winner, results)
    assert len(audits(session_factory, case["id"], "session.rescheduled")) == 1
    with transaction(session_factory) as s:
        active = s.scalar(select(func.count()).select_from(MediationSession).where(
            MediationSession.case_id == case["id"], MediationSession.status == "booked"))
    assert active == 1


def test_a_forged_or_stale_form_changes_nothing(api: Api, clock: FixedClock) -> None:
    case, _, row = booked(api, clock)
    path = link(api, case, 0, "booking")
    offer = offers(api.client.get(path).text)[0]
    forged = post_offer(api, offer | {"csrf_token": "0" * 40})
    assert forged.headers["location"].endswith("done=move_stale")
    other_time = offer | {"option": offer["option"].replace("T", "X", 1)}
    assert post_offer(api, other_time).headers["location"].endswith("done=move_stale")
    # a token for another link does not work on this one
    elsewhere = link(api, case, 1, "booking").rsplit("/", 1)[1]
    borrowed = form_token(SECRET, elsewhere, "move", 0, offer["option"])
    assert post_offer(api, offer | {"csrf_token": borrowed}).headers["location"].endswith(
        "done=move_stale")
    assert api.get(f"/api/sessions/{row['id']}").json()["sequence"] == 0


def test_at_the_limit_a_valid_form_is_refused_and_the_case_stays_booked(
        api: Api, clock: FixedClock) -> None:
    case, _, row = booked(api, clock)
    path = link(api, case, 0, "booking")
    first, second = offers(api.client.get(path).text)[:2]
    post_offer(api, first)
    # a form for the moved session, as if drawn again: the policy's one move is used up
    token = path.rsplit("/", 1)[1]
    late = second | {"sequence": "1",
                     "csrf_token": form_token(SECRET, token, "move", 1, second["option"])}
    assert post_offer(api, late).headers["location"].endswith("done=move_limit")
    assert api.get(f"/api/sessions/{row['id']}").json()["sequence"] == 1
    assert api.get(f"/api/cases/{case['id']}").json()["state"] == "booked"


def test_when_no_other_time_fits_the_page_says_so_and_offers_staff(
        api: Api, clock: FixedClock) -> None:
    case, _, _ = booked(api, clock, WEDNESDAY_EVENING)  # the only such evening before the limit
    page = api.client.get(link(api, case, 1, "booking"))
    assert offers(page.text) == []
    assert "We could not find another time that suits everyone right now" in page.text
    assert "Ask for a different time" in page.text


def test_a_party_withdraws_after_a_kind_confirmation(
        api: Api, clock: FixedClock, session_factory: sessionmaker[Session]) -> None:
    case, m, row = booked(api, clock)
    path = link(api, case, 0, "booking")
    page = api.client.get(path)
    assert "Retirarse de la mediación" in page.text
    confirm = api.client.get(f"{path}/withdraw")
    assert "es voluntario" in confirm.text and "no tiene ninguna penalidad" in confirm.text
    assert "sigue el proceso habitual" in confirm.text
    csrf = re.search(r'name="csrf_token" value="([^"]+)"', confirm.text)
    assert csrf is not None
    assert post_withdraw(api, path, "x" * 40).status_code == 303
    assert api.get(f"/api/cases/{case['id']}").json()["state"] == "booked"  # forged: nothing

    done = post_withdraw(api, path, csrf.group(1))
    assert done.headers["location"].endswith("done=withdrawn")
    assert "Usted se retiró de la mediación" in api.client.get(done.headers["location"]).text
    again = post_withdraw(api, path, csrf.group(1))
    assert again.headers["location"].endswith("done=withdrawn")
    body = api.get(f"/api/cases/{case['id']}").json()
    assert body["state"] == "returned" and body["outcome"] == "withdrawn"
    assert api.get(f"/api/sessions/{row['id']}").json()["status"] == "cancelled"
    officer = case["parties"][1]["id"]
    cancelled = notices(session_factory, case["id"], "cancellation")
    assert {n.party_id for n in cancelled if n.party_id} == {p["id"] for p in case["parties"]}
    assert [n.mediator_id for n in cancelled if n.mediator_id] == [m["id"]]
    returned = notices(session_factory, case["id"], "case_returned")
    assert {n.context["why"] for n in returned if n.party_id == officer} == {"withdrawn"}
    [event] = audits(session_factory, case["id"], "case.withdrawn")
    assert event.actor == f"party:{case['parties'][0]['id']}"
    # the officer's page says the session was cancelled, not that they withdrew
    theirs = api.client.get(link(api, case, 1, "booking"))
    assert "You have withdrawn" not in theirs.text and "cancelled" in theirs.text
    assert "Withdraw from mediation" not in theirs.text
    # staff see it on the case page, with who did it
    desk = sign_in(api.client, session_factory, clock)
    staff_page = desk.get(f"/cases/{case['id']}").text
    assert "case.withdrawn" in staff_page and "by the complainant, on their own page" in staff_page


def test_the_video_link_is_shown_only_to_the_sessions_people(
        api: Api, clock: FixedClock, session_factory: sessionmaker[Session]) -> None:
    url = "https://meet.example.org/cmp-room-7"
    case, m, row = booked(api, clock, kind="video", video_url=url, name="COPA video room",
                          address="")
    booking = api.client.get(link(api, case, 0, "booking")).text
    assert url in booking and "Por video" in booking
    for purpose in ("consent", "availability"):
        assert url not in api.client.get(link(api, case, 0, purpose)).text
    page = api.post(f"/api/mediators/{m['id']}/links").json()["page_url"]
    assert url in api.client.get(page.removeprefix("http://testserver")).text
    someone_else = mediator(api, full_name="Ana Ruiz", email="ana@example.org")
    theirs = api.post(f"/api/mediators/{someone_else['id']}/links").json()["page_url"]
    assert url not in api.client.get(theirs.removeprefix("http://testserver")).text
    # no link yet: the page says it will come before the session
    with transaction(session_factory) as s:
        v = s.get(Venue, row["venue_id"])
        assert v is not None
        v.video_url = None
    later = api.client.get(link(api, case, 1, "booking")).text
    assert "The link to the video meeting will be sent to you before the session." in later


@pytest.mark.parametrize("language", LANGUAGES)
def test_every_party_page_names_the_zone_as_a_person_does(api: Api, clock: FixedClock,
                                                          language: str) -> None:
    case, _, _ = booked(api, clock)
    for purpose, suffix in (("booking", ""), ("availability", ""), ("booking", "/withdraw")):
        page = api.client.get(link(api, case, 0, purpose) + suffix + f"?lang={language}")
        assert page.status_code == 200 and f'lang="{language}"' in page.text
        assert "America/Chicago" not in page.text, (purpose, suffix)
        if suffix != "/withdraw":
            assert html.escape(zone_name("America/Chicago", language)) in page.text


def test_times_are_shown_in_the_partys_own_zone(api: Api, clock: FixedClock) -> None:
    body = case_body()
    body["parties"][1]["time_zone"] = "America/New_York"
    case = scheduling_case(api, **{k: v for k, v in body.items() if k != "log_number"})
    m, v = mediator(api), venue(api)
    api.post("/api/sessions", json={"case_id": case["id"], "mediator_id": m["id"],
                                    "venue_id": v["id"], "starts_at": start_in(clock)})
    page = api.client.get(link(api, case, 1, "booking") + "?lang=en").text
    assert "Wednesday, December 2 at 6:00 PM EST" in page and "New York time" in page
    assert "Chicago time" not in page and "CST" not in page
    choices = offers(page)
    assert choices and all(" EST – " in o["label"] for o in choices)
