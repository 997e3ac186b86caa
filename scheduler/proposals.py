"""What the matcher would book for one case, and the next best times, for a member of staff
to choose from (``scheduler.matching.match`` on the same inputs the scheduler job reads).

A proposal is only a suggestion: booking it goes through ``scheduler.booking.book``, which
checks every hard constraint against the rows again.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from datetime import datetime

from sqlalchemy.orm import Session

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
