"""iTIP invites (RFC 5545 / RFC 5546) for one recipient at a time.

Every recipient (each party, each mediator, an interpreter) gets their own invite that lists
the program as ORGANIZER and only that recipient as ATTENDEE, so a party's invite never shows
another party's address. The same session keeps one UID; every change is a new
``METHOD:REQUEST`` with a higher SEQUENCE, and cancellation is ``METHOD:CANCEL`` with
``STATUS:CANCELLED`` and a higher SEQUENCE again.

E-mail it as an attachment *and* as a ``text/calendar; method=REQUEST`` (or ``CANCEL``)
alternative part; :func:`mime_content_type` gives the exact header value.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum

from icalendar import Calendar, Event, vCalAddress, vText

from calendars.intervals import Interval
from calendars.localtime import require_aware, zone
from calendars.rendering import PRODID, display_alarm
from calendars.vtimezone import compact_vtimezone

_EMAIL = re.compile(r"^[^@\s<>\"]+@[^@\s<>\"]+\.[^@\s<>\"]+$")


class Method(StrEnum):
    REQUEST = "REQUEST"
    CANCEL = "CANCEL"


class Role(StrEnum):
    """RFC 5545 ROLE of the attendee (interpreters are usually ``REQ-PARTICIPANT`` too)."""

    REQUIRED = "REQ-PARTICIPANT"
    OPTIONAL = "OPT-PARTICIPANT"
    NON_PARTICIPANT = "NON-PARTICIPANT"
    CHAIR = "CHAIR"


@dataclass(frozen=True, slots=True)
class Person:
    """A calendar user: an e-mail address and a display name."""

    email: str
    name: str = ""

    def __post_init__(self) -> None:
        if not _EMAIL.match(self.email):
            raise ValueError("Person email is not a plain e-mail address")
        if any(c in self.name for c in "\r\n"):
            raise ValueError("Person name must not contain line breaks")

    def cal_address(self, **params: str) -> vCalAddress:
        address = vCalAddress(f"mailto:{self.email}")
        if self.name:
            address.params["CN"] = vText(self.name)
        for key, value in params.items():
            address.params[key.replace("_", "-").upper()] = value
        return address


@dataclass(frozen=True, slots=True)
class Invite:
    """Everything one recipient's invite says. Text fields are already in their language.

    ``start``/``end`` are instants (converted to UTC); ``tzid`` is the zone they are shown in
    (America/Chicago, or the venue's zone). Give ``location`` (the venue's name and address,
    see ``venue_location``), ``video_url``, or both. ``language`` is a BCP 47 tag put on
    SUMMARY/DESCRIPTION/LOCATION (``es``, ``pl``...).
    """

    uid: str
    sequence: int
    method: Method
    start: datetime
    end: datetime
    summary: str
    description: str
    organizer: Person
    attendee: Person
    role: Role = Role.REQUIRED
    tzid: str = "America/Chicago"
    location: str = ""
    video_url: str = ""
    language: str = ""
    alarm_minutes_before: int | None = 60

    def __post_init__(self) -> None:
        interval = Interval(self.start, self.end)
        object.__setattr__(self, "start", interval.start)
        object.__setattr__(self, "end", interval.end)
        object.__setattr__(self, "method", Method(self.method))
        object.__setattr__(self, "role", Role(self.role))
        if not self.uid or any(c in self.uid for c in "\r\n"):
            raise ValueError(f"Invite uid must be non-empty without line breaks: {self.uid!r}")
        if self.sequence < 0:
            raise ValueError(f"Invite sequence must be >= 0, got {self.sequence}")
        if not self.location and not self.video_url:
            raise ValueError("Invite needs a location (address) or a video_url")
        if self.video_url and not self.video_url.startswith("https://"):
            raise ValueError("Invite video_url must be an https:// link")
        if self.alarm_minutes_before is not None and self.alarm_minutes_before < 0:
            raise ValueError(
                f"alarm_minutes_before must be >= 0 or None, got {self.alarm_minutes_before}"
            )
        zone(self.tzid)


def venue_location(name: str, address: str) -> str:
    """What an invite's LOCATION says: the venue's name and its street address ('Harold
    Washington Library Center, 400 S State St, Chicago, IL 60605'), each once — a name that
    already ends with its address, or an address that starts with the name, is not repeated."""
    name, address = " ".join(name.split()), " ".join(address.split())
    if not name or name.lower() in address.lower():
        return address
    if not address or address.lower() in name.lower():
        return name
    return f"{name}, {address}"


def mime_content_type(method: Method | str) -> str:
    """The Content-Type of the iTIP body part (Outlook shows accept/decline from it)."""
    return f'text/calendar; charset="utf-8"; method={Method(method).value}'


def build_invite(invite: Invite, *, dtstamp: datetime) -> bytes:
    """Serialize ``invite`` as an iTIP VCALENDAR (CRLF, folded lines, UTF-8).

    ``dtstamp`` is "now" from the caller's clock: the moment this version was created.
    """
    stamp = require_aware(dtstamp, "dtstamp")
    tz = zone(invite.tzid)
    cancelled = invite.method is Method.CANCEL

    calendar = Calendar()
    calendar.add("PRODID", PRODID)
    calendar.add("VERSION", "2.0")
    calendar.add("CALSCALE", "GREGORIAN")
    calendar.add("METHOD", invite.method.value)
    calendar.add_component(compact_vtimezone(invite.tzid, invite.start, invite.end))

    event = Event()
    event.add("UID", invite.uid)
    event.add("DTSTAMP", stamp)
    event.add("SEQUENCE", invite.sequence)
    event.add("STATUS", "CANCELLED" if cancelled else "CONFIRMED")
    event.add("DTSTART", invite.start.astimezone(tz))
    event.add("DTEND", invite.end.astimezone(tz))
    lang = {"LANGUAGE": invite.language} if invite.language else {}
    event.add("SUMMARY", invite.summary, parameters=lang)
    event.add("LOCATION", invite.location or invite.video_url, parameters=lang)
    if invite.description:
        event.add("DESCRIPTION", invite.description, parameters=lang)
    if invite.video_url:
        event.add("URL", invite.video_url)
        event.add(
            "CONFERENCE", invite.video_url, parameters={"VALUE": "URI", "FEATURE": "VIDEO"}
        )
    event.add("TRANSP", "TRANSPARENT" if cancelled else "OPAQUE")
    event.add("ORGANIZER", invite.organizer.cal_address())
    event.add(
        "ATTENDEE",
        invite.attendee.cal_address(
            ROLE=invite.role.value,
            PARTSTAT="NEEDS-ACTION",
            RSVP="FALSE" if cancelled else "TRUE",
            CUTYPE="INDIVIDUAL",
        ),
    )
    if not cancelled and invite.alarm_minutes_before is not None:
        event.add_component(display_alarm(invite.summary, invite.alarm_minutes_before))
    calendar.add_component(event)
    return calendar.to_ical()


def find_leaks(ics: bytes, forbidden: Iterable[str]) -> list[str]:
    """The strings of ``forbidden`` that occur in ``ics`` (unfolded, case-insensitive).

    Defence in depth for hand-written text: pass the *other* parties' e-mails and phone
    numbers before sending a party their invite; refuse to send if anything is returned.
    """
    text = re.sub(r"\r?\n[ \t]", "", ics.decode("utf-8")).replace("\\", "").lower()
    return [item for item in forbidden if item and item.lower() in text]
