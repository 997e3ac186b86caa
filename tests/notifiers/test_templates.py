"""Every notice kind in every language renders, and SMS bodies stay within 3 segments."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import pytest
from jinja2 import UndefinedError

from cases.outbox import Channel, NoticeKind
from notifiers.context import ProgramInfo
from notifiers.rendering import LANGUAGES, TEMPLATE_DIR, Renderer, format_when

PROGRAM = ProgramInfo(
    name="Community Mediation Program",
    phone="+13127463594",
    email="mediation@chicagocopa.example.org",
    public_base_url="https://mediation.chicagocopa.example.org",
    link_secret="s" * 40,
)


@pytest.fixture(scope="module")
def renderer() -> Renderer:
    return Renderer()


def variables(language: str, *, video: bool = False, variant: bool = True) -> dict[str, Any]:
    """Realistic, long-side values: a long first name and venue, a real signed link."""
    starts = datetime(2026, 12, 2, 0, 30, tzinfo=UTC)
    return {
        "program": {"name": PROGRAM.name, "phone": PROGRAM.phone, "email": PROGRAM.email},
        "recipient": {"first_name": "Guadalupe-Alejandra", "kind": "party", "role": "complainant"},
        "case_ref": "CMP-123456",
        "session": {
            "when": format_when(starts, "America/Chicago", language),
            "minutes": 120,
            "video": video,
            "video_url": "https://meet.example.org/cmp-123456-a1b2c3",
            "place": "Harold Washington Library Center",
            "address": "400 S State St, Chicago, IL 60605",
        },
        "link": PROGRAM.link(123456, "availability", datetime(2027, 1, 31, tzinfo=UTC)),
        "deadline": "15 de diciembre" if language == "es" else "December 15",
        "granted": variant,
        "outcome": "successful" if variant else "impasse",
        "alert": "duplicate_send",
        "reason": "email consent_request notice #123456: bounce 550",
    }


def test_every_kind_exists_in_every_language() -> None:
    missing = [
        f"{kind.value}/{lang}.{part}.j2"
        for kind in NoticeKind
        for lang in LANGUAGES
        for part in ("sms", "subject", "txt")
        if not (TEMPLATE_DIR / "notices" / kind.value / f"{lang}.{part}.j2").is_file()
    ]
    assert missing == []


@pytest.mark.parametrize("language", LANGUAGES)
@pytest.mark.parametrize("kind", list(NoticeKind))
def test_renders_and_sms_fits_three_segments(renderer: Renderer, kind: NoticeKind, language: str) -> None:
    for video in (False, True):
        for variant in (False, True):
            values = variables(language, video=video, variant=variant)
            sms = renderer.sms(kind, language, values)
            assert 0 < sms.segments <= 3, (sms.segments, sms.encoding, sms.body)
            email = renderer.email(kind, language, values)
            assert email.subject and "\n" not in email.subject
            assert email.text.strip() and "{{" not in email.text and "None" not in email.text
            assert f'lang="{language}"' in email.html
            assert ('dir="rtl"' in email.html) is (language == "ar")
            # the recipient is named by first name only; no one else's contact details
            for body in (sms.body, email.text):
                assert "Lopez" not in body and "@example.org" not in body.replace(PROGRAM.email, "")


def test_latin_sms_are_folded_to_gsm7(renderer: Renderer) -> None:
    sms = renderer.sms(NoticeKind.CONSENT_REQUEST, "pl", variables("pl"))
    assert sms.encoding == "GSM-7" and "Czy chce Pan/Pani" in sms.body


def test_html_is_escaped_and_links_are_clickable(renderer: Renderer) -> None:
    values = variables("en")
    values["recipient"] = {**values["recipient"], "first_name": "<script>alert(1)</script>"}
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
    ["help", "consent_yes", "consent_no", "already_answered", "opt_out", "which_case", "unknown"],
)
def test_inbound_replies_fit_one_or_two_segments(renderer: Renderer, language: str, intent: str) -> None:
    from notifiers.segments import count_segments

    cases = ("CMP-1204", "CMP-1377", "CMP-1391")
    text = renderer.reply(language, intent, variables(language)["program"], cases)
    assert text and count_segments(text).segments <= 3
    if intent == "which_case":
        assert all(ref in text for ref in cases)
