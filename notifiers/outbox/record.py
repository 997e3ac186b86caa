"""Step 3 of a batch: each send's result recorded in its own transaction, committed before its
thread sends again, guarded by ``claimed_by`` so a worker whose lease was taken over cannot
overwrite the new owner (a guarded record that matches no row is counted as ``lost_lease``;
a ``sent`` one is audited as ``notice.sent_after_lease_lost``).

``sent`` with the provider id is one ordinary SQLAlchemy ``UPDATE`` on a pooled connection (on
PostgreSQL in autocommit, so the statement is its own transaction: one round trip). A failure is
decided by :func:`decide_failure` — a transient error back to ``pending`` with exponential
backoff and full jitter, or ``dead`` after ``max_attempts``; a 429 waits out its Retry-After,
the sender paused for every process, and is not counted as an attempt; a permanent error is
``failed`` — and applied by ``notifiers.outbox.decisions.apply``.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Sequence
from datetime import datetime, timedelta
from typing import Any, cast

from sqlalchemy import Connection, Table, and_, bindparam, select, update
from sqlalchemy.orm import Session, sessionmaker

from cases import audit
from cases.clock import Clock
from cases.models import Notification, NotificationStatus, Party
from cases.notice_outcomes import Problem
from notifiers.channels.base import (
    PermanentReason,
    PermanentSendError,
    Receipt,
    SendError,
    TransientSendError,
)
from notifiers.outbox.claim import Claimed
from notifiers.outbox.decisions import ACTOR, GiveUp, RateLimited, Retry, apply
from notifiers.outbox.policy import RETRY_AFTER_DEFAULT, DispatchPolicy
from notifiers.outbox.report import DispatchReport

log = logging.getLogger(__name__)

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
_PROBLEMS = {PermanentReason.OPTED_OUT: Problem.OPTED_OUT,
             PermanentReason.INVALID_ADDRESS: Problem.INVALID_ADDRESS}  # fmt: skip


def owned(item: Claimed, worker_id: str) -> Any:
    """The row of ``item`` while this worker still holds its lease."""
    return and_(
        Notification.id == item.notification_id,
        Notification.claimed_by == worker_id,
        Notification.status == NotificationStatus.SENDING.value,
    )


def mark_sent(records: Connection, session_factory: sessionmaker[Session], item: Claimed,
              receipt: Receipt, report: DispatchReport, *, worker_id: str, clock: Clock,
              ) -> None:  # fmt: skip
    """Record ``item`` as sent and commit, before anything else is sent. 0 rows: the
    ``claimed_by`` guard refused it (our lease lapsed and another worker took the row)."""
    params = {"nid": item.notification_id, "worker": worker_id,
              "pid": receipt.provider_message_id, "at": clock.now()}  # fmt: skip
    updated = records.execute(_MARK_SENT, params).rowcount
    records.commit()  # SQLite: ends its BEGIN IMMEDIATE; PostgreSQL (autocommit): a no-op
    if updated == 1:
        report.sent += 1
        return
    # Our lease lapsed and another worker took the row: it may send it again.
    report.lost_lease += 1
    log.warning("notice %s sent after its lease was lost", item.notification_id)
    with session_factory() as session, session.begin():
        audit.record(session, at=clock.now(), actor=ACTOR, action="notice.sent_after_lease_lost",
                     subject_kind="notification", subject_id=item.notification_id,
                     provider_message_id=receipt.provider_message_id)  # fmt: skip


def decide_failure(
    error: SendError, *, attempts: int, in_doubt: bool, now: datetime, policy: DispatchPolicy,
    backoff: Callable[[int], timedelta],
) -> RateLimited | Retry | GiveUp:
    """The failure rules for one send that did not go through, after ``attempts`` attempts.

    A 429 asks us to slow down, which is not this notice's fault: retried after its Retry-After,
    not counted. Another transient error is retried after ``backoff(attempts)`` (at least its
    Retry-After) until ``max_attempts``, then dead. A permanent error fails the notice."""
    reason = str(error)[:500]
    if isinstance(error, TransientSendError) and error.http_status == 429:
        until = now + timedelta(seconds=error.retry_after_seconds or RETRY_AFTER_DEFAULT)
        # the provider answered: unless an earlier attempt is in doubt, this one did not send it
        return RateLimited(until, reason, confirmed=not in_doubt)
    if isinstance(error, TransientSendError) and attempts < policy.max_attempts:
        delay = backoff(attempts)
        if error.retry_after_seconds:
            delay = max(delay, timedelta(seconds=error.retry_after_seconds))
        # With an answer, and no earlier attempt unaccounted for, the notice is not in doubt.
        # Without an answer (a timeout) the provider may hold the message: the retry asks first.
        return Retry(now + delay, reason, confirmed=error.http_status is not None and not in_doubt)
    problem = Problem.OTHER
    if isinstance(error, PermanentSendError):
        problem = _PROBLEMS.get(error.reason, Problem.OTHER)
    return GiveUp(dead=isinstance(error, TransientSendError), reason=reason, problem=problem,
                  error=f"{type(error).__name__} code {error.code}", code=error.code)  # fmt: skip


def record_failure(
    session_factory: sessionmaker[Session], item: Claimed, error: SendError,
    report: DispatchReport, *, worker_id: str, now: datetime, policy: DispatchPolicy,
    backoff: Callable[[int], timedelta],
) -> RateLimited | Retry | GiveUp | None:
    """Decide and apply what ``error`` means for ``item``, committed. Returns the decision
    (None: the lease was lost, nothing recorded) so the caller can pause a rate-limited sender
    after the commit (SQLite has one writer)."""
    with session_factory() as session, session.begin():
        row = session.scalar(select(Notification).where(owned(item, worker_id)))
        if row is None:
            report.lost_lease += 1
            return None
        decision = decide_failure(error, attempts=row.attempts, in_doubt=item.in_doubt, now=now,
                                  policy=policy, backoff=backoff)  # fmt: skip
        party = None
        if isinstance(decision, GiveUp) and row.party_id is not None:
            party = session.get(Party, row.party_id)
        apply(session, row, decision, party=party, now=now)
        report.count(decision.counted_as)
    return decision


def release(session_factory: sessionmaker[Session], items: Sequence[Claimed], *, worker_id: str,
            until: datetime | None = None) -> None:  # fmt: skip
    """Back to ``pending``, the attempt not counted; with ``until``, not before then (an SMS
    held for quiet hours). Nothing was sent: a notice in doubt stays in doubt (its
    ``unconfirmed_since`` is kept), any other is as it was before the claim."""
    values: dict[str, Any] = {"status": NotificationStatus.PENDING.value, "claimed_by": None,
                              "claimed_until": None, "attempts": Notification.attempts - 1}
    if until is not None:
        values["next_attempt_at"] = until
    with session_factory() as session, session.begin():
        for item in items:
            session.execute(
                update(Notification)
                .where(owned(item, worker_id))
                .values(**values, **({} if item.in_doubt else {"unconfirmed_since": None}))
                .execution_options(synchronize_session=False)
            )
