"""Opt-out belongs to the phone number, an unsubscribe to the email address: one suppression list,
honoured for every case and party, past and future, lifted only by START/UNSTOP from that number.
Driven end to end: the emulator texts the webhook, the dispatcher sends to the emulator."""

from __future__ import annotations

from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from cases.clock import FixedClock
from cases.models import AuditEvent, InboundMessage, Notification, Party
from cases.outbox import NoticeKind, enqueue
from emulator import EmulatorClient
from notifiers.outbox.dispatcher import Dispatcher
from tests.support.notify import WebhookServer, add_case, add_party

COMPLAINANT = "+13127460001"
OFFICER = "+13127460002"


def _party(factory: sessionmaker[Session], clock: FixedClock, **changes: Any) -> int:
    with factory() as session, session.begin():
        case = add_case(session, clock.now(), state="awaiting_consent")
        return add_party(session, case, clock.now(), **changes).id


def _notice(factory: sessionmaker[Session], clock: FixedClock, party_id: int, occurrence: str) -> None:
    with factory() as session, session.begin():
        party = session.get(Party, party_id)
        assert party is not None
        enqueue(session, kind=NoticeKind.CONSENT_RECEIVED, recipient=party, due_at=clock.now(),
                now=clock.now(), case_id=party.case_id, occurrence=occurrence,
                context={"granted": True})  # fmt: skip


def _text(emulator: EmulatorClient, live: WebhookServer, sender: str, body: str) -> str:
    result = emulator.inbound(sender, body, f"{live.url}/webhooks/twilio/inbound")
    assert result["http_status"] == 200
    return str(result["reply"])


def _sms_rows(factory: sessionmaker[Session], party_id: int) -> list[Notification]:
    with factory() as session:
        return list(session.scalars(select(Notification).where(
            Notification.party_id == party_id, Notification.channel == "sms")))  # fmt: skip


def test_a_number_that_opted_out_is_not_texted_in_a_later_case(
    webhooks_live: WebhookServer,
    emulator: EmulatorClient,
    dispatcher: Dispatcher,
    session_factory: sessionmaker[Session],
    clock: FixedClock,
) -> None:
    _party(session_factory, clock, phone=COMPLAINANT, language="es")
    _party(session_factory, clock, phone=OFFICER, role="officer", email="officer@example.org")
    _text(emulator, webhooks_live, COMPLAINANT, "ALTO")  # Spanish: Twilio does not know it
    _text(emulator, webhooks_live, OFFICER, "Stop")  # Twilio's own keyword
    # Later complaints: the same complainant again, and the same officer named again. Their party
    # rows are created after the opt-out.
    repeat = _party(session_factory, clock, phone=COMPLAINANT, language="es")
    officer = _party(session_factory, clock, phone=OFFICER, role="officer",
                     email="officer@example.org")  # fmt: skip
    _notice(session_factory, clock, repeat, "1")
    _notice(session_factory, clock, officer, "1")
    dispatcher.run_once()

    sent = emulator.messages()
    assert sorted((m["channel"], m["to"]) for m in sent) == [
        ("email", "maria@example.org"), ("email", "officer@example.org")]  # fmt: skip
    assert emulator.stats()["rejected"] == 0  # not even tried (Twilio would refuse with 21610)
    for party_id in (repeat, officer):
        (row,) = _sms_rows(session_factory, party_id)
        assert (row.status, row.attempts) == ("cancelled", 0)
    with session_factory() as session:
        flags = {p.phone: p.sms_opted_out for p in session.scalars(select(Party))}
    assert flags == {COMPLAINANT: True, OFFICER: True}  # the API's field, derived from the list

    # START lifts it, for that number only, in every case.
    _text(emulator, webhooks_live, COMPLAINANT, "START")
    _notice(session_factory, clock, repeat, "2")
    _notice(session_factory, clock, officer, "2")
    dispatcher.run_once()
    texts = [m["to"] for m in emulator.messages() if m["channel"] == "sms"]
    assert texts == [COMPLAINANT]


