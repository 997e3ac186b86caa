"""Our bookings in each mediator's own CalDAV calendar, kept in step with the database.

The session rows are the truth. ``sync_mediator_calendars`` is a reconciliation job, like the
notification outbox's dispatcher: it compares every session with what its mediators' calendars
were last given (``cases.models.CalendarPush``) and writes only the difference:

- held / booked, completed / no-show  → the event is there (``put``) at the session's SEQUENCE;
- cancelled, or the mediator was taken off the session → the event is deleted;
- a completed (or no-show) session stays in the calendar: it happened, it is not deleted.

A write is retried on every run until it succeeds: a ``CalendarSourceError`` is recorded on the
push row (``attempts``, ``last_error``) and the run goes on with the other pushes. ``put`` and
``delete`` are idempotent by UID, so a write repeated after a crash or a rolled-back transaction
does no harm; that is also why a cancelled session with no push row is still deleted once (a
``put`` may have reached the server in a transaction that never committed).

The event carries no personal data: the summary names the case reference only
(``Mediation session (CMP-42)``), the location is the venue's address or the video link.

Transactions: the caller owns it (a background job run) and commits afterwards. The network
calls happen *inside* it, so the job should do nothing else in that transaction and commit
promptly. On PostgreSQL one run at a time holds a transaction-scoped advisory lock; a second
worker's run finds it taken and returns at once (``PushReport.locked_out``).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import and_, func, or_, select
from sqlalchemy.orm import Session

from calendars.base import CalendarEvent, CalendarSourceError, CalendarWriter
from calendars.caldav_store import CalDavCalendar
from calendars.localtime import require_aware
from calendars.rendering import render_feed
from calendars.sessions import SESSION_UID_DOMAIN, session_event, session_uid
from cases.calendar_urls import NO_ALLOWED_HOSTS, AllowedHosts
from cases.clock import Clock
from cases.database import lock_calendar_pushes
from cases.models import CalendarPush, MediationSession, Mediator, SessionStatus
from cases.sealing import Sealer, SealError

#: Sessions that ended longer ago than this are left alone unless a push row is behind.
LOOKBACK = timedelta(days=90)

BOOKED = "booked"
CANCELLED = "cancelled"

#: Session statuses whose event belongs in the mediator's calendar.
IN_CALENDAR = frozenset({SessionStatus.HELD.value, SessionStatus.BOOKED.value,
                         SessionStatus.COMPLETED.value, SessionStatus.NO_SHOW.value})
#: What the private feed shows.
IN_FEED = (SessionStatus.HELD.value, SessionStatus.BOOKED.value, SessionStatus.COMPLETED.value)

WriterFor = Callable[[Mediator], CalendarWriter | None]
"""The mediator's writable calendar, or None when they keep none we can write to."""


@dataclass(frozen=True, slots=True)
class PushFailure:
    """One write that failed this run; it is retried on the next run."""

    session_id: int
    mediator_id: int
    action: str  # put|delete
    error: str


@dataclass(frozen=True, slots=True)
class PushReport:
    """What one run did. ``skipped``: pairs whose mediator has no writable calendar."""

    put: int = 0
    deleted: int = 0
    up_to_date: int = 0
    skipped: int = 0
    failures: tuple[PushFailure, ...] = ()
    locked_out: bool = False

    @property
    def writes(self) -> int:
        return self.put + self.deleted


