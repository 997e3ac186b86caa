"""Every notice kind in every language, for every role and every set of channels a recipient can
have, with long, realistic inputs: the SMS stays within its segment budget, officers are never
told "your complaint", email-only readers are never asked to reply by text, the register is one
(formal) throughout, a greeting has a name only when staff gave one, and phone numbers keep their
order inside Arabic."""

from __future__ import annotations

import itertools
import re
from datetime import UTC, datetime
from typing import Any

import pytest
from jinja2 import UndefinedError

from cases.outbox import Channel, NoticeKind
from notifiers.channels.twilio_sms import TwilioSmsNotifier
from notifiers.compose.context import ProgramInfo
from notifiers.compose.rendering import (
    LANGUAGES,
    SMS_FORMS,
    TEMPLATE_DIR,
    Renderer,
    SmsOverBudget,
    format_when,
)
from notifiers.compose.segments import count_segments, fold_to_gsm7
from notifiers.compose.terms import AGENCY, LRI, PDI, zone_name

PROGRAM = ProgramInfo(
    name="Community Mediation Program",
    phone="+13127463594",
    email="mediation@chicagocopa.example.org",
    public_base_url="https://mediation.chicagocopa.example.org",
    link_secret="s" * 40,
)
BUDGET = TwilioSmsNotifier.max_segments
#: a link as a phone's or mail app's linkifier finds it in text: from the scheme to the first
#: whitespace, trailing punctuation aside (Android's Linkify and Gmail keep any other character,
#: the invisible direction marks of right-to-left text included)
AS_LINKED = re.compile(r"https?://\S+")

#: the longest venue names of the Chicago Public Library, as staff type them
VENUES = [
    ("Chicago Public Library – Harold Washington Library Center, 400 S State St",
     "400 S State St, Chicago, IL 60605"),
    ("Chicago Public Library – Chinatown Branch (Chinatown Branch Library)",
     "2100 S Wentworth Ave, Chicago, IL 60616"),
]
#: names as staff enter them for messages, in every script we write to; "" = no name given
NAMES = ["", "Guadalupe-Alejandra", "Pani Agnieszko", "عبد الرحمن", "欧阳娜娜"]
#: the longest weekday/month combinations, and a time either side of noon
STARTS = [datetime(2026, 9, 30, 17, 30, tzinfo=UTC), datetime(2026, 12, 2, 0, 30, tzinfo=UTC)]
#: how to get there, as staff write it on a venue (``Venue.directions``)
DIRECTIONS = ("Red Line to Harrison or Blue Line to Jackson; enter on State St, take the lift to "
              "the 7th floor; paid parking at 525 S State St")
CHANNEL_SETS = [("sms",), ("email",), ("sms", "email")]
DEADLINES = {"en": "September 30", "es": "30 de septiembre", "pl": "30 września",
             "zh": "9月30日", "ar": "30 سبتمبر"}
WHYS = ["declined", "no_answer", "withdrawn", "no_show", "reschedule_limit", "other"]

SESSION_KINDS = {NoticeKind.BOOKING_CONFIRMATION, NoticeKind.REMINDER, NoticeKind.RESCHEDULE,
                 NoticeKind.CANCELLATION}


def recipients(kind: NoticeKind) -> list[tuple[str, tuple[str, ...]]]:
    """(role, channels) of everyone who can receive ``kind``."""
    if kind is NoticeKind.STAFF_ALERT:
        return [("staff", ("email",))]
    parties = [(role, ch) for role in ("complainant", "officer") for ch in CHANNEL_SETS]
    return parties + ([("mediator", ("email",))] if kind in SESSION_KINDS else [])


#: "your complaint" in each language: never said to an officer
YOUR_COMPLAINT = {"en": ["your complaint"], "es": ["su queja"],
                  "pl": ["pana skarg", "pani skarg", "twoja skarg", "twoją skarg"],
                  "zh": ["您的投诉"], "ar": ["شكواك"]}
