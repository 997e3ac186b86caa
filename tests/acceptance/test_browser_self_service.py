"""A party moves their own session from the booking page, on a phone, in Spanish, in headless
Chromium (Debian's, driven by Playwright), and every invite and calendar follows.

The matcher books the case; the dispatcher sends the booking confirmation through the provider
emulator (the real SendGrid and Twilio SDKs) and the calendar job writes the session into the
mediator's own CalDAV calendar on a real Radicale. The complainant opens the booking link from
their email on a 390×844 screen, sees the times that suit everyone in "hora de Chicago", and
taps one. Then: each party's email carries a REQUEST for the same UID with SEQUENCE 1 at the new
time, the mediator is told, and the event in the mediator's Radicale calendar has moved (one
event, SEQUENCE 1). axe-core finds no critical violation, and nothing runs off the screen.
"""

from __future__ import annotations

import base64
import re
from collections.abc import Iterator
from datetime import UTC, datetime, time
from pathlib import Path
from typing import Any

import pytest
from caldav.davclient import DAVClient
from icalendar import Calendar
from sqlalchemy.orm import Session, sessionmaker

from calendars.push import writer_for
from cases import referrals, service
from cases.clock import FixedClock
from cases.database import transaction
from cases.directory import NewMediator, NewVenue, add_mediator, add_venue, parse_opening_hours
from cases.models import MediationSession, PartyRole
from cases.policy import load_policy
from cases.sealing import Sealer
from cases.service import NewCase, NewParty, WeeklyWindow
from emulator import EmulatorClient, EmulatorHTTPServer
from notifiers.wiring import build_dispatcher
from scheduler.candidates import match_and_book
from scheduler.jobs import JobDeps, pull_calendars, push_calendars
from tests.support.browser import (
    BROWSER_ARTIFACTS,
    BROWSER_MARKS,
    accessible,
    browser_settings,
    chromium,
    fits,
    shot,
)
from tests.support.calendars import LOOPBACK, RadicaleServer, running_radicale
from tests.support.web import free_port, serve
from web.app import create_app
from web.scheduling import rules

ARTIFACTS = BROWSER_ARTIFACTS / "self-service"
SECRET = "self-service-secret-0123456789abcdef"
PHONE = "+13127467777"
PEOPLE = {"complainant": "lucia@example.org", "officer": "smith@example.org",
          "mediator": "rosa@example.org"}

pytestmark = BROWSER_MARKS


@pytest.fixture
def radicale(tmp_path: Path) -> Iterator[RadicaleServer]:
    with running_radicale(tmp_path / "radicale") as server:
        yield server


def _seed(factory: sessionmaker[Session], clock: FixedClock, calendar_url: str,
          radicale: RadicaleServer, sealer: Sealer) -> int:
    """A case in scheduling: both parties agreed, everyone free on weekday evenings."""
    now = clock.now()
    evenings = [WeeklyWindow(d, time(17), time(20)) for d in range(5)]
    policy = load_policy()
    with transaction(factory) as s:
        mediator = add_mediator(s, NewMediator(
            full_name="Rosa Diaz", email=PEOPLE["mediator"], languages=["en", "es"],
            general_training_hours=40, specialized_training_hours=25,
            training_expires_on=now.date().replace(year=now.year + 2), calendar_kind="caldav",
            calendar_url=calendar_url, calendar_username=radicale.username,
            calendar_secret=radicale.password), now=now, actor="seed", sealer=sealer,
            allowed=LOOPBACK, qualification=policy.qualification)
        add_venue(s, NewVenue(name="Harold Washington Library",
                              address="400 S State St, Chicago, IL", neutral=True,
                              opening_hours=parse_opening_hours("mon-sat 09:00-20:00")),
                  now=now, actor="seed")
        service.set_weekly_availability(s, owner_kind="mediator", owner_id=mediator.id,
                                        windows=evenings, time_zone="America/Chicago",
                                        now=now, actor="seed")
        case = service.add_case(s, NewCase(
            log_number="2026-007777", incident_date=now.date().replace(day=1),
            allegation_categories=["unprofessionalism"],
            parties=[NewParty(role="complainant", full_name="Lucía Hernández", phone=PHONE,
                              email=PEOPLE["complainant"], language="es", channels="sms,email"),
                     NewParty(role="officer", full_name="Officer Smith",
                              email=PEOPLE["officer"], officer_star="7777", channels="email")]),
            policy, now=now, actor="intake")
        referrals.decide(s, case, eligible=True, reason=None, policy=policy, now=now,
                         actor="desk")
        for party in case.parties:
            referrals.record_consent(s, case, party, granted=True, channel="staff", policy=policy,
                                     now=now, actor="desk")
            service.set_weekly_availability(s, owner_kind="party", owner_id=party.id,
                                            windows=evenings, time_zone="America/Chicago",
                                            now=now, actor="seed", case_id=case.id)
        return case.id


def _drain(dispatcher: Any) -> None:
    while dispatcher.run_once().touched:
        pass


def _invites(message: dict[str, Any]) -> list[Any]:
    """The VEVENTs of the calendar files attached to an email the emulator received."""
    out = []
    for attachment in message["attachments"]:
        if attachment["type"].startswith("text/calendar"):
            calendar = Calendar.from_ical(base64.b64decode(attachment["content"]))
            out += [(str(calendar["METHOD"]), event) for event in calendar.walk("VEVENT")]
    return out


