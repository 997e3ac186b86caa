"""Provider webhooks, driven by the emulator: it signs like Twilio and SendGrid do."""

from __future__ import annotations

import base64
import json
from datetime import UTC, datetime, timedelta

import httpx
from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from cases.clock import FixedClock
from cases.models import AuditEvent, Consent, InboundMessage, Notification, Party
from cases.outbox import Channel, NoticeKind, enqueue
from emulator import EmulatorClient
from notifiers.channels.signatures import SendGridKeyPair, twilio_signature
from notifiers.outbox.dispatcher import Dispatcher
from tests.support.notify import AUTH_TOKEN, SENDGRID_KEYS, WebhookServer, add_case, add_party

PHONE = "+13127460001"


def _party(factory: sessionmaker[Session], clock: FixedClock, **changes: object) -> int:
    with factory() as session, session.begin():
        case = add_case(session, clock.now(), state="awaiting_consent")
        party = add_party(session, case, clock.now(), **changes)
        return party.id


def _notice(factory: sessionmaker[Session], clock: FixedClock, party_id: int, occurrence: str) -> None:
    with factory() as session, session.begin():
        party = session.get(Party, party_id)
        enqueue(
            session,
            kind=NoticeKind.CONSENT_RECEIVED,
            recipient=party,
            due_at=clock.now(),
            now=clock.now(),
            case_id=party.case_id if party else None,
            occurrence=occurrence,
            context={"granted": True},
        )


def test_forged_twilio_signature_is_refused(webhooks_live: WebhookServer) -> None:
    url = f"{webhooks_live.url}/webhooks/twilio/inbound"
    params = {"From": PHONE, "Body": "STOP", "MessageSid": "SM" + "0" * 32}
    forged = twilio_signature("not-the-token", url, params)
    for headers in ({"X-Twilio-Signature": forged}, {}):
        response = httpx.post(url, data=params, headers=headers)
        assert response.status_code == 403
    status = httpx.post(
        f"{webhooks_live.url}/webhooks/twilio/status?notice=1",
        data=params,
        headers={"X-Twilio-Signature": forged},
    )
    assert status.status_code == 403


def test_signature_is_checked_against_the_public_url(webhooks_live: WebhookServer) -> None:
    """Signed for the URL Twilio was given (CMP_PUBLIC_BASE_URL), not whatever host we see."""
    path = "/webhooks/twilio/inbound"
    params = {"From": PHONE, "Body": "HELP", "MessageSid": "SM" + "1" * 32}
    wrong_host = twilio_signature(AUTH_TOKEN, "https://evil.example.org" + path, params)
    assert (
        httpx.post(
            webhooks_live.url + path, data=params, headers={"X-Twilio-Signature": wrong_host}
        ).status_code
        == 403
    )
    good = twilio_signature(AUTH_TOKEN, webhooks_live.url + path, params)
    response = httpx.post(webhooks_live.url + path, data=params, headers={"X-Twilio-Signature": good})
    assert response.status_code == 200 and "+13127463594" in response.text  # program phone


def test_stop_is_honoured_sms_stops_email_still_goes(
    webhooks_live: WebhookServer,
    emulator: EmulatorClient,
    dispatcher: Dispatcher,
    session_factory: sessionmaker[Session],
    clock: FixedClock,
) -> None:
    party_id = _party(session_factory, clock)
    result = emulator.inbound(PHONE, "Stop", f"{webhooks_live.url}/webhooks/twilio/inbound")
    assert result["http_status"] == 200 and "<Message>" not in result["reply"]
    _notice(session_factory, clock, party_id, "after-stop")
    dispatcher.run_once()
    assert [m["channel"] for m in emulator.messages()] == ["email"]
    with session_factory() as session:
        party = session.get(Party, party_id)
        assert party is not None and party.sms_opted_out
        inbound = session.scalars(select(InboundMessage)).one()
        assert inbound.interpretation == "opt_out" and PHONE not in inbound.from_masked
    # START opts back in
    emulator.inbound(PHONE, "START", f"{webhooks_live.url}/webhooks/twilio/inbound")
    _notice(session_factory, clock, party_id, "after-start")
    dispatcher.run_once()
    assert sorted(m["channel"] for m in emulator.messages()) == ["email", "email", "sms"]


