"""The simulation loop: one step is one simulated hour.

In each step the people's and staff's actions that fall due run at their own instants; then, at
the hour, faults may start, the scheduler's jobs run (consent expiry, line-type lookups,
reminder plans, the matcher every three hours, the daily digest, staff's morning sweep), the
outbox is dispatched through the real SDKs to the emulator, the provider's delivery reports come
back through the webhooks, the people plan what they will do about what reached them
(``sim.parties.react``), and every invariant is checked. Nothing sleeps; the clock only moves
when told.
"""

from __future__ import annotations

import heapq
import logging
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from time import monotonic
from typing import Any

from sqlalchemy import select

from cases.errors import DomainError
from cases.models import AvailabilityWindow, Case, CaseState, MediationSession, Party, SessionStatus
from scheduler import jobs
from sim import faults
from sim.invariants import all_invariants, messages_of
from sim.parties import react
from sim.population import BEHAVIOURS, build_directory
from sim.staff import STAFF_ACTIONS, plan_session, referral, staff_sweep
from sim.state import Event, FaultRates, Invariant, Rates, Result, Sim, Violation
from sim.world import Parts, World

log = logging.getLogger(__name__)
STEP = timedelta(hours=1)
#: actions after which the matcher has something new to look at
MATCH_AFTER = frozenset({"give_availability", "staff_cancel", "staff_reschedule", "staff_no_show",
                         "mediator_declines", "party_withdraws", "party_withdraws_online",
                         "party_moves"})


def new_sim(world: World, *, days: float, rates: Rates | None = None,
            fault_rates: FaultRates | None = None,
            invariants: list[Invariant] | None = None) -> Sim:
    """A run's state with every behaviour and invariant registered."""
    sim = Sim(world, days=days, rates=rates, fault_rates=fault_rates,
              handlers={**BEHAVIOURS, **STAFF_ACTIONS},
              invariants=invariants if invariants is not None else all_invariants())
    world.calendar_for = lambda m: faults.calendar_for(sim, m.id)
    for invariant in sim.invariants:
        capture = getattr(invariant, "capture", None)
        if capture is not None:
            logging.getLogger().addHandler(capture)
            if logging.getLogger().level > logging.INFO or logging.getLogger().level == 0:
                logging.getLogger().setLevel(logging.INFO)
    return sim


#: told after each simulated week and after each step that found a violation
Progress = Callable[[Sim, int], None]


def run(sim: Sim, until_step: int | None = None, progress: Progress | None = None) -> Result:
    world = sim.world
    build_directory(sim)
    end = sim.now() + timedelta(days=sim.days)
    per_hour = sim.rates.referrals_per_year / (365 * 24)
    next_referral = sim.now() + timedelta(hours=sim.rng.expovariate(per_hour))
    step = 0
    while sim.now() < end and (until_step is None or step <= until_step):
        sim.faults.step = step
        before = sim.now()
        step_end = before + STEP
        while next_referral <= step_end:
            sim.schedule(sim.business_time(next_referral), "referral")
            next_referral += timedelta(hours=sim.rng.expovariate(per_hour))
        while sim.events and sim.events[0].at <= step_end:
            event = heapq.heappop(sim.events)
            world.clock.set(max(event.at, sim.now()))
            _act(sim, event)
            sim.match_wanted = sim.match_wanted or event.kind in MATCH_AFTER
        world.clock.set(step_end)
        faults.count_dst(sim, before, step_end)
        faults.inject(sim)
        _jobs(sim, step)
        _dispatch(sim)
        _discover(sim)
        found = len(sim.result.violations)
        _check(sim, step)
        if progress is not None and (step % (7 * 24) == 0 or len(sim.result.violations) > found):
            progress(sim, step)
        step += 1
    sim.result.steps = step
    return sim.result


def _act(sim: Sim, event: Event) -> None:
    handler = referral if event.kind == "referral" else sim.handlers[event.kind]
    sim.result.actions[event.kind] += 1
    try:
        if event.kind == "referral":
            handler(sim)
        else:
            handler(sim, **event.data)
    except DomainError as exc:  # the world moved on (a case closed meanwhile): refused
        sim.result.refused[f"{event.kind}: {type(exc).__name__}"] += 1


def _jobs(sim: Sim, step: int) -> None:
    world, local = sim.world, sim.local(sim.now())
    sim.override("expire_consents", jobs.expire_consents)(world.factory, world.clock, world.deps)
    looked_up = jobs.check_phone_lines(world.factory, world.clock, world.deps)
    if looked_up is not None and looked_up.checked + looked_up.failed:
        note_landline_answers(sim)
    if step % 6 == 0:
        jobs.plan_reminders(world.factory, world.clock, world.deps)
    if _match_due(sim) and _waiting(sim):
        sim.last_match = sim.now()
        sim.match_wanted = False
        jobs.match_new_cases(world.factory, world.clock, world.deps)
        if sim.rng.random() < 0.02:  # a second scheduler, after a failover, runs it again
            jobs.match_new_cases(world.factory, world.clock, world.deps)
            sim.faults.count("two schedulers' match runs")
    if local.hour == 8:
        jobs.daily_digest(world.factory, world.clock, world.deps)
    if local.hour == 9 and local.weekday() < 5:
        staff_sweep(sim)


