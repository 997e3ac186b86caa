"""No text to a landline: the dispatcher withdraws an SMS notice whose number the provider's
lookup said is a landline (``cases.phone_lines``), and reaches the party another way.

The notice is ``cancelled`` with ``cases.phone_lines.LANDLINE_REASON`` (audit
``notice.cancelled_landline``, naming no number), and the same notice is written for email when
the party has an address that has not unsubscribed (``notifiers.tracking.fall_back``). A party
no email reaches stays in the staff work queue as "call this party: landline" (``web.queue``)
until someone handles it. A number not checked yet, or of any other line type, is texted as
before.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy.orm import Session

from cases import audit
from cases.models import Notification, NotificationStatus, Party
from cases.phone_lines import LANDLINE_REASON, LineType
from notifiers.tracking import fall_back


def withdraw_for_landline(session: Session, row: Notification, party: Party | None,
                          now: datetime, *, actor: str) -> Notification | None:
    """Cancel the SMS ``row`` (its number is a landline) and fall back to email. Returns the
    email fallback when one was written."""
    row.status = NotificationStatus.CANCELLED.value
    row.last_error = LANDLINE_REASON
    row.claimed_by = row.claimed_until = row.unconfirmed_since = None
    row.next_attempt_at = None
    audit.record(session, at=now, actor=actor, action="notice.cancelled_landline",
                 case_id=row.case_id, subject_kind="notification", subject_id=row.id,
                 kind=row.kind, line_type=LineType.LANDLINE.value)  # fmt: skip
    return fall_back(session, row, party, now, actor=actor)
