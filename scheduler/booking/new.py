"""New sessions: :func:`book` one option, or :func:`book_first_available` of several.

:func:`book` never trusts its option, whoever proposes it (the matcher or a member of staff): it
re-checks every hard constraint against the rows with
:func:`scheduler.booking.constraints.problems` — the matcher's own rules of qualification,
conflicts, languages and venues, the weekly limit (counted under a lock on the mediator),
calendar busy times, opening hours, the booking deadline and session length — and raises
:class:`NotBookable` with the reasons. Only the windows the people gave may be booked over, with
a reason that the audit keeps. A lost race for a resource raises ``SlotTaken``
(:mod:`scheduler.booking.reservations`); :func:`book_first_available` then tries the next option.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session, sessionmaker

from calendars.sessions import new_session_uid
from cases import audit, lifecycle
from cases.database import transaction
from cases.errors import NotFound
from cases.models import Case, CaseState, MediationSession, SessionStatus
from cases.outbox import NoticeKind
from scheduler import reminders
from scheduler.booking.constraints import BookingOption, NotBookable, Rules, problems
from scheduler.booking.notices import notify
from scheduler.booking.reservations import SlotTaken, is_slot_taken, reserve
from scheduler.profiles import ACTIVE

log = logging.getLogger(__name__)


class NotSchedulable(NotBookable):
    """The case cannot take a booking now (not in scheduling, or it already has a session)."""


def book(session: Session, case: Case, option: BookingOption, rules: Rules, *, now: datetime,
         actor: str, override_reason: str | None = None) -> MediationSession:
    """Book ``option`` for ``case``: confirmations go out and reminders are planned.

    ``override_reason`` (a member of staff's, like "agreed by phone") lets the session fall
    outside the windows the parties and mediators gave; it is recorded in the audit. Every other
    hard constraint holds whatever the caller (:mod:`scheduler.booking.constraints`).

    Raises ``NotBookable`` (hard constraints), ``NotSchedulable`` (the case is not being
    scheduled) or ``SlotTaken`` (a resource is taken; the caller's transaction is still usable).
    """
    session.flush()
    session.refresh(case, with_for_update=True)  # one booking at a time per case
    if case.state != CaseState.SCHEDULING.value:
        raise NotSchedulable([f"case {case.id} is {case.state}, not scheduling"])
    active = session.scalar(select(MediationSession.id).where(
        MediationSession.case_id == case.id, MediationSession.status.in_(ACTIVE)))
    if active is not None:
        raise NotSchedulable([f"case {case.id} already has session {active}"])
    found = problems(session, case, option, rules, now=now)
    reasons = found.refusals(override_reason)
    if reasons:
        raise NotBookable(reasons)
    row = MediationSession(
        case_id=case.id, mediator_id=option.mediator_ids[0],
        co_mediator_id=option.mediator_ids[1] if len(option.mediator_ids) > 1 else None,
        venue_id=option.venue_id, starts_at=option.start, ends_at=option.end,
        status=SessionStatus.BOOKED.value,
        uid=new_session_uid(), sequence=0,
        interpreter=case.interpreter or next((p.interpreter for p in case.parties
                                              if p.interpreter), None),
        created_at=now, updated_at=now)
    with session.begin_nested():  # SlotTaken rolls back to here; the caller may go on
        session.add(row)
        session.flush()
        reserve(session, row, option, rules.policy)
    audit.record(session, at=now, actor=actor, action="session.booked",
                 case_id=case.id, subject_kind="session", subject_id=row.id,
                 mediators=list(option.mediator_ids), venue_id=option.venue_id,
                 starts_at=option.start.isoformat(), ends_at=option.end.isoformat(),
                 **found.overridden(override_reason))
    lifecycle.transition(session, case, CaseState.BOOKED, at=now, actor=actor)
    notify(session, row, NoticeKind.BOOKING_CONFIRMATION, now=now)
    reminders.apply_plan(session, row, rules.offsets, now)
    return row


@dataclass(frozen=True, slots=True)
class FirstAvailable:
    """The winning booking (None: every option failed) and why each earlier option failed."""

    session: MediationSession | None
    option: BookingOption | None
    failures: tuple[tuple[BookingOption, str], ...]


def book_first_available(factory: sessionmaker[Session], case_id: int,
                         options: Sequence[BookingOption], rules: Rules, *, now: datetime,
                         actor: str = "matcher") -> FirstAvailable:
    """Try ``options`` best first, each in a transaction of its own; the first to commit wins."""
    failures: list[tuple[BookingOption, str]] = []
    for option in options:
        try:
            with transaction(factory) as session:
                case = session.get(Case, case_id)
                if case is None:
                    raise NotFound("case", case_id)
                row = book(session, case, option, rules, now=now, actor=actor)
            return FirstAvailable(row, option, tuple(failures))
        except SlotTaken as exc:
            failures.append((option, str(exc)))
        except IntegrityError as exc:  # lost at commit rather than at flush
            if not is_slot_taken(exc):
                raise
            failures.append((option, "slot taken"))
        except NotSchedulable as exc:
            failures.append((option, str(exc)))
            break
        except NotBookable as exc:
            failures.append((option, str(exc)))
        log.info("case %s: option at %s not booked", case_id, option.start.isoformat())
    return FirstAvailable(None, None, tuple(failures))