def test_yes_to_a_consent_request_does_not_lift_an_opt_out(
    webhooks_live: WebhookServer,
    emulator: EmulatorClient,
    dispatcher: Dispatcher,
    session_factory: sessionmaker[Session],
    clock: FixedClock,
) -> None:
    """Twilio lifts its own block on YES; ours is lifted only by START or UNSTOP."""
    party_id = _party(session_factory, clock, phone=COMPLAINANT)
    _text(emulator, webhooks_live, COMPLAINANT, "STOP")
    _text(emulator, webhooks_live, COMPLAINANT, "YES")
    _notice(session_factory, clock, party_id, "after-yes")
    dispatcher.run_once()
    assert [m["channel"] for m in emulator.messages()] == ["email"]
    _text(emulator, webhooks_live, COMPLAINANT, "unstop")
    _notice(session_factory, clock, party_id, "after-unstop")
    dispatcher.run_once()
    assert sorted(m["channel"] for m in emulator.messages()) == ["email", "email", "sms"]


def test_the_opt_out_is_confirmed_once_in_the_word_s_language(
    webhooks_live: WebhookServer,
    emulator: EmulatorClient,
    session_factory: sessionmaker[Session],
    clock: FixedClock,
) -> None:
    _party(session_factory, clock, phone=COMPLAINANT, language="en")
    first = _text(emulator, webhooks_live, COMPLAINANT, "退订")
    assert first.count("<Message>") == 1 and "START" in first and "不再" in first
    # Again, in any language or with Twilio's own word: no second confirmation from us.
    for again in ("退订", "TD", "alto", "STOP"):
        assert "<Message>" not in _text(emulator, webhooks_live, COMPLAINANT, again)
    # Nor any other reply to a number that opted out; staff still see what it wrote.
    assert "<Message>" not in _text(emulator, webhooks_live, COMPLAINANT, "what is this about?")
    with session_factory() as session:
        rows = list(session.scalars(select(InboundMessage).order_by(InboundMessage.id)))
        actions = list(session.scalars(select(AuditEvent.action)))
    assert [r.interpretation for r in rows] == ["opt_out"] * 5 + ["unknown"]
    assert rows[-1].needs_staff
    assert actions.count("suppression.added") == 1


def test_a_twilio_keyword_is_answered_by_twilio_not_by_us(
    webhooks_live: WebhookServer,
    emulator: EmulatorClient,
    session_factory: sessionmaker[Session],
    clock: FixedClock,
) -> None:
    _party(session_factory, clock, phone=COMPLAINANT, language="es")
    for word in ("STOP", "OptOut"):
        assert "<Message>" not in _text(emulator, webhooks_live, "+13127460009", word)
    # Twilio does not know "opt out" with a space, nor the Spanish words: we confirm those.
    assert "<Message>" in _text(emulator, webhooks_live, COMPLAINANT, "opt out")


def test_provider_opt_out_suppresses_the_number_for_later_parties(
    emulator: EmulatorClient,
    dispatcher: Dispatcher,
    session_factory: sessionmaker[Session],
    clock: FixedClock,
) -> None:
    magic = "+15005550004"  # the emulator answers 21610, as Twilio does for a number that sent STOP
    first = _party(session_factory, clock, phone=magic)
    _notice(session_factory, clock, first, "1")
    dispatcher.run_once()
    later = _party(session_factory, clock, phone=magic)
    _notice(session_factory, clock, later, "1")
    dispatcher.run_once()
    (row,) = _sms_rows(session_factory, later)
    assert (row.status, row.attempts) == ("cancelled", 0)
    assert emulator.stats()["rejected"] == 1


def test_an_email_unsubscribe_suppresses_the_address_in_every_case(
    webhooks_live: WebhookServer,
    emulator: EmulatorClient,
    dispatcher: Dispatcher,
    session_factory: sessionmaker[Session],
    clock: FixedClock,
) -> None:
    first = _party(session_factory, clock, phone=COMPLAINANT)
    _notice(session_factory, clock, first, "1")
    dispatcher.run_once()
    email = next(m for m in emulator.messages() if m["channel"] == "email")
    assert emulator.sendgrid_event(email["sid"], "unsubscribe")["result"]["http_status"] == 204
    later = _party(session_factory, clock, phone=OFFICER, email="Maria@Example.org")
    _notice(session_factory, clock, later, "1")
    dispatcher.run_once()
    newest = [m for m in emulator.messages() if m["to"] in (OFFICER, "Maria@Example.org")]
    assert [m["channel"] for m in newest] == ["sms"]  # the SMS goes, the email does not
    # An SMS opt-in does not lift an email unsubscribe.
    _text(emulator, webhooks_live, OFFICER, "START")
    _notice(session_factory, clock, later, "2")
    dispatcher.run_once()
    newest = [m for m in emulator.messages() if m["to"] in (OFFICER, "Maria@Example.org")]
    assert [m["channel"] for m in newest] == ["sms", "sms"]
