"""The staff work queue: what needs a person, each item with why and its action; items leave the
queue when handled and who handled them is audited. A party's question is answered from the
queue through the outbox, in the party's language, by text."""

from __future__ import annotations

import re
from datetime import datetime, timedelta

import pytest
from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from cases.clock import FixedClock
from cases.database import transaction
from cases.models import (
    AuditEvent,
    MediationSession,
    Notification,
    Party,
    QueueHandled,
    SessionConfirmation,
)
from cases.outbox import Channel, NoticeKind, enqueue
from notifiers.channels.signatures import twilio_signature
from settings import Settings, load_settings
from tests.support.api import Api, mediator, scheduling_case, start_in, venue
from tests.support.staff import Desk, field_error, field_value, sign_in
from tests.support.web import SECRET

TOKEN = "test-twilio-auth-token"
QUESTION = "What is this about? Who is the mediator?"


@pytest.fixture
def web_settings() -> Settings:
    return load_settings(secret_key=SECRET, public_base_url="http://testserver",
                         twilio_account_sid="AC" + "0" * 32, twilio_auth_token=TOKEN,
                         twilio_from_number="+13125550100")


@pytest.fixture
def desk(api: Api, session_factory: sessionmaker[Session], clock: FixedClock) -> Desk:
    return sign_in(api.client, session_factory, clock)


def text_in(api: Api, sender: str, body: str, sid: str) -> None:
    url = "http://testserver/webhooks/twilio/inbound"
    params = {"From": sender, "Body": body, "MessageSid": sid}
    response = api.client.post(url, data=params,
                               headers={"X-Twilio-Signature": twilio_signature(TOKEN, url, params)})
    assert response.status_code == 200, response.text


def test_a_partys_question_is_answered_from_the_queue_in_their_language(
        desk: Desk, api: Api, session_factory: sessionmaker[Session]) -> None:
    case = api.new_case()  # the complainant reads Spanish and prefers texts
    api.post(f"/api/cases/{case['id']}/decision", json={"eligible": True})
    complainant = case["parties"][0]
    text_in(api, complainant["phone"], QUESTION, "SM" + "a" * 32)
    home = desk.get("/")
    assert QUESTION in home.text
    assert f"case CMP-{case['id']}" in home.text and "They read es" in home.text
    message_id = int(re.search(r'action="/queue/replies/(\d+)/answer"', home.text).group(1))
    path = f"/queue/replies/{message_id}/answer"
    empty = desk.post(path, {"answer": "  "})
    assert empty.status_code == 422
    assert field_error(empty.text, "answer") == "Write the answer to send"
    long = ("Hola " * 40).strip()
    too_long = desk.post(path, {"answer": long})
    assert "120 characters" in (field_error(too_long.text, "answer") or "")
    assert field_value(too_long.text, "answer") == long  # what was typed is kept
    answer = "Es sobre su queja; la mediadora es Rosa. Llámenos si quiere."
    done = desk.post(path, {"answer": answer}, follow_redirects=True)
    assert "Answer queued" in done.text and QUESTION not in done.text
    with transaction(session_factory) as s:
        sent = s.scalars(select(Notification).where(
            Notification.kind == NoticeKind.STAFF_REPLY.value)).one()
        assert (sent.channel, sent.language, sent.party_id, sent.status) == (
            "sms", "es", complainant["id"], "pending")
        assert sent.context["message"] == answer
        handled = s.scalars(select(QueueHandled)).one()
        assert (handled.kind, handled.ref_id, handled.handled_by, handled.how) == (
            "reply", message_id, "desk", "answered")
        event = s.scalars(select(AuditEvent).where(AuditEvent.action == "queue.handled")).one()
        assert event.actor == "desk" and answer not in str(event.detail)
    twice = desk.post(path, {"answer": answer})
    assert twice.status_code == 422 and "already handled by desk" in twice.text


