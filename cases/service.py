"""Use cases of a case outside its referral and its sessions: intake and screening, returning a
case to investigation, weekly availability, and finding a case. The referral (decision and
consent) is :mod:`cases.referrals`; sessions and their outcomes are ``scheduler.booking``'s.

Every function takes the caller's ``Session`` and a ``now``; none commits. Notices are written to
the outbox in the same transaction as the change that causes them.
"""

from __future__ import annotations

import enum
import secrets
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import date, datetime, time

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from cases import audit, lifecycle, phone_lines
from cases.contacts import (
    normalise_channels,
    normalise_email,
    normalise_language,
    normalise_phone,
    normalise_zone,
)
from cases.eligibility import Complaint, Recommendation, evaluate
from cases.errors import InvalidInput, NotFound
from cases.models import (
    AvailabilityWindow,
    Case,
    CaseState,
    MediationSession,
    Outcome,
    Party,
    PartyRole,
    SessionStatus,
)
from cases.outbox import NoticeKind, enqueue
from cases.policy import Policy
from cases.session_needs import STEP_FREE, SessionNeeds, apply_needs, normalise_session_language
from cases.weekly import WeeklyWindow


@dataclass(frozen=True)
class NewParty:
    role: str
    full_name: str
    phone: str | None = None
    #: how messages greet the party ("Ms. Nowak", "Abdul Rahman"); empty: no name in greetings
    message_name: str | None = None
    email: str | None = None
    language: str = "en"
    channels: str | list[str] = "sms,email"
    time_zone: str = "America/Chicago"
    officer_star: str | None = None
    interpreter: str | None = None
    accessibility: str | None = None
    guardian_name: str | None = None
    area: str | None = None
    latitude: float | None = None
    longitude: float | None = None


@dataclass(frozen=True)
class NewCase:
    log_number: str
    incident_date: date
    allegation_categories: list[str]
    parties: list[NewParty]
    injury: bool = False
    criminal_conduct: bool = False
    pending_litigation: bool = False
    staff_notes: str = ""
    accepts_video: bool = False
    co_mediation: bool | None = None
    extra: dict[str, str] = field(default_factory=dict)
    #: the session's language (None: the policy's working language), interpreter (None: the
    #: first one a party asked for, if any) and access needs (None: step-free access when a
    #: party noted an accessibility need); see cases.session_needs
    session_language: str | None = None
    interpreter: str | None = None
    access_needs: list[str] | None = None


def validate_party(new: NewParty, prefix: str) -> Party:
    """Check and normalise one party; raise ``InvalidInput`` naming ``prefix.field``."""
    try:
        role = PartyRole(new.role.strip().lower())
    except ValueError as exc:
        raise InvalidInput(f"{prefix}.role", f"must be complainant or officer, not {new.role!r}") \
            from exc
    name = new.full_name.strip()
    if not name:
        raise InvalidInput(f"{prefix}.full_name", "is required")
    phone = normalise_phone(new.phone, f"{prefix}.phone") if new.phone else None
    email = normalise_email(new.email, f"{prefix}.email") if new.email else None
    if phone is None and email is None:
        raise InvalidInput(f"{prefix}", "needs a phone number or an email address")
    channels = normalise_channels(new.channels, f"{prefix}.channels")
    channels = [c for c in channels if (c == "sms" and phone) or (c == "email" and email)]
    if not channels:
        channels = ["sms"] if phone else ["email"]
    if role is PartyRole.OFFICER and not (new.officer_star or "").strip():
        raise InvalidInput(f"{prefix}.officer_star", "is required for an officer")
    return Party(
        role=role.value,
        full_name=name,
        message_name=" ".join((new.message_name or "").split()) or None,
        phone=phone,
        email=email,
        language=normalise_language(new.language, f"{prefix}.language"),
        channels=channels,
        time_zone=normalise_zone(new.time_zone, f"{prefix}.time_zone"),
        officer_star=(new.officer_star or "").strip() or None,
        interpreter=new.interpreter or None,
        accessibility=new.accessibility or None,
        guardian_name=new.guardian_name or None,
        area=new.area or None,
        latitude=new.latitude,
        longitude=new.longitude,
        link_token=secrets.token_urlsafe(24),
    )


