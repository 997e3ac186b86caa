from __future__ import annotations

import pytest

from cases.contacts import (
    normalise_channels,
    normalise_email,
    normalise_language,
    normalise_phone,
    normalise_zone,
)
from cases.errors import InvalidInput
from cases.privacy import mask_email, mask_name, mask_phone


@pytest.mark.parametrize(("raw", "expected"), [
    ("(312) 746-3594", "+13127463594"),
    ("312.746.3594", "+13127463594"),
    ("+1 773 746 0101", "+17737460101"),
    ("+48 22 123 45 67", "+48221234567"),
])
def test_phones_are_normalised_to_e164(raw: str, expected: str) -> None:
    assert normalise_phone(raw) == expected


@pytest.mark.parametrize(("raw", "message"), [
    ("", "is empty"),
    ("12345", "not a valid phone number"),
    ("call me", "not a phone number"),
    ("+1 312 746 35945555", "not a valid phone number"),
])
def test_bad_phones_are_refused_with_the_reason(raw: str, message: str) -> None:
    with pytest.raises(InvalidInput, match=message) as info:
        normalise_phone(raw, "complainant.phone")
    assert info.value.field == "complainant.phone"


@pytest.mark.parametrize("raw", ["maria@", "@example.org", "maria lopez@example.org", "maria"])
def test_bad_emails_are_refused(raw: str) -> None:
    with pytest.raises(InvalidInput, match="not a valid email address"):
        normalise_email(raw)


def test_email_domain_is_normalised() -> None:
    assert normalise_email(" Maria@EXAMPLE.org ") == "Maria@example.org"


@pytest.mark.parametrize(("raw", "code"), [
    ("es", "es"), ("Spanish", "es"), ("español", "es"), ("POLISH", "pl"), ("中文", "zh"),
    ("zh-Hans", "zh"), ("Arabic", "ar"), ("en", "en"),
])
def test_languages_accept_codes_and_names(raw: str, code: str) -> None:
    assert normalise_language(raw) == code


@pytest.mark.parametrize("raw", ["klingon", "xx", "", "fr"])
def test_unknown_languages_list_the_supported_ones(raw: str) -> None:
    with pytest.raises(InvalidInput, match=r"unsupported language .*supported: en \(English\)"):
        normalise_language(raw)


def test_zones_and_channels() -> None:
    assert normalise_zone("America/Chicago") == "America/Chicago"
    with pytest.raises(InvalidInput, match="unknown time zone"):
        normalise_zone("Central Time")
    assert normalise_channels("SMS, email, sms") == ["sms", "email"]
    with pytest.raises(InvalidInput, match="unknown channel 'fax'"):
        normalise_channels(["sms", "fax"])


def test_masks_hide_personal_data() -> None:
    assert mask_phone("+13127463594") == "+1******3594"
    assert "7463" not in mask_phone("+13127463594")
    assert mask_email("maria.lopez@example.org") == "m***@e***.org"
    assert mask_name("Maria Lopez") == "M. L."
    assert mask_phone(None) == mask_email(None) == "-"
