"""Masking of personal data, so that logs and audit text can say *which* contact without saying *what*."""

from __future__ import annotations


def mask_phone(phone: str | None) -> str:
    """'+13125550123' -> '+1******0123'. Keeps the country code and last 2–4 digits for support."""
    if not phone:
        return "-"
    digits = phone.strip()
    if len(digits) <= 4:
        return "*" * len(digits)
    tail = 4 if len(digits) >= 10 else 2
    head = 2 if digits.startswith("+") else 0
    return digits[:head] + "*" * (len(digits) - head - tail) + digits[-tail:]


def mask_email(email: str | None) -> str:
    """'maria.lopez@example.org' -> 'm***@e***.org'."""
    if not email or "@" not in email:
        return "-"
    local, _, domain = email.partition("@")
    host, dot, tld = domain.rpartition(".")
    if not dot:
        host, tld = domain, ""
    masked_host = (host[:1] + "***") if host else "***"
    return f"{local[:1]}***@{masked_host}{dot}{tld}"


def mask_name(name: str | None) -> str:
    """'Maria Lopez' -> 'M. L.' — initials only."""
    if not name:
        return "-"
    return " ".join(part[:1] + "." for part in name.split() if part)
