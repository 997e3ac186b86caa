"""What providers tell us after a send, and what parties text us, in the providers' words,
translated for the domain: Twilio's MessageStatus and error codes and SendGrid's event names
become a ``cases.delivery.Delivery``; an inbound text is understood (``notifiers.inbound``),
applied (``cases.replies``) and its session's time worded for the reply. The webhooks in
``web/webhooks.py`` own the transaction.
"""

from __future__ import annotations

from dataclasses import replace
from datetime import datetime

from sqlalchemy.orm import Session

from cases.delivery import Delivery, record_delivery_report
from cases.models import Notification
from cases.policy import Policy
from cases.replies import InboundResult, apply_inbound_sms
from notifiers.compose.rendering import format_when, language_of
from notifiers.compose.terms import zone_name
from notifiers.inbound import interpret

#: Twilio MessageStatus / SendGrid event -> our status
DELIVERED = frozenset({"delivered"})
FAILED = frozenset({"undelivered", "failed", "bounce", "dropped"})
TWILIO_OPTED_OUT = "21610"


def delivery_of(status: str) -> Delivery:
    """A provider's status word (Twilio MessageStatus, SendGrid event) as the domain reads it."""
    if status in DELIVERED:
        return Delivery.DELIVERED
    return Delivery.UNDELIVERED if status in FAILED else Delivery.PROGRESS


def record_delivery_status(
    session: Session,
    *,
    provider_message_id: str,
    notice_id: int | None,
    status: str,
    error_code: str | None,
    now: datetime,
) -> Notification | None:
    """Apply a delivery report (``cases.delivery.record_delivery_report``); Twilio's 21610 means
    the recipient blocked our texts."""
    return record_delivery_report(session, provider_message_id=provider_message_id,
                                  notice_id=notice_id, delivery=delivery_of(status), status=status,
                                  error_code=error_code, opted_out=error_code == TWILIO_OPTED_OUT,
                                  now=now)  # fmt: skip


def handle_inbound_sms(
    session: Session,
    *,
    sender: str,
    body: str,
    provider_message_id: str | None,
    policy: Policy,
    now: datetime,
    change_requests_per_day: int = 3,
) -> InboundResult:
    """Understand and apply an inbound text (``cases.replies.apply_inbound_sms``); ``when`` is
    the session it was about, as its party reads the time."""
    result = apply_inbound_sms(session, sender=sender, body=body, meaning=interpret(body),
                               provider_message_id=provider_message_id, policy=policy, now=now,
                               change_requests_per_day=change_requests_per_day)  # fmt: skip
    if result.about is None:
        return result
    zone, language = result.about.zone, result.about.language
    when = format_when(result.about.starts_at, zone, language, zone_name(zone, language_of(language)))
    return replace(result, when=when)
