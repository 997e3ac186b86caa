"""Deliberately broken doubles, one per invariant, each re-creating a known kind of past failure.

``python -m sim.doubles NAME`` runs the simulation with that double in place (on SQLite) and must
fail: the tests (``tests/acceptance/test_simulation_doubles.py``) prove that each invariant catches its bug.
Each double replaces one part through ``sim.world.Parts``; nothing is patched.
"""

from __future__ import annotations

import argparse
import logging
import sys
import tempfile
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field, replace
from datetime import timedelta
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from cases import lifecycle
from cases.models import Case, CaseState, MediationSession, Party, SessionStatus
from cases.phone_lines import LineCheck, LineType, LineTypeLookup
from cases.policy import load_policy
from notifiers.channels.base import Channel, Notifier, OutgoingMessage, Receipt
from notifiers.channels.twilio_sms import TwilioSmsNotifier
from notifiers.outbox.policy import DispatchPolicy
from scheduler.booking.constraints import BookingOption
from settings import Settings
from sim.state import FaultRates, Rates
from sim.world import Parts, World, post_inbound_sms

log = logging.getLogger("sim.doubles")
CALM = FaultRates(**dict.fromkeys(FaultRates.__dataclass_fields__, 0.0))  # no faults: only the bug


@dataclass(frozen=True)
class Double:
    invariant: str  # words of the invariant that must report it
    days: float
    parts: Callable[[], Parts]
    rates: Rates = field(default_factory=Rates)


# -- the doubles --------------------------------------------------------------------------------

def _book_without_the_checks(sim: Any, case_id: int, options: Sequence[BookingOption]) -> None:
    """A fast path that wrote the session straight, trusting the slot it was given: the same
    mediator, at the same time as a session they already have."""
    with sim.transaction() as session:
        taken = session.scalars(select(MediationSession).where(
            MediationSession.status == SessionStatus.BOOKED.value)
            .order_by(MediationSession.id)).first()
        case = session.get(Case, case_id)
        if taken is None or case is None or case.state != CaseState.SCHEDULING.value:
            return
        session.add(MediationSession(
            case_id=case_id, mediator_id=taken.mediator_id, venue_id=options[0].venue_id,
            starts_at=taken.starts_at, ends_at=taken.ends_at, status=SessionStatus.BOOKED.value,
            uid=f"double-{case_id}@sim", created_at=sim.now(), updated_at=sim.now()))
        lifecycle.transition(session, case, CaseState.BOOKED, at=sim.now(), actor="staff:sim")


def _stop_per_party(world: World, sender: str, body: str) -> str:
    """The opt-out stored on the party who texted, not on the number: the same person's other
    case (a repeat complainant) is still texted."""
    words = {"stop", "alto", "koniec", "退订", "توقف"}
    if body.strip().lower() not in words:
        return post_inbound_sms(world, sender, body)
    with world.factory() as session, session.begin():
        party = session.scalars(select(Party).where(Party.phone == sender)
                                .order_by(Party.id.desc())).first()
        if party is not None:
            party.channels = [c for c in party.channels if c != "sms"] or ["email"]
    return "opt_out"


def _logs_the_sender(world: World, sender: str, body: str) -> str:
    log.info("inbound text from %s", sender)  # the bug: a phone number in a log line
    return post_inbound_sms(world, sender, body)


class _RetryingSms:
    """An SMS adapter whose HTTP client retried a send on its own after a lost answer, the first
    copy carrying no callback: the provider holds two messages and nothing can tell."""

    def __init__(self, inner: Notifier, settings: Settings) -> None:
        token = settings.twilio_auth_token
        self.inner = inner
        self.bare = TwilioSmsNotifier(
            account_sid=str(settings.twilio_account_sid),
            auth_token=token.get_secret_value() if token else "",
            from_number=str(settings.twilio_from_number), status_callback_url=None,
            base_url=settings.twilio_base_url)
        self.channel = inner.channel

    def send(self, message: OutgoingMessage) -> Receipt:
        self.bare.send(message)
        return self.inner.send(message)

    def __getattr__(self, name: str) -> object:
        return getattr(self.inner, name)


def _retrying(channel: Channel, notifier: Notifier, settings: Settings) -> Notifier:
    return _RetryingSms(notifier, settings) if channel is Channel.SMS else notifier  # type: ignore[return-value]


class _LandlineAsMobile:
    """A line-type adapter whose mapping table missed the provider's word for a landline and
    took it for a mobile: the number is texted as if no lookup had answered."""

    def __init__(self, inner: LineTypeLookup) -> None:
        self.inner = inner

    def check(self, number: str) -> LineCheck:
        found = self.inner.check(number)
        if found.line_type is LineType.LANDLINE:
            return replace(found, line_type=LineType.MOBILE)
        return found


