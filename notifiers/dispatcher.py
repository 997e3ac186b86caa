"""The outbox dispatcher: claims due notices, renders and sends them, records what happened.

One batch is three kinds of short transaction, never a transaction around a network call:

1. **Claim** (one transaction): pick due rows — ``pending`` and due, or ``sending`` whose lease
   ran out because a worker died — with ``FOR UPDATE SKIP LOCKED`` on PostgreSQL (``BEGIN
   IMMEDIATE`` makes SQLite a single writer). For each: drop it if the recipient opted out,
   defer an SMS that falls in quiet hours, otherwise render it, store what will be sent on the
   row, and lease it (``status='sending'``, ``claimed_by``, ``claimed_until``). Commit.
2. **Send** each message through its channel's ``Notifier``, outside any transaction.
3. **Record** each result in its own transaction, guarded by ``claimed_by`` so a worker whose lease
   was taken over cannot overwrite the new owner: ``sent`` with the provider id; a transient error
   goes back to ``pending`` with exponential backoff and full jitter, or ``dead`` after
   ``max_attempts``; a permanent error is ``failed``. Dead and failed notices leave an audit event,
   a staff alert and, for parties, a fallback on their other channel.

Guarantee: every notice is sent at least once, and exactly once unless a worker dies between the
provider accepting a message and step 3 committing. Recording message *i* overlaps with sending
message *i+1* (a second thread), so a killed worker leaves at most two such messages. Its rows are
reclaimed after the lease (at once if it restarts under the same worker id) and sent again, flagged
``in doubt`` (audit ``notice.resent_in_doubt``); the provider then holds two messages carrying the
same notice id (Twilio StatusCallback ``?notice=``, SendGrid ``custom_args.notice_id``), and the
delivery report of the orphan is recorded as ``notice.duplicate_detected`` with a staff alert.
"""

from __future__ import annotations

import argparse
import base64
import logging
import os
import random
import socket
import threading
from collections.abc import Mapping, Sequence
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass, replace
from datetime import datetime, timedelta
from typing import Any, cast

from jinja2 import TemplateError
from sqlalchemy import Engine, Table, and_, bindparam, or_, select, update
from sqlalchemy.orm import Session, sessionmaker

from cases import audit
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
    TransientSendError,
)
from notifiers.context import Lookup, ProgramInfo, build_variables
from notifiers.invite_attachments import invite_attachment
from notifiers.quiet_hours import next_allowed_sms_time
from notifiers.rendering import RenderedSms, Renderer
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


