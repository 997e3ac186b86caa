"""No phone number, email address, name or link token in any log line, from our code or a
library's, at any level.

The whole story runs through the real service: ``python main.py -v serve`` (HTTP, scheduler and
dispatcher, every logger at DEBUG through the service's own logging set-up, uvicorn's access log
included) in a subprocess, with the real Twilio and SendGrid SDKs talking to the bundled emulator.
Staff record a case and approve it over the API; the consent requests go out; the complainant
opens her emailed link (the access log sees the token) and answers by SMS (the Twilio webhook);
the officer answers on his link; the complainant gives availability on her page; staff book a
session and send a reminder; she opens her booking page and invite. Then every line the process
wrote is searched for the seeded values, in every spelling they could take.
"""

from __future__ import annotations

import io
import logging
import os
import re
import signal
import socket
import subprocess
import sys
import threading
from collections.abc import Callable, Iterator
from datetime import UTC, date, datetime, time, timedelta
from pathlib import Path
from typing import Any
from urllib.parse import quote, urlsplit
from zoneinfo import ZoneInfo

import httpx
import pytest
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session, sessionmaker

from calendars.base import CalendarSourceError
from calendars.ics_feed import IcsFeedSource
from cases.calendar_urls import AllowedHosts
from cases.database import transaction
from cases.links import sign_link
from cases.models import ApiToken, Case, Party, StaffUser
from emulator import EmulatorClient, EmulatorConfig, EmulatorHTTPServer, start_emulator
from logging_setup import configure_logging, redact
from notifiers.channels.base import Channel, OutgoingMessage
from notifiers.channels.sendgrid_email import SendGridEmailNotifier
from notifiers.channels.twilio_sms import TwilioSmsNotifier
from tests.support import ROOT
from web.auth import hash_api_token

SID, AUTH_TOKEN, SG_KEY = "AC" + "7" * 32, "log-privacy-auth-token", "SG.log-privacy"
CHICAGO = ZoneInfo("America/Chicago")

NAME, PHONE, EMAIL = "Zofia Wiśniewska", "+13125550123", "zofia@example.org"
OFFICER, OFFICER_EMAIL = "Tomasz Kowalczyk", "t.kowalczyk@example.org"
MEDIATOR, MEDIATOR_EMAIL, MEDIATOR_PHONE = "Halina Nowakowska", "halina.n@example.org", "+13125550188"
STAFF_TOKEN = "cmp_logprivacy_" + "k" * 32

pytestmark = pytest.mark.slow


def forbidden_spellings() -> list[str]:
    """Each seeded value as it could appear in a line: plain, in other formats, URL- or
    JSON-escaped. Names are searched by each part (a surname alone is still her name)."""
    values = {PHONE, MEDIATOR_PHONE, EMAIL, OFFICER_EMAIL, MEDIATOR_EMAIL, STAFF_TOKEN}
    for phone in (PHONE, MEDIATOR_PHONE):
        national = phone[2:]
        values |= {national, f"({national[:3]}) {national[3:6]}-{national[6:]}",
                   f"{national[:3]}-{national[3:6]}-{national[6:]}", f"{national[3:6]}-{national[6:]}"}
    for email in (EMAIL, OFFICER_EMAIL, MEDIATOR_EMAIL):
        values |= {email.split("@")[0], quote(email, safe="")}
    for name in (NAME, OFFICER, MEDIATOR):
        for part in name.split():
            values |= {part, quote(part), part.encode("ascii", "backslashreplace").decode()}
    return sorted(values)


# --- the service under test ------------------------------------------------------------------------

def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def _service_env(db_url: str, emulator_url: str, port: int, outbox: Path) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("CMP_")}
    env.update({
        "CMP_DATABASE_URL": db_url,
        "CMP_MIGRATE_ON_START": "false",
        "CMP_SECRET_KEY": "log-privacy-secret-0123456789abcdef0123",
        "CMP_HOST": "127.0.0.1",
        "CMP_PORT": str(port),
        "CMP_PUBLIC_BASE_URL": f"http://127.0.0.1:{port}",
        "CMP_OUTBOX_DIR": str(outbox),
        "CMP_TWILIO_ACCOUNT_SID": SID,
        "CMP_TWILIO_AUTH_TOKEN": AUTH_TOKEN,
        "CMP_TWILIO_FROM_NUMBER": "+13125550100",
        "CMP_TWILIO_BASE_URL": emulator_url,
        "CMP_SENDGRID_API_KEY": SG_KEY,
        "CMP_SENDGRID_FROM_EMAIL": "mediation@example.org",
        "CMP_SENDGRID_BASE_URL": emulator_url,
        # The story runs on the real clock: no night hold, a fast outbox poll.
        "CMP_QUIET_HOURS_START": "0",
        "CMP_QUIET_HOURS_END": "0",
        "CMP_DISPATCH_INTERVAL_SECONDS": "0.2",
        "CMP_WORKER_ID": "log-privacy",
    })
    return env


