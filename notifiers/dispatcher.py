"""The outbox dispatcher: claims due notices, renders and sends them, records what happened.

One batch is three kinds of short transaction, never a transaction around a network call:

1. **Claim** (one transaction): pick due rows — ``pending`` and due, or ``sending`` whose lease
   ran out because a worker died — with ``FOR UPDATE SKIP LOCKED`` on PostgreSQL (``BEGIN
   IMMEDIATE`` makes SQLite a single writer). For each: drop it if the recipient opted out,
   defer an SMS that falls in quiet hours, otherwise render it. Then one Core ``executemany``
   stores what will be sent on the rows and leases them (``status='sending'``, ``claimed_by``,
   ``claimed_until``). Commit.
2. **Send** each message through its channel's ``Notifier``, outside any transaction.
3. **Record** each result in its own transaction, guarded by ``claimed_by`` so a worker whose
   lease was taken over cannot overwrite the new owner (a guarded record that matches no row is
   counted as ``lost_lease`` and audited as ``notice.sent_after_lease_lost``): ``sent`` with the
   provider id, one autocommit statement on a connection held for the batch. On PostgreSQL that
   statement is pipelined: it is sent, with the Sync that commits it, before the next message's
   HTTP call, and its result is collected right after that call and before the next record is
   sent — so at most one record is ever in flight. On SQLite it commits before the next send.
   A transient error goes back to ``pending`` with exponential backoff and full jitter, or
   ``dead`` after ``max_attempts``; a permanent error is ``failed`` (recorded at once, after the
   record in flight is collected). Dead and failed notices leave an audit event, a staff alert
   and, for parties, a fallback on their other channel. On PostgreSQL a ``sent`` record commits
   with the WAL flush by default (``DispatchPolicy.durable_records``); with it off, records commit
   without waiting except the batch's last one, whose flush puts all of them on disk before
   ``run_once`` returns (a PostgreSQL crash in mid-batch can then lose that batch's records: those
   rows come back as "in doubt", below).

Guarantee: every notice is sent at least once, and exactly once unless a worker (or, with
``durable_records`` off, the database) dies between the provider accepting a message and step 3
committing its record. On PostgreSQL a killed worker leaves at most two such messages — the one
just accepted, and the one before it whose record was still in flight (sent but not yet confirmed
committed); with ``durable_records`` on, a PostgreSQL crash likewise loses at most those two
records. On SQLite sending and recording are sequential: at most one. Their rows are reclaimed
after the lease (at once if the worker restarts under the same worker id), flagged ``in doubt``.
Where the provider can be asked (``SentLookup``: Twilio lists messages; SendGrid cannot), a message
it holds with the same recipient and body that no notice has recorded is that lost attempt: it is
recorded, not sent again (audit ``notice.found_already_sent``). Otherwise the notice is sent again
(audit ``notice.resent_in_doubt``); the provider then holds two messages carrying the same notice
id (Twilio StatusCallback ``?notice=``, SendGrid ``custom_args.notice_id``), and the delivery
report of the orphan is recorded as ``notice.duplicate_detected`` with a staff alert.
"""

from __future__ import annotations

import argparse
import base64
import logging
import os
import random
import socket
import threading
import weakref
from collections.abc import Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, replace
from datetime import datetime, timedelta
from typing import Any, ClassVar, Protocol, cast

import psycopg
from jinja2 import TemplateError
from psycopg import pq
from sqlalchemy import Engine, Table, and_, bindparam, or_, select, update
from sqlalchemy.orm import Session, sessionmaker

from cases import audit, suppressions
from cases.clock import Clock
from cases.models import Notification, NotificationStatus, Party
from cases.outbox import NoticeKind
from cases.privacy import mask_email, mask_phone
from notifiers.base import (
    Attachment,
    Channel,
    Notifier,
    OutgoingMessage,
    PermanentReason,
    PermanentSendError,
    Receipt,
    SendError,
    SentLookup,
    TransientSendError,
)
from notifiers.context import Lookup, ProgramInfo, build_variables
from notifiers.invite_attachments import invite_attachment
from notifiers.quiet_hours import next_allowed_sms_time
from notifiers.rendering import RenderedSms, Renderer, segment_budget
from notifiers.tracking import alert_staff, fall_back

