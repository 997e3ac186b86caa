"""Step 1 of a batch, one transaction: pick the due rows, decide each, lease the ones to send.

Due rows are ``pending`` and due, or ``sending`` whose lease ran out because a worker died,
locked with ``FOR UPDATE SKIP LOCKED`` on PostgreSQL (``BEGIN IMMEDIATE`` makes SQLite a single
writer). Each row's rules (:func:`decide`) return a decision: cancel it (the recipient opted
out), withdraw it (an SMS to a landline, ``cases.notice_outcomes``), defer it (an SMS in quiet
hours), or send it — held back instead while in doubt in quiet hours, where the provider can be
asked first. A row to send is rendered (``notifiers.compose.message``); one that cannot be is failed.
Decisions are applied by ``notifiers.outbox.decisions.apply``; then one Core ``executemany``
(one ``UPDATE ... FROM unnest`` on PostgreSQL) stores what will be sent on the rows and leases
them (``status='sending'``, ``claimed_by``, ``claimed_until``).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any, cast

from jinja2 import TemplateError
from sqlalchemy import Table, and_, bindparam, or_, select, update
from sqlalchemy.orm import Session, sessionmaker

from cases import audit
from cases.models import Notification, NotificationStatus
from notifiers.channels.base import Channel, Notifier, OutgoingMessage, SentLookup
from notifiers.compose.context import Lookup, ProgramInfo
from notifiers.compose.message import compose
from notifiers.compose.rendering import Renderer
from notifiers.outbox.decisions import (
    ACTOR,
    CancelOptedOut,
    CannotPrepare,
    Defer,
    WithdrawLandline,
    apply,
)
from notifiers.outbox.policy import DispatchPolicy
from notifiers.outbox.quiet_hours import next_allowed_sms_time
from notifiers.outbox.report import DispatchReport

_table = cast(Table, Notification.__table__)
_LEASE = (
    update(_table)
    .where(_table.c.id == bindparam("nid"))
    .values(
        status=NotificationStatus.SENDING.value,
        attempts=bindparam("attempts"),
        unconfirmed_since=bindparam("since", type_=_table.c.unconfirmed_since.type),
        last_error=bindparam("last_error"),
        subject=bindparam("subject", type_=_table.c.subject.type),
        body_text=bindparam("body_text", type_=_table.c.body_text.type),
        body_html=bindparam("body_html", type_=_table.c.body_html.type),
    )
)
#: PostgreSQL: the whole batch's lease as one statement (one plan, one execution) instead of an
#: executemany of one UPDATE per row; the rows' values travel as arrays, in binary (``%b``): a
#: text-format array literal is quoted and escaped element by element in Python, which cost
#: ~50 us per email notice (its HTML body) against ~1 us in binary.
_LEASE_PG = (
    f"UPDATE {_table.name} AS n SET status = '{NotificationStatus.SENDING.value}',"
    " claimed_by = %(worker)s, claimed_until = %(until)s, attempts = v.attempts,"
    " unconfirmed_since = v.since, last_error = v.last_error, subject = v.subject,"
    " body_text = v.body_text, body_html = v.body_html"
    " FROM unnest(%(nid)b::integer[], %(attempts)b::integer[], %(since)b::timestamptz[],"
    " %(last_error)b::text[], %(subject)b::text[], %(body_text)b::text[], %(body_html)b::text[])"
    " AS v(nid, attempts, since, last_error, subject, body_text, body_html)"
    " WHERE n.id = v.nid"
)


@dataclass(frozen=True)
class Claimed:
    notification_id: int
    message: OutgoingMessage
    attempts: int
    in_doubt: bool
    lease_until: datetime
    case_id: int | None = None
    #: for a notice in doubt: the worker whose lease ran out, and when the first attempt whose
    #: outcome is unknown was claimed (the provider is asked about every attempt since)
    previous_worker: str | None = None
    unconfirmed_since: datetime | None = None
    #: an SMS in doubt claimed in quiet hours: sent only if the provider holds it (it is recorded),
    #: otherwise held back until then
    hold_until: datetime | None = None


@dataclass(frozen=True)
class Send:
    """The row is to be sent (rendered and leased); with ``hold_until``, only if the provider
    already holds it, else it waits until then (in doubt, in quiet hours)."""

    hold_until: datetime | None = None


def decide(lookup: Lookup, row: Notification, *, now: datetime, policy: DispatchPolicy,
           program: ProgramInfo, can_ask_provider: bool,
           ) -> CancelOptedOut | WithdrawLandline | Defer | Send:  # fmt: skip
    """The claim's rules for one row, in order: opted out, landline, quiet hours, else send."""
    channel = Channel(row.channel)
    if row.to_address and lookup.suppressed(channel, row.to_address):
        return CancelOptedOut()
    if channel is Channel.SMS and lookup.landline(row.to_address):
        return WithdrawLandline()
    if channel is Channel.SMS:
        person = lookup.party(row.party_id) or lookup.mediator(row.mediator_id)
        zone = person.time_zone if person is not None else program.time_zone
        allowed = next_allowed_sms_time(now, zone, policy.quiet_hours_start, policy.quiet_hours_end)
        if allowed > now and in_doubt(row) and can_ask_provider:
            # Claimed all the same: the provider is asked first (that sends nothing), and only
            # a notice it does not hold waits for the morning (``Dispatcher.deliver``). Deferred
            # here, it would lose its "in doubt" mark and be sent at 08:00 without asking.
            return Send(hold_until=allowed)
        if allowed > now:
            return Defer(allowed)
    return Send()