def test_failed_notices_covered_by_a_fallback_are_not_offered_and_errors_are_plain(
        desk: Desk, api: Api, session_factory: sessionmaker[Session], clock: FixedClock) -> None:
    case = api.new_case()
    now = clock.now()
    with transaction(session_factory) as s:
        party = s.get(Party, case["parties"][0]["id"])
        assert party is not None
        party.channels = ["sms", "email"]
        covered = enqueue(s, kind=NoticeKind.CONSENT_REQUEST, recipient=party, due_at=now,
                          now=now, case_id=party.case_id, occurrence="a",
                          channels=[Channel.SMS])[0]
        lonely = enqueue(s, kind=NoticeKind.REMINDER, recipient=party, due_at=now, now=now,
                         case_id=party.case_id, occurrence="b", channels=[Channel.SMS])[0]
        held = enqueue(s, kind=NoticeKind.OUTCOME, recipient=party, due_at=now, now=now,
                       case_id=party.case_id, occurrence="c", channels=[Channel.SMS])[0]
        s.flush()
        covered.status = lonely.status = "dead"
        covered.last_error = "twilio 400: error 30003 unreachable"
        lonely.last_error = "twilio 400: error 21610 Attempt to send to unsubscribed recipient"
        fallback = enqueue(s, kind=NoticeKind.CONSENT_REQUEST, recipient=party, due_at=now,
                           now=now, case_id=party.case_id, occurrence="a-fallback",
                           channels=[Channel.EMAIL])[0]
        fallback.fallback_of_id, fallback.status = covered.id, "sent"
        held.next_attempt_at = now + timedelta(hours=10)
        lonely_id, covered_id = lonely.id, covered.id
    home = desk.get("/").text
    assert f"/notifications/{lonely_id}/resend" in home
    assert f"/notifications/{covered_id}/resend" not in home
    assert "replied STOP to our texts" in home  # plain words; the raw text only under details
    assert "1 failed notice was covered by another channel" in home
    assert "Every notice went out" not in home
    assert re.search(r"Outcome for case CMP-\d+ by text</p>\s*<p class=\"why\">Goes at ", home)
    gone = desk.post(f"/queue/failed/{lonely_id}/handled",
                     {"how": "reached another way", "case_id": str(case["id"])},
                     follow_redirects=True)
    assert "left the queue" in gone.text
    assert f"/notifications/{lonely_id}/resend" not in gone.text
    assert "No failed notice needs you." in gone.text
    with transaction(session_factory) as s:
        event = s.scalars(select(AuditEvent).where(AuditEvent.action == "queue.handled")).one()
        assert (event.actor, event.subject_kind, event.subject_id, event.case_id) == (
            "desk", "failed", lonely_id, case["id"])


def test_unbookable_cases_show_the_matchers_reason(desk: Desk, api: Api) -> None:
    case = scheduling_case(api, windows={"windows": []})  # no party has given times
    mediator(api), venue(api)
    home = desk.get("/").text
    found = re.search(rf"Book case CMP-{case['id']}</a>.*?<p class=\"why\">([^<]+)</p>", home,
                      re.S)
    assert found is not None and found.group(1).startswith("The matcher cannot book it: ")
    assert len(found.group(1)) > len("The matcher cannot book it: ") + 5


def test_change_requests_and_stale_calendars_until_handled(
        desk: Desk, api: Api, clock: FixedClock) -> None:
    case = scheduling_case(api)
    m, v = mediator(api), venue(api)
    session = api.post("/api/sessions", json={"case_id": case["id"], "mediator_id": m["id"],
                                              "venue_id": v["id"],
                                              "starts_at": start_in(clock, 5)}).json()
    link = api.post(f"/api/cases/{case['id']}/parties/{case['parties'][0]['id']}/link",
                    json={"purpose": "booking"}).json()["url"].removeprefix("http://testserver")
    api.client.post(link)  # the party asks for a change from their booking page
    other = mediator(api, full_name="Ana Ruiz", email="ana@example.org")
    api.put(f"/api/mediators/{other['id']}/calendar",
            json={"kind": "ics", "url": "https://calendar.example.org/ana.ics"})
    home = desk.get("/").text
    assert "asked to change their session" in home
    assert f'href="/sessions/{session["id"]}/reschedule"' in home
    assert "Ana Ruiz's calendar" in home and "Never read" in home
    assert "the mediator has not accepted yet" in home.lower()
    event_id = re.search(r'action="/queue/change/(\d+)/handled"', home).group(1)
    after = desk.post(f"/queue/change/{event_id}/handled", {"case_id": str(case["id"])},
                      follow_redirects=True).text
    assert "asked to change their session" not in after
    unconfirmed = desk.post(f"/queue/unconfirmed/{session['id']}/handled",
                            {"how": "confirmed by phone"}, follow_redirects=True).text
    assert "Every session in the next 7 days is confirmed." in unconfirmed
    unknown = desk.post("/queue/bogus/1/handled", {})
    assert unknown.status_code == 404