#: asking to answer by text: never said to someone who gets no texts
REPLY_BY_TEXT = {"en": ["text message", "reply yes"], "es": ["mensaje de texto", "responda sí"],
                 "pl": ["sms", "odpisać", "odpisując"], "zh": ["短信", "回复“是”"],
                 "ar": ["رسالتنا النصية", "أرسل نعم"]}
#: the informal register (and gendered forms of address) in each language
INFORMAL = {"en": [],
            "es": [" tú ", " tu ", " te ", "puedes", "quieres", "llámanos", "escríbenos",
                   "responde ", "dinos"],
            "pl": ["pan/pani", " pan ", " pani ", "pana", "panią", "twoj", "twoją", "ciebie",
                   "chcesz", "możesz", "masz ", "odpisz ", "zadzwoń", "napisz", "jesteś"],
            "zh": ["你"],
            "ar": []}
BARE_GREETING = {"en": "Hello,", "es": "Hola:", "pl": "Dzień dobry,", "zh": "您好：",
                 "ar": "مرحبًا،"}
OTHER_AGENCY_NAMES = ["Responsabilidad Policial",
                      "警务问责", "مكتب المساءلة المدنية"]


@pytest.fixture(scope="module")
def renderer() -> Renderer:
    return Renderer()


def variables(language: str, *, role: str = "complainant", channels: tuple[str, ...] = ("sms",),
              name: str = "", venue: tuple[str, str] = VENUES[0], starts: datetime = STARTS[0],
              video: bool = False, variant: bool = True, why: str = "declined",
              soon: bool = False, confirmed: bool = False) -> dict[str, Any]:
    place, address = venue
    return {
        "program": {"name": PROGRAM.name, "phone": PROGRAM.phone, "email": PROGRAM.email,
                    "agency": AGENCY[language]},
        "recipient": {"name": name, "kind": "staff" if role == "staff" else "party",
                      "role": role, "channels": list(channels)},
        "case_ref": "CMP-123456",
        "session": {
            "when": format_when(starts, "America/Chicago", language),
            "minutes": 120,
            "video": video,
            "video_url": "https://meet.example.org/cmp-123456-a1b2c3d4e5",
            "place": place,
            "address": address,
            "location": f"{place}, {address}",
            "directions": DIRECTIONS,
            "when_zone": format_when(starts, "America/Chicago", language,
                                     zone_name("America/Chicago", language)),
        },
        "link": PROGRAM.link(123456, "availability", datetime(2027, 1, 31, tzinfo=UTC)),
        "deadline": DEADLINES[language],
        "zone_name": zone_name("America/Chicago", language),
        "granted": variant,
        "outcome": "successful" if variant else "impasse",
        "why": why,
        "alert": "duplicate_send",
        "reason": "email consent_request notice #123456: bounce 550",
        "message": "x" * 120,  # a member of staff's answer, at its longest (web.pages.work_queue)
        "soon": soon,
        "confirmed": confirmed,
    }


def test_every_kind_exists_in_every_language() -> None:
    parts = (*SMS_FORMS, "subject", "txt")
    missing = [
        f"{kind.value}/{lang}.{part}.j2"
        for kind in NoticeKind
        for lang in LANGUAGES
        for part in parts
        if not (TEMPLATE_DIR / "notices" / kind.value / f"{lang}.{part}.j2").is_file()
    ]
    assert missing == []


def _cases(kind: NoticeKind, language: str) -> list[dict[str, Any]]:
    whys = WHYS if kind is NoticeKind.CASE_RETURNED else ["declined"]
    return [
        variables(language, role=role, channels=channels, name=name, venue=venue, starts=starts,
                  video=video, variant=variant, why=why)
        for (role, channels), name, venue, starts, video, variant, why in itertools.product(
            recipients(kind), NAMES, VENUES, STARTS, (False, True), (False, True), whys)
    ]


