"""What the emulator remembers: messages received, scripted faults, opted-out numbers."""

from __future__ import annotations

import threading
import time
from collections import Counter
from dataclasses import asdict, dataclass, field
from typing import Any

#: Twilio's magic test numbers (test credentials): sending *to* them fails with these codes.
TWILIO_MAGIC_TO: dict[str, tuple[int, str]] = {
    "+15005550001": (21211, "The 'To' number is not a valid phone number."),
    "+15005550002": (21612, "The 'To' phone number is not currently reachable via SMS."),
    "+15005550003": (21408, "Permission to send an SMS has not been enabled for the region."),
    "+15005550004": (21610, "Attempt to send to unsubscribed recipient"),
    "+15005550009": (21614, "'To' number is not a valid mobile number"),
}


@dataclass
class Fault:
    """A scripted failure or delay. ``to``/``channel`` None match everything; ``times`` None is
    forever. ``status`` None means "only delay, then behave normally"."""

    to: str | None = None
    channel: str | None = None
    status: int | None = None
    code: int | None = None
    times: int | None = 1
    delay_ms: int = 0

    def matches(self, channel: str, to: str) -> bool:
        return (self.channel in (None, channel)) and (self.to in (None, to))


#: ``AnswerFault.mode``: the request never reaches the provider ("dropped") or it is accepted and
#: recorded but its answer never reaches the client ("lost"); either way the client sees the
#: connection close with no reply (what a timeout looks like to it), at once, with no waiting.
ANSWER_FAULT_MODES = ("dropped", "lost")


@dataclass
class AnswerFault:
    """A scripted lost answer. ``to``/``channel`` None match everything; ``times`` None is forever."""

    mode: str = "lost"
    to: str | None = None
    channel: str | None = None
    times: int | None = 1

    def __post_init__(self) -> None:
        if self.mode not in ANSWER_FAULT_MODES:
            raise ValueError(f"mode must be one of {ANSWER_FAULT_MODES}, not {self.mode!r}")

    def matches(self, channel: str, to: str) -> bool:
        return (self.channel in (None, channel)) and (self.to in (None, to))


@dataclass
class Received:
    sid: str
    channel: str  # sms | email
    to: str
    sender: str
    body: str
    notice: str | None
    received_at: float
    subject: str | None = None
    html: str | None = None
    status_callback: str | None = None
    attachments: list[dict[str, str]] = field(default_factory=list)
    custom_args: dict[str, str] = field(default_factory=dict)
    status: str = "queued"

    def as_json(self) -> dict[str, Any]:
        return asdict(self)


@dataclass
class RateLimit:
    """A provider's limit on one sender (``POST /_emulator/rate-limit``): a message from
    ``sender`` less than ``1/per_second`` after the last one it accepted from that sender is
    refused with 429 and ``Retry-After: retry_after`` seconds."""

    sender: str
    per_second: float
    retry_after: int = 1
    last_accepted: float | None = None


class EmulatorState:
    def __init__(self) -> None:
        self._lock = threading.Lock()
        self.messages: list[Received] = []
        self.by_sid: dict[str, Received] = {}
        self.faults: list[Fault] = []
        self.answer_faults: list[AnswerFault] = []
        self.opted_out: set[str] = set()
        self.requests = 0
        self.rejected = 0
        #: seconds added to the real time the emulator stamps messages with (``POST clock``): a
        #: test on an injected clock makes the provider's ``date_created`` agree with it
        self.clock_offset = 0.0
        self.rate_limits: dict[str, RateLimit] = {}
        self.rate_limited = 0
        #: ``POST clock/freeze``: the emulator's time stands here until moved (a test's clock)
        self.frozen_at: float | None = None

    def now(self) -> float:
        if self.frozen_at is not None:
            return self.frozen_at
        return time.time() + self.clock_offset

    def reset(self) -> None:
        with self._lock:
            self.messages.clear()
            self.by_sid.clear()
            self.faults.clear()
            self.answer_faults.clear()
            self.opted_out.clear()
            self.requests = 0
            self.rejected = 0
            self.clock_offset = 0.0
            self.rate_limits.clear()
            self.rate_limited = 0
            self.frozen_at = None

    def add_fault(self, fault: Fault) -> None:
        with self._lock:
            self.faults.append(fault)

    def clear_faults(self) -> None:
        with self._lock:
            self.faults.clear()

    def take_fault(self, channel: str, to: str) -> tuple[int, Fault | None]:
        """Count the request, consume the first matching fault: (delay_ms, failing fault)."""
        with self._lock:
            self.requests += 1
            delay = 0
            for fault in list(self.faults):
                if not fault.matches(channel, to):
                    continue
                if fault.times is not None:
                    fault.times -= 1
                    if fault.times <= 0:
                        self.faults.remove(fault)
                delay = max(delay, fault.delay_ms)
                if fault.status is not None:
                    self.rejected += 1
                    return delay, fault
            return delay, None

    def set_rate_limit(self, limit: RateLimit) -> None:
        with self._lock:
            self.rate_limits[limit.sender] = limit

    def take_rate(self, sender: str) -> int | None:
        """None if ``sender`` may send now (the moment is taken), else the Retry-After seconds."""
        with self._lock:
            limit = self.rate_limits.get(sender)
            if limit is None:
                return None
            now = self.now()
            if limit.last_accepted is not None and now - limit.last_accepted < 1 / limit.per_second:
                self.rate_limited += 1
                return limit.retry_after
            limit.last_accepted = now
            return None

    def add_answer_fault(self, fault: AnswerFault) -> None:
        with self._lock:
            self.answer_faults.append(fault)

    def take_answer_fault(self, channel: str, to: str) -> str | None:
        """Consume the first matching lost-answer fault: its mode, or None."""
        with self._lock:
            for fault in list(self.answer_faults):
                if not fault.matches(channel, to):
                    continue
                if fault.times is not None:
                    fault.times -= 1
                    if fault.times <= 0:
                        self.answer_faults.remove(fault)
                return fault.mode
            return None

    def record(self, message: Received) -> None:
        with self._lock:
            self.messages.append(message)
            self.by_sid[message.sid] = message

    def note_rejected(self) -> None:
        """A request refused before any scripted fault applies (auth, validation)."""
        with self._lock:
            self.requests += 1
            self.rejected += 1

    def _summary(self) -> dict[str, Any]:
        notices = Counter(m.notice for m in self.messages if m.notice is not None)
        return {
            "count": len(self.messages),
            "requests": self.requests,
            "rejected": self.rejected,
            "distinct_notices": len(notices),
            "rate_limited": self.rate_limited,
            "duplicates": {n: c for n, c in notices.items() if c > 1},
        }

    def snapshot(self, since: int = 0) -> dict[str, Any]:
        with self._lock:
            return {**self._summary(), "messages": [m.as_json() for m in self.messages[since:]]}

    def stats(self) -> dict[str, Any]:
        with self._lock:
            return self._summary()
