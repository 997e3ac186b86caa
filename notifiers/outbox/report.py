"""What a batch (or a whole run) of the outbox engine did, counted: returned by
``Dispatcher.run_once`` and ``run_dispatcher``, read by the command line, tests and benchmarks."""

from __future__ import annotations

from dataclasses import dataclass


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

    def count(self, name: str) -> None:
        """One more of ``name`` (a decision's ``counted_as``)."""
        setattr(self, name, getattr(self, name) + 1)

    @property
    def touched(self) -> int:
        return self.claimed + self.cancelled + self.deferred + self.failed


_COUNTS = ("claimed", "sent", "retried", "failed", "dead", "cancelled", "deferred", "lost_lease",
           "released", "in_doubt", "found_sent", "rate_limited")  # fmt: skip
