"""An in-memory notifier for unit tests: records what it was given, fails when told to."""

from __future__ import annotations

import itertools
import threading
from typing import ClassVar

from notifiers.channels.base import Channel, OutgoingMessage, Receipt, SendError


class MemoryNotifier:
    provider: ClassVar[str] = "memory"
    max_body_chars: ClassVar[int] = 1_000_000
    rate_per_second: ClassVar[float] = 1_000_000.0

    def __init__(self, channel: Channel) -> None:
        self.channel = channel  # one class serves both channels
        self.sent: list[OutgoingMessage] = []
        self._failures: list[SendError] = []
        self._ids = itertools.count(1)
        self._lock = threading.Lock()

    def fail_next(self, *errors: SendError) -> None:
        """The next ``len(errors)`` sends raise these, in order."""
        with self._lock:
            self._failures.extend(errors)

    def send(self, message: OutgoingMessage) -> Receipt:
        with self._lock:
            if self._failures:
                raise self._failures.pop(0)
            self.sent.append(message)
            number = next(self._ids)
        return Receipt(self.provider, f"mem-{self.channel.value}-{number}", "accepted")