@pytest.mark.parametrize("language", LANGUAGES)
@pytest.mark.parametrize("kind", list(NoticeKind))
def test_every_recipient_hears_the_right_words(renderer: Renderer, kind: NoticeKind,
                                               language: str) -> None:
    for values in _cases(kind, language):
        recipient = values["recipient"]
        sms = renderer.sms(kind, language, values, BUDGET)
        assert 0 < sms.segments <= BUDGET, (sms.segments, sms.encoding, sms.body)
        assert count_segments(sms.body).segments == sms.segments
        email = renderer.email(kind, language, values)
        assert email.subject and "\n" not in email.subject
        assert "{{" not in email.text and "None" not in email.text
        assert f'lang="{language}"' in email.html
        assert ('dir="rtl"' in email.html) is (language == "ar")
        bodies = {"sms": sms.body.lower(), "subject": email.subject.lower(),
                  "text": email.text.lower()}
        said = " ".join(bodies.values())
        context = (kind.value, language, recipient, sms.body)
        if recipient["role"] == "officer":
            assert not [p for p in YOUR_COMPLAINT[language] if p in said], context
        if "sms" not in recipient["channels"]:  # what they read is the email
            email_words = bodies["subject"] + " " + bodies["text"]
            assert not [p for p in REPLY_BY_TEXT[language] if p in email_words], context
        ours = said.replace(recipient["name"].lower(), "") if recipient["name"] else said
        assert not [w for w in INFORMAL[language] if w in f" {ours} "], context
        if kind is not NoticeKind.STAFF_ALERT:
            greeting = email.text.splitlines()[0]
            if recipient["name"]:
                assert recipient["name"] in greeting, context
            else:
                assert greeting == BARE_GREETING[language], context
        for name in NAMES:  # only the recipient's own name, and only where it was given
            if name and name != recipient["name"]:
                assert name not in said, context
        if language == "ar":  # phone numbers keep their order inside right-to-left text
            for body in (sms.body, email.text):
                assert PROGRAM.phone not in body.replace(f"{LRI}{PROGRAM.phone}{PDI}", ""), body
        urls = {values["link"], values["session"]["video_url"]}
        for body in (sms.body, email.text):  # every link, as the phone or mail app opens it
            assert {u.rstrip(".,;:!?)") for u in AS_LINKED.findall(body)} <= urls, body
        assert set(re.findall(r'href="([^"]*)"', email.html)) <= urls, email.html


@pytest.mark.parametrize("language", LANGUAGES)
def test_one_name_for_the_agency(renderer: Renderer, language: str) -> None:
    email = renderer.email(NoticeKind.ELIGIBILITY_NOTICE, language, variables(language))
    assert AGENCY[language] in email.text
    for path in (TEMPLATE_DIR / "notices").rglob("*.j2"):
        text = path.read_text(encoding="utf-8")
        assert not [n for n in OTHER_AGENCY_NAMES if n in text], path
        assert "Civilian Office of Police Accountability" not in text, path


def test_spanish_keeps_its_accents(renderer: Renderer) -> None:
    """'Aceptó' (you accepted) must not become 'Acepto' (I accept) to save a segment."""
    sms = renderer.sms(NoticeKind.CONSENT_RECEIVED, "es", variables("es", variant=True), BUDGET)
    assert "aceptó la mediación" in sms.body and sms.encoding == "UCS-2"
    ask = renderer.sms(NoticeKind.CONSENT_REQUEST, "es", variables("es"), BUDGET)
    assert "Responda SÍ o NO a más tardar el 30 de septiembre" in ask.body


def test_polish_keeps_diacritics_when_they_fit_and_folds_otherwise(renderer: Renderer) -> None:
    short = renderer.sms(NoticeKind.CONSENT_RECEIVED, "pl", variables("pl"), BUDGET)
    assert "Dziękujemy" in short.body and short.encoding == "UCS-2"
    long = renderer.sms(NoticeKind.BOOKING_CONFIRMATION, "pl", variables("pl"), BUDGET)
    assert long.encoding == "GSM-7" and "Mediacja (CMP-123456) zaplanowana na sroda" in long.body


def test_a_notice_too_long_for_the_budget_takes_its_short_form(renderer: Renderer) -> None:
    values = variables("ar", venue=VENUES[1])
    full = renderer.sms(NoticeKind.RESCHEDULE, "ar", values, max_segments=9)
    assert full.form == "sms" and VENUES[1][0] in full.body and full.segments > BUDGET
    short = renderer.sms(NoticeKind.RESCHEDULE, "ar", values, BUDGET)
    assert short.form == "short.sms" and short.segments <= BUDGET
    assert VENUES[1][1] in short.body and VENUES[1][0] not in short.body


