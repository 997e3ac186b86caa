"""The outbox dispatcher: claims due notices, renders and sends them, records what happened.

One batch is three kinds of short transaction, never a transaction around a network call:

1. **Claim** (one transaction, ``notifiers.outbox.claim``): pick due rows, decide each (cancel
   for an opt-out, withdraw for a landline, defer for quiet hours, else render), lease the rest.
2. **Send** each message through its channel's ``Notifier``, outside any transaction, up to
   ``policy.concurrency`` at once on threads, at most one per recipient (in claim order), each
   waiting first for its sender's slot (``notifiers.outbox.pacing``: one rate per Twilio number or
   SendGrid key, shared by every process). Notices in doubt go one by one, while no other send
   of this dispatcher is in flight (their read-back matches by recipient and text).
3. **Record** each result in its own transaction (``notifiers.outbox.record``), committed
   before its thread sends again, guarded by ``claimed_by``. Dead and failed notices leave an
   audit event, a staff alert and, for parties, a fallback on their other channel
   (``cases.notice_outcomes``).

Guarantee: every notice is sent at least once, and exactly once unless a worker dies between the
provider accepting a message and step 3 committing its record (at most one message per send in
flight, and one per recipient, on either backend: each record commits before its thread sends
again), or the provider's answer is lost (a timeout,
retried as transient). Such a notice is *in doubt*: its row is reclaimed after the lease (at once
if the worker restarts under the same worker id), or retried after the backoff, and it stays in
doubt (``unconfirmed_since``: the claim of its first attempt whose outcome is unknown) until an
outcome is recorded, however many claims are lost or released in between. Where the provider can
be asked (``notifiers.outbox.in_doubt``), the lost attempt is recorded, not sent again.
Otherwise the notice is sent again (audit ``notice.resent_in_doubt``); the provider then holds two
messages carrying the same notice id (Twilio StatusCallback ``?notice=``, SendGrid
``custom_args.notice_id``), and the delivery report of the orphan is recorded as
``notice.duplicate_detected`` with a staff alert (``cases.delivery``).
"""

from __future__ import annotations

import logging
import random
import threading
from collections.abc import Mapping, Sequence
from concurrent.futures import Future, ThreadPoolExecutor, wait
from datetime import datetime, timedelta

from sqlalchemy import Engine, case, func, select, update
from sqlalchemy.orm import Session, sessionmaker

from cases.clock import Clock
from cases.models import Notification, NotificationStatus
from notifiers.channels.base import Channel, Notifier, Receipt, SendError
from notifiers.compose.context import ProgramInfo
from notifiers.compose.rendering import Renderer
from notifiers.outbox import claim, record
from notifiers.outbox.claim import Claimed
from notifiers.outbox.decisions import RateLimited
from notifiers.outbox.in_doubt import found_at_provider
from notifiers.outbox.pacing import Pacer, Sender
from notifiers.outbox.policy import DispatchPolicy, backoff_delay
from notifiers.outbox.report import DispatchReport

log = logging.getLogger(__name__)


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
        found = None
        if item.in_doubt:
            found = found_at_provider(self.session_factory, self.notifiers[item.message.channel],
                                      item, clock=self.clock)  # fmt: skip
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
            record.mark_sent(records, self.session_factory, item, outcome, report,
                             worker_id=self.worker_id, clock=self.clock)  # fmt: skip
        return report

    def _paced(self, item: Claimed) -> bool:
        """Wait for the sender's next slot (``notifiers.outbox.pacing``). False: woken before it (the
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

    def claim(self, report: DispatchReport, limit: int | None = None) -> list[Claimed]:
        """Step 1 (``notifiers.outbox.claim``): the due notices to send, leased to this worker."""
        return claim.claim(self.session_factory, report, now=self.clock.now(), limit=limit,
                           policy=self.policy, worker_id=self.worker_id, postgres=self._postgres,
                           notifiers=self.notifiers, renderer=self.renderer,
                           program=self.program)  # fmt: skip

    def _record_failure(self, item: Claimed, error: SendError, report: DispatchReport) -> None:
        decision = record.record_failure(self.session_factory, item, error, report,
                                         worker_id=self.worker_id, now=self.clock.now(),
                                         policy=self.policy, backoff=self._backoff)  # fmt: skip
        sender = self.senders.get(item.message.channel)
        if isinstance(decision, RateLimited) and self.pacer is not None and sender is not None:
            self.pacer.pause(sender, decision.until)  # after the commit: SQLite has one writer

    def _backoff(self, attempts: int) -> timedelta:
        with self._rng_lock:
            return backoff_delay(attempts, self.policy, self.rng)

    def _release(self, items: Sequence[Claimed], *, until: datetime | None = None) -> None:
        record.release(self.session_factory, items, worker_id=self.worker_id, until=until)


def by_recipient(items: Sequence[Claimed]) -> list[list[Claimed]]:
    """The items grouped by recipient (channel and address), each group in claim order."""
    groups: dict[tuple[Channel, str], list[Claimed]] = {}
    for item in items:
        groups.setdefault((item.message.channel, item.message.to), []).append(item)
    return list(groups.values())