log = logging.getLogger(__name__)
ACTOR = "dispatcher"


@dataclass(frozen=True)
class DispatchPolicy:
    batch_size: int = 50
    lease: timedelta = timedelta(minutes=5)
    max_attempts: int = 6
    backoff_base: timedelta = timedelta(seconds=30)
    backoff_cap: timedelta = timedelta(hours=2)
    quiet_hours_start: int = 21
    quiet_hours_end: int = 8
    #: Wait for PostgreSQL's WAL flush on every ``sent`` record (default). Off, records commit
    #: asynchronously and only each batch's last one waits: faster, but a *database* crash
    #: mid-batch can then lose up to a batch of records, whose notices are resent "in doubt".
    durable_records: bool = True


#: how far the provider's clock may be behind ours when matching a lost attempt (``SentLookup``)
FOUND_SENT_SKEW = timedelta(minutes=2)

_table = cast(Table, Notification.__table__)
#: The hot path's record, run on the DBAPI connection (SQLAlchemy's per-statement overhead was a
#: third of a record's time); each records class fills in its driver's placeholders.
_MARK_SENT = (
    f"UPDATE {_table.name} SET status = '{NotificationStatus.SENT.value}',"
    " provider_message_id = {pid}, sent_at = {at},"
    " claimed_by = NULL, claimed_until = NULL, next_attempt_at = NULL"
    " WHERE id = {nid} AND claimed_by = {worker}"
    f" AND status = '{NotificationStatus.SENDING.value}'"
)
_LEASE = (
    update(_table)
    .where(_table.c.id == bindparam("nid"))
    .values(
        status=NotificationStatus.SENDING.value,
        attempts=bindparam("attempts"),
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
    " last_error = v.last_error, subject = v.subject, body_text = v.body_text, body_html = v.body_html"
    " FROM unnest(%(nid)b::integer[], %(attempts)b::integer[], %(last_error)b::text[],"
    " %(subject)b::text[], %(body_text)b::text[], %(body_html)b::text[])"
    " AS v(nid, attempts, last_error, subject, body_text, body_html)"
    " WHERE n.id = v.nid"
)


def backoff_delay(attempt: int, policy: DispatchPolicy, rng: random.Random) -> timedelta:
    """Full jitter: uniform in [0, min(cap, base * 2**(attempt-1))] (AWS's recommendation: it
    spreads a burst of failures out instead of retrying them in lockstep)."""
    ceiling = min(policy.backoff_cap, policy.backoff_base * (2 ** max(attempt - 1, 0)))
    return timedelta(seconds=rng.uniform(0, ceiling.total_seconds()))


@dataclass(frozen=True)
class Claimed:
    notification_id: int
    message: OutgoingMessage
    attempts: int
    in_doubt: bool
    lease_until: datetime
    case_id: int | None = None
    #: for a notice in doubt: the worker whose lease ran out, and when it had claimed the notice
    previous_worker: str | None = None
    previous_claim_at: datetime | None = None
    #: an SMS in doubt claimed in quiet hours: sent only if the provider holds it (it is recorded),
    #: otherwise held back until then
    hold_until: datetime | None = None


@dataclass
class DispatchReport:
    claimed: int = 0
    sent: int = 0
    retried: int = 0
    failed: int = 0
    dead: int = 0
    cancelled: int = 0
    deferred: int = 0
    lost_lease: int = 0
    released: int = 0
    in_doubt: int = 0
    #: in doubt, and the provider already held the message: recorded, not sent again
    found_sent: int = 0

    @property
    def touched(self) -> int:
        return self.claimed + self.cancelled + self.deferred + self.failed


def _masked(channel: str, address: str) -> str:
    return mask_phone(address) if channel == Channel.SMS.value else mask_email(address)


class Dispatcher:
    def __init__(
        self,
        session_factory: sessionmaker[Session],
        notifiers: Mapping[Channel, Notifier],
        clock: Clock,
        *,
        renderer: Renderer,
        program: ProgramInfo,
        worker_id: str,
        policy: DispatchPolicy | None = None,
        rng: random.Random | None = None,
    ) -> None:
        self.session_factory = session_factory
        self.notifiers = dict(notifiers)
        self.clock = clock
        self.renderer = renderer
        self.program = program
        self.worker_id = worker_id
        self.policy = policy or DispatchPolicy()
        self.rng = rng or random.Random()
        self._engine: Engine = session_factory.kw["bind"]
        dialect = self._engine.dialect
        self._postgres = dialect.name == "postgresql"
        # sent_at as the ORM would store it (aware UTC; SQLite: SQLAlchemy's text format)
        self._bind_sent_at = _table.c.sent_at.type.dialect_impl(dialect).bind_processor(dialect)

    # -- the loop ---------------------------------------------------------------------------
    def run_once(self) -> DispatchReport:
        """Claim one batch, send it, record the results. Returns what happened.

        On PostgreSQL a ``sent`` record is pipelined: its UPDATE (and the Sync that commits it) goes
        out at once, the next message is sent while PostgreSQL executes it and flushes the WAL, and
        its result (the ``claimed_by`` guard's row count) is collected before the next record is
        issued — so at most one record is ever in flight. On SQLite each record commits before the
        next send. (A second thread to overlap records with sends cost more in GIL hand-offs than
        it hid; the pipeline needs no thread.)
        """
        report = DispatchReport()
        batch = self.claim(report)
        if not batch:
            return report
        with self._record_connection(report) as records:
            for index, item in enumerate(batch):
                if self.clock.now() >= item.lease_until - self.policy.lease / 5:
                    records.collect()
                    self._release(batch[index:])  # never send on a lease about to lapse
                    report.released += len(batch) - index
                    break
                found = self._found_at_provider(item) if item.in_doubt else None
                report.found_sent += found is not None
                if found is None and item.hold_until is not None:
                    self._release([item], until=item.hold_until)
                    report.deferred += 1
                    continue
                outcome = found or self.send(item)
                records.collect()  # the previous message's record, committed meanwhile
                if isinstance(outcome, SendError):
                    self._record_failure(item, outcome, report)
                else:
                    # Without durable records, the batch's last record waits for the WAL flush,
                    # and so makes every earlier (asynchronously committed) record durable too.
                    last = index == len(batch) - 1
                    records.mark_sent(item, outcome, self._sent_params(item, outcome), last=last)
        return report

    def send(self, item: Claimed) -> Receipt | SendError:
        """Step 2, outside any transaction: the provider's answer, as a value."""
        try:
            return self.notifiers[item.message.channel].send(item.message)
        except SendError as exc:
            return exc

    def _found_at_provider(self, item: Claimed) -> Receipt | None:
        """A notice in doubt: does the provider already hold it? Only for channels that can be
        asked (``SentLookup``). A message with this recipient and body that no notice of ours has
        recorded is the lost attempt: it is recorded (audit ``notice.found_already_sent``) and not
        sent again. Otherwise, or if the provider cannot be asked, it is sent again (audit
        ``notice.resent_in_doubt``), or, in the recipient's quiet hours, held until they end
        (``notice.held_in_doubt``)."""
        notifier = self.notifiers[item.message.channel]
        if not isinstance(notifier, SentLookup):
            return None
        # Only a message accepted after the lost attempt's claim can be it (an older unrecorded
        # one is some earlier orphan with the same text); a margin covers the clocks' skew.
        since = (item.previous_claim_at or self.clock.now()) - FOUND_SENT_SKEW
        try:
            candidates = [
                c for c in notifier.recent_matching(item.message)
                if c.accepted_at is not None and c.accepted_at >= since
            ][::-1]  # oldest first: two lost attempts with one text go to the notices in claim order

        except Exception as exc:  # asking is a courtesy: it must never keep a notice from going out
            log.warning("notice %s: could not ask whether it was already sent (%s); sending again",
                        item.notification_id, exc)  # fmt: skip
            candidates = []
        with self.session_factory() as session, session.begin():
            recorded = set(session.scalars(
                select(Notification.provider_message_id).where(
                    Notification.provider_message_id.in_([c.provider_message_id for c in candidates])
                )
            )) if candidates else set()  # fmt: skip
            found = next((c for c in candidates if c.provider_message_id not in recorded), None)
            audit.record(session, at=self.clock.now(), actor=ACTOR,
                         action="notice.found_already_sent" if found else
                         "notice.held_in_doubt" if item.hold_until else "notice.resent_in_doubt",
                         case_id=item.case_id, subject_kind="notification", subject_id=item.notification_id,
                         previous_worker=item.previous_worker, attempts=item.attempts - 1,
                         provider_message_id=found.provider_message_id if found else None)  # fmt: skip
        return found

    @contextmanager
    def _record_connection(self, report: DispatchReport) -> Iterator[_Records]:
        """One connection for a batch's records (no pool checkout and ping per message).

        PostgreSQL: autocommit in pipeline mode, so a record is one statement and its own
        transaction, sent without waiting (``_PipelinedRecords``); with ``durable_records`` off,
        committed without waiting for the WAL flush except the batch's last one. SQLite:
        ``BEGIN IMMEDIATE``, the update, ``COMMIT``, before the next send.
        """
        with self._engine.connect() as connection:
            raw = cast(Any, connection.connection.dbapi_connection)
            if not self._postgres:
                yield _SqliteRecords(self, raw, report)
                return
            connection.execution_options(isolation_level="AUTOCOMMIT")  # reset on return to pool
            durable = self.policy.durable_records
            if not durable:
                connection.exec_driver_sql("SET synchronous_commit TO off")
            records = _PipelinedRecords(self, raw, report, durable=durable)
            try:
                try:
                    yield records
                finally:
                    records.collect()
                records.close()
            except BaseException:
                connection.invalidate()  # mid-pipeline or unsure of its settings: never reuse it
                raise
            if not durable:
                connection.exec_driver_sql("RESET synchronous_commit")
                connection.commit()

    def recover_own_leases(self) -> int:
        """At start: rows still leased to this worker id belong to a previous incarnation that
        died (a worker id names one live process). Expire those leases now instead of waiting,
        so they are reclaimed — as "in doubt" — by the normal claim. Returns how many."""
        now = self.clock.now()
        with self.session_factory() as session, session.begin():
            result = session.execute(
                update(Notification)
                .where(
                    Notification.claimed_by == self.worker_id,
                    Notification.status == NotificationStatus.SENDING.value,
                )
                .values(claimed_until=now - timedelta(microseconds=1))
                .execution_options(synchronize_session=False)
            )
        count = int(result.rowcount)  # type: ignore[attr-defined]
        if count:
            log.warning("worker %s: %d notices left mid-send by a previous run", self.worker_id, count)
        return count

    # -- 1. claim ---------------------------------------------------------------------------
    def claim(self, report: DispatchReport) -> list[Claimed]:
        now = self.clock.now()
        with self.session_factory() as session, session.begin():
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
                .limit(self.policy.batch_size)
            )
            if self._postgres:
                query = query.with_for_update(skip_locked=True)
            rows = list(session.scalars(query))
            lookup = Lookup(session, rows)
            claimed: list[Claimed] = []
            leases: list[dict[str, Any]] = []
            with session.no_autoflush:  # the rare paths' ORM changes are flushed at commit
                for row in rows:
                    item = self._prepare(lookup, row, now, report, leases)
                    if item is not None:
                        claimed.append(item)
            if leases and self._postgres:  # the hot path: one statement, no unit of work
                columns = ("nid", "attempts", "last_error", "subject", "body_text", "body_html")
                params: dict[str, Any] = {name: [lease[name] for lease in leases] for name in columns}
                params.update(worker=self.worker_id, until=now + self.policy.lease)
                session.connection().exec_driver_sql(_LEASE_PG, params)
            elif leases:  # SQLite: one Core executemany
                session.connection().execute(
                    _LEASE.values(claimed_by=self.worker_id, claimed_until=now + self.policy.lease),
                    leases,
                )
            report.claimed += len(claimed)
        return claimed

    def _prepare(
        self,
        lookup: Lookup,
        row: Notification,
        now: datetime,
        report: DispatchReport,
        leases: list[dict[str, Any]],
    ) -> Claimed | None:
        session = lookup.session
        channel = Channel(row.channel)
        in_doubt = row.status == NotificationStatus.SENDING.value
        party = lookup.party(row.party_id)
        if row.to_address and lookup.suppressed(channel, row.to_address):
            self._finish(row, NotificationStatus.CANCELLED, f"recipient opted out of {channel.value}")
            audit.record(session, at=now, actor=ACTOR, action="notice.cancelled_opted_out",
                         case_id=row.case_id, subject_kind="notification", subject_id=row.id,
                         channel=channel.value, kind=row.kind)  # fmt: skip
            fall_back(session, row, party, now, actor=ACTOR)
            report.cancelled += 1
            return None
        notifier = self.notifiers.get(channel)
        hold_until: datetime | None = None
        if channel is Channel.SMS:
            person = party or lookup.mediator(row.mediator_id)
            zone = person.time_zone if person is not None else self.program.time_zone
            allowed = next_allowed_sms_time(
                now, zone, self.policy.quiet_hours_start, self.policy.quiet_hours_end
            )
            if allowed > now and in_doubt and isinstance(notifier, SentLookup):
                # Claimed all the same: the provider is asked first (that sends nothing), and only
                # a notice it does not hold waits for the morning (``run_once``). Deferred here,
                # it would lose its "in doubt" mark and be sent at 08:00 without asking.
                hold_until = allowed
            elif allowed > now:
                row.status = NotificationStatus.PENDING.value
                row.next_attempt_at = allowed
                row.claimed_by = row.claimed_until = None
                report.deferred += 1
                return None
        try:
            if notifier is None:
                raise LookupError(f"no notifier configured for {channel.value}")
            message, stored = self._render(lookup, row, channel, now)
        except (TemplateError, LookupError, ValueError, TypeError) as exc:
            reason = f"cannot prepare: {type(exc).__name__}: {exc}"[:500]
            self._finish(row, NotificationStatus.FAILED, reason)
            alert_staff(session, row, "notice_dead", reason, now)
            report.failed += 1
            return None
        last_error = row.last_error
        if in_doubt:
            report.in_doubt += 1
            last_error = "previous attempt's outcome unknown (lease expired); sending again"
            if not isinstance(notifier, SentLookup):  # else audited once the provider is asked
                audit.record(session, at=now, actor=ACTOR, action="notice.resent_in_doubt",
                             case_id=row.case_id, subject_kind="notification", subject_id=row.id,
                             previous_worker=row.claimed_by, attempts=row.attempts)  # fmt: skip
        # Leased by the batch's one UPDATE (``_LEASE_PG``; ``_LEASE`` on SQLite): status 'sending',
        # claimed_by, claimed_until, attempts + 1 and what will be sent (subject, text, html).
        leases.append({"nid": row.id, "attempts": row.attempts + 1, "last_error": last_error, **stored})
        return Claimed(row.id, message, row.attempts + 1, in_doubt, now + self.policy.lease,
                       case_id=row.case_id, previous_worker=row.claimed_by if in_doubt else None,
                       previous_claim_at=(row.claimed_until - self.policy.lease
                                          if in_doubt and row.claimed_until else None),
                       hold_until=hold_until)  # fmt: skip

    def _render(
        self, lookup: Lookup, row: Notification, channel: Channel, now: datetime
    ) -> tuple[OutgoingMessage, dict[str, str | None]]:
        """The message, and the bodies to store on the row (``subject``, ``body_text``, ``body_html``)."""
        variables = build_variables(lookup, row, self.program, now=now)
        kind = NoticeKind(row.kind)
        rendered = self.renderer.render(kind, row.language, channel, variables,
                                        segment_budget(self.notifiers.get(channel)))
        to = row.to_address or (self.program.email if channel is Channel.EMAIL else "")
        if not to:
            raise ValueError(f"no {channel.value} address")
        if isinstance(rendered, RenderedSms):
            stored = {"subject": None, "body_text": rendered.body, "body_html": None}
            return OutgoingMessage(row.id, channel, to, rendered.body), stored
        stored = {"subject": rendered.subject, "body_text": rendered.text, "body_html": rendered.html}
        attachments = tuple(
            Attachment(
                filename=str(item["filename"]),
                content_type=str(item.get("content_type", "application/octet-stream")),
                content=base64.b64decode(item["content"]),
                disposition=str(item.get("disposition", "attachment")),
            )
            for item in row.attachments or []
        )
        invite = invite_attachment(lookup, row, self.program, now)
        if invite is not None:
            attachments += (invite,)
        message = OutgoingMessage(
            row.id, channel, to, rendered.text, rendered.subject, rendered.html, attachments
        )
        return message, stored

    # -- 3. record --------------------------------------------------------------------------
    def _owned(self, item: Claimed) -> Any:
        return and_(
            Notification.id == item.notification_id,
            Notification.claimed_by == self.worker_id,
            Notification.status == NotificationStatus.SENDING.value,
        )

    def _sent_params(self, item: Claimed, receipt: Receipt) -> dict[str, Any]:
        now = self.clock.now()
        return {"nid": item.notification_id, "worker": self.worker_id, "pid": receipt.provider_message_id,
                "at": self._bind_sent_at(now) if self._bind_sent_at else now}  # fmt: skip

    def _recorded(self, item: Claimed, receipt: Receipt, updated: int, report: DispatchReport) -> None:
        """A ``sent`` record's outcome: 1 row, or 0 when the ``claimed_by`` guard refused it."""
        if updated == 1:
            report.sent += 1
            return
        # Our lease lapsed and another worker took the row: it may send it again.
        report.lost_lease += 1
        log.warning("notice %s sent after its lease was lost", item.notification_id)
        with self.session_factory() as session, session.begin():
            audit.record(session, at=self.clock.now(), actor=ACTOR, action="notice.sent_after_lease_lost",
                         subject_kind="notification", subject_id=item.notification_id,
                         provider_message_id=receipt.provider_message_id)  # fmt: skip

    def _record_failure(self, item: Claimed, error: SendError, report: DispatchReport) -> None:
        now = self.clock.now()
        with self.session_factory() as session, session.begin():
            row = session.scalar(select(Notification).where(self._owned(item)))
            if row is None:
                report.lost_lease += 1
                return
            reason = str(error)[:500]
            if isinstance(error, TransientSendError) and row.attempts < self.policy.max_attempts:
                delay = backoff_delay(row.attempts, self.policy, self.rng)
                if error.retry_after_seconds:
                    delay = max(delay, timedelta(seconds=error.retry_after_seconds))
                row.status = NotificationStatus.PENDING.value
                row.next_attempt_at = now + delay
                row.claimed_by = row.claimed_until = None
                row.last_error = reason
                report.retried += 1
                return
            party = session.get(Party, row.party_id) if row.party_id is not None else None
            if isinstance(error, TransientSendError):
                self._finish(row, NotificationStatus.DEAD, reason)
                report.dead += 1
                action, alert = "notice.dead", "notice_dead"
            else:
                self._finish(row, NotificationStatus.FAILED, reason)
                report.failed += 1
                action, alert = "notice.failed", "notice_dead"
                permanent = error if isinstance(error, PermanentSendError) else None
                if permanent and permanent.reason is PermanentReason.OPTED_OUT:
                    suppressions.suppress(session, Channel(row.channel), row.to_address,
                                          source="provider", now=now)  # fmt: skip
                    alert = ""
                elif permanent and permanent.reason is PermanentReason.INVALID_ADDRESS:
                    alert = "invalid_contact"
            log.warning(
                "notice %s (%s to %s) %s: %s", row.id, row.channel,
                _masked(row.channel, row.to_address), action, reason,
            )  # fmt: skip
            audit.record(session, at=now, actor=ACTOR, action=action, case_id=row.case_id,
                         subject_kind="notification", subject_id=row.id, channel=row.channel,
                         code=error.code, attempts=row.attempts)  # fmt: skip
            if alert:
                alert_staff(session, row, alert, f"{row.channel} {row.kind} notice #{row.id}: "
                            f"{type(error).__name__} code {error.code}", now)  # fmt: skip
            fall_back(session, row, party, now, actor=ACTOR)

    def _release(self, items: Sequence[Claimed], *, until: datetime | None = None) -> None:
        """Back to ``pending``, the attempt not counted; with ``until``, not before then (an SMS
        held for quiet hours)."""
        values: dict[str, Any] = {"status": NotificationStatus.PENDING.value, "claimed_by": None,
                                  "claimed_until": None, "attempts": Notification.attempts - 1}
        if until is not None:
            values["next_attempt_at"] = until
        with self.session_factory() as session, session.begin():
            for item in items:
                session.execute(
                    update(Notification)
                    .where(self._owned(item))
                    .values(**values)
                    .execution_options(synchronize_session=False)
                )

    # -- helpers ----------------------------------------------------------------------------
    @staticmethod
    def _finish(row: Notification, status: NotificationStatus, reason: str) -> None:
        row.status = status.value
        row.last_error = reason
        row.claimed_by = row.claimed_until = None
        row.next_attempt_at = None


