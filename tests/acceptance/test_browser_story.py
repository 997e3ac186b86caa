"""A case from intake to a completed session using only the staff, party and mediator pages in
headless Chromium (Debian's, driven by Playwright): no API call, no CLI, no database write from
the test beyond the one staff account (which `main.py users add` creates in real life).

Staff add a mediator (with weekly hours) and a venue → record a case with its two parties →
approve it → the dispatcher sends the consent request → the complainant consents in Spanish on a
phone → texts a question, which staff answer from the work queue (the answer goes out by SMS) →
the officer's consent is taken by phone → both parties give their times on the week picker →
staff book the matcher's proposal → the booked mediator declines from their page and the other
mediator takes the session at the same time → staff reschedule it a week later → after the session, record a
successful outcome. The work queue is checked at phone size (nothing runs off the screen), and
the party page is photographed in Chinese and Arabic. README screenshots are refreshed.
"""

from __future__ import annotations

import re
from datetime import datetime, timedelta
from typing import Any

import pytest
from sqlalchemy.orm import Session, sessionmaker

from cases.clock import FixedClock
from cases.database import transaction
from cases.models import StaffUser
from cases.policy import load_policy
from emulator import EmulatorClient, EmulatorHTTPServer
from notifiers.wiring import build_dispatcher
from tests.support.browser import (
    BROWSER_ARTIFACTS,
    BROWSER_MARKS,
    accessible,
    browser_settings,
    chromium,
    fits,
    shot,
)
from tests.support.web import free_port, serve
from web.app import create_app
from web.auth import hash_password

ARTIFACTS = BROWSER_ARTIFACTS / "story"
PHONE = "+13127466666"
PASSWORD = "correct horse battery"
QUESTION = "¿De qué se trata? ¿Quién es el mediador?"

pytestmark = BROWSER_MARKS


def _sign_in(page: Any, base: str) -> None:
    from playwright.sync_api import expect

    page.goto(f"{base}/login")
    page.get_by_label("Username").fill("desk")
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Sign in").click()
    expect(page.get_by_role("heading", name=re.compile("Work queue"))).to_be_visible()


def _link(inbox: EmulatorClient, to: str, purpose: str) -> str:
    for message in reversed(inbox.messages()):
        if message["to"] == to:
            found = re.search(rf"https?://\S+/p/{purpose}/[\w.-]+", message["body"])
            if found:
                return found.group(0)
    raise AssertionError(f"no {purpose} link sent to {to}")