def _seed_staff(factory: sessionmaker[Session]) -> None:
    now = datetime.now(UTC)
    with transaction(factory) as s:
        user = StaffUser(username="desk", password_hash="not-a-hash", role="staff", active=True,
                         created_at=now)
        s.add(user)
        s.flush()
        s.add(ApiToken(user_id=user.id, name="log-privacy", token_hash=hash_api_token(STAFF_TOKEN),
                       created_at=now))


@pytest.fixture
def emulator() -> Iterator[EmulatorHTTPServer]:
    server = start_emulator(EmulatorConfig(twilio_account_sid=SID, twilio_auth_token=AUTH_TOKEN,
                                           sendgrid_api_key=SG_KEY))
    yield server
    server.stop()


class Service:
    """``main.py -v serve`` in a subprocess; everything it writes lands in ``log``."""

    def __init__(self, env: dict[str, str], log: Path) -> None:
        self.url = env["CMP_PUBLIC_BASE_URL"]
        self.log = log
        self._out = log.open("wb")
        self.proc = subprocess.Popen([sys.executable, "main.py", "-v", "serve"], cwd=ROOT, env=env,
                                     stdout=self._out, stderr=subprocess.STDOUT)

    def wait_until(self, what: str, ready: Callable[[], Any], limit: float = 60.0) -> Any:
        """Poll an observable condition; fail (with the log) if the service died or never got
        there."""
        pause = threading.Event()
        waited = 0.0
        while waited < limit:
            if self.proc.poll() is not None:
                raise AssertionError(f"the service exited while waiting for {what}:\n"
                                     + self.log.read_text(errors="replace")[-4000:])
            result = ready()
            if result:
                return result
            pause.wait(0.05)
            waited += 0.05
        raise AssertionError(f"gave up waiting for {what}")

    def stop(self) -> str:
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGINT)
            try:
                self.proc.wait(timeout=30)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        self._out.close()
        return self.log.read_text(encoding="utf-8", errors="replace")


def _up(http: httpx.Client) -> bool:
    try:
        return http.get("/healthz").status_code == 200
    except httpx.TransportError:
        return False


def _next_wednesday_evening(now: datetime) -> datetime:
    """A Wednesday 17:30 in Chicago at least five days ahead (past the 72-hour notice)."""
    day = (now + timedelta(days=5)).astimezone(CHICAGO).date()
    day += timedelta(days=(2 - day.weekday()) % 7)
    return datetime.combine(day, time(17, 30), tzinfo=CHICAGO).astimezone(UTC)


def _link(messages: list[dict[str, Any]], to: str, purpose: str) -> str | None:
    for message in messages:
        if message["to"] == to:
            found = re.search(rf"https?://\S+/p/{purpose}/[\w.-]+", message["body"])
            if found:
                return found.group(0)
    return None


def _ok(response: httpx.Response, status: int = 200) -> Any:
    assert response.status_code == status, response.text
    return response.json() if response.headers.get("content-type", "").startswith(
        "application/json") else response.text