class _Records(Protocol):
    """Where a batch's ``sent`` records go (``Dispatcher._record_connection``)."""

    def mark_sent(self, item: Claimed, receipt: Receipt, params: dict[str, Any], *, last: bool) -> None:
        """Record ``item`` as sent (its outcome may be known only at the next ``collect``)."""

    def collect(self) -> None:
        """Wait for the record in flight, if any, and account for it in the report."""


class _SqliteRecords:
    """SQLite: each record is its own ``BEGIN IMMEDIATE`` transaction, committed at once."""

    _SQL = _MARK_SENT.format(pid=":pid", at=":at", nid=":nid", worker=":worker")

    def __init__(self, dispatcher: Dispatcher, raw: Any, report: DispatchReport) -> None:
        self._dispatcher, self._raw, self._report = dispatcher, raw, report

    def mark_sent(self, item: Claimed, receipt: Receipt, params: dict[str, Any], *, last: bool) -> None:
        cursor = self._raw.cursor()
        try:  # the sqlite3 connection commits, or rolls back, what BEGIN IMMEDIATE opened
            cursor.execute("BEGIN IMMEDIATE")
            with self._raw:
                cursor.execute(self._SQL, params)
            updated = cursor.rowcount
        finally:
            cursor.close()
        self._dispatcher._recorded(item, receipt, updated, self._report)

    def collect(self) -> None:
        pass