def test_nothing_is_sent_over_the_budget(renderer: Renderer) -> None:
    values = variables("ar", venue=("x", "Chicago Public Library – " * 12))
    with pytest.raises(SmsOverBudget, match="booking_confirmation/ar SMS needs"):
        renderer.sms(NoticeKind.BOOKING_CONFIRMATION, "ar", values, BUDGET)


def test_sms_only_readers_get_the_video_link_in_the_text(renderer: Renderer) -> None:
    values = variables("en", channels=("sms",), video=True)
    sms = renderer.sms(NoticeKind.REMINDER, "en", values, BUDGET)
    assert "https://meet.example.org/cmp-123456-a1b2c3d4e5" in sms.body and "email" not in sms.body
    both = renderer.sms(NoticeKind.REMINDER, "en", variables("en", channels=("sms", "email"),
                                                              video=True), BUDGET)
    assert "link in your email" in both.body


def test_html_is_escaped_and_links_are_clickable(renderer: Renderer) -> None:
    values = variables("en")
    values["recipient"] = {**values["recipient"], "name": "<script>alert(1)</script>"}
    email = renderer.email(NoticeKind.AVAILABILITY_REQUEST, "en", values)
    assert "<script>" not in email.html and "&lt;script&gt;" in email.html
    assert f'<a href="{values["link"]}">' in email.html
    assert "<script>alert(1)</script>" in email.text  # plain text is not HTML


def test_undefined_variables_are_errors(renderer: Renderer) -> None:
    values = variables("en")
    del values["session"]
    with pytest.raises(UndefinedError):
        renderer.render(NoticeKind.REMINDER, "en", Channel.SMS, values)


def test_unknown_language_falls_back_to_english(renderer: Renderer) -> None:
    sms = renderer.sms(NoticeKind.OUTCOME, "tl", variables("en"))
    assert sms.body.startswith("Community Mediation Program: Thank you")


@pytest.mark.parametrize("language", LANGUAGES)
@pytest.mark.parametrize(
    "intent",
    ["help", "consent_yes", "consent_no", "already_answered", "opt_out", "which_case", "too_late",
     "session_confirmed", "change_requested", "change_limit", "which_case_session",
     "session_begun", "reminder_unclear", "unknown"],
)
def test_inbound_replies_fit_the_budget(renderer: Renderer, language: str, intent: str) -> None:
    cases = ("CMP-1204", "CMP-1377", "CMP-1391")
    when = variables(language)["session"]["when_zone"]  # the longest weekday and month
    text = renderer.reply(language, intent, variables(language)["program"], cases, when=when)
    assert text and count_segments(text).segments <= BUDGET
    assert not [w for w in INFORMAL[language] if w in f" {text.lower()} "], text
    if intent.startswith("which_case"):
        assert all(ref in text for ref in cases)
    if intent in ("session_confirmed", "session_begun"):
        assert when in text
    if intent == "session_begun":  # a party running late is asked to call, with the number
        assert variables(language)["program"]["phone"] in text


@pytest.mark.parametrize(("zone", "language", "name"), [
    ("America/Chicago", "en", "Chicago time"),
    ("America/Chicago", "es", "hora de Chicago"),
    ("America/Chicago", "zh", "芝加哥时间"),
    ("America/Chicago", "ar", "بتوقيت شيكاغو"),
    ("America/New_York", "pl", "czas w Nowym Jorku"),
    ("Europe/Warsaw", "en", "Warsaw time"),  # a zone we have no names for: its city
])
def test_zones_are_named_as_people_say_them(zone: str, language: str, name: str) -> None:
    assert zone_name(zone, language) == name


#: what a reminder's email must say, in each language (issue 12: where and when, how to get
#: there, what to bring, who to call, what happens if they cannot come)
BRING = {"en": "what to bring", "es": "qué traer", "pl": "co zabrać", "zh": "请携带",
         "ar": "ما يُحضر"}