def run_story(service: Service, inbox: EmulatorClient) -> list[str]:
    """The whole story; returns the party-link tokens it saw (they must not be logged either)."""
    staff = httpx.Client(base_url=service.url, headers={"Authorization": f"Bearer {STAFF_TOKEN}"},
                         timeout=30)
    party = httpx.Client(timeout=30, follow_redirects=True)
    with staff, party:
        service.wait_until("the HTTP server", lambda: _up(staff))
        today = datetime.now(UTC)
        mediator = _ok(staff.post("/api/mediators", json={
            "full_name": MEDIATOR, "email": MEDIATOR_EMAIL, "phone": MEDIATOR_PHONE,
            "languages": ["en", "pl"], "general_training_hours": 40,
            "specialized_training_hours": 25,
            "training_expires_on": date(today.year + 2, 1, 1).isoformat()}), 201)
        evening = [{"weekday": 2, "start": "17:00", "end": "20:00"}]
        _ok(staff.put(f"/api/mediators/{mediator['id']}/availability",
                      json={"time_zone": "America/Chicago", "windows": evening}))
        venue = _ok(staff.post("/api/venues", json={
            "name": "Harold Washington Library", "address": "400 S State St, Chicago, IL",
            "opening_hours": "mon-sat 09:00-20:00", "neutral": True}), 201)
        case = _ok(staff.post("/api/cases", json={
            "log_number": "2026-777001", "incident_date": (today - timedelta(days=20)).date()
            .isoformat(), "allegation_categories": ["unprofessionalism"],
            "parties": [
                {"role": "complainant", "full_name": NAME, "phone": "(312) 555-0123",
                 "email": EMAIL, "language": "pl", "channels": ["sms", "email"]},
                {"role": "officer", "full_name": OFFICER, "email": OFFICER_EMAIL,
                 "officer_star": "8841", "channels": ["email"]},
            ]}), 201)
        complainant = next(p for p in case["parties"] if p["role"] == "complainant")
        _ok(staff.post(f"/api/cases/{case['id']}/decision", json={"eligible": True}))

        # the consent requests go out through the SDKs; she opens her link and answers by SMS
        consent_url = service.wait_until("her consent request", lambda: _link(
            inbox.messages(), EMAIL, "consent"))
        service.wait_until("her consent SMS", lambda: [
            m for m in inbox.messages() if m["to"] == PHONE and m["channel"] == "sms"])
        assert party.get(consent_url).status_code == 200
        inbox.inbound(PHONE, "Tak", f"{service.url}/webhooks/twilio/inbound")
        officer_url = service.wait_until("his consent request", lambda: _link(
            inbox.messages(), OFFICER_EMAIL, "consent"))
        assert party.post(officer_url, data={"answer": "yes"}).status_code == 200
        service.wait_until("both consents", lambda: all(
            c["status"] == "granted"
            for c in _ok(staff.get(f"/api/cases/{case['id']}/consents"))))

        # she gives her availability on her page; staff book; she opens the booking page
        availability_url = _ok(staff.post(
            f"/api/cases/{case['id']}/parties/{complainant['id']}/link",
            json={"purpose": "availability"}))["url"]
        assert party.get(availability_url).status_code == 200
        assert party.post(availability_url, data={"slot": ["2-evening"]}).status_code == 200
        booked = _ok(staff.post("/api/sessions", json={
            "case_id": case["id"], "mediator_id": mediator["id"], "venue_id": venue["id"],
            "starts_at": _next_wednesday_evening(today).isoformat(),
            "override_reason": "the officer agreed the time by phone"}), 201)
        service.wait_until("her booking confirmation", lambda: [
            m for m in inbox.messages() if m["to"] == EMAIL and m.get("attachments")])
        booking_url = _ok(staff.post(
            f"/api/cases/{case['id']}/parties/{complainant['id']}/link",
            json={"purpose": "booking"}))["url"]
        assert party.get(booking_url).status_code == 200
        assert party.get(booking_url + "/invite.ics").status_code == 200

        # a reminder now, to every party and the mediator
        before = len(inbox.messages())
        queued = _ok(staff.post(f"/api/sessions/{booked['id']}/remind"))["queued"]
        assert queued >= 2
        service.wait_until("the reminders", lambda: len(inbox.messages(since=before)) >= queued)
    return [urlsplit(url).path.rsplit("/", 1)[-1]
            for url in (consent_url, officer_url, availability_url, booking_url)]


