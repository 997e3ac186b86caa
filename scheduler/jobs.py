"""The timed work, each job a plain function ``(session_factory, clock, deps) -> result``.

APScheduler only decides *when* a job looks; the rows decide *what* is due, so every job is safe
to run late, twice, or after a restart: it reads ``clock.now()`` once, finds what is due by
querying, and changes it in its own transaction(s). The same functions back the CLI (``main.py``)
and the tests, which call them directly with a ``FixedClock``.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any, Protocol
from zoneinfo import ZoneInfo

from sqlalchemy import func, select
from sqlalchemy.orm import Session, sessionmaker

from calendars.base import CalendarSource, CalendarSourceError, CalendarWriter
from calendars.intervals import Interval
from calendars.push import PushReport, sync_mediator_calendars
from calendars.sync import (
    DEFAULT_HORIZON,
    Snapshot,
    busy_from_json,
    busy_to_json,
    failed_pull,
    pull_with_fallback,
)
from cases import referrals
from cases.clock import Clock
from cases.database import transaction
from cases.models import (
    Case,
    CaseState,
    MediationSession,
    Mediator,
    MediatorCalendarSnapshot,
    Notification,
    NotificationStatus,
    SessionStatus,
)
from cases.outbox import NoticeKind, enqueue
from cases.phone_lines import LineChecker
from scheduler import reminders
from scheduler.booking import Rules
from scheduler.candidates import Matcher, MatchRun, match_and_book
from scheduler.line_checks import LineCheckReport, check_due_numbers
from scheduler.matching import match

log = logging.getLogger(__name__)

SessionFactory = sessionmaker[Session]


class OutboxDispatcher(Protocol):
    """``notifiers.outbox.dispatcher.Dispatcher``: claims one batch of due rows, sends, records."""

    def run_once(self) -> Any: ...


SourceFor = Callable[[Mediator], CalendarSource | None]
WriterFor = Callable[[Mediator], CalendarWriter | None]
"""The mediator's calendar source (CalDAV, ICS feed), or None when they keep no calendar."""


@dataclass(frozen=True)
class JobDeps:
    rules: Rules
    dispatcher: OutboxDispatcher | None = None
    calendar_source: SourceFor | None = None
    matcher: Matcher = field(default=match)
    calendar_writer: WriterFor | None = None
    program_name: str = "Community Mediation Program"
    max_dispatch_batches: int = 20
    #: asks the provider what kind of line each new number is; None: no lookups (no Twilio)
    line_checker: LineChecker | None = None


def withdraw_stale_reminders(session: Session, *, now: datetime) -> int:
    """Pending reminders of sessions that are no longer booked or have started never go out."""
    rows = session.scalars(
        select(Notification).join(MediationSession,
                                  MediationSession.id == Notification.session_id)
        .where(Notification.kind == NoticeKind.REMINDER.value,
               Notification.status == NotificationStatus.PENDING.value,
               (MediationSession.status != SessionStatus.BOOKED.value)
               | (MediationSession.starts_at <= now))).all()
    for row in rows:
        row.status = NotificationStatus.CANCELLED.value
        row.last_error = "session no longer upcoming"
    return len(rows)


def withdraw_stale(factory: SessionFactory, clock: Clock, deps: JobDeps) -> int:
    """Withdraw stale reminders (the worker's dispatcher loop sends the rest). Returns how many."""
    with transaction(factory) as session:
        return withdraw_stale_reminders(session, now=clock.now())


def dispatch_outbox(factory: SessionFactory, clock: Clock, deps: JobDeps) -> int:
    """Withdraw stale reminders, then let the dispatcher drain what is due. Returns batches run.

    Safe in every worker at once: the dispatcher claims rows (``FOR UPDATE SKIP LOCKED`` on
    PostgreSQL) before sending them.
    """
    with transaction(factory) as session:
        withdraw_stale_reminders(session, now=clock.now())
    if deps.dispatcher is None:
        log.warning("no dispatcher configured: the outbox is not being delivered")
        return 0
    batches = 0
    while batches < deps.max_dispatch_batches:
        report = deps.dispatcher.run_once()
        batches += 1
        if not getattr(report, "touched", 0):
            break
    return batches


def check_phone_lines(factory: SessionFactory, clock: Clock, deps: JobDeps) -> LineCheckReport | None:
    """Look up the line type of numbers noted at intake (``scheduler.line_checks``)."""
    if deps.line_checker is None:
        return None  # no provider to ask: every number stays "not checked", texts allowed
    return check_due_numbers(factory, clock, deps.line_checker)


def expire_consents(factory: SessionFactory, clock: Clock, deps: JobDeps) -> list[int]:
    """Cases whose consent deadline passed return to investigation; staff are told."""
    with transaction(factory) as session:
        return referrals.expire_consents(session, now=clock.now())


def plan_reminders(factory: SessionFactory, clock: Clock, deps: JobDeps) -> int:
    """Make sure every upcoming booked session has its reminder plan (idempotent)."""
    now = clock.now()
    with transaction(factory) as session:
        rows = session.scalars(select(MediationSession).where(
            MediationSession.status == SessionStatus.BOOKED.value,
            MediationSession.starts_at > now)).all()
        for row in rows:
            reminders.apply_plan(session, row, deps.rules.offsets, now)
        return len(rows)


def match_new_cases(factory: SessionFactory, clock: Clock, deps: JobDeps) -> MatchRun:
    """Run the matcher over consented cases still without a session and book its proposals.

    Mediators' calendars are read first when anything waits to be matched, so a booking never
    rests on busy times older than this run (a failing calendar falls back to its stale copy)."""
    with transaction(factory) as session:
        waiting = session.scalar(select(func.count(Case.id)).where(
            Case.state == CaseState.SCHEDULING.value)) or 0
    if waiting and deps.calendar_source is not None:
        pull_calendars(factory, clock, deps)
    return match_and_book(factory, deps.rules, now=clock.now(), matcher=deps.matcher)


