"""What the program does when a notice cannot reach its recipient: the domain's answer to an
outcome the outbox engine (``notifiers.outbox``) or a delivery report (``cases.delivery``) found.

Each function takes the caller's session and never commits. They are the one home of:

- the fallback to the party's other channel (:func:`fall_back`), after a notice failed for good,
  was dropped because they opted out, or was withdrawn for a landline;
- the staff alert about a notice (:func:`alert_staff`), never about a failing staff alert;
- withdrawing an SMS to a landline (:func:`withdraw_for_landline`): ``cancelled`` with
  ``cases.phone_lines.LANDLINE_REASON`` (audit ``notice.cancelled_landline``, naming no number),
  and the same notice written for email when the party has an address that has not
  unsubscribed. A party no email reaches stays in the staff work queue as "call this party:
  landline" (``web.queue``) until someone handles it;
- cancelling a notice to a recipient who opted out of its channel (:func:`cancel_opted_out`);
- giving up on a notice (:func:`give_up`): its audit event, the suppression a provider's opt-out
  answer implies, the staff alert and the fallback.
"""

from __future__ import annotations

import enum
from datetime import datetime

from sqlalchemy import select
from sqlalchemy.orm import Session

from cases import audit, suppressions
from cases.models import Notification, NotificationStatus, Party
from cases.outbox import Channel, NoticeKind, enqueue, enqueue_fallback
from cases.phone_lines import LANDLINE_REASON, LineType


class Problem(enum.StrEnum):
    """Why a provider refused a notice for good, as far as the domain cares."""

    #: the recipient opted out with the provider (Twilio 21610): suppressed, no staff alert
    OPTED_OUT = "opted_out"
    #: the address cannot receive anything: staff are asked to fix the contact
    INVALID_ADDRESS = "invalid_address"
    #: anything else: staff are told the notice is dead
    OTHER = "other"


def finish(row: Notification, status: NotificationStatus, reason: str) -> None:
    """A final status for ``row``: no longer claimed, retried or in doubt."""
    row.status = status.value
    row.last_error = reason
    row.claimed_by = row.claimed_until = row.unconfirmed_since = None
    row.next_attempt_at = None


def alert_staff(session: Session, row: Notification, alert: str, reason: str, now: datetime) -> None:
    """Enqueue a staff alert about ``row``. A failing staff alert is only audited, never alerted
    about again (no loops)."""
    if row.kind == NoticeKind.STAFF_ALERT.value:
        return
    enqueue(session, kind=NoticeKind.STAFF_ALERT, recipient=None, due_at=now, now=now,
            case_id=row.case_id, occurrence=f"{alert}-{row.id}",
            context={"case_id": row.case_id, "alert": alert, "reason": reason,
                     "notification_id": row.id})  # fmt: skip


def fall_back(
    session: Session, row: Notification, party: Party | None, now: datetime, *, actor: str
) -> Notification | None:
    """Reach a party on their other channel after ``row`` failed for good or was dropped because
    they opted out — unless the notice already goes there, or ``row`` is itself a fallback."""
    if party is None or row.fallback_of_id is not None:
        return None
    other = Channel.EMAIL if row.channel == Channel.SMS.value else Channel.SMS
    address = party.email if other is Channel.EMAIL else party.phone
    if not address or suppressions.is_suppressed(session, other, address):
        return None
    sibling_key = row.idempotency_key.rsplit(":", 1)[0] + f":{other.value}"
    if session.scalar(select(Notification.id).where(Notification.idempotency_key == sibling_key)):
        return None
    fallback = enqueue_fallback(session, row, channel=other, to_address=address, now=now)
    if fallback is not None:
        audit.record(session, at=now, actor=actor, action="notice.fallback", case_id=row.case_id,
                     subject_kind="notification", subject_id=row.id, fallback_id=fallback.id,
                     channel=other.value)  # fmt: skip
    return fallback


def withdraw_for_landline(session: Session, row: Notification, party: Party | None,
                          now: datetime, *, actor: str) -> Notification | None:
    """Cancel the SMS ``row`` (its number is a landline) and fall back to email. Returns the
    email fallback when one was written."""
    finish(row, NotificationStatus.CANCELLED, LANDLINE_REASON)
    audit.record(session, at=now, actor=actor, action="notice.cancelled_landline",
                 case_id=row.case_id, subject_kind="notification", subject_id=row.id,
                 kind=row.kind, line_type=LineType.LANDLINE.value)  # fmt: skip
    return fall_back(session, row, party, now, actor=actor)


def cancel_opted_out(session: Session, row: Notification, party: Party | None, now: datetime, *,
                     actor: str) -> None:
    """The recipient opted out of this notice's channel: cancelled, and the party reached on
    their other channel."""
    finish(row, NotificationStatus.CANCELLED, f"recipient opted out of {row.channel}")
    audit.record(session, at=now, actor=actor, action="notice.cancelled_opted_out",
                 case_id=row.case_id, subject_kind="notification", subject_id=row.id,
                 channel=row.channel, kind=row.kind)  # fmt: skip
    fall_back(session, row, party, now, actor=actor)


def cannot_prepare(session: Session, row: Notification, reason: str, now: datetime) -> None:
    """The notice cannot be written (a template error, no address, no channel): failed, and
    staff told, before anything is sent."""
    finish(row, NotificationStatus.FAILED, reason)
    alert_staff(session, row, "notice_dead", reason, now)


def give_up(
    session: Session,
    row: Notification,
    party: Party | None,
    now: datetime,
    *,
    dead: bool,
    reason: str,
    problem: Problem,
    error: str,
    code: int | None,
    actor: str,
) -> None:
    """Stop trying ``row``: ``dead`` after too many transient failures, else ``failed`` (the
    provider refused it for good). ``error`` names the failure for staff (no personal data)."""
    status = NotificationStatus.DEAD if dead else NotificationStatus.FAILED
    finish(row, status, reason)
    alert = "notice_dead"
    if not dead and problem is Problem.OPTED_OUT:
        suppressions.suppress(session, Channel(row.channel), row.to_address, source="provider",
                              now=now)  # fmt: skip
        alert = ""
    elif not dead and problem is Problem.INVALID_ADDRESS:
        alert = "invalid_contact"
    audit.record(session, at=now, actor=actor, action=give_up_action(dead), case_id=row.case_id,
                 subject_kind="notification", subject_id=row.id, channel=row.channel,
                 code=code, attempts=row.attempts)  # fmt: skip
    if alert:
        alert_staff(session, row, alert, f"{row.channel} {row.kind} notice #{row.id}: {error}", now)
    fall_back(session, row, party, now, actor=actor)


def give_up_action(dead: bool) -> str:
    """The audit action of giving up on a notice."""
    return "notice.dead" if dead else "notice.failed"