@pytest.mark.filterwarnings("ignore::DeprecationWarning")
def test_a_whole_story_leaves_no_personal_data_or_link_token_in_the_logs(
        db_url: str, session_factory: sessionmaker[Session], emulator: EmulatorHTTPServer,
        tmp_path: Path) -> None:
    _seed_staff(session_factory)
    port = _free_port()
    service = Service(_service_env(db_url, emulator.url, port, tmp_path / "outbox"),
                      tmp_path / "service.log")
    inbox = EmulatorClient(emulator.url)
    try:
        tokens = run_story(service, inbox)
    finally:
        inbox.close()
        text = service.stop()

    # the capture is real: DEBUG lines from our code and libraries, and the access log
    assert " DEBUG " in text, text[-3000:]
    assert re.search(r'"GET /p/consent/\S+ HTTP/1\.1" 200', text), text[-3000:]
    assert "POST /webhooks/twilio/inbound" in text
    leaks = {value: _context(text, value) for value in forbidden_spellings() if value in text}
    for token in tokens:
        for part in (token, *token.split(".")):
            if part in text:
                leaks[f"link token {part[:6]}…"] = _context(text, part)
    assert not leaks, "\n".join(f"{value!r} logged: {where}" for value, where in leaks.items())


def _context(text: str, value: str) -> str:
    at = text.index(value)
    start = text.rfind("\n", 0, at) + 1
    end = text.find("\n", at)
    line = text[start:end if end != -1 else None]
    return line[:300]


# --- the mechanism, in this process: every logger at DEBUG, the SDKs against the emulator ----------

EVERY_LOGGER = ("", "twilio", "twilio.http_client", "python_http_client", "sendgrid", "urllib3",
                "requests", "httpx", "httpcore", "caldav", "niquests", "sqlalchemy",
                "sqlalchemy.engine", "uvicorn", "uvicorn.access", "notifiers", "cases")


@pytest.fixture
def captured() -> Iterator[io.StringIO]:
    """The service's own logging set-up writing to a buffer, then every logger forced to DEBUG
    (past the set-up's own quieting of the SDKs)."""
    stream = io.StringIO()
    levels = {name: logging.getLogger(name).level for name in EVERY_LOGGER}
    handler = configure_logging(verbose=True, stream=stream)
    for name in EVERY_LOGGER:
        logging.getLogger(name).setLevel(logging.DEBUG)
    yield stream
    logging.getLogger().removeHandler(handler)
    for name, level in levels.items():
        logging.getLogger(name).setLevel(level)


def test_the_sdks_at_debug_leave_no_recipient_name_or_link_in_the_log(
        captured: io.StringIO, emulator: EmulatorHTTPServer) -> None:
    link = sign_link("s" * 32, party_id=7, purpose="consent",
                     expires_at=datetime(2027, 1, 1, tzinfo=UTC))
    text = f"Dzień dobry {NAME}: http://127.0.0.1:8000/p/consent/{link}"
    sms = TwilioSmsNotifier(account_sid=SID, auth_token=AUTH_TOKEN, from_number="+13125550100",
                            status_callback_url="http://127.0.0.1:8000/webhooks/twilio/status",
                            base_url=emulator.url)
    message = OutgoingMessage(notice_id=1, channel=Channel.SMS, to=PHONE, body_text=text)
    sms.send(message)
    assert sms.recent_matching(message)  # Twilio's message list, asked by the recipient's number
    email = SendGridEmailNotifier(api_key=SG_KEY, from_email="mediation@example.org",
                                  base_url=emulator.url)
    email.send(OutgoingMessage(notice_id=2, channel=Channel.EMAIL, to=EMAIL, subject=NAME,
                               body_text=text, body_html=f"<p>{text}</p>"))
    feed = f"{emulator.url}/feeds/private-0a1b2c3d4e5f/basic.ics"  # a secret address
    with pytest.raises(CalendarSourceError):
        IcsFeedSource(feed, allowed=AllowedHosts.parse(["127.0.0.1"])).fetch()
    try:
        raise ValueError(f"could not reach {EMAIL} or (312) 555-0123; Authorization: Basic "
                         f"aGFsaW5hOnNlY3JldA== at https://halina:secret@dav.example.org/{link}")
    except ValueError:
        logging.getLogger("cases.example").exception("lookup for %s failed", PHONE)

    log = captured.getvalue()
    assert "urllib3.connectionpool" in log and "cases.example" in log  # DEBUG lines were captured
    assert "To=[phone]" in log  # the message list's query, as urllib3 logs it
    leaks = [value for value in [*forbidden_spellings(), link, "aGFsaW5hOnNlY3JldA==", "secret@",
                                 "private-0a1b2c3d4e5f"]
             if value in log]
    assert not leaks, log


