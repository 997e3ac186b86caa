"""Links in notices point where `serve` listens unless CMP_PUBLIC_BASE_URL says otherwise.

Before, CMP_PUBLIC_BASE_URL defaulted to http://127.0.0.1:8000 whatever CMP_PORT said, so a
service started on another port sent every party a link to the wrong one.
"""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from notifiers.wiring import program_info
from settings import load_settings


@pytest.mark.parametrize(("env", "base"), [
    ({}, "http://127.0.0.1:8000"),
    ({"CMP_PORT": "8123"}, "http://127.0.0.1:8123"),
    ({"CMP_HOST": "0.0.0.0", "CMP_PORT": "9000"}, "http://127.0.0.1:9000"),
    ({"CMP_HOST": "mediation.internal", "CMP_PORT": "8080"}, "http://mediation.internal:8080"),
    ({"CMP_HOST": "::1", "CMP_PORT": "8124"}, "http://[::1]:8124"),
    ({"CMP_PORT": "8123", "CMP_PUBLIC_BASE_URL": "https://mediation.example.org"},
     "https://mediation.example.org"),
])
def test_notice_links_follow_the_port_unless_a_public_url_is_set(
        monkeypatch: pytest.MonkeyPatch, env: dict[str, str], base: str) -> None:
    for name, value in env.items():
        monkeypatch.setenv(name, value)
    settings = load_settings(secret_key="k" * 48)
    assert settings.public_base_url == base
    link = program_info(settings).link(7, "consent", expires_at=datetime(2030, 1, 1, tzinfo=UTC))
    assert link.startswith(base + "/p/consent/")
