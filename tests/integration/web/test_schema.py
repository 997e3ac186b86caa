"""Schemathesis over the OpenAPI spec, as the admin (who may call everything): whatever the
generated input, no operation answers with a server error — on SQLite and PostgreSQL.

A bounded run: ``MAX_EXAMPLES`` per operation, one database per backend for the whole walk.
"""

from __future__ import annotations

from collections import Counter
from typing import Any

import hypothesis
import pytest
import schemathesis
from fastapi import FastAPI
from hypothesis import HealthCheck, Phase
from sqlalchemy.orm import Session, sessionmaker

from cases.clock import FixedClock
from cases.database import transaction
from cases.models import ApiToken, StaffUser
from tests.support.api import MEDIATOR, VENUE
from tests.support.web import TestClient, case_body
from web.auth import hash_api_token

MAX_EXAMPLES = 12
ADMIN_TOKEN = "cmp_schemathesis_admin"
FAR_ID = 1_999_999_999  # the admin's own rows, out of reach of the generated small ids


def _seed(app: FastAPI, session_factory: sessionmaker[Session], clock: FixedClock) -> None:
    with transaction(session_factory) as s:
        s.add(StaffUser(id=FAR_ID, username="fuzz-admin", password_hash="x", role="admin",
                        active=True, created_at=clock.now()))
        s.flush()
        s.add(ApiToken(id=FAR_ID, user_id=FAR_ID, name="fuzz",
                       token_hash=hash_api_token(ADMIN_TOKEN), created_at=clock.now()))
    headers = {"Authorization": f"Bearer {ADMIN_TOKEN}"}
    with TestClient(app) as client:
        case = client.post("/api/cases", json=case_body(), headers=headers).json()
        client.post(f"/api/cases/{case['id']}/decision", json={"eligible": True},
                    headers=headers)
        client.post("/api/mediators", json=MEDIATOR, headers=headers)
        client.post("/api/venues", json=VENUE, headers=headers)


def _httpx_kwargs(kwargs: dict[str, Any]) -> dict[str, Any]:
    """Schemathesis builds ``requests`` keyword arguments; send them with httpx instead (its
    requests transport trips over the urllib3-future package installed beside it)."""
    out = {k: v for k, v in kwargs.items() if k in ("method", "url", "params", "headers",
                                                    "cookies", "json", "files")}
    data = kwargs.get("data")
    if isinstance(data, (bytes, str)):
        out["content"] = data
    elif data is not None:
        out["data"] = data
    return out


@pytest.mark.filterwarnings("ignore::DeprecationWarning")
@pytest.mark.filterwarnings("ignore::hypothesis.errors.NonInteractiveExampleWarning")
def test_no_operation_answers_with_a_server_error(
        app: FastAPI, session_factory: sessionmaker[Session], clock: FixedClock) -> None:
    _seed(app, session_factory, clock)
    schema = schemathesis.openapi.from_dict(app.openapi())
    client = TestClient(app, raise_server_exceptions=False)
    headers = {"Authorization": f"Bearer {ADMIN_TOKEN}"}
    failures: list[str] = []
    seen: Counter[int] = Counter()
    operations = 0
    for result in schema.get_all_operations():
        operation = result.ok()
        operations += 1

        @hypothesis.settings(max_examples=MAX_EXAMPLES, deadline=None, database=None,
                             derandomize=True, phases=[Phase.explicit, Phase.generate],
                             suppress_health_check=list(HealthCheck))
        @hypothesis.given(case=operation.as_strategy())
        def call(case: Any) -> None:
            response = client.request(**_httpx_kwargs(case.as_transport_kwargs(
                base_url="http://testserver", headers=headers)))
            seen[response.status_code // 100] += 1
            if response.status_code >= 500:
                failures.append(f"{case.method} {case.formatted_path} -> "
                                f"{response.status_code}: {case.body!r} {case.query!r}")

        call()
    assert operations >= 40
    assert failures == []
    assert seen[2] >= operations // 2 and seen[4] > operations  # it did reach the handlers