def _intake_needs(case: Case, new: NewCase, parties: list[Party], policy: Policy) -> None:
    """The session's needs as staff set them at intake, with the defaults of :class:`NewCase`."""
    asked = next((p.interpreter for p in parties if p.interpreter), None)
    interpreter = new.interpreter
    if interpreter is None and asked is not None:
        try:
            interpreter = normalise_session_language(asked, "interpreter")
        except InvalidInput:
            interpreter = None  # free text a coordinator can turn into a code on the case page
    access = new.access_needs
    if access is None:
        access = [STEP_FREE] if any(p.accessibility for p in parties) else []
    apply_needs(case, SessionNeeds(session_language=new.session_language or "",
                                   interpreter=interpreter or "", access_needs=access),
                policy)


def add_case(session: Session, new: NewCase, policy: Policy, *, now: datetime, actor: str) -> Case:
    """Record a complaint screened for mediation, with its parties, and recommend a decision."""
    log_number = new.log_number.strip()
    if not log_number:
        raise InvalidInput("log_number", "is required")
    if new.incident_date > now.date():
        raise InvalidInput("incident_date", f"{new.incident_date} is in the future")
    categories = [policy.normalise_category(c) for c in new.allegation_categories]
    parties = [validate_party(p, f"parties[{i}]") for i, p in enumerate(new.parties)]
    roles = {p.role for p in parties}
    if roles != {PartyRole.COMPLAINANT.value, PartyRole.OFFICER.value}:
        raise InvalidInput("parties", "a case needs at least one complainant and one officer")
    if session.scalar(select(Case.id).where(Case.log_number == log_number)) is not None:
        raise InvalidInput("log_number", "a case with this log number already exists")
    case = Case(
        log_number=log_number,
        incident_date=new.incident_date,
        allegation_categories=categories,
        injury=new.injury,
        criminal_conduct=new.criminal_conduct,
        pending_litigation=new.pending_litigation,
        staff_notes=new.staff_notes,
        accepts_video=new.accepts_video,
        co_mediation=policy.co_mediation if new.co_mediation is None else new.co_mediation,
        state=CaseState.SCREENING.value,
        created_at=now,
        updated_at=now,
    )
    for party in parties:
        party.created_at = now
        case.parties.append(party)
    _intake_needs(case, new, parties, policy)
    session.add(case)
    session.flush()
    phone_lines.note_numbers(session, (p.phone for p in parties), now=now)
    recommendation = screen(session, case, policy, now=now)
    audit.record(session, at=now, actor=actor, action="case.created", case_id=case.id,
                 subject_kind="case", subject_id=case.id, parties=len(parties),
                 recommendation="eligible" if recommendation.eligible else "ineligible")
    return case


def officer_last_mediated_on(session: Session, case: Case) -> date | None:
    stars = [p.officer_star for p in case.party(PartyRole.OFFICER) if p.officer_star]
    if not stars:
        return None
    last = session.scalar(
        select(func.max(MediationSession.starts_at))
        .join(Party, Party.case_id == MediationSession.case_id)
        .where(
            Party.officer_star.in_(stars),
            MediationSession.case_id != case.id,
            MediationSession.status == SessionStatus.COMPLETED.value,
        )
    )
    if last is None:
        return None
    return last.date() if isinstance(last, datetime) else None


def screen(session: Session, case: Case, policy: Policy, *, now: datetime) -> Recommendation:
    """Run the policy engine and keep its recommendation and reasons on the case."""
    complaint = Complaint(
        categories=tuple(case.allegation_categories),
        injury=case.injury,
        criminal_conduct=case.criminal_conduct,
        pending_litigation=case.pending_litigation,
        officer_last_mediated_on=officer_last_mediated_on(session, case),
    )
    recommendation = evaluate(complaint, policy, today=now.date())
    case.recommendation = "eligible" if recommendation.eligible else "ineligible"
    case.recommendation_reasons = list(recommendation.reasons)
    return recommendation