def writer_for(mediator: Mediator, clock: Clock, *, sealer: Sealer,
               own_domain: str | None = SESSION_UID_DOMAIN,
               allowed: AllowedHosts = NO_ALLOWED_HOSTS) -> CalDavCalendar | None:
    """A ``CalDavCalendar`` for a mediator whose ``calendar_kind`` is ``caldav``, else None.

    ``calendar_username`` + ``calendar_secret`` authenticate with a password; a secret without
    a username is sent as a bearer token. ``own_domain`` makes the same object usable as a busy
    source that ignores the events pushed here. No network I/O happens until the first write.
    ``allowed``: hosts read even on a non-public address (``CMP_CALENDAR_ALLOWED_HOSTS``).

    :raises CalendarSourceError: the stored calendar settings cannot be used (bad or forbidden
        URL, or a secret sealed under another ``CMP_SECRET_KEY``).
    """
    if mediator.calendar_kind != "caldav" or not mediator.calendar_url:
        return None
    username = mediator.calendar_username or None
    try:
        secret = sealer.open(mediator.calendar_secret)
    except SealError as exc:
        raise CalendarSourceError(f"mediator {mediator.id}: calendar secret {exc}") from exc
    try:
        return CalDavCalendar(
            mediator.calendar_url, clock=clock, username=username,
            password=secret if username is not None else None,
            token=secret if username is None else None,
            default_zone=mediator.time_zone, own_domain=own_domain, allowed=allowed)
    except ValueError as exc:
        raise CalendarSourceError(f"mediator {mediator.id}: calendar settings unusable: {exc}") \
            from exc


def mediator_event(row: MediationSession, program_name: str = "") -> CalendarEvent:
    """The session as the mediator's calendar shows it (:func:`calendars.sessions.session_event`):
    the case reference, time and place; no party's data.

    :raises ValueError: the row cannot make a valid event (unknown zone, bad times).
    """
    description = (f"Booked by {program_name}. " if program_name else "") + \
        "Changes made here are overwritten; contact the program to change the session."
    return session_event(row, summary=f"Mediation session (CMP-{row.case_id})",
                         description=description, fallback_zone=row.mediator.time_zone)


def sync_mediator_calendars(
    session: Session,
    *,
    writers: WriterFor,
    now: datetime,
    program_name: str,
) -> PushReport:
    """Bring every mediator's writable calendar in step with the sessions; see the module doc.

    ``writers`` is called once per mediator per run (``writer_for`` bound to the app's clock in
    production, a fake in tests). Only ``CalendarSourceError`` counts as a failed write (also
    from ``writers`` itself, and a session that cannot make a valid event is recorded the same
    way); anything else is a bug and propagates. The caller commits.
    """
    now = require_aware(now, "now")
    if not lock_calendar_pushes(session, wait=False):
        return PushReport(locked_out=True)
    rows = _candidates(session, now)
    pushes: dict[tuple[int, int], CalendarPush] = {
        (p.session_id, p.mediator_id): p
        for p in session.scalars(select(CalendarPush).where(
            CalendarPush.session_id.in_([r.id for r in rows])))
    } if rows else {}
    cache: dict[int, CalendarWriter | str | None] = {}
    counts = {"put": 0, "delete": 0, "up_to_date": 0, "skipped": 0}
    failures: list[PushFailure] = []

    for row in rows:
        for mediator_id in _mediators_of(row, pushes):
            push = pushes.get((row.id, mediator_id))
            want = _wanted(row, mediator_id)
            if push is not None and push.pushed_status == want and (
                    want == CANCELLED or push.pushed_sequence == row.sequence):
                counts["up_to_date"] += 1
                continue
            mediator = session.get(Mediator, mediator_id)
            writer = _writer(cache, writers, mediator) if mediator is not None else None
            if writer is None:
                counts["skipped"] += 1
                continue
            if push is None:
                push = CalendarPush(session_id=row.id, mediator_id=mediator_id, attempts=0)
                session.add(push)
                pushes[(row.id, mediator_id)] = push
            action = "put" if want == BOOKED else "delete"
            try:
                if isinstance(writer, str):
                    raise CalendarSourceError(writer)
                if want == BOOKED:
                    writer.put(_event(row, program_name))
                else:
                    writer.delete(session_uid(row))
            except CalendarSourceError as exc:
                push.attempts = (push.attempts or 0) + 1
                push.last_error = _short(str(exc) or type(exc).__name__)
                failures.append(PushFailure(row.id, mediator_id, action, push.last_error))
                continue
            push.pushed_sequence = row.sequence
            push.pushed_status = want
            push.pushed_at = now
            push.attempts = 0
            push.last_error = None
            counts[action] += 1
    session.flush()
    return PushReport(put=counts["put"], deleted=counts["delete"],
                      up_to_date=counts["up_to_date"], skipped=counts["skipped"],
                      failures=tuple(failures))