def in_doubt(row: Notification) -> bool:
    """An earlier attempt's outcome is unknown (its lease ran out; or it was released before
    being looked up). A row leased before ``unconfirmed_since`` existed has its lease."""
    return row.unconfirmed_since is not None or row.status == NotificationStatus.SENDING.value


def claim(
    session_factory: sessionmaker[Session],
    report: DispatchReport,
    *,
    now: datetime,
    limit: int | None,
    policy: DispatchPolicy,
    worker_id: str,
    postgres: bool,
    notifiers: Mapping[Channel, Notifier],
    renderer: Renderer,
    program: ProgramInfo,
) -> list[Claimed]:
    """Claim up to ``limit`` (at most ``policy.batch_size``) due notices; commit; return the
    ones to send. Counts what it did on ``report``."""
    with session_factory() as session, session.begin():
        query = (
            select(Notification)
            .where(
                or_(
                    and_(
                        Notification.status == NotificationStatus.PENDING.value,
                        Notification.due_at <= now,
                        or_(
                            Notification.next_attempt_at.is_(None),
                            Notification.next_attempt_at <= now,
                        ),
                    ),
                    and_(
                        Notification.status == NotificationStatus.SENDING.value,
                        Notification.claimed_until < now,
                    ),
                )
            )
            .order_by(Notification.due_at, Notification.id)
            .limit(min(limit or policy.batch_size, policy.batch_size))
        )
        if postgres:
            query = query.with_for_update(skip_locked=True)
        rows = list(session.scalars(query))
        lookup = Lookup(session, rows)
        claimed: list[Claimed] = []
        leases: list[dict[str, Any]] = []
        with session.no_autoflush:  # the rare paths' ORM changes are flushed at commit
            for row in rows:
                item = _prepare(lookup, row, now, report, leases, policy=policy,
                                notifiers=notifiers, renderer=renderer, program=program)
                if item is not None:
                    claimed.append(item)
        if leases and postgres:  # the hot path: one statement, no unit of work
            columns = ("nid", "attempts", "since", "last_error", "subject", "body_text", "body_html")
            params: dict[str, Any] = {name: [lease[name] for lease in leases] for name in columns}
            params.update(worker=worker_id, until=now + policy.lease)
            session.connection().exec_driver_sql(_LEASE_PG, params)
        elif leases:  # SQLite: one Core executemany
            session.connection().execute(
                _LEASE.values(claimed_by=worker_id, claimed_until=now + policy.lease), leases
            )
        report.claimed += len(claimed)
    return claimed


def _prepare(
    lookup: Lookup,
    row: Notification,
    now: datetime,
    report: DispatchReport,
    leases: list[dict[str, Any]],
    *,
    policy: DispatchPolicy,
    notifiers: Mapping[Channel, Notifier],
    renderer: Renderer,
    program: ProgramInfo,
) -> Claimed | None:
    session = lookup.session
    channel = Channel(row.channel)
    notifier = notifiers.get(channel)
    doubt = in_doubt(row)
    decision = decide(lookup, row, now=now, policy=policy, program=program,
                      can_ask_provider=isinstance(notifier, SentLookup))  # fmt: skip
    if not isinstance(decision, Send):
        apply(session, row, decision, party=lookup.party(row.party_id), now=now)
        report.count(decision.counted_as)
        return None
    try:
        if notifier is None:
            raise LookupError(f"no notifier configured for {channel.value}")
        message, stored = compose(lookup, row, channel, program, renderer, notifier, now)
    except (TemplateError, LookupError, ValueError, TypeError) as exc:
        failed = CannotPrepare(f"cannot prepare: {type(exc).__name__}: {exc}"[:500])
        apply(session, row, failed, party=None, now=now)
        report.count(failed.counted_as)
        return None
    last_error = row.last_error
    if doubt:
        report.in_doubt += 1
        last_error = "previous attempt's outcome unknown (lease expired); sending again"
        if not isinstance(notifier, SentLookup):  # else audited once the provider is asked
            audit.record(session, at=now, actor=ACTOR, action="notice.resent_in_doubt",
                         case_id=row.case_id, subject_kind="notification", subject_id=row.id,
                         previous_worker=row.claimed_by, attempts=row.attempts)  # fmt: skip
    since = now
    if doubt:  # the first unconfirmed attempt's claim, kept however many claims are lost
        since = row.unconfirmed_since or (row.claimed_until or now) - policy.lease
    # Leased by the batch's one UPDATE (``_LEASE_PG``; ``_LEASE`` on SQLite): status 'sending',
    # claimed_by, claimed_until, attempts + 1, unconfirmed_since and what will be sent
    # (subject, text, html).
    leases.append({"nid": row.id, "attempts": row.attempts + 1, "since": since,
                   "last_error": last_error, **stored})  # fmt: skip
    return Claimed(row.id, message, row.attempts + 1, doubt, now + policy.lease,
                   case_id=row.case_id, previous_worker=row.claimed_by if doubt else None,
                   unconfirmed_since=since if doubt else None,
                   hold_until=decision.hold_until)  # fmt: skip