def test_a_confirmation_by_text_shows_on_the_staff_pages_and_the_48_hour_queue(
        desk: Desk, api: Api, session_factory: sessionmaker[Session], clock: FixedClock) -> None:
    case = scheduling_case(api)
    m, v = mediator(api), venue(api)
    session = api.post("/api/sessions", json={"case_id": case["id"], "mediator_id": m["id"],
                                              "venue_id": v["id"],
                                              "starts_at": start_in(clock, 5)})
    assert session.status_code == 201, session.text
    session = session.json()
    early = desk.get("/").text.split('id="q-not-confirmed"', 1)[1].split("</section>", 1)[0]
    assert f"Case CMP-{case['id']}" not in early  # five days ahead: not yet a worry
    clock.set(datetime.fromisoformat(session["starts_at"]) - timedelta(hours=40))
    desk = sign_in(api.client, session_factory, clock, username="later")  # signed in anew
    assert api.post(f"/api/sessions/{session['id']}/remind").status_code == 200
    with transaction(session_factory) as s:  # the reminder went out
        for notice in s.scalars(select(Notification).where(
                Notification.kind == "reminder", Notification.session_id == session["id"])):
            notice.status, notice.sent_at = "sent", clock.now()
    complainant, officer = case["parties"][0], case["parties"][1]
    assert (complainant["role"], officer["role"]) == ("complainant", "officer")
    home = desk.get("/").text
    waiting = home.split('id="q-not-confirmed"', 1)[1].split("</section>", 1)[0]
    assert f"Case CMP-{case['id']}" in waiting and "the complainant" in waiting

    clock.advance(timedelta(minutes=10))
    text_in(api, complainant["phone"], "1", "SM" + "c" * 32)
    home = desk.get("/").text
    waiting = home.split('id="q-not-confirmed"', 1)[1].split("</section>", 1)[0]
    assert "the complainant" not in waiting and "the officer" in waiting
    week = home.split('id="q-week"', 1)[1]
    assert "Complainant: confirmed by text at" in week and "Officer: not yet confirmed" in week

    done = desk.post(f"/queue/sessions/{session['id']}/confirmed",
                     {"party_id": str(officer["id"])}, follow_redirects=True).text
    assert "they confirmed by phone" in done
    assert "Every party of a session in the next 48 hours has confirmed." in done
    page = desk.get(f"/cases/{case['id']}").text
    assert "Complainant: confirmed by text at" in page
    assert "Officer: confirmed by phone (staff) at" in page
    with transaction(session_factory) as s:
        actors = [e.actor for e in s.scalars(select(AuditEvent).where(
            AuditEvent.action == "session.party_confirmed").order_by(AuditEvent.id))]
        assert actors == ["party-sms", "later"]


def test_a_reply_to_the_reminder_during_the_session_asks_staff_to_call(
        desk: Desk, api: Api, session_factory: sessionmaker[Session], clock: FixedClock) -> None:
    """The complainant texts "2" twenty minutes after their session began: nothing is moved, and
    the queue says why it is there and what to do (call them: they may be running late)."""
    case = scheduling_case(api)
    m, v = mediator(api), venue(api)
    booked = api.post("/api/sessions", json={"case_id": case["id"], "mediator_id": m["id"],
                                             "venue_id": v["id"], "starts_at": start_in(clock, 5)})
    assert booked.status_code == 201, booked.text
    session = booked.json()
    clock.set(datetime.fromisoformat(session["starts_at"]) - timedelta(hours=2))
    desk = sign_in(api.client, session_factory, clock, username="later")
    assert api.post(f"/api/sessions/{session['id']}/remind").status_code == 200
    with transaction(session_factory) as s:  # the last reminder reached them
        for notice in s.scalars(select(Notification).where(
                Notification.kind == "reminder", Notification.session_id == session["id"])):
            notice.status, notice.sent_at = "sent", clock.now()
    clock.advance(timedelta(hours=2, minutes=20))
    text_in(api, case["parties"][0]["phone"], "2", "SM" + "d" * 32)
    home = desk.get("/").text
    assert "once the session had begun" in home and "may be running late" in home
    assert f"CMP-{case['id']}" in home
    with transaction(session_factory) as s:  # nothing moved, nothing confirmed
        row = s.get(MediationSession, session["id"])
        assert row is not None and row.status == "booked"
        assert row.starts_at == datetime.fromisoformat(session["starts_at"])
        assert s.scalars(select(SessionConfirmation)).all() == []