def _cancel_keeping_reminders(session: Session, row: MediationSession, rules: Any, *,
                              reason: str, now: Any, actor: str, **_: Any) -> None:
    """A cancellation that forgot the session's reminders."""
    case = session.get(Case, row.case_id)
    assert case is not None
    row.status, row.cancel_reason, row.updated_at = SessionStatus.CANCELLED.value, reason, now
    lifecycle.transition(session, case, CaseState.SCHEDULING, at=now, actor=actor)


def _dispatch_only(factory: Any, clock: Any, deps: Any) -> int:
    """The dispatch job without its sweep of stale reminders."""
    batches = 0
    while deps.dispatcher.run_once().touched and batches < deps.max_dispatch_batches:
        batches += 1
    return batches


def _decide_without_audit(session: Session, case: Case, **_: Any) -> None:
    """A decision written straight onto the case: no transition, no audit event."""
    case.state = CaseState.INELIGIBLE.value


def _never_expire(*_: Any) -> list[int]:
    """A consent-expiry job that never ran."""
    return []


def _short_consent() -> Any:
    from settings import Settings as S

    policy = load_policy(S(_env_file=None).policy_file)  # type: ignore[call-arg]
    return replace(policy, consent_deadline=timedelta(days=1))


BUSY = Rates(referrals_per_year=2500, consent_yes=0.95, consent_no=0.0, consent_late=0.0,
             consent_question=0.0, excluded_category=0.0, injury=0.0, reschedule=0.0,
             withdraw=0.0, mediator_decline=0.0, consent_within_days=1)
#: BUSY, with parties who answer every message they can: reminder replies, their booking page,
#: unsubscribes (the behaviours are rare at the real rates; a short run must see them all)
CHATTY = replace(BUSY, reminder_confirm=0.45, reminder_change=0.35, self_move=0.4,
                 self_withdraw=0.2, unsubscribe=0.05, spam_report=0.03,
                 manual_booking_after_days=3.0)
DOUBLES: dict[str, Double] = {
    "booking_without_checks": Double(
        "booked twice", 4, lambda: Parts(overrides={"manual_book": _book_without_the_checks}),
        replace(BUSY, manual_booking_after_days=0.0)),
    "stop_per_party": Double(
        "suppressed", 4, lambda: Parts(inbound_sms=_stop_per_party),
        replace(BUSY, repeat_complainant=0.7, stop=0.6, stop_within_days=1, restart=0.0,
                landline=0.0)),
    "landline_texted": Double(
        "landline", 3, lambda: Parts(line_lookup=_LandlineAsMobile), replace(BUSY, landline=0.5)),
    "night_sms": Double(
        "quiet hours", 3, lambda: Parts(dispatch_policy=DispatchPolicy(quiet_hours_start=0,
                                                                       quiet_hours_end=0)), BUSY),
    "reminder_after_cancel": Double(
        "after a cancellation", 10, lambda: Parts(overrides={
            "cancel": _cancel_keeping_reminders, "dispatch": _dispatch_only}),
        replace(BUSY, staff_cancel=1.0)),
    "duplicate_after_lost_answer": Double(
        "delivered once", 2, lambda: Parts(notifier=_retrying), BUSY),
    "deadline_not_enforced": Double(
        "deadline", 4, lambda: Parts(policy=_short_consent(),
                                     overrides={"expire_consents": _never_expire}),
        replace(BUSY, consent_yes=0.2)),
    "missing_audit_event": Double(
        "audit event", 2, lambda: Parts(overrides={"decide": _decide_without_audit}), BUSY),
    "phone_in_log": Double(
        "log line", 3, lambda: Parts(inbound_sms=_logs_the_sender), BUSY),
}


def run_double(name: str, *, seed: int = 5, days: float | None = None,
               until_step: int | None = None) -> tuple[Any, str]:
    """The simulation on a fresh SQLite database with double ``name`` in place."""
    from cases.database import upgrade
    from sim.runner import simulate

    double = DOUBLES[name]
    url = f"sqlite:///{tempfile.mkdtemp(prefix='cmp-sim-double-')}/sim.db"
    upgrade(url)
    return simulate(url, seed=seed, days=days or double.days, backend="sqlite",
                    parts=double.parts(), rates=double.rates, fault_rates=CALM,
                    until_step=until_step, command=f"python -m sim.doubles {name}")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m sim.doubles", description=__doc__)
    parser.add_argument("name", choices=sorted(DOUBLES))
    parser.add_argument("--seed", type=int, default=5)
    parser.add_argument("--days", type=float, default=None)
    parser.add_argument("--backend", choices=("sqlite",), default="sqlite")
    parser.add_argument("--until-step", type=int, default=None)
    args = parser.parse_args(argv)
    sim, report = run_double(args.name, seed=args.seed, days=args.days, until_step=args.until_step)
    sys.stdout.write(report + "\n")
    return 1 if sim.result.violations else 0


if __name__ == "__main__":
    sys.exit(main())
