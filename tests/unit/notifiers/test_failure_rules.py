"""The outbox's failure rules are a pure function from a send's error to a decision."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from cases.notice_outcomes import Problem
from notifiers.channels.base import PermanentReason, PermanentSendError, SendError, TransientSendError
from notifiers.outbox.decisions import GiveUp, RateLimited, Retry
from notifiers.outbox.policy import RETRY_AFTER_DEFAULT, DispatchPolicy
from notifiers.outbox.record import decide_failure

NOW = datetime(2026, 12, 1, 15, 0, tzinfo=UTC)
POLICY = DispatchPolicy(max_attempts=3)


def _decide(error: SendError, attempts: int = 1, in_doubt: bool = False,
            ) -> RateLimited | Retry | GiveUp:  # fmt: skip
    return decide_failure(error, attempts=attempts, in_doubt=in_doubt, now=NOW, policy=POLICY,
                          backoff=lambda n: timedelta(seconds=10 * n))  # fmt: skip


def test_a_429_waits_out_its_retry_after_whatever_the_attempts() -> None:
    decision = _decide(TransientSendError(429, "slow down", 429, retry_after_seconds=7), attempts=3)
    assert decision == RateLimited(NOW + timedelta(seconds=7), decision.reason, confirmed=True)
    assert _decide(TransientSendError(429, "slow down", 429)).until == (  # type: ignore[union-attr]
        NOW + timedelta(seconds=RETRY_AFTER_DEFAULT))


def test_a_429_on_a_notice_in_doubt_keeps_it_in_doubt() -> None:
    assert _decide(TransientSendError(429, "", 429), in_doubt=True).confirmed is False  # type: ignore[union-attr]


@pytest.mark.parametrize(("http_status", "in_doubt", "confirmed"),
                         [(503, False, True), (None, False, False), (503, True, False)])
def test_a_transient_error_is_retried_after_the_backoff(
    http_status: int | None, in_doubt: bool, confirmed: bool
) -> None:
    decision = _decide(TransientSendError(None, "down", http_status), attempts=2, in_doubt=in_doubt)
    assert isinstance(decision, Retry)
    assert (decision.at, decision.confirmed) == (NOW + timedelta(seconds=20), confirmed)


def test_a_retry_after_longer_than_the_backoff_wins() -> None:
    decision = _decide(TransientSendError(None, "down", 503, retry_after_seconds=60))
    assert isinstance(decision, Retry) and decision.at == NOW + timedelta(seconds=60)


def test_transient_errors_until_max_attempts_make_a_notice_dead() -> None:
    decision = _decide(TransientSendError(None, "down", 503), attempts=3)
    assert isinstance(decision, GiveUp) and decision.dead and decision.counted_as == "dead"
    assert decision.problem is Problem.OTHER


@pytest.mark.parametrize(("reason", "problem"), [
    (PermanentReason.OPTED_OUT, Problem.OPTED_OUT),
    (PermanentReason.INVALID_ADDRESS, Problem.INVALID_ADDRESS),
    (PermanentReason.REJECTED, Problem.OTHER),
    (PermanentReason.CONFIGURATION, Problem.OTHER),
])  # fmt: skip
def test_a_permanent_error_fails_the_notice_for_its_reason(
    reason: PermanentReason, problem: Problem
) -> None:
    decision = _decide(PermanentSendError(21610, "no", 400, reason=reason))
    assert isinstance(decision, GiveUp) and not decision.dead and decision.counted_as == "failed"
    assert (decision.problem, decision.code) == (problem, 21610)
    assert decision.error == "PermanentSendError code 21610"
