"""Helpers for the web tests: the test client, users with API tokens, case bodies, an app served
by uvicorn on a loopback port."""

from __future__ import annotations

import itertools
import socket
import threading
import warnings
from datetime import datetime, timedelta
from typing import Any

import uvicorn
from fastapi import FastAPI
from sqlalchemy.orm import Session

from cases.models import ApiToken, StaffUser
from web.auth import hash_api_token

with warnings.catch_warnings():
    # starlette asks for the httpx2 package, which the project does not use; httpx works.
    warnings.simplefilter("ignore")
    from starlette.testclient import TestClient

__all__ = ["TestClient", "case_body", "free_port", "make_user", "serve"]

SECRET = "test-secret-0123456789abcdef0123456789"
_numbers = itertools.count(1)


def make_user(session: Session, username: str, role: str, now: datetime,
              password_hash: str = "not-a-hash") -> tuple[StaffUser, str]:
    """A user with an API token (no argon2 work: token tests need no password)."""
    user = StaffUser(username=username, password_hash=password_hash, role=role, active=True,
                     created_at=now)
    session.add(user)
    session.flush()
    token = f"cmp_test_{username}_{next(_numbers)}"
    session.add(ApiToken(user_id=user.id, name="test", token_hash=hash_api_token(token),
                         created_at=now))
    return user, token


def case_body(**changes: Any) -> dict[str, Any]:
    n = next(_numbers)
    body: dict[str, Any] = {
        "log_number": f"2026-{n:06d}",
        "incident_date": "2026-10-03",
        "allegation_categories": ["perceived bias"],
        "parties": [
            {"role": "complainant", "full_name": "Maria Lopez", "phone": f"(312) 746-{n % 10000:04d}",
             "email": f"maria{n}@example.org", "language": "es", "channels": ["sms"]},
            {"role": "officer", "full_name": "John Smith", "email": f"officer{n}@example.org",
             "officer_star": f"{1000 + n}", "channels": ["email"]},
        ],
    }
    body.update(changes)
    return body


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


class Served:
    """An app served by uvicorn on a loopback port in a thread."""

    def __init__(self, app: FastAPI, port: int | None = None) -> None:
        self.port = port or free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.server = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=self.port,
                                                    log_level="warning", lifespan="off"))
        self.thread = threading.Thread(target=self.server.run, daemon=True)

    def __enter__(self) -> Served:
        self.thread.start()
        ready = threading.Event()
        while not self.server.started:  # an observable condition, not a clock
            if not self.thread.is_alive():
                raise RuntimeError("uvicorn did not start")
            ready.wait(0.005)
        return self

    def __exit__(self, *_: object) -> None:
        self.server.should_exit = True
        self.thread.join(timeout=10)


def serve(app: FastAPI, port: int | None = None) -> Served:
    return Served(app, port)


def week_later(now: datetime, days: int = 7, hour_utc: int = 23) -> datetime:
    return (now + timedelta(days=days)).replace(hour=hour_utc, minute=0, second=0, microsecond=0)
