"""Replies to a reminder, through the real Twilio webhook (signed by the emulator): 1 / YES / the
word in the party's language confirms the session, 2 / CHANGE / the word asks for another time;
each in all five languages, answered kindly in that language. A YES is read against what the
party was last asked, and is never applied across cases."""

from __future__ import annotations

from datetime import timedelta

import pytest
from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from cases.clock import FixedClock
from cases.models import (
    AuditEvent,
    Consent,
    InboundMessage,
    MediationSession,
    Notification,
    Party,
    SessionConfirmation,
)
from cases.outbox import Channel, NoticeKind, enqueue
from emulator import EmulatorClient
from notifiers.compose.context import Lookup, ProgramInfo, build_variables
from notifiers.compose.rendering import Renderer
from tests.support.factories import make_mediator, make_venue
from tests.support.notify import WebhookServer, add_case, add_party

PHONE = "+13127460001"
PROGRAM = ProgramInfo(name="Community Mediation Program", phone="+13127463594",
                      email="cmp@example.org", public_base_url="https://cmp.example.org",
                      link_secret="s" * 40)

#: (confirm word, change word, words of the confirmation's answer, words of the change's answer)
WORDS = {
    "en": ("YES", "CHANGE", "you will come", "another time"),
    "es": ("Sí", "CAMBIAR", "usted vendrá", "otra fecha"),
    "pl": ("TAK", "zmiana", "potwierdzenie obecności", "inny termin"),
    "zh": ("确认", "更改", "您将出席", "另约时间"),
    "ar": ("نعم", "تغيير", "ستحضرون", "موعد آخر"),
}


def _reminded(factory: sessionmaker[Session], clock: FixedClock, *, language: str = "en",
              role: str = "complainant", days: int = 3) -> tuple[int, int]:
    """A booked session ``days`` ahead whose reminder reached a party at PHONE; returns (session
    id, party id)."""
    now = clock.now()
    with factory() as db, db.begin():
        case = add_case(db, now, state="booked")
        party = add_party(db, case, now, phone=PHONE, language=language, role=role)
        row = MediationSession(
            case_id=case.id, mediator_id=make_mediator(db, now).id,
            venue_id=make_venue(db, now).id, starts_at=now + timedelta(days=days),
            ends_at=now + timedelta(days=days, hours=2), uid=f"s{case.id}@test", sequence=0,
            created_at=now, updated_at=now)
        db.add(row)
        db.flush()
        for notice in enqueue(db, kind=NoticeKind.REMINDER, recipient=party, due_at=now, now=now,
                              occurrence=f"s{row.id}-q0-72h", case_id=case.id, session_id=row.id,
                              context={"session_id": row.id, "sequence": 0}):
            notice.status, notice.sent_at = "sent", now  # it reached them
        return row.id, party.id


def _text(emulator: EmulatorClient, live: WebhookServer, body: str) -> str:
    return str(emulator.inbound(PHONE, body, f"{live.url}/webhooks/twilio/inbound")["reply"])


def _last_inbound(factory: sessionmaker[Session]) -> tuple[str, bool]:
    with factory() as db:
        row = db.scalars(select(InboundMessage).order_by(InboundMessage.id.desc())).first()
        assert row is not None
        return row.interpretation, row.needs_staff


@pytest.mark.parametrize("language", list(WORDS))
def test_a_reminder_is_confirmed_and_changed_by_reply_in_every_language(
    language: str, webhooks_live: WebhookServer, emulator: EmulatorClient,
    session_factory: sessionmaker[Session], clock: FixedClock,
) -> None:
    confirm_word, change_word, confirmed_words, change_words = WORDS[language]
    session_id, party_id = _reminded(session_factory, clock, language=language)

    reply = _text(emulator, webhooks_live, confirm_word)
    assert confirmed_words in reply, reply
    assert _last_inbound(session_factory) == ("session_confirmed", False)
    with session_factory() as db:
        confirmation = db.scalars(select(SessionConfirmation)).one()
        assert (confirmation.session_id, confirmation.party_id, confirmation.sequence,
                confirmation.channel, confirmation.confirmed_at) == (
            session_id, party_id, 0, "sms", clock.now())
        audited = db.scalars(select(AuditEvent).where(
            AuditEvent.action == "session.party_confirmed")).one()
        assert audited.subject_id == session_id and PHONE not in str(audited.detail)

    assert confirmed_words in _text(emulator, webhooks_live, "1")  # again, by digit: no harm
    with session_factory() as db:
        assert len(db.scalars(select(SessionConfirmation)).all()) == 1

    clock.advance(timedelta(minutes=5))
    reply = _text(emulator, webhooks_live, change_word)
    assert change_words in reply, reply
    assert _last_inbound(session_factory) == ("change_requested", False)
    with session_factory() as db:
        change = db.scalars(select(AuditEvent).where(
            AuditEvent.action == "booking.change_requested")).one()
        assert (change.subject_id, change.actor, change.detail["via"]) == (
            session_id, f"party:{party_id}", "sms")
        alert = db.scalars(select(Notification).where(
            Notification.kind == NoticeKind.STAFF_ALERT.value)).one()
        assert alert.context["alert"] == "change_requested"
        assert db.get(MediationSession, session_id).status == "booked"  # type: ignore[union-attr]


