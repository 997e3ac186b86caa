"""The suppression list: one place that says whether an address may be sent to on a channel.

Opt-out belongs to the phone number, an unsubscribe to the email address — not to a party row —
so a repeat complainant, or an officer named again in a later complaint, is not texted after they
said STOP. Every place that decides whether to send asks here (the dispatcher's claim, the
fallback to another channel, the replies to inbound texts); every opt-out is written here (an
inbound opt-out word, the provider's "recipient opted out", an email unsubscribe or spam report).
An SMS suppression is lifted only by START/UNSTOP from that number; nothing lifts an email one
but a person (not built: SendGrid keeps its own list too).

Addresses are compared in canonical form: E.164 for phone numbers, lowercased for email. Services
on the caller's ``Session``; they never commit. Audit events name the channel and source only.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from datetime import datetime

from sqlalchemy import select
from sqlalchemy.orm import Session

from cases import audit
from cases.contacts import normalise_phone
from cases.database import insert_ignoring_duplicates
from cases.errors import InvalidInput
from cases.models import Suppression
from cases.outbox import Channel

ACTOR = "suppressions"


_E164 = re.compile(r"\+[1-9]\d{6,14}")


def address_key(channel: Channel, address: str) -> str:
    """The canonical form an address is listed under ('' for no address)."""
    text = address.strip()
    if not text:
        return ""
    if channel is Channel.EMAIL:
        return text.lower()
    if _E164.fullmatch(text):  # as stored on parties and sent by Twilio: no parsing needed
        return text
    try:
        return normalise_phone(text)
    except InvalidInput:  # a short code or a number phonenumbers does not know: as given
        return text


Entry = tuple[Channel, str]
"""A channel and an address in canonical form."""


def suppressed(session: Session, wanted: Iterable[tuple[Channel, str]]) -> set[Entry]:
    """Which of the (channel, address) pairs are suppressed now, as canonical entries — one
    query for a whole batch. Look results up with ``(channel, address_key(channel, address))``."""
    keys = {(channel, key) for channel, address in wanted if (key := address_key(channel, address))}
    if not keys:
        return set()
    rows = session.execute(
        select(Suppression.channel, Suppression.address).where(
            Suppression.in_force(), Suppression.address.in_({key for _, key in keys})
        )
    )
    found = {(Channel(channel), address) for channel, address in rows}
    return found & keys


def is_suppressed(session: Session, channel: Channel, address: str | None) -> bool:
    return bool(suppressed(session, [(channel, address or "")]))


def suppress(
    session: Session, channel: Channel, address: str, *, source: str, now: datetime
) -> bool:
    """Put ``address`` on the list for ``channel``. True when it was not suppressed before (the
    one time an opt-out is confirmed); False when it already was, or there is no address.

    Safe under concurrent callers: the row is inserted with ON CONFLICT DO NOTHING and then
    locked, so two webhooks racing over one number make one entry and one "added" event.
    """
    key = address_key(channel, address)
    if not key:
        return False
    inserted = session.execute(
        insert_ignoring_duplicates(session, Suppression, ["channel", "address"])
        .values(channel=channel.value, address=key, since=now, source=source, lifted_at=None)
        .returning(Suppression.id)
    ).scalar()
    subject_id = inserted
    if inserted is None:  # listed before: renewed if it had been lifted
        row = session.scalar(
            select(Suppression)
            .where(Suppression.channel == channel.value, Suppression.address == key)
            .with_for_update()
            .execution_options(populate_existing=True)
        )
        if row is None or row.lifted_at is None:
            return False
        row.since, row.source, row.lifted_at = now, source, None
        subject_id = row.id
    audit.record(session, at=now, actor=ACTOR, action="suppression.added",
                 subject_kind="suppression", subject_id=subject_id, channel=channel.value,
                 source=source)  # fmt: skip
    return True


def lift(session: Session, channel: Channel, address: str, *, source: str, now: datetime) -> bool:
    """Take ``address`` off the list for ``channel``. True when it was suppressed."""
    key = address_key(channel, address)
    if not key:
        return False
    row = session.scalar(
        select(Suppression)
        .where(Suppression.channel == channel.value, Suppression.address == key,
               Suppression.in_force())
        .with_for_update()
    )
    if row is None:
        return False
    row.lifted_at = now
    audit.record(session, at=now, actor=ACTOR, action="suppression.lifted",
                 subject_kind="suppression", subject_id=row.id, channel=channel.value,
                 source=source)  # fmt: skip
    return True
