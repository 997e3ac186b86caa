"""Party pages (signed links, every language, right-to-left Arabic), mediator pages, feeds, the
staff dashboard pages, and a proof that every party-page string exists in every language."""

from __future__ import annotations

import re
from datetime import timedelta

from cases.clock import FixedClock
from cases.links import sign_link
from notifiers.compose.terms import AGENCY
from tests.support import ROOT
from tests.support.api import Api, link, mediator, scheduling_case, start_in, venue
from tests.support.web import SECRET
from web.pages.i18n import LANGUAGES, STRINGS
from web.pages.party import windows_from_boxes

TEMPLATES = ROOT / "web" / "templates"


def test_every_party_string_exists_in_every_language() -> None:
    english = set(STRINGS["en"])
    for language in LANGUAGES:
        assert set(STRINGS[language]) == english, language
        assert all(text.strip() for text in STRINGS[language].values()), language
        for key, text in STRINGS[language].items():
            assert set(re.findall(r"{(\w+)}", text)) == set(re.findall(r"{(\w+)}",
                                                                        STRINGS["en"][key])), key
    used = set()
    for template in (TEMPLATES / "party").glob("*.html"):
        used |= set(re.findall(r"""t\(\s*["']([a-z_0-9]+)["']\s*[,)]""", template.read_text()))
    used |= {f"day_{i}" for i in range(7)} | {"morning", "afternoon", "evening"}
    used |= {f"status_{s}" for s in ("granted", "declined", "expired", "pending")}
    assert used <= english, used - english


def test_week_picker_merges_adjacent_periods() -> None:
    windows = windows_from_boxes(["0-morning", "0-afternoon", "0-evening", "2-evening", "9-x",
                                  "junk"])
    assert [(w.weekday, w.start.isoformat("minutes"), w.end.isoformat("minutes"))
            for w in windows] == [(0, "09:00", "20:00"), (2, "17:00", "20:00")]


def test_consent_page_in_spanish_then_availability(api: Api) -> None:
    case = api.new_case()
    api.post(f"/api/cases/{case['id']}/decision", json={"eligible": True})
    path = link(api, case, 0, "consent")
    page = api.client.get(path)
    assert page.status_code == 200
    assert '<html lang="es" dir="ltr">' in page.text
    assert "Confidencialidad" in page.text and "Sí, acepto la mediación" in page.text
    assert "Maria" not in page.text  # the link alone never shows a name
    # the deadline as the notices write it: a day, lasting to its end in the party's zone
    assert re.search(r"Por favor responda a más tardar el \d+ de \w+ \(hora de Chicago\)\.",
                     page.text)
    assert AGENCY["es"] in page.text
    done = api.client.post(path, data={"answer": "yes"}, follow_redirects=True)
    assert "Hemos registrado que acepta" in done.text
    again = api.client.post(path, data={"answer": "no"}, follow_redirects=True)
    assert "Ya tenemos su respuesta: aceptó" in again.text
    consents = api.get(f"/api/cases/{case['id']}/consents").json()
    assert consents[0]["status"] == "granted" and consents[0]["channel"] == "link"
    # the officer agrees by phone; the complainant's page now leads on to availability
    api.post(f"/api/cases/{case['id']}/parties/{case['parties'][1]['id']}/consent",
             json={"granted": True})
    page = api.client.get(path)
    next_link = re.search(r'href="(/p/availability/[^"]+)"', page.text)
    assert next_link is not None
    week = api.client.get(next_link.group(1))
    assert week.status_code == 200 and "Miércoles" in week.text
    assert "se indican en hora de Chicago" in week.text and "America/Chicago" not in week.text
    saved = api.client.post(next_link.group(1), data={"slot": ["2-evening", "5-morning"]},
                            follow_redirects=True)
    assert "guardamos sus horarios" in saved.text
    assert 'value="2-evening" checked' in saved.text
    windows = api.get(f"/api/parties/{case['parties'][0]['id']}/availability").json()
    assert [(w["weekday"], w["start"]) for w in windows] == [(2, "17:00"), (5, "09:00")]
    empty = api.client.post(next_link.group(1), data={}, follow_redirects=True)
    assert "Por favor marque al menos un horario." in empty.text


def test_decline_on_the_page_returns_the_case(api: Api) -> None:
    case = api.new_case()
    api.post(f"/api/cases/{case['id']}/decision", json={"eligible": True})
    path = link(api, case, 1, "consent")
    page = api.client.get(path + "?lang=pl")
    assert '<html lang="pl"' in page.text and "Poufność" in page.text
    api.client.post(path + "?lang=pl", data={"answer": "no"})
    assert api.get(f"/api/cases/{case['id']}").json()["state"] == "returned"


