"""The outbox dispatcher: claims due notices, renders and sends them, records what happened.

One batch is three kinds of short transaction, never a transaction around a network call:

1. **Claim** (one transaction): pick due rows — ``pending`` and due, or ``sending`` whose lease
   ran out because a worker died — with ``FOR UPDATE SKIP LOCKED`` on PostgreSQL (``BEGIN
   IMMEDIATE`` makes SQLite a single writer). For each: drop it if the recipient opted out,
   withdraw an SMS to a number known to be a landline (``notifiers.landlines``), defer an SMS
   that falls in quiet hours, otherwise render it. Then one Core ``executemany``
   stores what will be sent on the rows and leases them (``status='sending'``, ``claimed_by``,
   ``claimed_until``). Commit.
2. **Send** each message through its channel's ``Notifier``, outside any transaction, up to
   ``policy.concurrency`` at once on threads, at most one per recipient (in claim order), each
   waiting first for its sender's slot (``notifiers.pacing``: one rate per Twilio number or
   SendGrid key, shared by every process). Notices in doubt go one by one, while no other send
   of this dispatcher is in flight (their read-back matches by recipient and text).
3. **Record** each result in its own transaction, committed before its thread sends again,
   guarded by ``claimed_by`` so a worker whose lease was taken over cannot overwrite the new owner
   (a guarded record that matches no row is counted as ``lost_lease`` and audited as
   ``notice.sent_after_lease_lost``): ``sent`` with the provider id, one ordinary SQLAlchemy
   ``UPDATE`` on a connection checked out from the pool for the batch (on PostgreSQL in
   autocommit, so the statement is its own transaction: one round trip). A transient error goes
   back to ``pending`` with exponential backoff and full jitter, or ``dead`` after
   ``max_attempts``; a 429 waits out its Retry-After, the sender paused for every process, and is
   not counted as an attempt; a permanent error is ``failed``. Dead and failed notices leave an audit
   event, a staff alert and, for parties, a fallback on their other channel.

Guarantee: every notice is sent at least once, and exactly once unless a worker dies between the
provider accepting a message and step 3 committing its record (at most one message per send in
flight, and one per recipient, on either backend: each record commits before its thread sends
again), or the provider's answer is lost (a timeout,
retried as transient). Such a notice is *in doubt*: its row is reclaimed after the lease (at once
if the worker restarts under the same worker id), or retried after the backoff, and it stays in
doubt (``unconfirmed_since``: the claim of its first attempt whose outcome is unknown) until an
outcome is recorded, however many claims are lost or released in between. Where the provider can
be asked (``SentLookup``: Twilio lists messages; SendGrid cannot), a message it holds with the
same recipient and body, accepted since that first unconfirmed claim, that no notice has recorded
is a lost attempt: it is recorded, not sent again (audit ``notice.found_already_sent``).
Otherwise the notice is sent again (audit ``notice.resent_in_doubt``); the provider then holds two
messages carrying the same notice id (Twilio StatusCallback ``?notice=``, SendGrid
``custom_args.notice_id``), and the delivery report of the orphan is recorded as
``notice.duplicate_detected`` with a staff alert.
"""

from __future__ import annotations

import argparse
import base64
import logging
import random
import threading
from collections.abc import Mapping, Sequence
from concurrent.futures import FIRST_COMPLETED, Future, ThreadPoolExecutor, wait
from dataclasses import dataclass, replace
from datetime import datetime, timedelta
from typing import Any, cast

from jinja2 import TemplateError
from sqlalchemy import Connection, Engine, Table, and_, bindparam, case, func, or_, select, update
from sqlalchemy.orm import Session, sessionmaker

