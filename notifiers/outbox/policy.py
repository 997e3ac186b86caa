"""How hard the outbox engine tries: batch size, lease, attempts, backoff, quiet hours and
concurrency, as one frozen value the composition root builds (``notifiers.wiring``)."""

from __future__ import annotations

import random
from dataclasses import dataclass
from datetime import timedelta


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


def backoff_delay(attempt: int, policy: DispatchPolicy, rng: random.Random) -> timedelta:
    """Full jitter: uniform in [0, min(cap, base * 2**(attempt-1))] (AWS's recommendation: it
    spreads a burst of failures out instead of retrying them in lockstep)."""
    ceiling = min(policy.backoff_cap, policy.backoff_base * (2 ** max(attempt - 1, 0)))
    return timedelta(seconds=rng.uniform(0, ceiling.total_seconds()))
