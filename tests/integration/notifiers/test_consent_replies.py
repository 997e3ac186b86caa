"""A consent answer by SMS that could belong to more than one case is applied to none: the party is
asked which (by the case number their notices gave, "CMP-12"), and staff see the message."""

from __future__ import annotations

from datetime import timedelta

from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from cases.clock import FixedClock
from cases.models import Consent, InboundMessage
from emulator import EmulatorClient
from tests.support.notify import WebhookServer, add_case, add_party

PHONE = "+13127460001"


def _open_request(factory: sessionmaker[Session], clock: FixedClock, **party: object) -> int:
    """A case awaiting the consent of a party reached at PHONE; returns the case id."""
    with factory() as session, session.begin():
        case = add_case(session, clock.now(), state="awaiting_consent")
        person = add_party(session, case, clock.now(), phone=PHONE, **party)
        session.add(Consent(case_id=case.id, party_id=person.id, requested_at=clock.now()))
        return case.id


def _statuses(factory: sessionmaker[Session]) -> dict[int, str]:
    with factory() as session:
        return {c.case_id: c.status for c in session.scalars(select(Consent))}


def _text(emulator: EmulatorClient, live: WebhookServer, body: str) -> str:
    return str(emulator.inbound(PHONE, body, f"{live.url}/webhooks/twilio/inbound")["reply"])


def test_a_bare_no_with_two_open_requests_declines_neither_and_asks_which(
    webhooks_live: WebhookServer,
    emulator: EmulatorClient,
    session_factory: sessionmaker[Session],
    clock: FixedClock,
) -> None:
    older = _open_request(session_factory, clock)  # e.g. the complainant of an earlier complaint
    clock.advance(timedelta(days=3))
    newer = _open_request(session_factory, clock, role="officer")

    reply = _text(emulator, webhooks_live, "NO")
    assert f"CMP-{older}" in reply and f"CMP-{newer}" in reply
    assert _statuses(session_factory) == {older: "pending", newer: "pending"}
    with session_factory() as session:
        inbound = session.scalars(select(InboundMessage)).one()
        assert (inbound.interpretation, inbound.needs_staff) == ("which_case", True)
        assert sorted(inbound.case_ids) == sorted([older, newer])

    # The answer that names the case is applied to that case only.
    assert "do not wish" in _text(emulator, webhooks_live, f"NO CMP-{newer}")
    assert _statuses(session_factory) == {older: "pending", newer: "declined"}
    # One request is open now, but an answer naming a case is still held to that case.
    assert "agree" in _text(emulator, webhooks_live, f"yes {older}")
    assert _statuses(session_factory) == {older: "granted", newer: "declined"}


def test_an_answer_naming_a_case_that_is_not_theirs_is_applied_to_none(
    webhooks_live: WebhookServer,
    emulator: EmulatorClient,
    session_factory: sessionmaker[Session],
    clock: FixedClock,
) -> None:
    mine = _open_request(session_factory, clock, language="es")
    reply = _text(emulator, webhooks_live, f"sí CMP-{mine + 100}")
    assert f"CMP-{mine}" in reply  # asked again, in their language, with the case they have
    assert _statuses(session_factory) == {mine: "pending"}
    with session_factory() as session:
        inbound = session.scalars(select(InboundMessage)).one()
        assert (inbound.interpretation, inbound.needs_staff) == ("which_case", True)


def test_a_bare_answer_with_one_open_request_is_applied_to_it(
    webhooks_live: WebhookServer,
    emulator: EmulatorClient,
    session_factory: sessionmaker[Session],
    clock: FixedClock,
) -> None:
    case_id = _open_request(session_factory, clock)
    with session_factory() as session, session.begin():  # an answered request in another case
        other = add_case(session, clock.now(), state="consented")
        person = add_party(session, other, clock.now(), phone=PHONE)
        session.add(Consent(case_id=other.id, party_id=person.id, requested_at=clock.now(),
                            status="granted"))  # fmt: skip
    assert "agree" in _text(emulator, webhooks_live, "yes")
    assert _statuses(session_factory)[case_id] == "granted"
