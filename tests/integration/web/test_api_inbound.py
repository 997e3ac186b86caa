"""Staff see the texts no rule could apply — e.g. a consent answer from a number with open
requests in two cases — in the API and on the dashboard's work queue."""

from __future__ import annotations

import re
from datetime import date

from sqlalchemy.orm import Session, sessionmaker

from cases.clock import FixedClock
from cases.database import transaction
from cases.models import Case, Consent, Party, StaffUser
from cases.policy import Policy
from notifiers.tracking import handle_inbound_sms
from tests.support.api import Api
from web.auth import hash_password

PHONE = "+13127460071"


def _awaiting_consent(session: Session, clock: FixedClock, n: int) -> int:
    now = clock.now()
    case = Case(log_number=f"2026-9{n:04d}", incident_date=date(2026, 10, 3), state="awaiting_consent",
                created_at=now, updated_at=now)  # fmt: skip
    session.add(case)
    session.flush()
    party = Party(case_id=case.id, role="complainant", full_name="Maria Lopez", phone=PHONE,
                  channels=["sms"], created_at=now)  # fmt: skip
    session.add(party)
    session.flush()
    session.add(Consent(case_id=case.id, party_id=party.id, requested_at=now))
    return case.id


def test_an_ambiguous_answer_is_in_the_staff_queue(
    api: Api, session_factory: sessionmaker[Session], clock: FixedClock, policy: Policy
) -> None:
    with transaction(session_factory) as session:
        first, second = (_awaiting_consent(session, clock, n) for n in (1, 2))
    with transaction(session_factory) as session:
        result = handle_inbound_sms(session, sender=PHONE, body="No", provider_message_id="SM1",
                                    policy=policy, now=clock.now())  # fmt: skip
        session.add(StaffUser(username="desk", password_hash=hash_password("correct horse battery"),
                              role="staff", active=True, created_at=clock.now()))  # fmt: skip
    assert result.case_refs == (f"CMP-{first}", f"CMP-{second}") and result.needs_staff

    (item,) = api.get("/api/inbound", params={"needs_staff": "true"}).json()
    assert (item["interpretation"], item["body"], item["case_ids"]) == (
        "which_case", "No", [first, second])  # fmt: skip
    assert PHONE not in item["sender"]
    assert api.get("/api/inbound", role="viewer").status_code == 403

    client = api.client
    csrf = re.search(r'name="csrf_token" value="([^"]+)"', client.get("/login").text)
    assert csrf is not None
    client.post("/login", data={"username": "desk", "password": "correct horse battery",
                                "csrf_token": csrf.group(1)})  # fmt: skip
    home = client.get("/").text
    assert "more than one case" in home  # the work queue says why it is there
    assert f'href="/cases/{first}"' in home and f'href="/cases/{second}"' in home
