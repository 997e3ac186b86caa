"""The ``reservations`` rows that make a double booking impossible, whatever the callers do.

A booking takes one active ``Reservation`` per resource: ``mediator:<id>`` (and the co-mediator),
``venue:<id>`` for an in-person venue (a video account hosts many meetings and takes none),
``party:<id>`` for each party and the party's ``person_key`` (``officer:<star>``, or a digest of
their number: the same officer, or the same complainant, can be a party to two cases). Mediator
and venue reservations run on past the session's end by the policy's buffer, so two sessions on
one of them are at least a buffer apart.

The database, not this code, refuses the overlap: PostgreSQL with an exclusion constraint on the
active reservations of one resource (``23P01``), SQLite with a trigger while ``BEGIN IMMEDIATE``
serialises writers (migration 0002). Losing that race raises :class:`SlotTaken`.
"""

from __future__ import annotations

from sqlalchemy import select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from cases.errors import DomainError
from cases.models import MediationSession, Party, Reservation, Venue
from cases.policy import Policy
from scheduler import profiles
from scheduler.booking.constraints import BookingOption


class SlotTaken(DomainError):
    """Another booking took one of the resources at that time first."""

    def __init__(self, detail: str = "") -> None:
        super().__init__("slot taken" + (f": {detail}" if detail else ""))


def is_slot_taken(exc: IntegrityError) -> bool:
    """True for the no-overlap guard's error on either backend, False for other integrity errors."""
    orig = exc.orig
    if getattr(orig, "sqlstate", None) == "23P01":
        return True
    return "reservation overlaps" in str(orig)


def _reservations(session: Session, row: MediationSession, option: BookingOption,
                  policy: Policy) -> list[Reservation]:
    venue = session.get(Venue, option.venue_id)
    padded = option.end + policy.buffer
    spans = [(f"mediator:{m}", padded) for m in option.mediator_ids]
    if venue is not None and venue.kind != "video":
        spans.append((f"venue:{venue.id}", padded))
    for party in session.scalars(select(Party).where(Party.case_id == row.case_id)):
        spans.append((f"party:{party.id}", option.end))
        spans.append((profiles.person_key(party), option.end))
    return [Reservation(session=row, resource=r, starts_at=option.start, ends_at=end, active=True)
            for r, end in dict(spans).items()]


def reserve(session: Session, row: MediationSession, option: BookingOption, policy: Policy) -> None:
    """Insert the option's reservations in a savepoint; losing the race raises ``SlotTaken``."""
    try:
        with session.begin_nested():
            session.add_all(_reservations(session, row, option, policy))
            session.flush()
    except IntegrityError as exc:
        if is_slot_taken(exc):
            raise SlotTaken(f"{option.start.isoformat()}") from None
        raise


def release(session: Session, row: MediationSession) -> None:
    """Free the session's resources (the rows stay, inactive, as the record of what it held)."""
    session.execute(update(Reservation).where(Reservation.session_id == row.id,
                                              Reservation.active.is_(True))
                    .values(active=False).execution_options(synchronize_session="fetch"))