NO_PENALTY = {"en": "no penalty", "es": "ninguna sanción", "pl": "żadnymi konsekwencjami",
              "zh": "不会受到任何处分", "ar": "لا تترتب أي عقوبة"}
CONFIRM_BY_TEXT = {"en": "replying 1", "es": "respondiendo 1", "pl": "odpowiedzią 1",
                   "zh": "短信1", "ar": "بـ 1"}
SMS_CONFIRM = {"en": ("Reply 1",), "es": ("Responda 1", "Confirme con 1"),
               "pl": ("odpisać 1", "Potwierdzenie: 1"), "zh": ("回复1",),
               "ar": ("أرسلوا 1", "للتأكيد 1")}


@pytest.mark.parametrize("language", LANGUAGES)
def test_a_reminder_says_where_when_what_to_bring_who_to_call_and_what_if_not(
        renderer: Renderer, language: str) -> None:
    zone = zone_name("America/Chicago", language)
    for (role, channels), name, venue, starts, video in itertools.product(
            recipients(NoticeKind.REMINDER)[:-1], NAMES, VENUES, STARTS, (False, True)):
        values = variables(language, role=role, channels=channels, name=name, venue=venue,
                           starts=starts, video=video)
        text = renderer.email(NoticeKind.REMINDER, language, values).text
        context = (language, role, channels, video)
        assert values["session"]["when_zone"] in text and zone in text, context
        if video:
            assert values["session"]["video_url"] in text, context
        else:
            assert all(part in text for part in (*venue, DIRECTIONS)), context
        assert BRING[language] in text.lower() and PROGRAM.phone in text, context
        assert (NO_PENALTY[language] in text) is (role == "officer"), context
        assert (CONFIRM_BY_TEXT[language] in text) is ("sms" in channels), context
        if "sms" not in channels:  # told how to confirm without a text
            assert PROGRAM.email in text, context
        for soon in (False, True):
            sms = renderer.sms(NoticeKind.REMINDER, language, {**values, "soon": soon}, BUDGET)
            assert sms.segments <= BUDGET and PROGRAM.phone in sms.body, context
            assert zone in sms.body, context
            asks = [w for w in SMS_CONFIRM[language] if fold_to_gsm7(w) in fold_to_gsm7(sms.body)]
            assert bool(asks) is not soon, (context, sms.body)  # the day's last text just helps
            if video and "email" in channels:  # the link goes to their inbox, not a text
                assert values["session"]["video_url"] not in sms.body, context


def test_mediators_are_reminded_of_the_session_they_lead(renderer: Renderer) -> None:
    for language in LANGUAGES:
        values = variables(language, role="mediator", channels=("email",), name="Dana Kowalski")
        text = renderer.email(NoticeKind.REMINDER, language, values).text
        assert values["session"]["when_zone"] in text
        assert CONFIRM_BY_TEXT[language] not in text and BRING[language] not in text.lower()


#: what a reminder says to a party who already confirmed (by text, or to staff by phone)
THANKED = {"en": "thank you for confirming", "es": "gracias por confirmar",
           "pl": "dziękujemy za potwierdzenie", "zh": "感谢您确认出席", "ar": "شكرًا لتأكيد"}


@pytest.mark.parametrize("language", LANGUAGES)
def test_a_party_who_confirmed_is_thanked_not_asked_again(renderer: Renderer,
                                                         language: str) -> None:
    for role, channels in recipients(NoticeKind.REMINDER)[:-1]:
        values = variables(language, role=role, channels=channels, venue=VENUES[1],
                           confirmed=True)
        text = renderer.email(NoticeKind.REMINDER, language, values).text
        assert THANKED[language] in text.lower() and CONFIRM_BY_TEXT[language] not in text
        sms = renderer.sms(NoticeKind.REMINDER, language, values, BUDGET)
        assert sms.segments <= BUDGET
        assert not [w for w in SMS_CONFIRM[language] if fold_to_gsm7(w) in fold_to_gsm7(sms.body)]