def test_consent_answer_in_spanish_is_matched_to_the_open_request(
    webhooks_live: WebhookServer,
    emulator: EmulatorClient,
    session_factory: sessionmaker[Session],
    clock: FixedClock,
) -> None:
    party_id = _party(session_factory, clock, language="es")
    with session_factory() as session, session.begin():
        party = session.get(Party, party_id)
        assert party is not None
        session.add(Consent(case_id=party.case_id, party_id=party.id, requested_at=clock.now()))
    result = emulator.inbound(PHONE, " Sí ", f"{webhooks_live.url}/webhooks/twilio/inbound")
    assert "registramos que acepta" in result["reply"]
    with session_factory() as session:
        consent = session.scalars(select(Consent)).one()
        assert (consent.status, consent.channel) == ("granted", "sms")
    again = emulator.inbound(PHONE, "no", f"{webhooks_live.url}/webhooks/twilio/inbound")
    assert "Ya tenemos su respuesta" in again["reply"]


def test_an_answer_after_the_deadline_day_is_told_kindly_it_is_late(
    webhooks_live: WebhookServer,
    emulator: EmulatorClient,
    session_factory: sessionmaker[Session],
    clock: FixedClock,
) -> None:
    party_id = _party(session_factory, clock, language="es")
    with session_factory() as session, session.begin():
        party = session.get(Party, party_id)
        assert party is not None
        session.add(Consent(case_id=party.case_id, party_id=party.id, requested_at=clock.now(),
                            deadline=datetime(2020, 1, 1, tzinfo=UTC)))  # long past, any clock
    result = emulator.inbound(PHONE, "Sí", f"{webhooks_live.url}/webhooks/twilio/inbound")
    assert "El plazo para responder sobre la mediación ya terminó" in result["reply"]
    with session_factory() as session:
        assert session.scalars(select(Consent)).one().status == "pending"


def test_unknown_text_gets_a_polite_reply_and_is_shown_to_staff(
    webhooks_live: WebhookServer,
    emulator: EmulatorClient,
    session_factory: sessionmaker[Session],
    clock: FixedClock,
) -> None:
    _party(session_factory, clock)
    result = emulator.inbound(
        PHONE, "can we do Tuesday instead?", f"{webhooks_live.url}/webhooks/twilio/inbound"
    )
    assert "A staff member will read it" in result["reply"]
    with session_factory() as session:
        inbound = session.scalars(select(InboundMessage)).one()
        assert inbound.needs_staff and inbound.interpretation == "unknown"


def test_status_callbacks_mark_delivery_and_detect_a_second_send(
    webhooks_live: WebhookServer,
    emulator: EmulatorClient,
    dispatcher: Dispatcher,
    session_factory: sessionmaker[Session],
    clock: FixedClock,
    emulator_server: object,
) -> None:
    party_id = _party(session_factory, clock)
    _notice(session_factory, clock, party_id, "1")
    dispatcher.run_once()
    sms = next(m for m in emulator.messages() if m["channel"] == "sms")
    assert emulator.status_callback(sms["sid"], "delivered")["results"][0]["http_status"] == 204
    with session_factory() as session:
        row = session.scalars(select(Notification).where(Notification.channel == "sms")).one()
        assert row.status == "delivered" and row.delivered_at is not None
    # A message the row does not know, carrying its notice id: a duplicate send.
    client = httpx.Client()
    url = sms["status_callback"]
    params = {"MessageSid": "SM" + "f" * 32, "MessageStatus": "delivered", "AccountSid": "AC"}
    client.post(url, data=params, headers={"X-Twilio-Signature": twilio_signature(AUTH_TOKEN, url, params)})
    with session_factory() as session:
        actions = list(session.scalars(select(AuditEvent.action)))
        alerts = session.scalars(select(Notification).where(Notification.kind == "staff_alert")).all()
    assert "notice.duplicate_detected" in actions
    assert [a.context["alert"] for a in alerts] == ["duplicate_send"]


def test_undelivered_sms_falls_back_to_email(
    webhooks_live: WebhookServer,
    emulator: EmulatorClient,
    dispatcher: Dispatcher,
    session_factory: sessionmaker[Session],
    clock: FixedClock,
) -> None:
    party_id = _party(session_factory, clock)
    with session_factory() as session, session.begin():
        party = session.get(Party, party_id)
        enqueue(
            session,
            kind=NoticeKind.CONSENT_RECEIVED,
            recipient=party,
            due_at=clock.now(),
            now=clock.now(),
            context={"granted": True},
            channels=[Channel.SMS],
        )
    dispatcher.run_once()
    (sms,) = emulator.messages()
    emulator.status_callback(sms["sid"], "undelivered")
    report = dispatcher.run_once()
    assert report.sent == 2  # the email fallback and the staff alert
    channels = sorted((m["channel"], m["to"]) for m in emulator.messages())
    assert ("email", "maria@example.org") in channels


