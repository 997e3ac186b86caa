"""A thin client for the emulator's test controls (``/_emulator/*``)."""

from __future__ import annotations

from datetime import datetime
from typing import Any

import httpx


class EmulatorClient:
    def __init__(self, base_url: str, timeout: float = 30.0) -> None:
        self._http = httpx.Client(base_url=base_url, timeout=timeout)

    def close(self) -> None:
        self._http.close()

    def _post(self, path: str, payload: dict[str, Any] | None = None) -> Any:
        response = self._http.post(f"/_emulator/{path}", json=payload or {})
        response.raise_for_status()
        return response.json()

    def reset(self) -> None:
        self._post("reset")

    def fault(
        self,
        *,
        to: str | None = None,
        channel: str | None = None,
        status: int | None = None,
        code: int | None = None,
        times: int | None = 1,
        delay_ms: int = 0,
    ) -> None:
        self._post(
            "faults",
            {"to": to, "channel": channel, "status": status, "code": code, "times": times,
             "delay_ms": delay_ms},
        )  # fmt: skip

    def answer_fault(self, *, mode: str = "lost", to: str | None = None,
                     channel: str | None = None, times: int | None = 1) -> None:
        """The next matching request closes with no reply: ``lost`` after the message is
        recorded (accepted, answer lost), ``dropped`` before (never reached the provider)."""
        self._post("answer-faults", {"mode": mode, "to": to, "channel": channel, "times": times})

    def set_clock(self, now: datetime) -> None:
        """Stamp messages from now on as if the time were ``now`` (and moving on from there)."""
        self._post("clock", {"now": now.isoformat()})

    def freeze_clock(self, now: datetime) -> None:
        """Stamp messages at exactly ``now`` until moved again (a test's injected clock)."""
        self._post("clock/freeze", {"now": now.isoformat()})

    def rate_limit(self, sender: str, per_second: float, retry_after: int = 1) -> None:
        """Refuse ``sender``'s messages over ``per_second`` with 429 and ``Retry-After``."""
        self._post("rate-limit", {"sender": sender, "per_second": per_second, "retry_after": retry_after})

    def clear_faults(self) -> None:
        self._post("faults/clear")

    def messages(self, since: int = 0) -> list[dict[str, Any]]:
        response = self._http.get("/_emulator/messages", params={"since": since})
        response.raise_for_status()
        messages: list[dict[str, Any]] = response.json()["messages"]
        return messages

    def stats(self) -> dict[str, Any]:
        response = self._http.get("/_emulator/stats")
        response.raise_for_status()
        stats: dict[str, Any] = response.json()
        return stats

    def status_callback(self, sid: str, status: str = "delivered") -> Any:
        return self._post("status-callbacks", {"sid": sid, "status": status})

    def sendgrid_event(self, sid: str, event: str = "delivered", url: str | None = None) -> Any:
        return self._post("sendgrid-events", {"sid": sid, "event": event, "url": url})

    def inbound(self, sender: str, body: str, url: str) -> Any:
        return self._post("inbound", {"from": sender, "body": body, "url": url})

    def sendgrid_public_key(self) -> str:
        response = self._http.get("/_emulator/sendgrid-public-key")
        response.raise_for_status()
        return str(response.json()["public_key"])

    def set_line_type(self, number: str, line_type: str | None) -> None:
        """What Lookup answers for ``number`` (Twilio's word: 'landline', 'mobile',
        'nonFixedVoip'...); None: back to the default."""
        self._post("line-types", {"number": number, "type": line_type})

    def lookups(self) -> dict[str, int]:
        """How many times each number was looked up."""
        response = self._http.get("/_emulator/lookups")
        response.raise_for_status()
        counts: dict[str, int] = response.json()["lookups"]
        return counts