_table = cast(Table, Notification.__table__)
_MARK_SENT = (
    update(_table)
    .where(
        _table.c.id == bindparam("nid"),
        _table.c.claimed_by == bindparam("worker"),
        _table.c.status == NotificationStatus.SENDING.value,
    )
    .values(
        status=NotificationStatus.SENT.value,
        provider_message_id=bindparam("pid", type_=_table.c.provider_message_id.type),
        sent_at=bindparam("at", type_=_table.c.sent_at.type),
        claimed_by=None,
        claimed_until=None,
        next_attempt_at=None,
    )
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
        self._postgres = self._engine.dialect.name == "postgresql"

    # -- the loop ---------------------------------------------------------------------------
    def run_once(self) -> DispatchReport:
        """Claim one batch, send it, record the results. Returns what happened.

        Sending is sequential; recording message *i* (a short transaction on a second thread)
        overlaps with sending message *i+1*, and never more than that: the next record waits for
        the previous one, so at most two accepted messages are ever unrecorded at once.
        """
        report = DispatchReport()
        batch = self.claim(report)
        if not batch:
            return report
        pending: Future[None] | None = None
        with ThreadPoolExecutor(max_workers=1, thread_name_prefix="outbox-record") as recorder:
            for index, item in enumerate(batch):
                if self.clock.now() >= item.lease_until - self.policy.lease / 5:
                    if pending is not None:
                        pending.result()
                    self._release(batch[index:], report)  # never send on a lease about to lapse
                    break
                outcome = self.send(item)
                if pending is not None:
                    pending.result()  # surfaces a failed record instead of losing it
                pending = recorder.submit(self.record, item, outcome, report)
            if pending is not None:
                pending.result()
        return report

    def send(self, item: Claimed) -> Receipt | SendError:
        """Step 2, outside any transaction: the provider's answer, as a value."""
        try:
            return self.notifiers[item.message.channel].send(item.message)
        except SendError as exc:
            return exc

    def record(self, item: Claimed, outcome: Receipt | SendError, report: DispatchReport) -> None:
        if isinstance(outcome, SendError):
            self._record_failure(item, outcome, report)
        else:
            self._record_success(item, outcome, report)

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
            claimed = []
            with session.no_autoflush:  # one batched UPDATE at commit, not one per row
                for row in rows:
                    item = self._prepare(lookup, row, now, report)
                    if item is not None:
                        claimed.append(item)
            report.claimed += len(claimed)
        return claimed

    def _prepare(
        self, lookup: Lookup, row: Notification, now: datetime, report: DispatchReport
    ) -> Claimed | None:
        session = lookup.session
        channel = Channel(row.channel)
        in_doubt = row.status == NotificationStatus.SENDING.value
        party = lookup.party(row.party_id)
        if party is not None and (
            (channel is Channel.SMS and party.sms_opted_out)
            or (channel is Channel.EMAIL and party.email_opted_out)
        ):
            self._finish(row, NotificationStatus.CANCELLED, f"recipient opted out of {channel.value}")
            audit.record(session, at=now, actor=ACTOR, action="notice.cancelled_opted_out",
                         case_id=row.case_id, subject_kind="notification", subject_id=row.id,
                         channel=channel.value, kind=row.kind)  # fmt: skip
            fall_back(session, row, party, now, actor=ACTOR)
            report.cancelled += 1
            return None
        if channel is Channel.SMS:
            person = party or lookup.mediator(row.mediator_id)
            zone = person.time_zone if person is not None else self.program.time_zone
            allowed = next_allowed_sms_time(
                now, zone, self.policy.quiet_hours_start, self.policy.quiet_hours_end
            )
            if allowed > now:
                row.status = NotificationStatus.PENDING.value
                row.next_attempt_at = allowed
                row.claimed_by = row.claimed_until = None
                report.deferred += 1
                return None
        notifier = self.notifiers.get(channel)
        try:
            if notifier is None:
                raise LookupError(f"no notifier configured for {channel.value}")
            message = self._render(lookup, row, channel, now)
        except (TemplateError, LookupError, ValueError, TypeError) as exc:
            reason = f"cannot prepare: {type(exc).__name__}: {exc}"[:500]
            self._finish(row, NotificationStatus.FAILED, reason)
            alert_staff(session, row, "notice_dead", reason, now)
            report.failed += 1
            return None
        if in_doubt:
            report.in_doubt += 1
            row.last_error = "previous attempt's outcome unknown (lease expired); sending again"
            audit.record(session, at=now, actor=ACTOR, action="notice.resent_in_doubt",
                         case_id=row.case_id, subject_kind="notification", subject_id=row.id,
                         previous_worker=row.claimed_by, attempts=row.attempts)  # fmt: skip
        lease_until = now + self.policy.lease
        row.status = NotificationStatus.SENDING.value
        row.claimed_by = self.worker_id
        row.claimed_until = lease_until
        row.attempts += 1
        return Claimed(row.id, message, row.attempts, in_doubt, lease_until)

    def _render(self, lookup: Lookup, row: Notification, channel: Channel, now: datetime) -> OutgoingMessage:
        variables = build_variables(lookup, row, self.program, now=now)
        kind = NoticeKind(row.kind)
        rendered = self.renderer.render(kind, row.language, channel, variables)
        to = row.to_address or (self.program.email if channel is Channel.EMAIL else "")
        if not to:
            raise ValueError(f"no {channel.value} address")
        if isinstance(rendered, RenderedSms):
            row.subject, row.body_text, row.body_html = None, rendered.body, None
            return OutgoingMessage(row.id, channel, to, rendered.body)
        row.subject, row.body_text, row.body_html = rendered.subject, rendered.text, rendered.html
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
        return OutgoingMessage(
            row.id, channel, to, rendered.text, rendered.subject, rendered.html, attachments
        )

    # -- 3. record --------------------------------------------------------------------------
    def _owned(self, item: Claimed) -> Any:
        return and_(
            Notification.id == item.notification_id,
            Notification.claimed_by == self.worker_id,
            Notification.status == NotificationStatus.SENDING.value,
        )

    def _record_success(self, item: Claimed, receipt: Receipt, report: DispatchReport) -> None:
        """The hot path: one short Core transaction, no ORM unit of work."""
        now = self.clock.now()
        with self._engine.begin() as connection:
            if self._postgres:
                # The commit need not wait for the WAL flush: if PostgreSQL itself crashed before
                # the flush, the row would be back to 'sending' and resent "in doubt" - the same
                # path as a dispatcher crash. A dispatcher crash after commit loses nothing.
                connection.exec_driver_sql("SET LOCAL synchronous_commit TO OFF")
            result = connection.execute(
                _MARK_SENT,
                {"nid": item.notification_id, "worker": self.worker_id,
                 "pid": receipt.provider_message_id, "at": now},
            )  # fmt: skip
            if result.rowcount == 1:
                report.sent += 1
                return
        # Our lease lapsed and another worker took the row: it may send it again.
        report.lost_lease += 1
        log.warning("notice %s sent after its lease was lost", item.notification_id)
        with self.session_factory() as session, session.begin():
            audit.record(session, at=now, actor=ACTOR, action="notice.sent_after_lease_lost",
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
                if permanent and permanent.reason is PermanentReason.OPTED_OUT and party:
                    party.sms_opted_out = True
                    party.sms_opted_out_at = now
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

    def _release(self, items: Sequence[Claimed], report: DispatchReport) -> None:
        with self.session_factory() as session, session.begin():
            for item in items:
                session.execute(
                    update(Notification)
                    .where(self._owned(item))
                    .values(
                        status=NotificationStatus.PENDING.value,
                        claimed_by=None,
                        claimed_until=None,
                        attempts=Notification.attempts - 1,
                    )
                    .execution_options(synchronize_session=False)
                )
        report.released += len(items)

    # -- helpers ----------------------------------------------------------------------------
    @staticmethod
    def _finish(row: Notification, status: NotificationStatus, reason: str) -> None:
        row.status = status.value
        row.last_error = reason
        row.claimed_by = row.claimed_until = None
        row.next_attempt_at = None


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
                     "lost_lease", "released", "in_doubt"):  # fmt: skip
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
    from settings import load_settings

    parser = argparse.ArgumentParser(prog="python -m notifiers.dispatcher")
    parser.add_argument("--database-url", default=None)
    parser.add_argument("--worker-id", default=None)
    parser.add_argument("--batch-size", type=int, default=None)
    parser.add_argument("--until-idle", action="store_true", help="exit when nothing is due")
    parser.add_argument("--lease-seconds", type=float, default=None)
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s %(message)s")
    overrides: dict[str, Any] = {}
    if args.database_url:
        overrides["database_url"] = args.database_url
    if args.batch_size:
        overrides["dispatch_batch_size"] = args.batch_size
    settings = load_settings(**overrides)
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
