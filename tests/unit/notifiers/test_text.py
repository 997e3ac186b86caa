"""Pure parts: SMS segments, inbound keywords, quiet hours across DST."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from cases.replies import Intent
from notifiers.compose.segments import count_segments, fold_to_gsm7
from notifiers.inbound import interpret
from notifiers.outbox.quiet_hours import in_quiet_hours, next_allowed_sms_time


@pytest.mark.parametrize(
    ("text", "encoding", "segments"),
    [
        ("", "GSM-7", 0),
        ("a" * 160, "GSM-7", 1),
        ("a" * 161, "GSM-7", 2),
        ("a" * 306, "GSM-7", 2),
        ("a" * 307, "GSM-7", 3),
        ("€" * 80, "GSM-7", 1),  # extension characters cost two septets
        ("€" * 81, "GSM-7", 2),
        ("ą" * 70, "UCS-2", 1),
        ("ą" * 71, "UCS-2", 2),
        ("是" * 134, "UCS-2", 2),
        ("是" * 135, "UCS-2", 3),
        ("😀" * 35, "UCS-2", 1),  # a surrogate pair is two code units
        ("😀" * 36, "UCS-2", 2),
    ],
)
def test_segments(text: str, encoding: str, segments: int) -> None:
    counted = count_segments(text)
    assert (counted.encoding, counted.segments) == (encoding, segments)


def test_folding_keeps_latin_text_in_gsm7_and_leaves_other_scripts() -> None:
    assert fold_to_gsm7("Zażółć gęślą jaźń — “tak”") == 'Zazolc gesla jazn - "tak"'
    assert fold_to_gsm7("¿Está bien? Sí, mañana") == "¿Esta bien? Si, mañana"
    assert fold_to_gsm7("同意") == "同意"


@pytest.mark.parametrize(
    ("body", "intent", "language"),
    [
        ("STOP", Intent.OPT_OUT, None),
        ("stop ", Intent.OPT_OUT, None),
        ("Unsubscribe", Intent.OPT_OUT, None),
        ("CANCEL", Intent.OPT_OUT, None),
        ("end", Intent.OPT_OUT, None),
        ("Quit!", Intent.OPT_OUT, None),
        ("STOPALL", Intent.OPT_OUT, None),
        ("START", Intent.OPT_IN, None),
        ("unstop", Intent.OPT_IN, None),
        ("HELP", Intent.HELP, None),
        ("ayuda", Intent.HELP, None),
        ("Yes", Intent.CONSENT_YES, "en"),
        ("y.", Intent.CONSENT_YES, "en"),
        ("No", Intent.CONSENT_NO, "en"),
        ("Sí", Intent.CONSENT_YES, "es"),
        ("SI", Intent.CONSENT_YES, "es"),
        ("TAK", Intent.CONSENT_YES, "pl"),
        ("nie", Intent.CONSENT_NO, "pl"),
        ("是", Intent.CONSENT_YES, "zh"),
        ("同意。", Intent.CONSENT_YES, "zh"),
        ("否", Intent.CONSENT_NO, "zh"),
        ("不", Intent.CONSENT_NO, "zh"),
        ("نعم", Intent.CONSENT_YES, "ar"),
        ("لا", Intent.CONSENT_NO, "ar"),
        ("stop texting me about tuesday", Intent.UNKNOWN, None),
        ("Can we do Tuesday?", Intent.UNKNOWN, None),
        ("", Intent.UNKNOWN, None),
    ],
)
def test_inbound_keywords(body: str, intent: Intent, language: str | None) -> None:
    meaning = interpret(body)
    assert meaning.intent is intent
    if language:
        assert meaning.language == language


CHICAGO = "America/Chicago"


@pytest.mark.parametrize(
    ("due", "allowed"),
    [
        # plain day and night (CST, UTC-6)
        ("2026-11-25T15:00:00+00:00", "2026-11-25T15:00:00+00:00"),  # 09:00 local: now
        ("2026-11-26T02:59:00+00:00", "2026-11-26T02:59:00+00:00"),  # 20:59 local: now
        ("2026-11-26T03:00:00+00:00", "2026-11-26T14:00:00+00:00"),  # 21:00 -> 08:00
        ("2026-11-26T08:00:00+00:00", "2026-11-26T14:00:00+00:00"),  # 02:00 -> 08:00
        # fall back, 2026-11-01: 21:00 CDT on Oct 31 waits until 08:00 CST (a 12-hour night)
        ("2026-11-01T02:00:00+00:00", "2026-11-01T14:00:00+00:00"),
        ("2026-11-01T06:30:00+00:00", "2026-11-01T14:00:00+00:00"),  # 01:30 CDT (first)
        ("2026-11-01T07:30:00+00:00", "2026-11-01T14:00:00+00:00"),  # 01:30 CST (repeat)
        # spring forward, 2027-03-14: 21:00 CST on Mar 13 waits until 08:00 CDT
        ("2027-03-14T03:00:00+00:00", "2027-03-14T13:00:00+00:00"),
        ("2027-03-14T08:30:00+00:00", "2027-03-14T13:00:00+00:00"),  # 03:30 CDT
        ("2027-03-14T13:00:00+00:00", "2027-03-14T13:00:00+00:00"),  # 08:00 CDT: now
    ],
)
def test_quiet_hours_across_dst(due: str, allowed: str) -> None:
    result = next_allowed_sms_time(datetime.fromisoformat(due), CHICAGO)
    assert result == datetime.fromisoformat(allowed)
    assert result.tzinfo is UTC


def test_quiet_hours_are_configurable_and_per_zone() -> None:
    due = datetime(2026, 11, 25, 14, 30, tzinfo=UTC)  # 08:30 Chicago, 09:30 New York
    assert next_allowed_sms_time(due, CHICAGO, 21, 9) == datetime(2026, 11, 25, 15, 0, tzinfo=UTC)
    assert next_allowed_sms_time(due, "America/New_York", 21, 9) == due
    assert not in_quiet_hours(due, CHICAGO, 0, 0)  # start == end: no quiet hours
    with pytest.raises(ValueError):
        next_allowed_sms_time(datetime(2026, 11, 25, 3), CHICAGO)
