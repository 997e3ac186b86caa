"""Invites ride along with booking, reschedule and cancellation emails: one UID for the session,
SEQUENCE rising with every change, METHOD:CANCEL at the end, and only the recipient as attendee."""

from __future__ import annotations

from datetime import timedelta

from icalendar import Calendar
from sqlalchemy.orm import Session, sessionmaker

from cases.clock import FixedClock
from cases.database import transaction
from cases.models import Case, MediationSession
from cases.outbox import Channel
from notifiers.channels.memory import MemoryNotifier
from notifiers.compose.context import ProgramInfo
from notifiers.compose.rendering import Renderer
from notifiers.outbox.dispatcher import Dispatcher
from scheduler.booking import BookingOption, book, cancel, reschedule
from tests.support.booking import RULES, SLOT_START, calendar_read
from tests.support.factories import make_mediator_row, make_scheduling_case, make_venue_row

PROGRAM = ProgramInfo(name="Community Mediation Program", phone="+13127463594",
                      email="mediation@example.org", public_base_url="http://127.0.0.1:8000",
                      link_secret="s" * 32)


def _invites(email: MemoryNotifier) -> dict[str, Calendar]:
    found = {}
    for message in email.sent:
        for attachment in message.attachments:
            if attachment.filename.endswith(".ics"):
                found[message.to] = Calendar.from_ical(attachment.content)
    email.sent.clear()
    return found


def test_invites_follow_the_session_through_create_reschedule_cancel(
        session_factory: sessionmaker[Session], clock: FixedClock) -> None:
    email, sms = MemoryNotifier(Channel.EMAIL), MemoryNotifier(Channel.SMS)
    dispatcher = Dispatcher(session_factory, {Channel.EMAIL: email, Channel.SMS: sms}, clock,
                            renderer=Renderer(), program=PROGRAM, worker_id="t")
    with transaction(session_factory) as db:
        case = make_scheduling_case(db, clock.now())
        mediator = make_mediator_row(db, clock.now())
        venue = make_venue_row(db, clock.now(), name="Harold Washington Library Center",
                           address="400 S State St, Chicago")
        option = BookingOption((mediator.id,), venue.id, SLOT_START,
                               SLOT_START + timedelta(minutes=90))
        row = book(db, case, option, RULES, now=clock.now(), actor="staff")
        session_id, case_id = row.id, case.id
        addresses = {p.role: p.email for p in case.parties} | {"mediator": mediator.email}
        phones = [p.phone for p in case.parties if p.phone]
    while dispatcher.run_once().touched:
        pass
    created = _invites(email)
    assert set(created) == set(addresses.values())
    uids = {str(c.walk("VEVENT")[0]["UID"]) for c in created.values()}
    assert len(uids) == 1
    for to, calendar in created.items():
        event = calendar.walk("VEVENT")[0]
        assert str(calendar["METHOD"]) == "REQUEST"
        assert int(event["SEQUENCE"]) == 0
        assert event["DTSTART"].dt == SLOT_START
        assert event["DTSTART"].params["TZID"] == "America/Chicago"
        assert str(event["LOCATION"]) == "Harold Washington Library Center, 400 S State St, Chicago"
        attendees = event.get("ATTENDEE")
        assert str(attendees).lower() == f"mailto:{to}".lower()
        text = calendar.to_ical().decode()
        others = [a for a in addresses.values() if a != to] + phones
        assert not [o for o in others if o in text], "an invite names another person"

    clock.advance(timedelta(hours=1))
    moved = SLOT_START + timedelta(days=1)
    with transaction(session_factory) as db:
        meeting = db.get_one(MediationSession, session_id)
        reschedule(db, meeting, BookingOption((mediator.id,), venue.id, moved,
                                              moved + timedelta(minutes=90)),
                   RULES, now=clock.now(), actor="staff", reason="complainant asked")
    while dispatcher.run_once().touched:
        pass
    updated = _invites(email)
    assert set(updated) == set(addresses.values())
    for calendar in updated.values():
        event = calendar.walk("VEVENT")[0]
        assert str(calendar["METHOD"]) == "REQUEST"
        assert str(event["UID"]) in uids
        assert int(event["SEQUENCE"]) == 1
        assert event["DTSTART"].dt == moved

    clock.advance(timedelta(hours=1))
    with transaction(session_factory) as db:
        cancel(db, db.get_one(MediationSession, session_id), RULES, reason="withdrawn",
               now=clock.now(), actor="staff")
        assert db.get_one(Case, case_id).state == "scheduling"
    while dispatcher.run_once().touched:
        pass
    cancelled = _invites(email)
    assert set(cancelled) == set(addresses.values())
    for calendar in cancelled.values():
        event = calendar.walk("VEVENT")[0]
        assert str(calendar["METHOD"]) == "CANCEL"
        assert str(event["STATUS"]) == "CANCELLED"
        assert str(event["UID"]) in uids
        assert int(event["SEQUENCE"]) == 2
    assert all(not m.attachments for m in sms.sent)


