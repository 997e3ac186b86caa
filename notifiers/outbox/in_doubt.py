"""A notice in doubt: an earlier attempt's outcome is unknown (the worker died between the
provider accepting it and the record committing, or the answer was lost). Before it is sent
again, the provider is asked whether it already holds it, where it can be (``SentLookup``).

A message it holds with the same recipient and body, accepted since the first unconfirmed
attempt's claim, that no notice has recorded, is the lost attempt: it is recorded, not sent again
(audit ``notice.found_already_sent``). Otherwise the notice is sent again (audit
``notice.resent_in_doubt``) or, in the recipient's quiet hours, held until they end
(``notice.held_in_doubt``).
"""

from __future__ import annotations

import logging

from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from cases import audit
from cases.clock import Clock
from cases.models import Notification
from notifiers.channels.base import Notifier, Receipt, SentLookup
from notifiers.outbox.claim import Claimed
from notifiers.outbox.decisions import ACTOR
from notifiers.outbox.policy import FOUND_SENT_SKEW

log = logging.getLogger(__name__)


def found_at_provider(
    session_factory: sessionmaker[Session], notifier: Notifier, item: Claimed, *, clock: Clock
) -> Receipt | None:
    """The provider's copy of ``item``'s lost attempt, recorded in the audit, or None (the
    channel cannot be asked, nothing matches, or asking failed: it is sent again)."""
    if not isinstance(notifier, SentLookup):
        return None
    # Only a message accepted since the first lost attempt's claim can be one of them (an
    # older unrecorded one is some earlier orphan with the same text); a margin covers the
    # clocks' skew.
    since = (item.unconfirmed_since or clock.now()) - FOUND_SENT_SKEW
    try:
        candidates = [
            c for c in notifier.recent_matching(item.message)
            if c.accepted_at is not None and c.accepted_at >= since
        ][::-1]  # oldest first: two lost attempts with one text go to the notices in claim order

    except Exception as exc:  # asking is a courtesy: it must never keep a notice from going out
        log.warning("notice %s: could not ask whether it was already sent (%s); sending again",
                    item.notification_id, exc)  # fmt: skip
        candidates = []
    with session_factory() as session, session.begin():
        recorded = set(session.scalars(
            select(Notification.provider_message_id).where(
                Notification.provider_message_id.in_([c.provider_message_id for c in candidates])
            )
        )) if candidates else set()  # fmt: skip
        found = next((c for c in candidates if c.provider_message_id not in recorded), None)
        audit.record(session, at=clock.now(), actor=ACTOR,
                     action="notice.found_already_sent" if found else
                     "notice.held_in_doubt" if item.hold_until else "notice.resent_in_doubt",
                     case_id=item.case_id, subject_kind="notification", subject_id=item.notification_id,
                     previous_worker=item.previous_worker, attempts=item.attempts - 1,
                     provider_message_id=found.provider_message_id if found else None)  # fmt: skip
    return found
