"""Helpers shared by the notification tests: provider credentials for the emulator, the webhook
server, and small builders for cases and parties."""

from __future__ import annotations

import itertools
import socket
import threading
from datetime import UTC, date, datetime
from typing import Any

import uvicorn
from fastapi import FastAPI
from sqlalchemy.orm import Session

from cases.clock import Clock
from cases.models import Case, Party
from notifiers.channels.signatures import SendGridKeyPair
from notifiers.compose.context import ProgramInfo
from web import webhooks

ACCOUNT_SID = "AC" + "1234abcd" * 4
AUTH_TOKEN = "test-auth-token-0123456789"
SENDGRID_KEY = "SG.test-key"
FROM_NUMBER = "+13125550100"
SENDGRID_KEYS = SendGridKeyPair.generate()
_numbers = itertools.count(1)

#: the program as the notices name it, for tests that render or send them
PROGRAM = ProgramInfo(name="Community Mediation Program", phone="+13127463594",
                      email="mediation@example.org", public_base_url="http://127.0.0.1:8000",
                      link_secret="s" * 32)


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


class WebhookServer:
    """The webhook router in a minimal FastAPI app, served by uvicorn on a thread."""

    def __init__(self) -> None:
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.app = FastAPI()
        self.app.include_router(webhooks.router)
        self.server = uvicorn.Server(
            uvicorn.Config(self.app, host="127.0.0.1", port=self.port, log_level="warning")
        )
        self.thread = threading.Thread(target=self.server.run, daemon=True)

    def start(self) -> WebhookServer:
        self.thread.start()
        started = threading.Event()
        while not self.server.started:  # observable condition, not a clock
            started.wait(0.005)
        return self

    def stop(self) -> None:
        self.server.should_exit = True
        self.thread.join(timeout=5)


def emulator_env(emulator_url: str, public_url: str) -> dict[str, str]:
    """CMP_* variables that point a dispatcher process at the emulator."""
    return {
        "CMP_TWILIO_ACCOUNT_SID": ACCOUNT_SID,
        "CMP_TWILIO_AUTH_TOKEN": AUTH_TOKEN,
        "CMP_TWILIO_FROM_NUMBER": FROM_NUMBER,
        "CMP_TWILIO_BASE_URL": emulator_url,
        "CMP_SENDGRID_API_KEY": SENDGRID_KEY,
        "CMP_SENDGRID_FROM_EMAIL": "mediation@example.org",
        "CMP_SENDGRID_BASE_URL": emulator_url,
        "CMP_PUBLIC_BASE_URL": public_url,
        "CMP_SECRET_KEY": "notifier-tests-secret-0123456789abcdef0123",
        "CMP_SENDGRID_WEBHOOK_PUBLIC_KEY": SENDGRID_KEYS.public_key_b64,
    }


def add_case(session: Session, now: datetime, **changes: Any) -> Case:
    values: dict[str, Any] = {
        "log_number": f"2026-{next(_numbers):06d}",
        "incident_date": date(2026, 10, 3),
        "created_at": now,
        "updated_at": now,
    }
    values.update(changes)
    case = Case(**values)
    session.add(case)
    session.flush()
    return case


def add_party(session: Session, case: Case, now: datetime, **changes: Any) -> Party:
    values: dict[str, Any] = {
        "case_id": case.id,
        "role": "complainant",
        "full_name": "Maria Lopez",
        "phone": "+13127460001",
        "email": "maria@example.org",
        "language": "en",
        "channels": ["sms", "email"],
        "time_zone": "America/Chicago",
        "created_at": now,
    }
    values.update(changes)
    party = Party(**values)
    session.add(party)
    session.flush()
    return party


def at(clock: Clock) -> datetime:
    return clock.now().astimezone(UTC)
