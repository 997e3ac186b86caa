"""Staff's work queue, the domain side: an item leaves the queue when a member of staff handles
it (who and when kept, and audited); answering a party's reply goes out through the outbox in the
party's language, on the channel they wrote from.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import select
from sqlalchemy.orm import Session

from cases import audit
from cases.errors import DomainError, InvalidInput
from cases.models import InboundMessage, Notification, Party, QueueHandled
from cases.outbox import Channel, NoticeKind, default_channels, enqueue

KINDS = ("reply", "change", "failed", "calendar", "declined", "unconfirmed", "landline")
REPLY_MAX = 120  # keeps the SMS within 3 segments in every language (tests/unit/notifiers/test_templates.py)


def handled_ids(session: Session, kind: str) -> set[int]:
    return set(session.scalars(select(QueueHandled.ref_id).where(QueueHandled.kind == kind)))


def mark_handled(session: Session, kind: str, ref_id: int, *, now: datetime, actor: str,
                 how: str = "handled", case_id: int | None = None) -> QueueHandled:
    """Take an item off the queue. Handling it twice is refused (someone else did it first)."""
    if kind not in KINDS:
        raise InvalidInput("kind", f"unknown queue item kind {kind!r}")
    existing = session.scalar(select(QueueHandled).where(QueueHandled.kind == kind,
                                                          QueueHandled.ref_id == ref_id))
    if existing is not None:
        raise DomainError(f"already handled by {existing.handled_by}")
    row = QueueHandled(kind=kind, ref_id=ref_id, handled_by=actor, handled_at=now, how=how)
    session.add(row)
    session.flush()
    audit.record(session, at=now, actor=actor, action="queue.handled", case_id=case_id,
                 subject_kind=kind, subject_id=ref_id, how=how)
    return row


def answer_reply(session: Session, inbound: InboundMessage, text: str, *, now: datetime,
                 actor: str) -> list[Notification]:
    """Answer a party's message: a ``staff_reply`` notice in the party's language, by SMS when
    they wrote by SMS (else their preferred channel); the message leaves the queue."""
    message = " ".join(text.split())
    done = session.scalar(select(QueueHandled).where(QueueHandled.kind == "reply",
                                                      QueueHandled.ref_id == inbound.id))
    if done is not None:
        raise DomainError(f"already handled by {done.handled_by}")
    if not message:
        raise InvalidInput("answer", "write the answer to send")
    if len(message) > REPLY_MAX:
        raise InvalidInput("answer", f"keep it to {REPLY_MAX} characters so it fits one text "
                                     f"(it has {len(message)})")
    party = session.get(Party, inbound.party_id) if inbound.party_id is not None else None
    if party is None:
        raise DomainError("this message came from a number we do not know; call them instead")
    channels = [Channel.SMS] if party.phone else default_channels(party)
    rows = enqueue(session, kind=NoticeKind.STAFF_REPLY, recipient=party, due_at=now, now=now,
                   case_id=party.case_id, occurrence=f"inbound-{inbound.id}",
                   context={"case_id": party.case_id, "message": message}, channels=channels)
    mark_handled(session, "reply", inbound.id, now=now, actor=actor, how="answered",
                 case_id=party.case_id)
    return rows