class _PipelinedRecords:
    """PostgreSQL, autocommit, libpq pipeline mode: a record's UPDATE and the Sync that commits it
    are sent at once, and its result is read at the next ``collect`` — after the next message's
    HTTP call, during which PostgreSQL executed it and flushed the WAL. At most one record is in
    flight.

    This talks to libpq through ``psycopg.pq`` (psycopg's documented libpq wrapper), not through
    ``Cursor.execute``: a record is then one prepared statement's Bind/Execute and a Sync, a few
    microseconds of client time instead of ~90 us of psycopg's query machinery per notice. The
    statement is prepared once per connection (``_prepared``); while the batch runs nothing else
    uses the connection, and ``close`` leaves it idle and out of pipeline mode (or raises, and the
    caller discards the connection).
    """

    _STATEMENT = b"cmp_dispatcher_mark_sent"
    _prepared: ClassVar[weakref.WeakSet[Any]] = weakref.WeakSet()  # connections that hold it

    def __init__(self, dispatcher: Dispatcher, raw: Any, report: DispatchReport, *, durable: bool) -> None:
        self._dispatcher, self._raw, self._report, self._durable = dispatcher, raw, report, durable
        self._pgconn = raw.pgconn
        self._in_flight: tuple[Claimed, Receipt] | None = None
        self._pgconn.enter_pipeline_mode()
        if raw not in self._prepared:
            sql = _MARK_SENT.format(pid="$1", at="$2", nid="$3", worker="$4")
            self._pgconn.send_prepare(self._STATEMENT, sql.encode())
            self._pgconn.pipeline_sync()
            self._read_until_sync()
            self._prepared.add(raw)

    def mark_sent(self, item: Claimed, receipt: Receipt, params: dict[str, Any], *, last: bool) -> None:
        self.collect()
        pgconn = self._pgconn
        if last and not self._durable:  # same implicit transaction: this commit waits for the flush
            pgconn.send_query_params(b"RESET synchronous_commit", None)
        values = [str(params["pid"]).encode(), params["at"].isoformat().encode(),
                  str(params["nid"]).encode(), str(params["worker"]).encode()]  # fmt: skip
        pgconn.send_query_prepared(self._STATEMENT, values)
        pgconn.pipeline_sync()  # flushes: the UPDATE and its commit are on their way
        self._in_flight = (item, receipt)

    def collect(self) -> None:
        if self._in_flight is None:
            return
        item, receipt = self._in_flight
        self._in_flight = None
        self._dispatcher._recorded(item, receipt, self._read_until_sync(), self._report)

    def _read_until_sync(self) -> int:
        """Read one Sync's results; return the rows the UPDATE matched (0 if none ran)."""
        updated, error, ended = 0, None, False
        while True:
            result = self._pgconn.get_result()
            if result is None:  # the end of one statement's results; twice running, no Sync will come
                if ended or self._pgconn.status == pq.ConnStatus.BAD:
                    raise psycopg.OperationalError(
                        f"recording a sent notice failed: {error or 'the connection was lost'}")
                ended = True
                continue
            ended = False
            if result.status == pq.ExecStatus.PIPELINE_SYNC:
                break
            if result.status == pq.ExecStatus.FATAL_ERROR and error is None:
                error = result.error_message.decode("utf-8", "replace").strip()
            elif result.command_status and result.command_status.startswith(b"UPDATE"):
                updated = result.command_tuples or 0
        if error is not None:
            raise psycopg.OperationalError(f"recording a sent notice failed: {error}")
        return updated

    def close(self) -> None:
        self._pgconn.exit_pipeline_mode()


