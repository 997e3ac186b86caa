"""What the matcher would book for one case, and the next best times, for a member of staff
to choose from (``scheduler.matching.match`` on the same inputs the scheduler job reads).

A proposal is only a suggestion: booking it goes through ``scheduler.booking.book``, which
checks every hard constraint against the rows again.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from datetime import datetime

from sqlalchemy.orm import Session

from cases.models import MediationSession
from scheduler.booking import BookingOption, Rules
from scheduler.candidates import Matcher, option_of, read_inputs
from scheduler.matching import match


@dataclass(frozen=True, slots=True)
class Proposals:
    """Best first; ``reason`` says why the matcher could not place the case (options empty)."""

    options: tuple[BookingOption, ...]
    reason: str | None


def propose(session: Session, case_id: int, rules: Rules, *, now: datetime, count: int = 3,
            matcher: Matcher = match, exclude_mediators: frozenset[int] = frozenset()
            ) -> Proposals:
    """The matcher's proposal for ``case_id`` and up to ``count - 1`` alternatives at other
    times (each found by running the matcher again with the earlier times taken), without
    ``exclude_mediators`` (e.g. one who just declined)."""
    inputs = read_inputs(session, rules, now=now, case_ids=[case_id])
    if not inputs.cases:
        return Proposals((), "the case is not waiting for a session")
    mediators = tuple(m for m in inputs.mediators
                      if int(m.mediator_id) not in exclude_mediators)
    options: list[BookingOption] = []
    reason: str | None = None
    for _ in range(count):
        result = matcher(inputs.cases, mediators, inputs.venues, now=now, policy=inputs.policy)
        if not result.bookings:
            reason = result.unbooked.get(str(case_id), "no time suits everyone")
            break
        booking = result.bookings[0]
        options.append(option_of(booking))
        taken = (booking.start, booking.end)
        mediators = tuple(replace(m, busy=tuple(sorted((*m.busy, taken)))) for m in mediators)
    return Proposals(tuple(options), reason if not options else None)


def propose_moves(session: Session, row: MediationSession, rules: Rules, *, now: datetime,
                  count: int = 3, matcher: Matcher = match) -> Proposals:
    """Up to ``count`` other times for the booked session ``row``, found by the matcher on the
    same inputs and rules as any booking, with ``row`` itself left out of everyone's time and
    weekly counts (as :func:`scheduler.booking.reschedule` checks it) and its current time
    never offered again.

    Times with the session's own mediator(s) come first — they already agreed to it and know
    the case — then the matcher's other choices. Each offer is a suggestion only: moving to it
    goes through ``scheduler.booking.reschedule``, which checks every rule again.
    """
    inputs = read_inputs(session, rules, now=now, moving=row)
    if not inputs.cases:
        return Proposals((), "the case is not waiting for a session")
    current = (row.starts_at, row.ends_at)
    everyone = tuple(replace(m, busy=tuple(sorted((*m.busy, current))))
                     for m in inputs.mediators)
    own = {str(row.mediator_id), *([str(row.co_mediator_id)] if row.co_mediator_id else [])}
    options: list[BookingOption] = []
    reason: str | None = None
    taken: list[tuple[datetime, datetime]] = []
    for pool in ([m for m in everyone if m.mediator_id in own], list(everyone)):
        mediators = tuple(replace(m, busy=tuple(sorted((*m.busy, *taken)))) for m in pool)
        while len(options) < count and mediators:
            result = matcher(inputs.cases, mediators, inputs.venues, now=now,
                             policy=inputs.policy)
            if not result.bookings:
                reason = result.unbooked.get(str(row.case_id), "no time suits everyone")
                break
            booking = result.bookings[0]
            options.append(option_of(booking))
            span = (booking.start, booking.end)
            taken.append(span)
            mediators = tuple(replace(m, busy=tuple(sorted((*m.busy, span)))) for m in mediators)
    return Proposals(tuple(options), reason if not options else None)