def test_a_mediator_whose_calendar_we_write_gets_no_emailed_copy(
        session_factory: sessionmaker[Session], clock: FixedClock) -> None:
    email = MemoryNotifier(Channel.EMAIL)
    dispatcher = Dispatcher(session_factory, {Channel.EMAIL: email,
                                              Channel.SMS: MemoryNotifier(Channel.SMS)},
                            clock, renderer=Renderer(), program=PROGRAM, worker_id="t")
    with transaction(session_factory) as db:
        case = make_scheduling_case(db, clock.now())
        mediator = make_mediator_row(db, clock.now(), calendar_kind="caldav",
                                 calendar_url="https://cal.example.org/dav/rosa/")
        calendar_read(db, mediator, clock.now())
        venue = make_venue_row(db, clock.now(), address="400 S State St, Chicago")
        book(db, case, BookingOption((mediator.id,), venue.id, SLOT_START,
                                     SLOT_START + timedelta(minutes=90)),
             RULES, now=clock.now(), actor="staff")
        mediator_email = mediator.email
        party_emails = {p.email for p in case.parties}
    while dispatcher.run_once().touched:
        pass
    to_mediator = [m for m in email.sent if m.to == mediator_email]
    assert len(to_mediator) == 1 and to_mediator[0].attachments == ()
    assert set(_invites(email)) == party_emails


def test_the_mediator_is_told_what_the_session_needs_and_the_parties_are_not(
        session_factory: sessionmaker[Session], clock: FixedClock) -> None:
    email, sms = MemoryNotifier(Channel.EMAIL), MemoryNotifier(Channel.SMS)
    dispatcher = Dispatcher(session_factory, {Channel.EMAIL: email, Channel.SMS: sms}, clock,
                            renderer=Renderer(), program=PROGRAM, worker_id="t")
    with transaction(session_factory) as db:
        case = make_scheduling_case(db, clock.now(), officer_language="pl", interpreter="pl",
                         access_needs=["step_free", "hearing_loop"])
        mediator = make_mediator_row(db, clock.now())
        venue = make_venue_row(db, clock.now(), features=["hearing_loop"])
        book(db, case, BookingOption((mediator.id,), venue.id, SLOT_START,
                                     SLOT_START + timedelta(minutes=90)),
             RULES, now=clock.now(), actor="staff")
        mediator_email = mediator.email
    while dispatcher.run_once().touched:
        pass
    needs = ("held in English; a Polish interpreter attends; access needed: hearing loop, "
             "step-free access.")
    to_mediator = [m for m in email.sent if m.to == mediator_email]
    assert len(to_mediator) == 1 and f"Session: {needs}" in to_mediator[0].body_text
    invite = Calendar.from_ical(to_mediator[0].attachments[0].content).walk("VEVENT")[0]
    assert needs in str(invite["DESCRIPTION"])
    for message in email.sent:
        if message.to != mediator_email:
            assert "interpreter attends" not in message.body_text
            for attachment in message.attachments:
                assert "interpreter attends" not in attachment.content.decode()