def test_arabic_is_right_to_left(api: Api) -> None:
    case = api.new_case()
    api.post(f"/api/cases/{case['id']}/decision", json={"eligible": True})
    page = api.client.get(link(api, case, 0, "consent") + "?lang=ar")
    assert '<html lang="ar" dir="rtl">' in page.text and "السرية" in page.text
    # the help line's phone number keeps its order inside right-to-left text
    assert '<bdi dir="ltr">+13127463594</bdi>' in page.text
    assert AGENCY["ar"] in page.text
    chinese = api.client.get(link(api, case, 0, "consent") + "?lang=zh")
    assert '<html lang="zh" dir="ltr">' in chinese.text and "保密" in chinese.text


def test_a_link_with_the_marks_a_phone_kept_still_opens(api: Api) -> None:
    """An Arabic notice isolates its links with invisible direction marks; a phone's linkifier
    may keep the closing one (U+2069) in the address it opens, and a hand-copied link may bring
    the sentence's full stop. The party still reaches their page, and can answer on it."""
    case = api.new_case()
    api.post(f"/api/cases/{case['id']}/decision", json={"eligible": True})
    path = link(api, case, 0, "consent")
    for carried in ("%E2%81%A9", "%E2%80%8E", "."):
        page = api.client.get(path + carried + "?lang=ar")
        assert page.status_code == 200 and "السرية" in page.text, carried
    done = api.client.post(path + "%E2%81%A9", data={"answer": "yes"}, follow_redirects=True)
    assert done.status_code == 200
    assert api.get(f"/api/cases/{case['id']}/consents").json()[0]["status"] == "granted"
    assert api.client.get(path[:-1] + "%E2%81%A9").status_code == 404  # a cut link is still bad


def test_bad_links_are_friendly_and_reveal_nothing(api: Api, clock: FixedClock) -> None:
    case = api.new_case()
    api.post(f"/api/cases/{case['id']}/decision", json={"eligible": True})
    forged = api.client.get("/p/consent/abc.def")
    assert forged.status_code == 404 and "+13127463594" in forged.text
    wrong_purpose = link(api, case, 0, "booking").replace("/p/booking/", "/p/consent/")
    assert api.client.get(wrong_purpose).status_code == 404
    nobody = sign_link(SECRET, party_id=99999, purpose="consent",
                       expires_at=clock.now() + timedelta(days=1))
    missing = api.client.get(f"/p/consent/{nobody}")
    assert missing.status_code == 404
    assert missing.text.replace(nobody, "abc.def") == forged.text
    expired = sign_link(SECRET, party_id=case["parties"][0]["id"], purpose="consent",
                        expires_at=clock.now() - timedelta(seconds=1))
    old = api.client.get(f"/p/consent/{expired}", headers={"Accept-Language": "es-MX,es;q=0.9"})
    assert old.status_code == 410 and "Este enlace venció" in old.text
    assert api.client.post(f"/p/consent/{expired}", data={"answer": "yes"}).status_code == 410
    assert api.client.get("/p/availability/x").status_code == 404


def test_booking_page_invite_and_change_request(api: Api, clock: FixedClock) -> None:
    case = scheduling_case(api)
    path = link(api, case, 0, "booking")
    assert "Todavía no hay una sesión" in api.client.get(path).text
    m, v = mediator(api), venue(api)
    api.post("/api/sessions", json={"case_id": case["id"], "mediator_id": m["id"],
                                    "venue_id": v["id"], "starts_at": start_in(clock)})
    page = api.client.get(path)
    assert "Harold Washington Library" in page.text
    assert re.search(r"miércoles 2 de diciembre, 17:00 CST – \d\d:\d\d", page.text)  # as the notices say it
    invite = api.client.get(path + "/invite.ics")
    assert invite.status_code == 200 and invite.headers["content-type"].startswith("text/calendar")
    assert "LOCATION:Harold Washington Library\\, 400 S State St\\, Chicago" in invite.text
    assert "BEGIN:VEVENT" in invite.text and "Sesión de mediación" in invite.text
    assert "Maria" not in invite.text
    changed = api.client.post(path, follow_redirects=True)
    assert "se comunicará con usted" in changed.text
    alerts = api.get("/api/notifications", params={"kind": "staff_alert",
                                                   "case_id": case["id"]}).json()
    assert alerts