def test_digits_as_a_phone_keyboard_types_them(
    webhooks_live: WebhookServer, emulator: EmulatorClient,
    session_factory: sessionmaker[Session], clock: FixedClock,
) -> None:
    _reminded(session_factory, clock, language="ar")
    assert "ستحضرون" in _text(emulator, webhooks_live, "١")  # Arabic-Indic one
    assert "موعد آخر" in _text(emulator, webhooks_live, "٢")


def test_change_requests_by_text_keep_the_daily_limit(
    webhooks_live: WebhookServer, emulator: EmulatorClient,
    session_factory: sessionmaker[Session], clock: FixedClock,
) -> None:
    _reminded(session_factory, clock)
    limit = webhooks_live.app.state.webhook_deps.settings.party_change_requests_per_day
    for _ in range(limit):
        assert "another time" in _text(emulator, webhooks_live, "2")
        clock.advance(timedelta(minutes=1))
    assert "already have your request" in _text(emulator, webhooks_live, "2")
    with session_factory() as db:
        assert len(db.scalars(select(AuditEvent).where(
            AuditEvent.action == "booking.change_requested")).all()) == limit


def test_a_yes_with_a_reminder_and_a_consent_request_in_two_cases_is_applied_to_neither(
    webhooks_live: WebhookServer, emulator: EmulatorClient,
    session_factory: sessionmaker[Session], clock: FixedClock,
) -> None:
    session_id, _ = _reminded(session_factory, clock)
    with session_factory() as db, db.begin():  # a second complaint by the same person
        other = add_case(db, clock.now(), state="awaiting_consent")
        person = add_party(db, other, clock.now(), phone=PHONE)
        db.add(Consent(case_id=other.id, party_id=person.id, requested_at=clock.now()))
        reminded_case = db.get(MediationSession, session_id).case_id  # type: ignore[union-attr]

    reply = _text(emulator, webhooks_live, "YES")
    assert f"CMP-{reminded_case}" in reply and f"CMP-{other.id}" in reply
    assert _last_inbound(session_factory) == ("which_case_session", True)
    with session_factory() as db:
        assert db.scalars(select(SessionConfirmation)).all() == []
        assert db.scalars(select(Consent)).one().status == "pending"

    # "1" is only a reminder's word: it can mean only the session, in the case it names.
    assert "you will come" in _text(emulator, webhooks_live, f"1 CMP-{reminded_case}")
    assert "agree" in _text(emulator, webhooks_live, f"YES CMP-{other.id}")
    with session_factory() as db:
        assert db.scalars(select(Consent)).one().status == "granted"
        assert len(db.scalars(select(SessionConfirmation)).all()) == 1


def test_a_late_yes_to_a_reminder_is_not_taken_as_consent_in_another_case(
    webhooks_live: WebhookServer, emulator: EmulatorClient,
    session_factory: sessionmaker[Session], clock: FixedClock,
) -> None:
    """A person with a consent request open in a second case was reminded of their session in
    the first, and answers YES once that session has begun. The reminder was the last thing they
    were asked: their YES is not recorded as consent to mediation in the other case (the simulated
    year found it was); staff see it. Asked again later, a plain YES answers the consent."""
    with session_factory() as db, db.begin():  # asked to consent in their second case first
        other = add_case(db, clock.now() - timedelta(days=2), state="awaiting_consent")
        person = add_party(db, other, clock.now(), phone=PHONE)
        db.add(Consent(case_id=other.id, party_id=person.id,
                       requested_at=clock.now() - timedelta(days=2)))
    session_id, _ = _reminded(session_factory, clock, days=0)  # ...then reminded of a session
    clock.advance(timedelta(minutes=20))  # which has begun

    reply = _text(emulator, webhooks_live, "YES")
    assert "please call us now" in reply, reply  # they may be running late
    assert _last_inbound(session_factory) == ("session_begun", True)
    with session_factory() as db:  # staff see both cases it might be about
        reminded = db.get(MediationSession, session_id).case_id  # type: ignore[union-attr]
        row = db.scalars(select(InboundMessage)).one()
        assert sorted(row.case_ids) == sorted([reminded, other.id])
        assert db.scalars(select(Consent)).one().status == "pending"
        assert db.scalars(select(SessionConfirmation)).all() == []
    assert "agree" in _text(emulator, webhooks_live, f"YES CMP-{other.id}")  # named: applied
    with session_factory() as db:
        assert db.scalars(select(Consent)).one().status == "granted"


