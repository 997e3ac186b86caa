"""A mediation session as a calendar event: the one place that turns a session row into one.

The emailed invite (:mod:`notifiers.compose.invite_attachments`), the mediator's CalDAV calendar and
private feed (:mod:`calendars.push`) and the party's "add to calendar" download
(:mod:`web.pages.party`) all start from :func:`session_event`, so a session has one UID, one
time, one place and one SEQUENCE wherever it shows up: a calendar that receives it twice (an
invite, then the download) updates one event instead of showing two. Each caller says only the
words, in its reader's language.
"""

from __future__ import annotations

import uuid

from calendars.base import CalendarEvent
from calendars.invites import venue_location
from cases.models import MediationSession, Venue

#: The domain of our sessions' UIDs (``<uuid>@cmp-session``): how a calendar's own events are
#: told from the ones we wrote (``calendars.caldav_store``'s ``own_domain``).
SESSION_UID_DOMAIN = "cmp-session"


def new_session_uid() -> str:
    """The UID of a newly booked session, kept through every reschedule."""
    return f"{uuid.uuid4()}@{SESSION_UID_DOMAIN}"


def session_uid(row: MediationSession) -> str:
    """The session's UID as every calendar sees it: the row's (``<uuid>@cmp-session``), with any
    '/' (not allowed in a CalDAV resource name) replaced by '-'."""
    return row.uid.replace("/", "-")


def session_event(row: MediationSession, *, summary: str, description: str = "",
                  fallback_zone: str) -> CalendarEvent:
    """The event for ``row``: its UID, times and SEQUENCE; the venue's zone (``fallback_zone``
    when it has none); the venue's name and address, or for a video session its link (as
    location and URL; a video venue without a link shows its name and address).

    :raises ValueError: the row cannot make a valid event (unknown zone, bad times).
    """
    venue: Venue = row.venue
    video_url = (venue.video_url or "") if venue.kind == "video" else ""
    return CalendarEvent(
        uid=session_uid(row), start=row.starts_at, end=row.ends_at, summary=summary,
        tzid=venue.time_zone or fallback_zone,
        location=video_url or venue_location(venue.name, venue.address),
        description=description, url=video_url, sequence=row.sequence)