def test_mediator_page_accept_decline_and_feed(api: Api, clock: FixedClock) -> None:
    case = scheduling_case(api)
    m, v = mediator(api), venue(api)
    session = api.post("/api/sessions", json={"case_id": case["id"], "mediator_id": m["id"],
                                              "venue_id": v["id"],
                                              "starts_at": start_in(clock)}).json()
    links = api.post(f"/api/mediators/{m['id']}/links").json()
    page_path = links["page_url"].removeprefix("http://testserver")
    page = api.client.get(page_path)
    assert page.status_code == 200 and "Harold Washington Library" in page.text
    assert "Maria" not in page.text
    declined = api.client.post(f"{page_path}/sessions/{session['id']}",
                               data={"answer": "decline"})
    assert "You declined that session" in declined.text  # and it is no longer theirs
    alerts = api.get("/api/notifications", params={"kind": "staff_alert"}).json()
    assert any(a["session_id"] == session["id"] for a in alerts)
    assert api.client.get("/m/forged.token").status_code == 404
    feed = api.client.get(links["feed_url"].removeprefix("http://testserver"))
    assert feed.status_code == 200 and "BEGIN:VCALENDAR" in feed.text
    assert "Maria" not in feed.text and "example.org" not in feed.text
    assert api.client.get("/calendars/mediators/nope.ics").status_code == 404


def test_staff_pages_render(api: Api, clock: FixedClock) -> None:
    """The dashboard pages, signed in with a session cookie (through the real login form)."""
    from cases.database import transaction
    from web.auth import hash_password

    client = api.client
    with transaction(client.app.state.web.session_factory) as s:  # type: ignore[attr-defined]
        from cases.models import StaffUser

        s.add(StaffUser(username="desk", password_hash=hash_password("correct horse battery"),
                        role="staff", active=True, created_at=clock.now()))
    case = scheduling_case(api)
    screening = api.new_case()
    m, v = mediator(api), venue(api)
    page = client.get("/login")
    csrf = re.search(r'name="csrf_token" value="([^"]+)"', page.text)
    assert csrf is not None
    client.post("/login", data={"username": "desk", "password": "correct horse battery",
                                "csrf_token": csrf.group(1)})
    home = client.get("/")
    assert home.status_code == 200 and screening["log_number"] in home.text
    token = re.search(r'name="csrf_token" value="([^"]+)"', home.text)
    assert token is not None
    case_page = client.get(f"/cases/{case['id']}")
    assert "Book a session" in case_page.text
    booked = client.post(f"/cases/{case['id']}/book",
                         data={"csrf_token": token.group(1), "mediator_id": m["id"],
                               "venue_id": v["id"], "starts_local": "2026-12-02T17:00"},
                         follow_redirects=True)
    assert "Session booked" in booked.text and "Send reminder" in booked.text
    session_id = api.get("/api/sessions", params={"case_id": case["id"]}).json()[0]["id"]
    reminded = client.post(f"/sessions/{session_id}/remind",
                           data={"csrf_token": token.group(1)}, follow_redirects=True)
    assert "Reminder queued" in reminded.text
    forged = client.post(f"/sessions/{session_id}/remind", data={"csrf_token": "x"})
    assert forged.status_code == 403
    decided = client.post(f"/cases/{screening['id']}/decide",
                          data={"csrf_token": token.group(1), "eligible": "yes"},
                          follow_redirects=True)
    assert "Decision recorded" in decided.text
    cal = client.get("/calendar?week=2026-11-30")
    assert cal.status_code == 200 and m["full_name"] in cal.text and f"CMP-{case['id']}" in cal.text
    assert v["name"] in client.get("/calendar?week=2026-11-30&by=venue").text
    assert client.get("/calendar?week=notadate").status_code == 422
    assert "Referrals" in client.get("/reports").text
    assert client.get("/cases?state=booked").status_code == 200
    assert client.get("/cases/9999").status_code == 404


def test_the_page_asks_until_the_end_of_the_deadline_day(api: Api, clock: FixedClock) -> None:
    case = api.new_case()
    api.post(f"/api/cases/{case['id']}/decision", json={"eligible": True})
    path = link(api, case, 0, "consent")
    clock.advance(timedelta(days=14, hours=14, minutes=59))  # 23:59 on Dec 9 in Chicago
    assert 'name="answer"' in api.client.get(path).text
    clock.advance(timedelta(minutes=2))  # 00:01 on Dec 10: too late, the job has not run yet
    assert api.client.post(path, data={"answer": "yes"}).status_code == 410
    consents = api.get(f"/api/cases/{case['id']}/consents").json()
    assert consents[0]["status"] == "pending"
