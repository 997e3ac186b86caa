"""A member of staff signed in through the real login form (session cookie + CSRF token)."""

from __future__ import annotations

import functools
import html
import re
from dataclasses import dataclass
from typing import Any

from sqlalchemy.orm import Session, sessionmaker

from cases.clock import FixedClock
from cases.database import transaction
from cases.models import StaffUser
from tests.support.web import TestClient
from web.auth import hash_password

PASSWORD = "correct horse battery"


@functools.cache
def password_hash() -> str:
    """The argon2 hash of ``PASSWORD``, made once per run: a hash costs 0.2 s of CPU, and every
    sign-in still verifies the password against it for real."""
    return hash_password(PASSWORD)


def field_error(page: str, name: str) -> str | None:
    """The message shown beside the form field ``name`` (by its id), or None."""
    fid = "f-" + re.sub(r"[^A-Za-z0-9_-]+", "-", name).strip("-")
    found = re.search(rf'<p class="field-error" id="{re.escape(fid)}-error">([^<]*)</p>', page)
    return html.unescape(found.group(1)) if found else None


def field_value(page: str, name: str) -> str | None:
    """The value an input ``name`` is drawn with (what the user typed comes back)."""
    found = re.search(rf'name="{re.escape(name)}"[^>]*value="([^"]*)"', page)
    if found:
        return html.unescape(found.group(1))
    area = re.search(rf'<textarea[^>]*name="{re.escape(name)}"[^>]*>([^<]*)</textarea>', page)
    return html.unescape(area.group(1)) if area else None


@dataclass
class Desk:
    client: TestClient
    csrf: str

    def get(self, path: str, **kw: Any) -> Any:
        return self.client.get(path, **kw)

    def post(self, path: str, data: dict[str, Any] | None = None, **kw: Any) -> Any:
        return self.client.post(path, data={"csrf_token": self.csrf, **(data or {})}, **kw)


def sign_in(client: TestClient, factory: sessionmaker[Session], clock: FixedClock,
            username: str = "desk", role: str = "staff") -> Desk:
    with transaction(factory) as s:
        s.add(StaffUser(username=username, password_hash=password_hash(), role=role,
                        active=True, created_at=clock.now()))
    page = client.get("/login")
    token = re.search(r'name="csrf_token" value="([^"]+)"', page.text)
    assert token is not None
    client.post("/login", data={"username": username, "password": PASSWORD,
                                "csrf_token": token.group(1)})
    home = client.get("/cases")
    csrf = re.search(r'name="csrf_token" value="([^"]+)"', home.text)
    assert csrf is not None, home.text[:500]
    return Desk(client, csrf.group(1))


def new_case_form(**changes: str | list[str]) -> dict[str, Any]:
    form: dict[str, Any] = {
        "log_number": "2026-000777", "incident_date": "2026-10-03",
        "allegation_categories": ["perceived_bias"],
        "parties[0].full_name": "Maria Lopez", "parties[0].phone": "(312) 746-1234",
        "parties[0].email": "maria@example.org", "parties[0].language": "es",
        "parties[0].channels": ["sms", "email"], "parties[0].interpreter": "",
        "parties[1].full_name": "John Smith", "parties[1].officer_star": "4321",
        "parties[1].email": "officer@example.org", "parties[1].language": "en",
        "parties[1].channels": ["email"],
    }
    form.update(changes)
    return form