REDACTED = [
    ("E.164", "to +13125550123.", "to [phone]."),
    ("URL-encoded", "?To=%2B13125550123&From=x", "?To=[phone]&From=x"),
    ("spaced international", "call +48 22 123 45 67 now", "call [phone] now"),
    ("US dashes", "tel 312-555-0123", "tel [phone]"),
    ("US brackets", "tel (312) 555-0123", "tel [phone]"),
    ("US dots with 1", "tel 1.312.555.0123", "tel [phone]"),
    ("US digits", "phone=3125550123", "phone=[phone]"),
    ("email", "'to': 'zofia.w+cmp@example.org'", "'to': '[email]'"),
    ("URL-encoded email", "?email=zofia%40example.org", "?email=[email]"),
    ("party link path", '"GET /p/consent/abc.DEF_1-2?lang=pl HTTP/1.1"',
     '"GET /p/consent/[token]?lang=pl HTTP/1.1"'),
    ("invite path", "/p/booking/abc.def/invite.ics", "/p/booking/[token]/invite.ics"),
    ("mediator page", "GET /m/eyJwIjo3fQ.abcdefgh/sessions/4", "GET /m/[token]/sessions/4"),
    ("mediator feed", "/calendars/mediators/Zx81-_q.ics", "/calendars/mediators/[token]"),
    ("signed token anywhere", "token eyJwIjoxLCJ1Ijoi.iRRIu2Cfpa2o94eX", "token [token]"),
    ("API token", "Bearer-less cmp_AbCdEfGhIjKlMnOpQrStUv", "Bearer-less [token]"),
    ("Authorization header", "{'Authorization': 'Bearer SG.abc.def', 'Accept': '*/*'}",
     "{'Authorization': '[credentials]', 'Accept': '*/*'}"),
    ("basic credentials", "auth Basic aGFsaW5hOnNlY3JldA==", "auth Basic [credentials]"),
    ("password in URL", "postgresql://cmp:hunter2@db/cmp", "postgresql://[credentials]@db/cmp"),
    ("secret query", "/hook?signature=abc&notice=4", "/hook?signature=[redacted]&notice=4"),
]
KEPT = [
    "2026-12-01 12:36:30,490 INFO uvicorn.access: 127.0.0.1:41990 - \"GET /api/cases/1 HTTP/1.1\" 200",
    "at 2026-12-09T23:30:00+00:00 for 90 min",
    "notice 1234 sent as SM0123456789abcdef0123456789abcdef to +1******0123 (m***@e***.org)",
    "case 2026-777001 booked; session 12 at venue 3",
    "uuid 123e4567-e89b-12d3-a456-426614174000",
]


@pytest.mark.parametrize(("text", "expected"), [(t, e) for _, t, e in REDACTED],
                         ids=[name for name, _, _ in REDACTED])
def test_redact_replaces_contacts_tokens_and_credentials(text: str, expected: str) -> None:
    assert redact(text) == expected


@pytest.mark.parametrize("text", KEPT)
def test_redact_keeps_times_ids_and_masked_contacts(text: str) -> None:
    assert redact(text) == text



def test_a_logged_database_error_quotes_no_row_values(
        session_factory: sessionmaker[Session], captured: io.StringIO) -> None:
    """SQLAlchemy puts the statement's parameters in its errors, PostgreSQL the failing row."""
    now = datetime.now(UTC)
    with session_factory() as s:
        case = Case(log_number="2026-777002", incident_date=now.date(), created_at=now,
                    updated_at=now)
        s.add(case)
        s.flush()
        s.add(Party(case_id=case.id, role="complainant", full_name=NAME, phone=PHONE, email=EMAIL,
                    language="pl", channels=["sms"], created_at=None))
        with pytest.raises(IntegrityError) as failure:
            s.flush()
        logging.getLogger("scheduler.service").error("job failed", exc_info=failure.value)
    log = captured.getvalue()
    assert "IntegrityError" in log
    assert not [value for value in forbidden_spellings() if value in log], log


def test_the_demo_prints_a_timeline_of_ids_not_people(tmp_path: Path) -> None:
    """The demo's printed story is output, not a log, and still names nobody."""
    from demo import run_demo

    lines: list[str] = []
    run_demo(lines.append, tmp_path)
    printed = "\n".join(lines)
    assert "case 2026-0103" in printed
    people = ["Hayes", "Wójcik", "López", "Alvarez", "Nowak", "7460", "@"]
    assert not [value for value in people if value in printed], printed