from cases import audit, suppressions
from cases.clock import Clock
from cases.models import Notification, NotificationStatus, Party
from cases.outbox import NoticeKind
from cases.privacy import mask_email, mask_phone
from notifiers.channels.base import (
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
from notifiers.landlines import withdraw_for_landline
from notifiers.pacing import Pacer, Sender
from notifiers.quiet_hours import next_allowed_sms_time
from notifiers.rendering import RenderedSms, Renderer, segment_budget
from notifiers.tracking import alert_staff, fall_back
from notifiers.wakeup import Wakeup

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
    #: sends in flight at once (threads); 1 sends one message at a time
    concurrency: int = 1


#: seconds to wait after a 429 that names no Retry-After
RETRY_AFTER_DEFAULT = 1.0
#: how far the provider's clock may be behind ours when matching a lost attempt (``SentLookup``)
FOUND_SENT_SKEW = timedelta(minutes=2)

_table = cast(Table, Notification.__table__)
#: A ``sent`` record: guarded by the lease, so a worker that lost it cannot overwrite the new owner.
_MARK_SENT = (
    update(_table)
    .where(
        _table.c.id == bindparam("nid"),
        _table.c.claimed_by == bindparam("worker"),
        _table.c.status == NotificationStatus.SENDING.value,
    )
    .values(
        status=NotificationStatus.SENT.value,
        provider_message_id=bindparam("pid"),
        sent_at=bindparam("at", type_=_table.c.sent_at.type),
        claimed_by=None,
        claimed_until=None,
        next_attempt_at=None,
        unconfirmed_since=None,
    )
)
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
    #: for a notice in doubt: the worker whose lease ran out, and when the first attempt whose
    #: outcome is unknown was claimed (the provider is asked about every attempt since)
    previous_worker: str | None = None
    unconfirmed_since: datetime | None = None
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
    #: the provider answered 429: retried after its Retry-After, the attempt not counted
    rate_limited: int = 0

    def add(self, other: DispatchReport) -> None:
        for name in _COUNTS:
            setattr(self, name, getattr(self, name) + getattr(other, name))

    @property
    def touched(self) -> int:
        return self.claimed + self.cancelled + self.deferred + self.failed


_COUNTS = ("claimed", "sent", "retried", "failed", "dead", "cancelled", "deferred", "lost_lease",
           "released", "in_doubt", "found_sent", "rate_limited")  # fmt: skip


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
        senders: Mapping[Channel, Sender] | None = None,
        pacer: Pacer | None = None,
        stopping: threading.Event | None = None,
    ) -> None:
        self.session_factory = session_factory
        self.notifiers = dict(notifiers)
        self.clock = clock
        self.renderer = renderer
        self.program = program
        self.worker_id = worker_id
        self.policy = policy or DispatchPolicy()
        self.rng = rng or random.Random()
        #: each channel's sending identity and its provider's rate; paced only with a ``pacer``
        self.senders = dict(senders or {})
        self.pacer = pacer
        #: set when the dispatcher stops: a send waiting for its slot gives it up (the pacer's
        #: ``sleep`` should be ``stopping.wait``)
        self.stopping = stopping or threading.Event()
        self._rng_lock = threading.Lock()  # random.Random is not safe to share between threads
        self._engine: Engine = session_factory.kw["bind"]
        dialect = self._engine.dialect
        self._postgres = dialect.name == "postgresql"

    # -- the loop ---------------------------------------------------------------------------
    def run_once(self) -> DispatchReport:
        """Claim one batch, send it, record the results. Returns what happened.

        Notices in doubt go first, one at a time, before any other send of this batch starts
        (:meth:`deliver_in_doubt`); the rest go out ``policy.concurrency`` at a time, each
        recorded (committed) as soon as its provider answers.
        """
        report = DispatchReport()
        batch = self.claim(report)
        groups = by_recipient(self.deliver_in_doubt(batch, report))
        if self.policy.concurrency <= 1 or len(groups) <= 1:
            for group in groups:
                report.add(self.deliver_in_order(group))
            return report
        with ThreadPoolExecutor(min(self.policy.concurrency, len(groups)),
                                thread_name_prefix="send") as pool:  # fmt: skip
            for outcome in pool.map(self.deliver_in_order, groups):
                report.add(outcome)
        return report

    def deliver_in_order(self, group: Sequence[Claimed], after: Future[DispatchReport] | None = None,
                         ) -> DispatchReport:  # fmt: skip
        """One recipient's notices, one after another in claim order (after ``after``, that
        recipient's previous group, has finished). So at most one message to a recipient is
        ever in flight from this dispatcher, and any of its notices claimed later was not yet
        sent: if the process dies, the one in doubt is the earliest of them, and the in-doubt
        pass, in claim order, matches the provider's copy to it (as with serial sends)."""
        if after is not None:
            wait([after])
        report = DispatchReport()
        for item in group:
            report.add(self.deliver(item))
        return report

    def deliver_in_doubt(self, batch: Sequence[Claimed], report: DispatchReport) -> list[Claimed]:
        """Deliver the batch's notices in doubt, one after another, in claim order; return the
        others. Serial on purpose: asking the provider matches a message by recipient and body,
        so a lookup must not run while another send of ours to the same recipient with the same
        text is accepted but not yet recorded (it would be taken for the lost attempt). The
        caller has no other send of its own in flight (``run_once``; ``serve`` waits first)."""
        fresh = []
        for item in batch:
            if item.in_doubt:
                report.add(self.deliver(item))
            else:
                fresh.append(item)
        return fresh

    def deliver(self, item: Claimed) -> DispatchReport:
        """One claimed notice: pace, send, record, committed before returning. Safe to run in
        several threads at once (each record takes its own pooled connection)."""
        report = DispatchReport()
        if self.clock.now() >= item.lease_until - self.policy.lease / 5:
            self._release([item])  # never send on a lease about to lapse
            report.released += 1
            return report
        found = self._found_at_provider(item) if item.in_doubt else None
        report.found_sent += found is not None
        if found is None and item.hold_until is not None:
            self._release([item], until=item.hold_until)
            report.deferred += 1
            return report
        if found is None and not self._paced(item):
            self._release([item])  # stopping, or the lease would lapse before the slot
            report.released += 1
            return report
        outcome = found or self.send(item)
        if isinstance(outcome, SendError):
            self._record_failure(item, outcome, report)
            return report
        with self._engine.connect() as records:
            if self._postgres:  # one statement, its own transaction (reset when returned to the pool)
                records.execution_options(isolation_level="AUTOCOMMIT")
            self._mark_sent(records, item, outcome, report)
        return report

    def _paced(self, item: Claimed) -> bool:
        """Wait for the sender's next slot (``notifiers.pacing``). False: woken before it (the
        dispatcher is stopping) or the slot falls too close to the lease's end; not sent."""
        sender = self.senders.get(item.message.channel)
        if self.pacer is None or sender is None:
            return True
        return self.pacer.take(sender) and self.clock.now() < item.lease_until - self.policy.lease / 5

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
        # Only a message accepted since the first lost attempt's claim can be one of them (an
        # older unrecorded one is some earlier orphan with the same text); a margin covers the
        # clocks' skew.
        since = (item.unconfirmed_since or self.clock.now()) - FOUND_SENT_SKEW
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

    def next_due(self) -> datetime | None:
        """When the earliest notice not yet claimable becomes so (due, retry time, or a lease
        running out), or None: the idle dispatcher sleeps until then, not a whole poll."""
        pending = Notification.status == NotificationStatus.PENDING.value
        ready_at = case((Notification.next_attempt_at > Notification.due_at, Notification.next_attempt_at),
                        else_=Notification.due_at)  # fmt: skip
        with self.session_factory() as session:
            times = [
                session.scalar(select(func.min(ready_at)).where(pending)),
                session.scalar(select(func.min(Notification.claimed_until))
                               .where(Notification.status == NotificationStatus.SENDING.value)),
            ]  # fmt: skip
        found = [t for t in times if t is not None]
        return min(found) if found else None

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
    def claim(self, report: DispatchReport, limit: int | None = None) -> list[Claimed]:
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
                .limit(min(limit or self.policy.batch_size, self.policy.batch_size))
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
                columns = ("nid", "attempts", "since", "last_error", "subject", "body_text", "body_html")
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
        # in doubt: an earlier attempt's outcome is unknown (its lease ran out; or it was released
        # before being looked up). A row leased before ``unconfirmed_since`` existed has its lease.
        in_doubt = row.unconfirmed_since is not None or row.status == NotificationStatus.SENDING.value
        party = lookup.party(row.party_id)
        if row.to_address and lookup.suppressed(channel, row.to_address):
            self._finish(row, NotificationStatus.CANCELLED, f"recipient opted out of {channel.value}")
            audit.record(session, at=now, actor=ACTOR, action="notice.cancelled_opted_out",
                         case_id=row.case_id, subject_kind="notification", subject_id=row.id,
                         channel=channel.value, kind=row.kind)  # fmt: skip
            fall_back(session, row, party, now, actor=ACTOR)
            report.cancelled += 1
            return None
        if channel is Channel.SMS and lookup.landline(row.to_address):
            withdraw_for_landline(session, row, party, now, actor=ACTOR)
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
        since = now
        if in_doubt:  # the first unconfirmed attempt's claim, kept however many claims are lost
            since = row.unconfirmed_since or (row.claimed_until or now) - self.policy.lease
        # Leased by the batch's one UPDATE (``_LEASE_PG``; ``_LEASE`` on SQLite): status 'sending',
        # claimed_by, claimed_until, attempts + 1, unconfirmed_since and what will be sent
        # (subject, text, html).
        leases.append({"nid": row.id, "attempts": row.attempts + 1, "since": since,
                       "last_error": last_error, **stored})  # fmt: skip
        return Claimed(row.id, message, row.attempts + 1, in_doubt, now + self.policy.lease,
                       case_id=row.case_id, previous_worker=row.claimed_by if in_doubt else None,
                       unconfirmed_since=since if in_doubt else None, hold_until=hold_until)  # fmt: skip

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

    def _mark_sent(
        self, records: Connection, item: Claimed, receipt: Receipt, report: DispatchReport
    ) -> None:
        """Record ``item`` as sent and commit, before anything else is sent. 0 rows: the
        ``claimed_by`` guard refused it (our lease lapsed and another worker took the row)."""
        params = {"nid": item.notification_id, "worker": self.worker_id,
                  "pid": receipt.provider_message_id, "at": self.clock.now()}  # fmt: skip
        updated = records.execute(_MARK_SENT, params).rowcount
        records.commit()  # SQLite: ends its BEGIN IMMEDIATE; PostgreSQL (autocommit): a no-op
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
        if isinstance(error, TransientSendError) and error.http_status == 429:
            self._record_rate_limited(item, error, report, now)
        else:
            self._record_other_failure(item, error, report, now)

    def _record_rate_limited(
        self, item: Claimed, error: TransientSendError, report: DispatchReport, now: datetime
    ) -> None:
        """A 429: the provider asks us to slow down, which is not this notice's fault, so it is
        not counted as an attempt. The notice goes back to ``pending`` until the Retry-After has
        passed, and the sender pauses until then for every process (after the commit: SQLite
        has one writer)."""
        until = now + timedelta(seconds=error.retry_after_seconds or RETRY_AFTER_DEFAULT)
        with self.session_factory() as session, session.begin():
            row = session.scalar(select(Notification).where(self._owned(item)))
            if row is None:
                report.lost_lease += 1
                return
            row.status = NotificationStatus.PENDING.value
            row.attempts -= 1
            row.next_attempt_at = until
            row.claimed_by = row.claimed_until = None
            if not item.in_doubt:  # the provider answered: this attempt did not send it
                row.unconfirmed_since = None
            row.last_error = str(error)[:500]
            report.rate_limited += 1
        sender = self.senders.get(item.message.channel)
        if self.pacer is not None and sender is not None:
            self.pacer.pause(sender, until)

    def _record_other_failure(
        self, item: Claimed, error: SendError, report: DispatchReport, now: datetime
    ) -> None:
        with self.session_factory() as session, session.begin():
            row = session.scalar(select(Notification).where(self._owned(item)))
            if row is None:
                report.lost_lease += 1
                return
            reason = str(error)[:500]
            if isinstance(error, TransientSendError) and row.attempts < self.policy.max_attempts:
                with self._rng_lock:
                    delay = backoff_delay(row.attempts, self.policy, self.rng)
                if error.retry_after_seconds:
                    delay = max(delay, timedelta(seconds=error.retry_after_seconds))
                row.status = NotificationStatus.PENDING.value
                row.next_attempt_at = now + delay
                row.claimed_by = row.claimed_until = None
                if error.http_status is not None and not item.in_doubt:
                    # The provider answered, and no earlier attempt is unaccounted for. Without an
                    # answer (a timeout) it may hold the message: the retry asks first.
                    row.unconfirmed_since = None
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
        held for quiet hours). Nothing was sent: a notice in doubt stays in doubt (its
        ``unconfirmed_since`` is kept), any other is as it was before the claim."""
        values: dict[str, Any] = {"status": NotificationStatus.PENDING.value, "claimed_by": None,
                                  "claimed_until": None, "attempts": Notification.attempts - 1}
        if until is not None:
            values["next_attempt_at"] = until
        with self.session_factory() as session, session.begin():
            for item in items:
                session.execute(
                    update(Notification)
                    .where(self._owned(item))
                    .values(**values, **({} if item.in_doubt else {"unconfirmed_since": None}))
                    .execution_options(synchronize_session=False)
                )

    # -- helpers ----------------------------------------------------------------------------
    @staticmethod
    def _finish(row: Notification, status: NotificationStatus, reason: str) -> None:
        row.status = status.value
        row.last_error = reason
        row.claimed_by = row.claimed_until = row.unconfirmed_since = None
        row.next_attempt_at = None


def by_recipient(items: Sequence[Claimed]) -> list[list[Claimed]]:
    """The items grouped by recipient (channel and address), each group in claim order."""
    groups: dict[tuple[Channel, str], list[Claimed]] = {}
    for item in items:
        groups.setdefault((item.message.channel, item.message.to), []).append(item)
    return list(groups.values())


def run_dispatcher(
    dispatcher: Dispatcher,
    stop_event: threading.Event,
    *,
    idle_wait: float = 5.0,
    until_idle: bool = False,
    wakeup: Wakeup | None = None,
) -> DispatchReport:
    """Run until ``stop_event`` is set (or, with ``until_idle``, until nothing is due or in
    flight). Returns the totals.

    Sends overlap batches: while up to ``policy.concurrency`` sends are in flight, the next
    notices are claimed (at most as many again), so the provider is never left idle between
    batches. A batch holding notices in doubt waits until every send of ours in flight is
    recorded, then delivers them one by one (``Dispatcher.deliver_in_doubt``).

    Idle, it waits for the first of: ``wakeup`` (a notice was written: ``notifiers.wakeup``),
    the next due notice's time (``Dispatcher.next_due``), or ``idle_wait`` seconds, the poll that
    stays as a safety net.
    """
    totals = DispatchReport()
    dispatcher.stopping.clear()
    dispatcher.recover_own_leases()
    concurrency = max(1, dispatcher.policy.concurrency)
    inflight: set[Future[DispatchReport]] = set()
    #: each recipient's latest group: the next one starts after it (``deliver_in_order``)
    latest: dict[tuple[Channel, str], Future[DispatchReport]] = {}

    def settle(done: set[Future[DispatchReport]]) -> None:
        for future in done:
            totals.add(future.result())  # a send's unexpected error stops the dispatcher loudly

    with ThreadPoolExecutor(concurrency, thread_name_prefix="send") as pool:
        try:
            while not stop_event.is_set():
                room = 2 * concurrency - len(inflight)
                report = DispatchReport()
                batch = dispatcher.claim(report, limit=room) if room > 0 else []
                if any(item.in_doubt for item in batch):
                    settle(wait(inflight)[0])
                    inflight = set()
                fresh = dispatcher.deliver_in_doubt(batch, report)
                totals.add(report)
                latest = {key: f for key, f in latest.items() if not f.done()}
                for group in by_recipient(fresh):
                    key = (group[0].message.channel, group[0].message.to)
                    future = pool.submit(dispatcher.deliver_in_order, group, latest.get(key))
                    latest[key] = future
                    inflight.add(future)
                if inflight:
                    # full: wait for one to finish; else look again soon for new work
                    done, inflight = wait(inflight, timeout=None if room <= len(batch) else 0.1,
                                          return_when=FIRST_COMPLETED)  # fmt: skip
                    settle(done)
                    continue
                if report.touched:
                    continue
                if until_idle:
                    break
                pause = idle_wait
                due = dispatcher.next_due()
                if due is not None:
                    # not less than a moment: a row the claim skipped (locked elsewhere) is not a spin
                    pause = min(pause, max((due - dispatcher.clock.now()).total_seconds(), 0.02))
                if wakeup is not None:
                    wakeup.wait(pause, stop_event)
                else:
                    stop_event.wait(pause)
        finally:
            dispatcher.stopping.set()  # paced sends still waiting for a slot give it up
            settle(wait(inflight)[0])
    return totals


def main(argv: list[str] | None = None) -> None:
    """``python -m notifiers.dispatcher`` — settings from CMP_* variables."""
    from cases.clock import SystemClock
    from cases.database import make_engine, make_session_factory
    from notifiers.wiring import build_dispatcher, build_wakeup
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
    wakeup = build_wakeup(engine)
    try:
        totals = run_dispatcher(dispatcher, stop, idle_wait=settings.dispatch_interval_seconds,
                                until_idle=args.until_idle, wakeup=wakeup)  # fmt: skip
        log.info("dispatcher %s done: %s", dispatcher.worker_id, totals)
    except KeyboardInterrupt:
        stop.set()
    finally:
        wakeup.close()
        engine.dispose()


if __name__ == "__main__":
    main()
