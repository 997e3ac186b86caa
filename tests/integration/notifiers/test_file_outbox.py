"""The file outbox holds the invites themselves: each attachment a file beside its message, byte
for byte what was sent, named safely after the message and the attachment, and the message file
points to it. A booking's invites, written through the real dispatcher, open in icalendar."""

from __future__ import annotations

import re
from datetime import timedelta
from pathlib import Path

import pytest
from icalendar import Calendar
from sqlalchemy.orm import Session, sessionmaker

from cases.clock import FixedClock
from cases.database import transaction
from cases.models import MediationSession
from notifiers.channels.base import Attachment, Channel, OutgoingMessage, Receipt
from notifiers.channels.file_outbox import FileOutboxNotifier, safe_filename
from notifiers.channels.memory import MemoryNotifier
from notifiers.compose.rendering import Renderer
from notifiers.outbox.dispatcher import Dispatcher
from scheduler.booking import BookingOption, book
from tests.support.booking import RULES, SLOT_START
from tests.support.factories import make_mediator_row, make_scheduling_case, make_venue_row
from tests.support.notify import PROGRAM

ATTACHMENT_LINE = re.compile(r"^Attachment: (\S+) \(([^,]+), (\d+) bytes\) -> (\S+)$", re.M)



class Recording:
    """The real file outbox, keeping what it was given (to compare the files with)."""

    def __init__(self, inner: FileOutboxNotifier) -> None:
        self.inner = inner
        self.channel = inner.channel
        self.provider, self.max_body_chars, self.rate_per_second = "file", 1_000_000, 1000.0
        self.given: list[OutgoingMessage] = []

    def send(self, message: OutgoingMessage) -> Receipt:
        self.given.append(message)
        return self.inner.send(message)


def test_a_bookings_invites_are_files_that_open_in_a_calendar(
        session_factory: sessionmaker[Session], clock: FixedClock, tmp_path: Path) -> None:
    email = Recording(FileOutboxNotifier(tmp_path, Channel.EMAIL))
    dispatcher = Dispatcher(session_factory, {Channel.EMAIL: email,  # type: ignore[dict-item]
                                              Channel.SMS: MemoryNotifier(Channel.SMS)},
                            clock, renderer=Renderer(), program=PROGRAM, worker_id="files")
    with transaction(session_factory) as db:
        case = make_scheduling_case(db, clock.now())
        mediator = make_mediator_row(db, clock.now())
        venue = make_venue_row(db, clock.now(), name="Harold Washington Library Center",
                           address="400 S State St, Chicago")
        row = book(db, case, BookingOption((mediator.id,), venue.id, SLOT_START,
                                           SLOT_START + timedelta(minutes=90)),
                   RULES, now=clock.now(), actor="staff")
        session_id = row.id
    while dispatcher.run_once().touched:
        pass
    with session_factory() as db:
        meeting = db.get(MediationSession, session_id)
        assert meeting is not None
        uid = meeting.uid

    invited = [m for m in email.given if m.attachments]
    assert len(invited) == 3  # complainant, officer, mediator
    for message in invited:
        (sent,) = message.attachments
        text = email.inner.path_for(message).read_text(encoding="utf-8")
        (line,) = ATTACHMENT_LINE.findall(text)
        assert line[:3] == (sent.filename, sent.content_type, str(len(sent.content)))
        written = tmp_path / line[3]
        assert written.name == f"notice-{message.notice_id:08d}.email.invite.ics"
        assert written.read_bytes() == sent.content  # the invite itself, not a mention of it
        calendar = Calendar.from_ical(written.read_bytes())
        event = calendar.walk("VEVENT")[0]
        assert str(calendar["METHOD"]) == "REQUEST"
        assert (str(event["UID"]), int(event["SEQUENCE"])) == (uid, 0)
        assert event["DTSTART"].dt == SLOT_START
        assert str(event["ATTENDEE"]).lower() == f"mailto:{message.to}".lower()
    assert not list(tmp_path.glob(".tmp-*"))


@pytest.mark.parametrize(("given", "safe"), [
    ("invite.ics", "invite.ics"),
    ("cancel.ics", "cancel.ics"),
    ("../../etc/passwd", "passwd"),
    ("..\\windows\\evil name.ics", "evil_name.ics"),
    (".profile", "profile"),
    ("zaproszenie na sesję.ics", "zaproszenie_na_sesj_.ics"),
    ("", "attachment"),
    ("..", "attachment"),
    ("x" * 200 + ".ics", "x" * 76 + ".ics"),
])
def test_attachment_names_are_made_safe(given: str, safe: str) -> None:
    assert safe_filename(given) == safe


def test_attachments_with_one_name_do_not_overwrite_each_other(tmp_path: Path) -> None:
    outbox = FileOutboxNotifier(tmp_path, Channel.EMAIL)
    message = OutgoingMessage(5, Channel.EMAIL, "maria@example.org", "Two files.", "Two", None, (
        Attachment("../invite.ics", "text/calendar", b"first"),
        Attachment("invite.ics", "text/calendar", b"second"),
    ))
    outbox.send(message)
    assert sorted(p.name for p in tmp_path.iterdir()) == [
        "notice-00000005.email.invite-2.ics", "notice-00000005.email.invite.ics",
        "notice-00000005.email.txt"]
    assert (tmp_path / "notice-00000005.email.invite-2.ics").read_bytes() == b"second"
    assert all(p.parent == tmp_path for p in outbox.attachment_paths(message))