def test_a_yes_after_a_new_consent_request_answers_it_though_a_reminder_came_before(
    webhooks_live: WebhookServer, emulator: EmulatorClient,
    session_factory: sessionmaker[Session], clock: FixedClock,
) -> None:
    _reminded(session_factory, clock, days=0)  # an old case's session, reminded and begun
    clock.advance(timedelta(days=30))
    with session_factory() as db, db.begin():  # a month later, a new complaint: asked to consent
        other = add_case(db, clock.now(), state="awaiting_consent")
        person = add_party(db, other, clock.now(), phone=PHONE)
        db.add(Consent(case_id=other.id, party_id=person.id, requested_at=clock.now()))
    assert "agree" in _text(emulator, webhooks_live, "YES")
    with session_factory() as db:
        assert db.scalars(select(Consent)).one().status == "granted"


@pytest.mark.parametrize("language", list(WORDS))
def test_a_reply_to_the_reminder_once_the_session_has_begun_asks_them_to_call_now(
    webhooks_live: WebhookServer, emulator: EmulatorClient,
    session_factory: sessionmaker[Session], clock: FixedClock, language: str,
) -> None:
    """"1" or "2" to the last reminder, sent when the session is already under way: the party may
    be running late or unable to come. Nothing is confirmed or moved; they are told when it was
    set for and asked to call now, in their language; staff see it. Hours after it ended, the
    reply is just read by staff."""
    _reminded(session_factory, clock, language=language, days=0)  # 09:00 in Chicago, today
    clock.advance(timedelta(minutes=15))
    for word in ("1", WORDS[language][1]):
        reply = _text(emulator, webhooks_live, word)
        assert "+13127463594" in reply and "9:00" in reply, reply
        assert _last_inbound(session_factory) == ("session_begun", True)
    with session_factory() as db:
        assert db.scalars(select(SessionConfirmation)).all() == []
        assert db.scalars(select(AuditEvent).where(
            AuditEvent.action == "booking.change_requested")).all() == []
    clock.advance(timedelta(hours=9))  # the session ended 6 h 45 min ago
    _text(emulator, webhooks_live, "1")
    assert _last_inbound(session_factory) == ("reminder_unclear", True)


def test_an_answer_a_reminder_did_not_offer_goes_to_staff(
    webhooks_live: WebhookServer, emulator: EmulatorClient,
    session_factory: sessionmaker[Session], clock: FixedClock,
) -> None:
    _reminded(session_factory, clock, language="es")
    reply = _text(emulator, webhooks_live, "no")  # "no" to a reminder: cannot come? staff call
    assert "Una persona del equipo" in reply
    assert _last_inbound(session_factory) == ("reminder_unclear", True)
    with session_factory() as db:
        assert db.scalars(select(SessionConfirmation)).all() == []
        assert db.scalars(select(AuditEvent).where(
            AuditEvent.action == "booking.change_requested")).all() == []


def test_a_reminder_of_the_time_before_a_reschedule_is_not_a_question_any_more(
    webhooks_live: WebhookServer, emulator: EmulatorClient,
    session_factory: sessionmaker[Session], clock: FixedClock,
) -> None:
    session_id, party_id = _reminded(session_factory, clock)
    with session_factory() as db, db.begin():
        row = db.get(MediationSession, session_id)
        assert row is not None
        row.sequence += 1  # moved: the reminder they got names the old time
    _text(emulator, webhooks_live, "1")
    assert _last_inbound(session_factory) == ("reminder_unclear", True)
    with session_factory() as db:
        assert db.scalars(select(SessionConfirmation)).all() == []
        assert db.get(Party, party_id) is not None


def test_the_next_reminder_thanks_a_party_who_confirmed_instead_of_asking_again(
    webhooks_live: WebhookServer, emulator: EmulatorClient,
    session_factory: sessionmaker[Session], clock: FixedClock,
) -> None:
    session_id, party_id = _reminded(session_factory, clock)

    def next_reminder(label: str) -> str:
        with session_factory() as db, db.begin():
            party = db.get(Party, party_id)
            assert party is not None
            row = enqueue(db, kind=NoticeKind.REMINDER, recipient=party, due_at=clock.now(),
                          now=clock.now(), occurrence=label, case_id=party.case_id,
                          session_id=session_id, channels=[Channel.SMS],
                          context={"session_id": session_id, "sequence": 0,
                                   "offset_hours": 24})[0]
            values = build_variables(Lookup(db), row, PROGRAM, now=clock.now())
            return Renderer().sms(NoticeKind.REMINDER, "en", values).body

    assert "Reply 1" in next_reminder("before")
    _text(emulator, webhooks_live, "1")
    after = next_reminder("after")
    assert "Thank you for confirming" in after and "Reply 1" not in after
    assert "reply 2" in after.lower()  # they can still ask for another time