@pytest.mark.filterwarnings("ignore::DeprecationWarning")
def test_a_case_from_intake_to_a_completed_session_through_the_pages(
        session_factory: sessionmaker[Session], clock: FixedClock,
        browser_emulator: EmulatorHTTPServer) -> None:
    from playwright.sync_api import expect, sync_playwright

    port = free_port()
    base = f"http://127.0.0.1:{port}"
    settings = browser_settings(base, browser_emulator.url, "story-secret-0123456789abcdef012345")
    now = clock.now()
    with transaction(session_factory) as s:  # the one account `users add` would create
        s.add(StaffUser(username="desk", password_hash=hash_password(PASSWORD), role="staff",
                        active=True, created_at=now))
    app = create_app(settings, session_factory, clock, load_policy())
    dispatcher = build_dispatcher(settings, session_factory, clock, worker_id="story")
    inbox = EmulatorClient(browser_emulator.url)

    def dispatch() -> None:
        while dispatcher.run_once().touched:
            pass

    with serve(app, port=port), sync_playwright() as pw, chromium(pw) as browser:
        try:
            # bypass_csp only so that axe-core can be injected; the pages' own policy stays
            staff = browser.new_context(viewport={"width": 1280, "height": 860},
                                        bypass_csp=True).new_page()
            _sign_in(staff, base)

            # the directory: a qualified mediator with Wednesday evenings, a neutral venue
            staff.get_by_role("link", name="Mediators and venues").click()
            staff.get_by_role("link", name="Add a mediator").click()
            staff.get_by_label(re.compile("^Full name")).fill("Rosa Diaz")
            staff.get_by_label(re.compile("^Email")).fill("rosa@example.org")
            staff.get_by_label("Español").check()
            staff.get_by_label("Mediation skills training, hours").fill("40")
            staff.get_by_label("Community–police training, hours").fill("25")
            staff.get_by_label("Training valid until").fill(
                now.date().replace(year=now.year + 2).isoformat())
            staff.get_by_label(re.compile("Weekly hours they offer")).fill("Wed 17:00-20:00")
            accessible(staff, "mediator form")
            staff.get_by_role("button", name="Add mediator").click()
            expect(staff.get_by_role("status")).to_have_text("Mediator saved.")
            staff.get_by_role("link", name="Add a mediator").click()  # a second, for the decline
            staff.get_by_label(re.compile("^Full name")).fill("Ana Ruiz")
            staff.get_by_label(re.compile("^Email")).fill("ana@example.org")
            staff.get_by_label("Español").check()
            staff.get_by_label("Mediation skills training, hours").fill("45")
            staff.get_by_label("Community–police training, hours").fill("30")
            staff.get_by_label("Training valid until").fill(
                now.date().replace(year=now.year + 2).isoformat())
            staff.get_by_label(re.compile("Weekly hours they offer")).fill("Wed 17:00-20:00")
            staff.get_by_role("button", name="Add mediator").click()
            expect(staff.get_by_role("status")).to_have_text("Mediator saved.")
            staff.get_by_role("link", name="Add a venue").click()
            staff.get_by_label(re.compile("^Name")).fill("Harold Washington Library")
            staff.get_by_label(re.compile("Yes: a library")).check()
            staff.get_by_label(re.compile("^Address")).fill("400 S State St, Chicago, IL")
            staff.get_by_label("Opening hours").fill("mon-sat 09:00-20:00")
            accessible(staff, "venue form")
            staff.get_by_role("button", name="Add venue").click()
            expect(staff.get_by_role("status")).to_have_text("Venue saved.")

            # intake: a bad phone is refused beside its field, the rest kept
            staff.goto(f"{base}/cases/new")
            staff.get_by_label(re.compile("^Log number")).fill("2026-004711")
            staff.get_by_label(re.compile("^Date of the incident")).fill(
                (now.date() - timedelta(days=20)).isoformat())
            staff.get_by_label("unprofessionalism").check()
            complainant = staff.get_by_role("region", name="The complainant")
            complainant.get_by_label(re.compile("^Full name")).fill("Lucía Hernández")
            complainant.get_by_label(re.compile("^Phone")).fill("746")
            complainant.get_by_label(re.compile("^Email")).fill("lucia@example.org")
            complainant.get_by_label("Language for notices and pages").select_option("es")
            officer = staff.get_by_role("region", name="The officer")
            officer.get_by_label(re.compile("^Full name")).fill("Officer Smith")
            officer.get_by_label(re.compile("^Star number")).fill("4711")
            officer.get_by_label(re.compile("^Email")).fill("smith@example.org")
            staff.get_by_role("button", name="Record the case").click()
            expect(staff.locator("#f-parties-0-phone-error")).to_contain_text("not a valid")
            expect(complainant.get_by_label(re.compile("^Full name"))).to_have_value("Lucía Hernández")
            shot(staff, ARTIFACTS, "01-intake-error")
            accessible(staff, "case form with errors")
            complainant.get_by_label(re.compile("^Phone")).fill(PHONE)
            staff.get_by_role("button", name="Record the case").click()
            expect(staff.get_by_role("status")).to_contain_text("Case recorded")
            heading = staff.get_by_role("heading", level=1).inner_text()
            ref = re.search(r"CMP-\d+", heading).group(0)  # type: ignore[union-attr]

            accessible(staff, "case page")
            staff.get_by_label("Approve for mediation").check()
            staff.get_by_role("button", name="Record decision").click()
            expect(staff.get_by_role("status")).to_have_text("Decision recorded.")
            dispatch()

            # the complainant consents on a phone, in Spanish
            phone = browser.new_context(viewport={"width": 390, "height": 844},
                                        device_scale_factor=2, is_mobile=True, has_touch=True,
                                        locale="es-MX", bypass_csp=True).new_page()
            phone.goto(_link(inbox, "lucia@example.org", "consent"))
            expect(phone.locator("html")).to_have_attribute("lang", "es")
            shot(phone, ARTIFACTS, "02-party-consent-es", readme="party-consent.png")
            for lang, name in (("zh", "party-consent-zh.png"), ("ar", "party-consent-ar.png")):
                phone.goto(phone.url.split("?")[0] + f"?lang={lang}")
                expect(phone.locator("html")).to_have_attribute("lang", lang)
                shot(phone, ARTIFACTS, f"02-party-consent-{lang}", readme=name)
                accessible(phone, f"party consent page ({lang})")
            phone.goto(phone.url.split("?")[0])
            phone.get_by_role("button", name="Sí, acepto la mediación").click()
            expect(phone.get_by_role("status")).to_contain_text("acepta la mediación")

            # ... and texts a question, which staff answer from the work queue
            inbox.inbound(PHONE, QUESTION, f"{base}/webhooks/twilio/inbound")
            staff.goto(f"{base}/")
            item = staff.locator(".queue-item", has_text=QUESTION)
            expect(item).to_contain_text(f"case {ref}")
            shot(staff, ARTIFACTS, "03-work-queue", readme="dashboard.png")
            accessible(staff, "work queue")
            desk_phone = browser.new_context(viewport={"width": 390, "height": 844},
                                             device_scale_factor=2, is_mobile=True,
                                             has_touch=True, bypass_csp=True).new_page()
            _sign_in(desk_phone, base)
            fits(desk_phone)
            accessible(desk_phone, "work queue on a phone")
            shot(desk_phone, ARTIFACTS, "03-work-queue-phone", readme="dashboard-phone.png")
            answer = "Es sobre su queja. La mediadora es Rosa; le llamaremos para la fecha."
            item.get_by_label(re.compile("Your answer")).fill(answer)
            item.get_by_role("button", name="Send answer").click()
            expect(staff.get_by_role("status")).to_contain_text("Answer queued")
            expect(staff.locator(".queue-item", has_text=QUESTION)).to_have_count(0)
            before = len(inbox.messages())
            dispatch()
            assert any(m["to"] == PHONE and answer in m["body"]
                       for m in inbox.messages(since=before))

            # the officer agrees by phone
            staff.goto(f"{base}/cases?q={ref}")
            staff.get_by_label("Agreed to mediation").check()
            staff.get_by_label("How was it given?").select_option("phone")
            staff.get_by_role("button", name="Record the officer's answer").click()
            expect(staff.get_by_role("status")).to_have_text("Consent recorded.")
            dispatch()

            # both parties give their times on the week picker
            for to in ("lucia@example.org", "smith@example.org"):
                phone.goto(_link(inbox, to, "availability"))
                phone.locator("input[value='2-evening']").check()
                phone.locator("button.yes").click()
                expect(phone.get_by_role("status")).to_be_visible()

            # staff book the matcher's proposal
            staff.goto(f"{base}/cases?q={ref}")
            staff.get_by_role("link", name="Book a session").click()
            expect(staff.get_by_role("heading", name="What the matcher proposes")).to_be_visible()
            shot(staff, ARTIFACTS, "04-booking-proposal")
            accessible(staff, "booking page")
            staff.get_by_role("button", name=re.compile("^Book this time")).first.click()
            expect(staff.get_by_role("status")).to_contain_text("Session booked")
            booked_with = staff.locator(".session").first.inner_text()
            first, second = ("Rosa Diaz", "Ana Ruiz") if "Rosa Diaz" in booked_with \
                else ("Ana Ruiz", "Rosa Diaz")

            # the booked mediator declines from their own page; the other takes it at once
            staff.goto(f"{base}/directory")
            staff.get_by_role("link", name=first).click()
            staff.get_by_text(re.compile("^Their page link")).click()
            mediator_link = staff.get_by_label(re.compile("^Page link for")).input_value()
            own = browser.new_context(viewport={"width": 390, "height": 844},
                                      bypass_csp=True).new_page()
            own.goto(mediator_link)
            expect(own.get_by_text(f"Case {ref}")).to_be_visible()
            accessible(own, "mediator page")
            own.get_by_role("button", name="Decline").click()
            expect(own.get_by_role("status")).to_contain_text("You declined that session")
            staff.goto(f"{base}/")
            declined = staff.locator(".queue-item", has_text="A mediator declined")
            expect(declined).to_contain_text("took it at the same time")
            staff.goto(f"{base}/cases?q={ref}")
            expect(staff.locator(".session").first).to_contain_text(second)
            dispatch()
            assert any(m["to"] == f"{second.split()[0].lower()}@example.org"
                       for m in inbox.messages())

            # reschedule a week later
            staff.get_by_role("link", name="Reschedule").click()
            field = staff.get_by_label(re.compile("New start"))
            moved = datetime.fromisoformat(field.input_value()) + timedelta(days=7)
            field.fill(moved.strftime("%Y-%m-%dT%H:%M"))
            staff.get_by_label(re.compile("^Why it moves")).fill("The officer is on shift that evening.")
            staff.get_by_role("button", name="Move the session").click()
            expect(staff.get_by_role("status")).to_contain_text("Session moved")
            expect(staff.locator(".session").first).to_contain_text(moved.strftime("%b %d"))
            dispatch()

            # after the session: a successful outcome closes the case
            clock.advance(timedelta(days=16))
            _sign_in(staff, base)
            staff.goto(f"{base}/cases?q={ref}")
            staff.get_by_label(re.compile("Successful: ")).check()
            staff.get_by_role("button", name="Record outcome").click()
            expect(staff.get_by_role("status")).to_have_text("Outcome recorded.")
            expect(staff.get_by_role("heading", level=1)).to_contain_text("completed")
            shot(staff, ARTIFACTS, "05-case-completed")
            accessible(staff, "completed case")
        finally:
            inbox.close()
