"""The walk through the whole chain in headless Chromium (Debian's, driven by Playwright):

staff signs in and approves a case → the dispatcher sends the consent request through the
provider emulator → the complainant opens the emailed link on a phone and consents in Spanish,
then gives availability on the week picker → the scheduler's matching job books a session →
staff sees the booking and presses "Send reminder" → the emulator records the reminder SMS.

Screenshots go to ``tests/artifacts/`` (not committed); the two README images are refreshed in
``docs/screenshots/``.
"""

from __future__ import annotations

import re
from datetime import time

import pytest
from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from cases import service
from cases.clock import FixedClock
from cases.database import transaction
from cases.directory import NewMediator, NewVenue, add_mediator, add_venue, parse_opening_hours
from cases.models import Notification, Party, PartyRole, StaffUser
from cases.policy import load_policy
from cases.service import NewCase, NewParty, WeeklyWindow
from emulator import EmulatorClient, EmulatorHTTPServer
from notifiers.wiring import build_dispatcher
from scheduler.candidates import match_and_book
from tests.support.browser import BROWSER_ARTIFACTS, BROWSER_MARKS, browser_settings, chromium, shot
from tests.support.web import free_port, serve
from web.app import create_app
from web.auth import hash_password
from web.scheduling import rules

PHONE = "+13127465555"

pytestmark = BROWSER_MARKS


def _seed(factory: sessionmaker[Session], clock: FixedClock) -> int:
    now = clock.now()
    wednesday_evening = [WeeklyWindow(2, time(17), time(20))]
    with transaction(factory) as s:
        s.add(StaffUser(username="desk", password_hash=hash_password("correct horse battery"),
                        role="staff", active=True, created_at=now))
        mediator = add_mediator(s, NewMediator(
            full_name="Rosa Diaz", email="rosa@example.org", languages=["en", "es"],
            general_training_hours=40, specialized_training_hours=25,
            training_expires_on=now.date().replace(year=now.year + 2)), now=now, actor="seed",
            qualification=load_policy().qualification)
        add_venue(s, NewVenue(name="Harold Washington Library",
                              address="400 S State St, Chicago, IL", neutral=True,
                              opening_hours=parse_opening_hours("mon-sat 09:00-20:00")),
                  now=now, actor="seed")
        service.set_weekly_availability(s, owner_kind="mediator", owner_id=mediator.id,
                                        windows=wednesday_evening, time_zone="America/Chicago",
                                        now=now, actor="seed")
        case = service.add_case(s, NewCase(
            log_number="2026-004711", incident_date=now.date().replace(day=1),
            allegation_categories=["unprofessionalism"],
            parties=[NewParty(role="complainant", full_name="Lucía Hernández", phone=PHONE,
                              email="lucia@example.org", language="es", channels="sms,email"),
                     NewParty(role="officer", full_name="Officer Smith", email="smith@example.org",
                              officer_star="4711", channels="email")]),
            load_policy(), now=now, actor="intake")
        officer = case.party(PartyRole.OFFICER)[0]
        service.set_weekly_availability(s, owner_kind="party", owner_id=officer.id,
                                        windows=wednesday_evening, time_zone="America/Chicago",
                                        now=now, actor="seed", case_id=case.id)
        return case.id