def default_worker_id() -> str:
    return f"{socket.gethostname()}:{os.getpid()}"


def run_dispatcher(
    dispatcher: Dispatcher,
    stop_event: threading.Event,
    *,
    idle_wait: float = 5.0,
    until_idle: bool = False,
) -> DispatchReport:
    """Run batches until ``stop_event`` is set (or, with ``until_idle``, until a batch finds
    nothing to do). Waits ``idle_wait`` seconds between empty polls. Returns the totals."""
    totals = DispatchReport()
    dispatcher.recover_own_leases()
    while not stop_event.is_set():
        report = dispatcher.run_once()
        for name in ("claimed", "sent", "retried", "failed", "dead", "cancelled", "deferred",
                     "lost_lease", "released", "in_doubt", "found_sent"):  # fmt: skip
            setattr(totals, name, getattr(totals, name) + getattr(report, name))
        if report.touched == 0:
            if until_idle:
                break
            stop_event.wait(idle_wait)
    return totals


def main(argv: list[str] | None = None) -> None:
    """``python -m notifiers.dispatcher`` — settings from CMP_* variables."""
    from cases.clock import SystemClock
    from cases.database import make_engine, make_session_factory
    from notifiers.wiring import build_dispatcher
    from settings import load_settings, with_secret_key

    parser = argparse.ArgumentParser(prog="python -m notifiers.dispatcher")
    parser.add_argument("--database-url", default=None)
    parser.add_argument("--worker-id", default=None)
    parser.add_argument("--batch-size", type=int, default=None)
    parser.add_argument("--until-idle", action="store_true", help="exit when nothing is due")
    parser.add_argument("--lease-seconds", type=float, default=None)
    args = parser.parse_args(argv)
    from logging_setup import configure_logging

    configure_logging()
    overrides: dict[str, Any] = {}
    if args.database_url:
        overrides["database_url"] = args.database_url
    if args.batch_size:
        overrides["dispatch_batch_size"] = args.batch_size
    settings = with_secret_key(load_settings(**overrides))
    engine = make_engine(settings.database_url)
    dispatcher = build_dispatcher(
        settings, make_session_factory(engine), SystemClock(), worker_id=args.worker_id
    )
    if args.lease_seconds:
        dispatcher.policy = replace(dispatcher.policy, lease=timedelta(seconds=args.lease_seconds))
    stop = threading.Event()
    try:
        totals = run_dispatcher(
            dispatcher, stop, idle_wait=settings.dispatch_interval_seconds, until_idle=args.until_idle
        )
        log.info("dispatcher %s done: %s", dispatcher.worker_id, totals)
    except KeyboardInterrupt:
        stop.set()
    finally:
        engine.dispose()


if __name__ == "__main__":
    main()