def note_landline_answers(sim: Sim) -> None:
    """The provider's side: a landline it has now been asked about is one it reported."""
    asked = sim.world.emulator.lookups()
    for person in sim.ledger.people:
        if (person.landline and person.phone and asked.get(person.phone)
                and person.phone not in sim.ledger.landline_reported):
            sim.ledger.landline_reported[person.phone] = sim.now()


def _match_due(sim: Sim) -> bool:
    """The matcher runs when something changed (windows given, a session freed) and at
    least once a day while cases wait: the rows decide, so running it more often books
    nothing more."""
    return (sim.match_wanted and sim.now() - sim.last_match >= timedelta(hours=3)) or (
        sim.now() - sim.last_match >= timedelta(hours=24))


def _waiting(sim: Sim) -> bool:
    with sim.world.factory() as session:
        return session.scalar(select(Case.id).where(
            Case.state == CaseState.SCHEDULING.value).limit(1)) is not None


def _notice_order(message: dict[str, Any]) -> tuple[int, str, str, str]:
    notice = int(message["notice"]) if message.get("notice") else 1 << 62
    return notice, message["channel"], message["to"], message["body"]


def _dispatch(sim: Sim) -> None:
    world = sim.world
    world.sync_provider_clock()
    faults.dispatch(sim)
    sim.override("dispatch", jobs.dispatch_outbox)(world.factory, world.clock, world.deps)
    # The provider's log is in arrival order, which the dispatcher's concurrent sends leave to
    # the threads; taken in notice order, the people react in the same order on every run and
    # a seed replays exactly.
    new = sorted(world.emulator.messages(since=sim.seen_messages), key=_notice_order)
    sim.seen_messages += len(new)
    sim.new_messages = messages_of(sim, new)
    landlines = {p.phone for p in sim.ledger.people if p.landline}
    for m in new:  # the provider's delivery reports, back through the webhooks
        if m["channel"] == "sms" and m.get("status_callback"):
            if m["to"] in landlines:
                world.twilio_status(m["status_callback"], m["sid"], m["to"], "undelivered",
                                    "30006")
            else:
                world.twilio_status(m["status_callback"], m["sid"], m["to"], "delivered")
        elif m["channel"] == "email":
            world.sendgrid_event(m, "delivered")
    react(sim, sim.new_messages)


def _discover(sim: Sim) -> None:
    """New bookings get their plan; cases now being scheduled get the parties' windows."""
    with sim.transaction() as session:
        rows = session.scalars(select(MediationSession).where(
            MediationSession.status == SessionStatus.BOOKED.value,
            MediationSession.starts_at > sim.now())).all()
        fresh = [r for r in rows if (r.id, r.starts_at.isoformat()) not in sim.planned_sessions]
        for row in fresh:
            sim.planned_sessions.add((row.id, row.starts_at.isoformat()))
            plan_session(sim, row)
        waiting = session.execute(select(Party.id, Party.case_id).join(
            Case, Case.id == Party.case_id).where(
            Case.state == CaseState.SCHEDULING.value)).all()
        have = set(session.scalars(select(AvailabilityWindow.owner_id).where(
            AvailabilityWindow.owner_kind == "party")))
    for party_id, case_id in waiting:
        if party_id not in have and party_id not in sim.availability_asked:
            sim.availability_asked.add(party_id)
            sim.schedule(sim.now() + timedelta(hours=sim.rng.uniform(1, 72)),
                         "give_availability", case_id=case_id, party_id=party_id)


def _check(sim: Sim, step: int) -> None:
    seen = {v.text for v in sim.result.violations}
    for invariant in sim.invariants:
        checked, problems = invariant.check(sim)
        sim.result.checks[invariant.name] += checked
        for text in problems:
            if text not in seen:
                seen.add(text)
                sim.result.violations.append(Violation(step, sim.now(), invariant.name, text))


def start_of(seed: int) -> datetime:
    """A Monday 09:00 in Chicago somewhere in 2027, chosen by the seed (a year crosses both DST
    changes; where they fall in the run depends on the seed)."""
    return datetime(2027, 1, 4, 15, 0, tzinfo=UTC) + timedelta(weeks=seed % 52)


def simulate(url: str, *, seed: int, days: float, backend: str = "", parts: Parts | None = None,
             rates: Rates | None = None, fault_rates: FaultRates | None = None,
             until_step: int | None = None, command: str = "python -m sim",
             progress: Progress | None = None) -> tuple[Sim, str]:
    """One run on the migrated database at ``url``: the finished simulation and its report."""
    from sim.report import render

    world = World(url, start_of(seed), seed, parts)
    began = monotonic()
    sim = new_sim(world, days=days, rates=rates, fault_rates=fault_rates)
    try:
        run(sim, until_step, progress)
        report = render(sim, backend or world.engine.dialect.name, monotonic() - began)
    finally:
        for invariant in sim.invariants:
            capture = getattr(invariant, "capture", None)
            if capture is not None:
                logging.getLogger().removeHandler(capture)
        world.close()
    if sim.result.violations:
        first = sim.result.violations[0].step
        report += (f"\nreplay: {command} --backend {backend or world.engine.dialect.name} "
                   f"--seed {seed} --days {days:g} --until-step {first}")
    return sim, report