def _radicale_events(radicale: RadicaleServer, url: str) -> list[Any]:
    client = DAVClient(url=radicale.url, username=radicale.username,
                       password=radicale.password, enable_rfc6764=False)
    return [event for obj in client.calendar(url=url).events()
            for event in Calendar.from_ical(obj.data).walk("VEVENT")]


@pytest.mark.filterwarnings("ignore::DeprecationWarning")
def test_a_party_moves_their_session_on_a_phone_in_spanish_and_every_invite_follows(
        session_factory: sessionmaker[Session], clock: FixedClock,
        browser_emulator: EmulatorHTTPServer, radicale: RadicaleServer) -> None:
    from playwright.sync_api import expect, sync_playwright

    port = free_port()
    base = f"http://127.0.0.1:{port}"
    settings = browser_settings(base, browser_emulator.url, SECRET)
    sealer = Sealer(SECRET)
    calendar_url = radicale.new_calendar_url()
    case_id = _seed(session_factory, clock, calendar_url, radicale, sealer)
    app = create_app(settings, session_factory, clock, load_policy())
    deps = JobDeps(rules=rules(app.state.web),
                   calendar_source=lambda m: writer_for(m, clock, sealer=sealer,
                                                        allowed=LOOPBACK),
                   calendar_writer=lambda m: writer_for(m, clock, sealer=sealer,
                                                        allowed=LOOPBACK))
    dispatcher = build_dispatcher(settings, session_factory, clock, worker_id="self-service")
    inbox = EmulatorClient(browser_emulator.url)

    assert pull_calendars(session_factory, clock, deps) == {1: None}  # busy times read
    run = match_and_book(session_factory, deps.rules, now=clock.now())
    assert case_id in run.booked, run.unbooked
    _drain(dispatcher)
    push_calendars(session_factory, clock, deps)
    with transaction(session_factory) as s:
        row = s.get(MediationSession, run.booked[case_id])
        assert row is not None
        uid, booked_at = row.uid, row.starts_at
    [event] = _radicale_events(radicale, calendar_url)
    assert (str(event["UID"]), int(event["SEQUENCE"])) == (uid, 0)

    booking_links = [re.search(r"https?://\S+/p/booking/[\w.-]+", m["body"])
                     for m in inbox.messages() if m["to"] == PEOPLE["complainant"]]
    booking_url = next(found.group(0) for found in booking_links if found)
    before = len(inbox.messages())

    with serve(app, port=port), sync_playwright() as pw, chromium(pw) as browser:
        # bypass_csp only so that axe-core can be injected; the pages' own policy stays
        phone = browser.new_context(viewport={"width": 390, "height": 844},
                                    device_scale_factor=2, is_mobile=True, has_touch=True,
                                    locale="es-MX", bypass_csp=True).new_page()
        phone.goto(booking_url)
        expect(phone.locator("html")).to_have_attribute("lang", "es")
        expect(phone.get_by_role("heading", name="Elegir otro horario")).to_be_visible()
        expect(phone.get_by_text("Las horas se indican en hora de Chicago.").first) \
            .to_be_visible()
        fits(phone)
        accessible(phone, "booking page with offers")
        shot(phone, ARTIFACTS, "01-booking-offers-es")
        choice = phone.get_by_role("button", name=re.compile(r"^Cambiar al ")).first
        chosen = choice.inner_text()
        choice.tap()
        expect(phone.get_by_role("status")).to_contain_text("Listo. Su sesión es ahora el")
        fits(phone)
        accessible(phone, "booking page after the move")
        shot(phone, ARTIFACTS, "02-booking-moved-es")
        # the page now shows the new time, the one on the button
        when = chosen.removeprefix("Cambiar al ").split(" · ")[0]
        expect(phone.get_by_role("definition").first).to_contain_text(when)

    with transaction(session_factory) as s:
        row = s.get(MediationSession, run.booked[case_id])
        assert row is not None and row.sequence == 1 and row.starts_at != booked_at
        moved_to, moved_end, case = row.starts_at, row.ends_at, row.case
        roles = {p.role: p for p in case.parties}
        assert set(roles) == {PartyRole.COMPLAINANT.value, PartyRole.OFFICER.value}

    _drain(dispatcher)
    sent = inbox.messages(since=before)
    for who in ("complainant", "officer"):
        [email] = [m for m in sent if m["to"] == PEOPLE[who] and m["channel"] == "email"]
        [(method, invite)] = _invites(email)
        assert method == "REQUEST"
        assert (str(invite["UID"]), int(invite["SEQUENCE"])) == (uid, 1)
        assert invite["DTSTART"].dt.astimezone(UTC) == moved_to
        assert invite["DTEND"].dt.astimezone(UTC) == moved_end
    assert [m for m in sent if m["to"] == PHONE and m["channel"] == "sms"]
    # the mediator is told by email; their own calendar holds the event (no emailed copy)
    [to_mediator] = [m for m in sent if m["to"] == PEOPLE["mediator"]]
    assert _invites(to_mediator) == []
    push_calendars(session_factory, clock, deps)
    [event] = _radicale_events(radicale, calendar_url)
    assert (str(event["UID"]), int(event["SEQUENCE"])) == (uid, 1)
    assert event["DTSTART"].dt.astimezone(UTC) == moved_to
    assert isinstance(moved_to, datetime)
    inbox.close()