def test_sendgrid_events_are_verified_and_replays_refused(
    webhooks_live: WebhookServer,
    emulator: EmulatorClient,
    dispatcher: Dispatcher,
    session_factory: sessionmaker[Session],
    clock: FixedClock,
) -> None:
    party_id = _party(session_factory, clock)
    _notice(session_factory, clock, party_id, "1")
    dispatcher.run_once()
    email = next(m for m in emulator.messages() if m["channel"] == "email")
    assert emulator.sendgrid_event(email["sid"], "delivered")["result"]["http_status"] == 204
    with session_factory() as session:
        row = session.scalars(select(Notification).where(Notification.channel == "email")).one()
        assert row.status == "delivered"
    url = f"{webhooks_live.url}/webhooks/sendgrid/events"
    payload = json.dumps(
        [{"event": "bounce", "sg_message_id": email["sid"] + ".x", "notice_id": str(row.id)}]
    ).encode()
    old = str(int((clock.now() - timedelta(minutes=6)).timestamp()))
    replay = httpx.post(
        url,
        content=payload,
        headers={
            "X-Twilio-Email-Event-Webhook-Signature": SENDGRID_KEYS.sign(payload, old),
            "X-Twilio-Email-Event-Webhook-Timestamp": old,
        },
    )
    assert replay.status_code == 403
    other_key = SendGridKeyPair.generate()
    fresh = str(int(clock.now().timestamp()))
    forged = httpx.post(
        url,
        content=payload,
        headers={
            "X-Twilio-Email-Event-Webhook-Signature": other_key.sign(payload, fresh),
            "X-Twilio-Email-Event-Webhook-Timestamp": fresh,
        },
    )
    assert forged.status_code == 403
    garbage = httpx.post(
        url,
        content=payload,
        headers={
            "X-Twilio-Email-Event-Webhook-Signature": base64.b64encode(b"x").decode(),
            "X-Twilio-Email-Event-Webhook-Timestamp": fresh,
        },
    )
    assert garbage.status_code == 403
    with session_factory() as session:
        row = session.scalars(select(Notification).where(Notification.channel == "email")).one()
        assert row.status == "delivered"  # nothing applied


def test_a_replayed_sendgrid_batch_changes_nothing(
    webhooks_live: WebhookServer,
    emulator: EmulatorClient,
    dispatcher: Dispatcher,
    session_factory: sessionmaker[Session],
    clock: FixedClock,
) -> None:
    """A valid signed batch sent again within the 5-minute window (or retried by SendGrid after a
    lost answer) is recognised by its events' ``sg_event_id``: no second audit, alert or fallback."""
    party_id = _party(session_factory, clock)
    with session_factory() as session, session.begin():
        party = session.get(Party, party_id)
        enqueue(session, kind=NoticeKind.CONSENT_RECEIVED, recipient=party, due_at=clock.now(),
                now=clock.now(), context={"granted": True}, channels=[Channel.EMAIL])  # fmt: skip
    dispatcher.run_once()
    (email,) = emulator.messages()
    with session_factory() as session:
        row = session.scalars(select(Notification)).one()
    payload = json.dumps([
        {"event": "bounce", "sg_event_id": "ev-bounce-1", "sg_message_id": email["sid"] + ".f0",
         "notice_id": str(row.id), "status": "5.1.1"},
        # a second message carrying the notice's id: a duplicate send, audited and alerted
        {"event": "delivered", "sg_event_id": "ev-orphan-1", "sg_message_id": "orphan.f0",
         "notice_id": str(row.id)},
    ]).encode()  # fmt: skip

    def post() -> int:
        timestamp = str(int(clock.now().timestamp()))
        return httpx.post(
            f"{webhooks_live.url}/webhooks/sendgrid/events",
            content=payload,
            headers={
                "X-Twilio-Email-Event-Webhook-Signature": SENDGRID_KEYS.sign(payload, timestamp),
                "X-Twilio-Email-Event-Webhook-Timestamp": timestamp,
            },
        ).status_code

    def effects() -> tuple[list[str], list[tuple[str, str]]]:
        with session_factory() as session:
            actions = sorted(session.scalars(select(AuditEvent.action)))
            rows = sorted((r.kind, r.channel) for r in session.scalars(select(Notification)))
        return actions, rows

    assert post() == 204
    first = effects()
    assert {"notice.undelivered", "notice.fallback", "notice.duplicate_detected"} <= set(first[0])
    assert ("staff_alert", "email") in first[1] and ("consent_received", "sms") in first[1]
    assert post() == 204  # accepted (SendGrid must not retry), and ignored
    assert effects() == first