class ReturnReason(enum.StrEnum):
    """Why a case left mediation, in words the parties' ``case_returned`` notice can say."""

    DECLINED = "declined"  # not everyone agreed to take part
    NO_ANSWER = "no_answer"  # the deadline passed without every answer
    WITHDRAWN = "withdrawn"
    NO_SHOW = "no_show"
    RESCHEDULE_LIMIT = "reschedule_limit"
    OTHER = "other"


def return_case(session: Session, case: Case, reason: str, *, now: datetime, actor: str,
                why: ReturnReason = ReturnReason.OTHER, outcome: Outcome | None = None,
                told: Sequence[int] = ()) -> None:
    """Send the case back to investigation (with ``outcome`` if one applies), tell every party
    — except those in ``told``, who just heard it another way — kindly and in their language
    what happens next (``case_returned``), and tell staff. ``reason`` is staff's text; parties
    only ever see ``why``."""
    lifecycle.transition(session, case, CaseState.RETURNED, at=now, actor=actor, reason=reason)
    if outcome is not None:
        case.outcome = outcome.value
    for party in case.parties:
        if party.id in told:
            continue
        enqueue(session, kind=NoticeKind.CASE_RETURNED, recipient=party, due_at=now, now=now,
                case_id=case.id, context={"case_id": case.id, "why": why.value})
    enqueue(session, kind=NoticeKind.STAFF_ALERT, recipient=None, due_at=now, now=now,
            case_id=case.id, occurrence=f"returned-{case.id}",
            context={"case_id": case.id, "alert": "case_returned", "reason": reason})


def parse_weekly_window(text: str, field: str = "availability") -> WeeklyWindow:
    """'Mon 17:00-20:00' -> WeeklyWindow(0, 17:00, 20:00)."""
    days = ["mon", "tue", "wed", "thu", "fri", "sat", "sun"]
    try:
        day_text, span = text.strip().split(None, 1)
        start_text, end_text = span.replace(" ", "").split("-", 1)
        weekday = days.index(day_text[:3].lower())
        start, end = time.fromisoformat(start_text), time.fromisoformat(end_text)
    except ValueError as exc:
        raise InvalidInput(field, f"{text!r} is not like 'Mon 17:00-20:00'") from exc
    if start >= end:
        raise InvalidInput(field, f"{text!r}: the window ends before it starts")
    return WeeklyWindow(weekday, start, end)


def set_weekly_availability(
    session: Session, *, owner_kind: str, owner_id: int, windows: list[WeeklyWindow],
    time_zone: str, now: datetime, actor: str, case_id: int | None = None,
) -> list[AvailabilityWindow]:
    """Replace an owner's weekly windows (a party's answer or a mediator's standing hours)."""
    if owner_kind not in ("party", "mediator"):
        raise InvalidInput("owner_kind", "must be party or mediator")
    zone = normalise_zone(time_zone)
    existing = session.scalars(select(AvailabilityWindow).where(
        AvailabilityWindow.owner_kind == owner_kind, AvailabilityWindow.owner_id == owner_id,
        AvailabilityWindow.weekday.is_not(None))).all()
    for row in existing:
        session.delete(row)
    rows = [
        AvailabilityWindow(owner_kind=owner_kind, owner_id=owner_id, weekday=w.weekday,
                           start_local=w.start.strftime("%H:%M"),
                           end_local=w.end.strftime("%H:%M"), time_zone=zone, created_at=now)
        for w in windows
    ]
    session.add_all(rows)
    audit.record(session, at=now, actor=actor, action="availability.set", case_id=case_id,
                 subject_kind=owner_kind, subject_id=owner_id, windows=len(rows))
    return rows


def get_case(session: Session, case_id: int) -> Case:
    case = session.get(Case, case_id)
    if case is None:
        raise NotFound("case", case_id)
    return case


def find_case(session: Session, ident: str) -> Case:
    """By numeric id or by log number."""
    case = session.scalar(select(Case).where(Case.log_number == ident))
    if case is None and ident.isdigit():
        case = session.get(Case, int(ident))
    if case is None:
        raise NotFound("case", ident)
    return case
