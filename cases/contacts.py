"""Validation of what people type: phone numbers, emails, languages, zones, channels.

Each function returns the canonical form or raises ``InvalidInput`` naming the field and the
problem — without echoing more of the value than needed to find it.
"""

from __future__ import annotations

from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

import phonenumbers
from email_validator import EmailNotValidError, validate_email

from cases.errors import InvalidInput

SUPPORTED_LANGUAGES: dict[str, str] = {
    "en": "English",
    "es": "Español",
    "pl": "Polski",
    "zh": "中文",
    "ar": "العربية",
}
RTL_LANGUAGES = frozenset({"ar"})
_LANGUAGE_ALIASES = {
    "english": "en", "eng": "en", "en-us": "en",
    "spanish": "es", "español": "es", "espanol": "es", "spa": "es", "es-mx": "es",
    "polish": "pl", "polski": "pl", "pol": "pl",
    "chinese": "zh", "mandarin": "zh", "中文": "zh", "zh-cn": "zh", "zh-hans": "zh", "zho": "zh",
    "arabic": "ar", "العربية": "ar", "ara": "ar",
}
CHANNELS = ("sms", "email")


def normalise_phone(raw: str, field: str = "phone", region: str = "US") -> str:
    """Any common US/international spelling -> E.164 ('+13125550123')."""
    text = raw.strip()
    if not text:
        raise InvalidInput(field, "is empty")
    try:
        number = phonenumbers.parse(text, region)
    except phonenumbers.NumberParseException as exc:
        raise InvalidInput(field, f"{text!r} is not a phone number ({exc})") from exc
    if not phonenumbers.is_valid_number(number):
        raise InvalidInput(field, f"{text!r} is not a valid phone number")
    return phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.E164)


def normalise_email(raw: str, field: str = "email") -> str:
    text = raw.strip()
    try:
        result = validate_email(text, check_deliverability=False)
    except EmailNotValidError as exc:
        raise InvalidInput(field, f"{text!r} is not a valid email address: {exc}") from exc
    return str(result.normalized)


def normalise_language(raw: str, field: str = "language") -> str:
    text = raw.strip().lower()
    code = text if text in SUPPORTED_LANGUAGES else _LANGUAGE_ALIASES.get(text)
    if code is None:
        supported = ", ".join(f"{c} ({n})" for c, n in SUPPORTED_LANGUAGES.items())
        raise InvalidInput(field, f"unsupported language {raw!r} (supported: {supported})")
    return code


def normalise_zone(raw: str, field: str = "time_zone") -> str:
    text = raw.strip()
    try:
        ZoneInfo(text)
    except (ZoneInfoNotFoundError, ValueError) as exc:
        raise InvalidInput(field, f"unknown time zone {raw!r} (use an IANA name such as "
                                  "America/Chicago)") from exc
    return text


def normalise_channels(raw: str | list[str], field: str = "channels") -> list[str]:
    items = raw.replace(";", ",").split(",") if isinstance(raw, str) else list(raw)
    channels: list[str] = []
    for item in items:
        name = item.strip().lower()
        if not name:
            continue
        if name not in CHANNELS:
            raise InvalidInput(field, f"unknown channel {item!r} (use sms and/or email)")
        if name not in channels:
            channels.append(name)
    return channels
