"""One session is one calendar event wherever a calendar receives it: the emailed invite, the
mediator's private feed (the same event the CalDAV push writes) and the party page's download
carry the same UID, times, place and SEQUENCE (``calendars.sessions.session_event``).

Before, each built its own event: the invite kept the row's UID as it was while the feed and
the party page replaced '/', so a session whose UID had one showed twice in a calendar that
got both the invite and the download.
"""

from __future__ import annotations

from typing import Any

from icalendar import Calendar
from sqlalchemy import select

from cases.clock import FixedClock
from cases.database import transaction
from cases.models import MediationSession, Notification
from notifiers.compose.context import Lookup, ProgramInfo
from notifiers.compose.invite_attachments import invite_attachment
from tests.support.api import Api, link, mediator, scheduling_case, start_in, venue

PROGRAM = ProgramInfo(name="Community Mediation Program", phone="+13127463594",
                      email="mediation@example.org", public_base_url="http://testserver",
                      link_secret="s" * 32)


def _event(ics: bytes | str) -> dict[str, Any]:
    event = Calendar.from_ical(ics).walk("VEVENT")[0]
    return {"uid": str(event["UID"]), "start": event["DTSTART"].dt, "end": event["DTEND"].dt,
            "tzid": event["DTSTART"].params["TZID"], "location": str(event["LOCATION"]),
            "sequence": int(event["SEQUENCE"])}


def test_invite_feed_and_party_download_are_one_event(api: Api, clock: FixedClock) -> None:
    case = scheduling_case(api)
    m, v = mediator(api), venue(api)
    booked = api.post("/api/sessions", json={"case_id": case["id"], "mediator_id": m["id"],
                                             "venue_id": v["id"], "starts_at": start_in(clock)})
    assert booked.status_code == 201, booked.text
    factory = api.client.app.state.web.session_factory  # type: ignore[attr-defined]
    with transaction(factory) as db:  # a UID written before '/' was kept out of new ones
        row = db.get_one(MediationSession, booked.json()["id"])
        row.uid = "legacy/7@cmp-session"

    download = api.client.get(link(api, case, 0, "booking") + "/invite.ics")
    links = api.post(f"/api/mediators/{m['id']}/links").json()
    feed = api.client.get(links["feed_url"].removeprefix("http://testserver"))
    with transaction(factory) as db:
        emails = db.scalars(select(Notification).where(
            Notification.kind == "booking_confirmation", Notification.channel == "email")).all()
        invites = [invite_attachment(Lookup(db, [n]), n, PROGRAM, clock.now()) for n in emails]

    events = [_event(download.content), _event(feed.content)] + \
        [_event(a.content) for a in invites if a is not None]
    assert len(events) == 2 + len(emails) and len(emails) >= 2  # the parties and the mediator
    assert events[0]["uid"] == "legacy-7@cmp-session"
    assert all(e == events[0] for e in events), events