def push_calendars(factory: SessionFactory, clock: Clock, deps: JobDeps) -> PushReport | None:
    """Write bookings into mediators' own CalDAV calendars (and take cancelled ones out).

    The ``calendar_pushes`` rows say what each calendar already holds, so a run after a crash
    or a failed write finishes the job and a repeated run writes nothing."""
    if deps.calendar_writer is None:
        return None
    with transaction(factory) as session:
        return sync_mediator_calendars(session, writers=deps.calendar_writer, now=clock.now(),
                                       program_name=deps.program_name)


def _previous(row: MediatorCalendarSnapshot | None) -> Snapshot | None:
    if row is None or row.fetched_at is None:
        return None
    coverage = (Interval(row.last_ok_at, row.last_ok_at + DEFAULT_HORIZON)
                if row.last_ok_at is not None else None)
    return Snapshot(busy_from_json(row.busy), row.fetched_at, row.last_ok_at, coverage,
                    row.stale, row.last_error)


def pull_calendars(factory: SessionFactory, clock: Clock, deps: JobDeps) -> dict[int, str | None]:
    """Read each mediator's busy time; a failing source keeps its last copy, marked stale, and
    staff are told once per failure streak. Returns {mediator id: error or None}.

    Each mediator's calendar is read on its own: whatever one calendar raises (unusable settings,
    a refused address, a feed over the expansion limits, or an error nobody foresaw) is recorded
    on that mediator's snapshot (``last_error``, shown to staff) and the others are still read.
    """
    if deps.calendar_source is None:
        return {}
    with transaction(factory) as session:
        mediators = list(session.scalars(select(Mediator).where(
            Mediator.active.is_(True), Mediator.calendar_kind != "none")))
        previous = {m.id: _previous(session.get(MediatorCalendarSnapshot, m.id))
                    for m in mediators}
    results: dict[int, str | None] = {}
    for mediator in mediators:
        now = clock.now()
        snap = _pull_one(deps.calendar_source, mediator, previous[mediator.id], now)
        if snap is None:
            continue
        results[mediator.id] = snap.error
        with transaction(factory) as session:
            row = session.get(MediatorCalendarSnapshot, mediator.id)
            was_failing = row is not None and row.last_error is not None
            if row is None:
                row = MediatorCalendarSnapshot(mediator_id=mediator.id)
                session.add(row)
            row.fetched_at, row.last_ok_at = snap.fetched_at, snap.last_ok_at
            row.busy, row.stale, row.last_error = busy_to_json(snap.busy), snap.stale, snap.error
            if snap.error is not None and not was_failing:
                enqueue(session, kind=NoticeKind.STAFF_ALERT, recipient=None, due_at=now, now=now,
                        occurrence=f"calendar-{mediator.id}-{now.isoformat()}",
                        context={"alert": "calendar_unreachable", "mediator_id": mediator.id,
                                 "reason": snap.error})
    return results


def _pull_one(sources: SourceFor, mediator: Mediator, previous: Snapshot | None,
              now: datetime) -> Snapshot | None:
    """One mediator's pull (network: outside any transaction); None when they keep no calendar."""
    try:
        source = sources(mediator)
        if source is None:
            return None
        return pull_with_fallback(source, previous, now)
    except (CalendarSourceError, ValueError) as exc:  # settings unusable: no source to read
        return failed_pull(previous, now, _short(str(exc) or type(exc).__name__))
    except Exception as exc:  # a failure nobody foresaw must not stop the other calendars
        log.error("calendar of mediator %s: unexpected %s while reading it", mediator.id,
                  type(exc).__name__)  # the message may hold the feed's secret address
        return failed_pull(previous, now,
                           f"the calendar could not be read (unexpected {type(exc).__name__})")


def _short(message: str) -> str:
    message = message.replace("\r", " ").replace("\n", " ")
    return message if len(message) <= 500 else message[:497] + "..."


def daily_digest(factory: SessionFactory, clock: Clock, deps: JobDeps) -> dict[str, Any]:
    """One staff alert a day with the counts staff act on (idempotent per local day)."""
    now = clock.now()
    day = now.astimezone(ZoneInfo(deps.rules.time_zone)).date()
    with transaction(factory) as session:
        states = {str(row[0]): int(row[1]) for row in session.execute(
            select(Case.state, func.count(Case.id)).group_by(Case.state))}
        upcoming = session.scalar(select(func.count(MediationSession.id)).where(
            MediationSession.status == SessionStatus.BOOKED.value,
            MediationSession.starts_at > now,
            MediationSession.starts_at <= now + timedelta(days=7))) or 0
        failed = session.scalar(select(func.count(Notification.id)).where(
            Notification.status.in_([NotificationStatus.FAILED.value,
                                     NotificationStatus.DEAD.value]),
            Notification.created_at >= now - timedelta(days=1))) or 0
        overdue = session.scalar(select(func.count(Case.id)).where(
            Case.state.in_(["consented", "scheduling"]), Case.booking_deadline <= now)) or 0
        counts: dict[str, Any] = {"cases_by_state": states, "sessions_next_7_days": upcoming,
                                  "notices_failed_24h": failed, "past_booking_deadline": overdue}
        enqueue(session, kind=NoticeKind.STAFF_ALERT, recipient=None, due_at=now, now=now,
                occurrence=f"digest-{day.isoformat()}",
                context={"alert": "daily_digest", "date": day.isoformat(), **counts})
    return counts
