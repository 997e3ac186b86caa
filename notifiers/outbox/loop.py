"""The dispatcher's run: batches overlapped so the provider is never idle between them, and an
idle wait that ends when a notice is written, when the next one falls due, or after a poll."""

from __future__ import annotations

import threading
from concurrent.futures import FIRST_COMPLETED, Future, ThreadPoolExecutor, wait

from notifiers.channels.base import Channel
from notifiers.outbox.dispatcher import Dispatcher, by_recipient
from notifiers.outbox.report import DispatchReport
from notifiers.outbox.wakeup import Wakeup


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

    Idle, it waits for the first of: ``wakeup`` (a notice was written: ``notifiers.outbox.wakeup``),
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