def mediator_feed(session: Session, token: str, now: datetime, *,
                  program_name: str = "") -> bytes | None:
    """The mediator's private ICS feed (``/calendars/mediators/{token}.ics``), or None when no
    mediator has ``token``.

    Their held, booked and completed sessions (as mediator or co-mediator) that end after
    ``now - LOOKBACK``, with the same events as the CalDAV push.
    """
    now = require_aware(now, "now")
    if not token or len(token) > 64:
        return None
    mediator = session.scalar(select(Mediator).where(Mediator.feed_token == token))
    if mediator is None:
        return None
    rows = session.scalars(select(MediationSession).where(
        or_(MediationSession.mediator_id == mediator.id,
            MediationSession.co_mediator_id == mediator.id),
        MediationSession.status.in_(IN_FEED),
        MediationSession.ends_at >= now - LOOKBACK,
    ).order_by(MediationSession.starts_at, MediationSession.id)).all()
    events: list[CalendarEvent] = []
    for row in rows:
        try:
            events.append(mediator_event(row, program_name))
        except ValueError:
            continue  # a row that cannot make a valid event must not take the whole feed down
    name = f"{program_name} sessions" if program_name else "Mediation sessions"
    return render_feed(events, dtstamp=now, name=name)


# --- helpers ------------------------------------------------------------------------------


def _candidates(session: Session, now: datetime) -> list[MediationSession]:
    """Sessions that may need a write: recent or upcoming ones, and any whose push row is
    behind (however old), so that nothing once written is forgotten."""
    s = MediationSession
    on_session = or_(CalendarPush.mediator_id == s.mediator_id,
                     CalendarPush.mediator_id == func.coalesce(s.co_mediator_id, -1))
    behind = select(CalendarPush.session_id).join(s, s.id == CalendarPush.session_id).where(or_(
        CalendarPush.pushed_status.is_(None),
        and_(CalendarPush.pushed_status == BOOKED,
             or_(s.status == SessionStatus.CANCELLED.value, ~on_session,
                 CalendarPush.pushed_sequence != s.sequence)),
        and_(CalendarPush.pushed_status == CANCELLED,
             s.status != SessionStatus.CANCELLED.value, on_session),
    ))
    return list(session.scalars(
        select(s).where(or_(s.ends_at >= now - LOOKBACK, s.id.in_(behind)))
        .order_by(s.starts_at, s.id)))


def _mediators_of(row: MediationSession,
                  pushes: dict[tuple[int, int], CalendarPush]) -> list[int]:
    """The session's mediators, then anyone it was pushed to before (to be removed)."""
    ids = [row.mediator_id] + ([row.co_mediator_id] if row.co_mediator_id is not None else [])
    ids += sorted(m for (sid, m) in pushes if sid == row.id and m not in ids)
    return ids


def _wanted(row: MediationSession, mediator_id: int) -> str:
    on_session = mediator_id in (row.mediator_id, row.co_mediator_id)
    return BOOKED if on_session and row.status in IN_CALENDAR else CANCELLED


def _writer(cache: dict[int, CalendarWriter | str | None], writers: WriterFor,
            mediator: Mediator) -> CalendarWriter | str | None:
    """The mediator's writer (None: no writable calendar; str: why it cannot be built)."""
    if mediator.id not in cache:
        if mediator.calendar_kind != "caldav":
            cache[mediator.id] = None
        else:
            try:
                cache[mediator.id] = writers(mediator)
            except CalendarSourceError as exc:
                cache[mediator.id] = str(exc) or type(exc).__name__
    return cache[mediator.id]


def _event(row: MediationSession, program_name: str) -> CalendarEvent:
    try:
        return mediator_event(row, program_name)
    except ValueError as exc:
        raise CalendarSourceError(f"session {row.id} cannot be written as an event: {exc}") \
            from exc


def _short(message: str) -> str:
    message = message.replace("\r", " ").replace("\n", " ")
    return message if len(message) <= 500 else message[:497] + "..."