@pytest.mark.parametrize("db_url", ["sqlite"], indirect=True)
@pytest.mark.filterwarnings("ignore::DeprecationWarning")
def test_staff_approves_party_consents_in_spanish_and_staff_sends_a_reminder(
        session_factory: sessionmaker[Session], clock: FixedClock,
        browser_emulator: EmulatorHTTPServer) -> None:
    from playwright.sync_api import expect, sync_playwright

    port = free_port()
    base = f"http://127.0.0.1:{port}"
    settings = browser_settings(base, browser_emulator.url, "browser-secret-0123456789abcdef0123")
    case_id = _seed(session_factory, clock)
    app = create_app(settings, session_factory, clock, load_policy())
    dispatcher = build_dispatcher(settings, session_factory, clock, worker_id="browser-test")
    inbox = EmulatorClient(browser_emulator.url)

    with serve(app, port=port), sync_playwright() as pw, chromium(pw) as browser:
        try:
            staff = browser.new_page(viewport={"width": 1280, "height": 860})
            staff.goto(f"{base}/login")
            staff.get_by_label("Username").fill("desk")
            staff.get_by_label("Password").fill("correct horse battery")
            staff.get_by_role("button", name="Sign in").click()
            expect(staff.get_by_role("heading", name="Work queue")).to_be_visible()
            decide = staff.get_by_role("link", name=f"Decide case CMP-{case_id}")
            expect(decide).to_be_visible()
            shot(staff, BROWSER_ARTIFACTS, "01-dashboard")

            decide.click()
            staff.get_by_label("Approve for mediation").check()
            staff.get_by_role("button", name="Record decision").click()
            expect(staff.get_by_role("status")).to_have_text("Decision recorded.")
            shot(staff, BROWSER_ARTIFACTS, "02-case-approved")

            dispatcher.run_once()
            emails = [m for m in inbox.messages() if m["channel"] == "email"
                      and m["to"] == "lucia@example.org"]
            links = [re.search(r"https?://\S+/p/consent/[\w.-]+", m["body"]) for m in emails]
            consent_url = next(match.group(0) for match in links if match)
            assert consent_url.startswith(base)

            phone = browser.new_context(viewport={"width": 390, "height": 844},
                                        device_scale_factor=2, is_mobile=True, has_touch=True,
                                        locale="es-MX").new_page()
            phone.goto(consent_url)
            expect(phone.locator("html")).to_have_attribute("lang", "es")
            expect(phone.get_by_role("heading", name="Confidencialidad")).to_be_visible()
            shot(phone, BROWSER_ARTIFACTS, "03-party-consent-es")
            phone.get_by_role("button", name="Sí, acepto la mediación").click()
            expect(phone.get_by_role("status")).to_contain_text("acepta la mediación")

            # the officer agrees by phone; staff record it on the case page
            staff.reload()
            staff.get_by_label("Agreed to mediation").check()
            staff.get_by_role("button", name="Record the officer's answer").click()
            expect(staff.get_by_role("status")).to_have_text("Consent recorded.")

            phone.reload()
            phone.get_by_role("link", name="Siguiente: díganos cuándo está disponible").click()
            expect(phone.get_by_role("heading", name="¿Cuándo está disponible?")).to_be_visible()
            phone.get_by_role("group", name="Miércoles").get_by_label("Noche 5–8").check()
            shot(phone, BROWSER_ARTIFACTS, "04-party-week-picker-es")
            phone.get_by_role("button", name="Guardar mis horarios").click()
            expect(phone.get_by_role("status")).to_contain_text("guardamos sus horarios")

            run = match_and_book(session_factory, rules(app.state.web), now=clock.now())
            assert case_id in run.booked, run.unbooked

            staff.reload()
            expect(staff.get_by_text("Harold Washington Library")).to_be_visible()
            shot(staff, BROWSER_ARTIFACTS, "05-case-booked")
            staff.get_by_role("button", name="Send reminder").click()
            expect(staff.get_by_role("status")).to_contain_text("Reminder queued")
            shot(staff, BROWSER_ARTIFACTS, "06-reminder-queued")

            before = len(inbox.messages())
            while dispatcher.run_once().touched:
                pass
            sms = [m for m in inbox.messages(since=before) if m["channel"] == "sms"
                   and m["to"] == PHONE]
            with transaction(session_factory) as s:
                reminder_sids = set(s.scalars(select(Notification.provider_message_id).where(
                    Notification.kind == "reminder", Notification.channel == "sms",
                    Notification.party_id.in_(select(Party.id).where(Party.case_id == case_id)))))
            assert [m for m in sms if m["sid"] in reminder_sids], sms
            # in Spanish, asking them to confirm (the full form, or the short one that fits)
            assert any("Responda 1" in m["body"] or "Confirme con 1" in m["body"] for m in sms)
            staff.goto(f"{base}/calendar?week=2026-11-30")
            expect(staff.get_by_role("link", name=re.compile(f"CMP-{case_id}"))).to_be_visible()
            shot(staff, BROWSER_ARTIFACTS, "07-calendar")
        finally:
            inbox.close()
