"""Staff see what kind of line each number is ("landline", "mobile", "VoIP", "not checked") on the
case and party pages, and a party on a landline whom no email reaches is in the work queue as
"call this party: landline" until someone has called them."""

from __future__ import annotations

import re

import pytest
from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from cases import phone_lines
from cases.clock import FixedClock
from cases.database import transaction
from cases.models import Notification, Party, PhoneLine
from cases.outbox import Channel, NoticeKind, enqueue
from cases.phone_lines import LineCheck, LineType
from notifiers.channels.memory import MemoryNotifier
from notifiers.outbox.dispatcher import Dispatcher
from notifiers.wiring import build_dispatcher
from settings import Settings
from tests.support.api import Api
from tests.support.staff import Desk, sign_in


@pytest.fixture
def desk(api: Api, session_factory: sessionmaker[Session], clock: FixedClock) -> Desk:
    return sign_in(api.client, session_factory, clock)


def _answer(factory: sessionmaker[Session], clock: FixedClock, number: str, kind: LineType,
            word: str) -> None:
    with transaction(factory) as session:
        phone_lines.record_check(session, number, LineCheck(kind, word), now=clock.now())


def _complainant(factory: sessionmaker[Session], case_id: int) -> Party:
    with factory() as session:
        return session.scalars(select(Party).where(Party.case_id == case_id,
                                                   Party.role == "complainant")).one()


def test_the_case_and_party_pages_say_what_line_each_number_is(
        desk: Desk, api: Api, session_factory: sessionmaker[Session], clock: FixedClock) -> None:
    first = api.new_case()  # through the staff API: its numbers are noted at intake
    second = api.new_case()
    one, two = (_complainant(session_factory, c["id"]) for c in (first, second))
    with session_factory() as session:
        noted = set(session.scalars(select(PhoneLine.number).where(
            PhoneLine.line_type == "unchecked")))
    assert {one.phone, two.phone} <= noted
    page = desk.get(f"/cases/{first['id']}").text
    assert re.search(rf"Phone {re.escape(one.phone or '')} <span[^>]*>not checked</span>", page)

    _answer(session_factory, clock, one.phone or "", LineType.LANDLINE, "landline")
    _answer(session_factory, clock, two.phone or "", LineType.VOIP, "nonFixedVoip")

    page = desk.get(f"/cases/{first['id']}").text
    assert re.search(rf"Phone {re.escape(one.phone or '')} <span[^>]*>landline</span>", page)
    assert "(no texts: email, or a call)" in page
    assert re.search(r"<span[^>]*>VoIP</span>",
                     desk.get(f"/cases/{second['id']}").text)
    form = desk.get(f"/cases/{first['id']}/parties/{one.id}/edit").text
    assert "This number: landline (no texts are sent to a landline)." in form


def _dispatcher(settings: Settings, factory: sessionmaker[Session], clock: FixedClock,
                sms: MemoryNotifier) -> Dispatcher:
    return build_dispatcher(settings, factory, clock, worker_id="pages",
                            notifiers={Channel.SMS: sms, Channel.EMAIL: MemoryNotifier(Channel.EMAIL)})


def test_a_party_on_a_landline_without_email_is_in_the_queue_until_called(
        desk: Desk, api: Api, session_factory: sessionmaker[Session], clock: FixedClock,
        web_settings: Settings) -> None:
    case = api.new_case(parties=[
        {"role": "complainant", "full_name": "Maria Lopez", "phone": "(312) 555-0110",
         "language": "es", "channels": ["sms"]},  # a landline, and no email
        {"role": "officer", "full_name": "John Smith", "email": "officer@example.org",
         "officer_star": "4321", "channels": ["email"]},
    ])
    party = _complainant(session_factory, case["id"])
    _answer(session_factory, clock, party.phone or "", LineType.LANDLINE, "landline")
    with transaction(session_factory) as session:
        row = session.get(Party, party.id)
        enqueue(session, kind=NoticeKind.CONSENT_REQUEST, recipient=row, due_at=clock.now(),
                now=clock.now(), case_id=case["id"], context={"case_id": case["id"]})
    sms = MemoryNotifier(Channel.SMS)

    _dispatcher(web_settings, session_factory, clock, sms).run_once()

    assert sms.sent == []
    home = desk.get("/").text
    assert f"Call the complainant of case CMP-{case['id']}: landline" in home
    with session_factory() as session:
        notice = session.scalars(select(Notification).where(
            Notification.party_id == party.id)).one()
    handled = desk.post(f"/queue/landline/{notice.id}/handled",
                        {"how": "called", "case_id": case["id"]})
    assert handled.status_code in (200, 303)
    assert f"case CMP-{case['id']}: landline" not in desk.get("/").text
