"""Use cases of the case's life before scheduling: intake, screening, decision, consent, outcome.

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
from cases.deadlines import deadline_after, is_past
from cases.eligibility import Complaint, Recommendation, evaluate
from cases.errors import DeadlinePassed, DomainError, IllegalTransition, InvalidInput, NotFound
from cases.models import (
    AvailabilityWindow,
    Case,
    CaseState,
    Consent,
    ConsentStatus,
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


def decide(
    session: Session,
    case: Case,
    *,
    eligible: bool,
    reason: str | None,
    policy: Policy,
    now: datetime,
    actor: str,
) -> None:
    """Staff's decision. Overriding the policy's recommendation needs a reason, which is kept.

    An eligible case is referred at once: consent rows are opened and the eligibility notice and
    consent request are written to the outbox for each party (officer first if the policy says so).
    """
    target = CaseState.ELIGIBLE if eligible else CaseState.INELIGIBLE
    if case.state != CaseState.SCREENING.value:
        raise IllegalTransition(case.id, case.state, target.value)
    overrides = (case.recommendation == "eligible") != eligible
    text = (reason or "").strip()
    if overrides and not text:
        raise InvalidInput("reason", "overriding the policy's recommendation needs a reason")
    case.decided_by = actor
    case.decision_reason = text or None
    case.decision_overrode_policy = overrides
    lifecycle.transition(session, case, target, at=now, actor=actor,
                         reason="override" if overrides else "as recommended")
    if eligible:
        refer(session, case, policy, now=now, actor=actor)


def refer(session: Session, case: Case, policy: Policy, *, now: datetime, actor: str) -> None:
    """Open a consent request per party. Each party's deadline is a date — the referral day plus
    the policy's days — and lasts to the end of that day in the party's own zone; the case's
    ``consent_deadline`` is the latest of them."""
    case.referred_at = now
    deadlines = {party.id: deadline_after(now, policy.consent_deadline.days, party.time_zone)
                 for party in case.parties}
    case.consent_deadline = max(deadlines.values(), default=None)
    case.booking_target = now + policy.booking_target
    case.booking_deadline = now + policy.booking_limit
    lifecycle.transition(session, case, CaseState.AWAITING_CONSENT, at=now, actor=actor)
    officers_first = policy.consent_order == "officer_first"
    for party in case.parties:
        consent = Consent(case_id=case.id, party_id=party.id, deadline=deadlines[party.id])
        session.add(consent)
        if officers_first and party.role != PartyRole.OFFICER.value:
            continue
        _ask_for_consent(session, case, party, consent, now=now)


def _ask_for_consent(session: Session, case: Case, party: Party, consent: Consent, *,
                     now: datetime) -> None:
    consent.requested_at = now
    deadline = consent.deadline.isoformat() if consent.deadline else None
    for kind in (NoticeKind.ELIGIBILITY_NOTICE, NoticeKind.CONSENT_REQUEST):
        enqueue(session, kind=kind, recipient=party, due_at=now, now=now, case_id=case.id,
                context={"case_id": case.id, "party_id": party.id, "deadline": deadline})


def consent_for(session: Session, case: Case, party: Party) -> Consent:
    consent = session.scalar(
        select(Consent).where(Consent.case_id == case.id, Consent.party_id == party.id))
    if consent is None:
        raise NotFound("consent request", f"for party {party.id} of case {case.id}")
    return consent


def record_consent(
    session: Session,
    case: Case,
    party: Party,
    *,
    granted: bool,
    channel: str,
    policy: Policy,
    now: datetime,
    actor: str,
) -> Consent:
    """A party's answer (SMS reply, link or taken by staff on the phone).

    A decline returns the case to investigation and tells staff; the last consent moves the case
    on to scheduling and asks every party for availability.
    """
    if case.state != CaseState.AWAITING_CONSENT.value:
        raise DomainError(f"case {case.id} is not awaiting consent (it is {case.state})")
    consent = consent_for(session, case, party)
    if consent.status != ConsentStatus.PENDING.value:
        raise DomainError(f"party {party.id} already answered ({consent.status})")
    if is_past(consent.deadline, now):
        raise DeadlinePassed(f"the deadline for party {party.id} to answer has passed")
    consent.status = (ConsentStatus.GRANTED if granted else ConsentStatus.DECLINED).value
    consent.answered_at = now
    consent.channel = channel
    consent.recorded_by = actor
    audit.record(session, at=now, actor=actor, action="consent.answered", case_id=case.id,
                 subject_kind="party", subject_id=party.id, role=party.role,
                 granted=granted, channel=channel)
    enqueue(session, kind=NoticeKind.CONSENT_RECEIVED, recipient=party, due_at=now, now=now,
            case_id=case.id, context={"case_id": case.id, "granted": granted})
    if not granted:  # the party who said no was just told what happens next
        return_case(session, case, f"{party.role} declined mediation", now=now, actor=actor,
                    why=ReturnReason.DECLINED, told=(party.id,))
        return consent
    consents = session.scalars(select(Consent).where(Consent.case_id == case.id)).all()
    for other in consents:
        if other.status == ConsentStatus.PENDING.value and other.requested_at is None:
            other_party = session.get(Party, other.party_id)
            assert other_party is not None
            _ask_for_consent(session, case, other_party, other, now=now)
    if all(c.status == ConsentStatus.GRANTED.value for c in consents):
        lifecycle.transition(session, case, CaseState.CONSENTED, at=now, actor=actor)
        lifecycle.transition(session, case, CaseState.SCHEDULING, at=now, actor="system")
        for each in case.parties:
            enqueue(session, kind=NoticeKind.AVAILABILITY_REQUEST, recipient=each, due_at=now,
                    now=now, case_id=case.id, context={"case_id": case.id})
    return consent


def expire_consents(session: Session, *, now: datetime) -> list[int]:
    """Cases where a party's consent deadline (the end of the stated day in their zone) passed
    without an answer go back to investigation; everyone is told."""
    late = (select(Consent.case_id)
            .where(Consent.status == ConsentStatus.PENDING.value, Consent.deadline < now))
    cases = session.scalars(
        select(Case).where(Case.state == CaseState.AWAITING_CONSENT.value, Case.id.in_(late))
        .order_by(Case.id)
    ).all()
    for case in cases:
        for consent in case.consents:
            if consent.status == ConsentStatus.PENDING.value:
                consent.status = ConsentStatus.EXPIRED.value
        return_case(session, case, "consent deadline passed without every party's consent",
                    now=now, actor="system", why=ReturnReason.NO_ANSWER)
    return [c.id for c in cases]


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


def record_outcome(session: Session, case: Case, outcome: Outcome, *, now: datetime,
                   actor: str, note: str | None = None) -> None:
    """A successful mediation closes the case; an impasse returns it to investigation."""
    if outcome not in (Outcome.SUCCESSFUL, Outcome.IMPASSE):
        raise InvalidInput("outcome", "record a no-show or withdrawal through its own flow")
    booked = [s for s in case.sessions if s.status == SessionStatus.BOOKED.value]
    if case.state != CaseState.BOOKED.value or not booked:
        raise DomainError(f"case {case.id} has no booked session to record an outcome for")
    session_row = booked[-1]
    if session_row.starts_at > now:
        raise DomainError(f"session {session_row.id} has not started yet")
    session_row.status = SessionStatus.COMPLETED.value
    session_row.updated_at = now
    case.outcome = outcome.value
    if outcome is Outcome.SUCCESSFUL:
        lifecycle.transition(session, case, CaseState.COMPLETED, at=now, actor=actor,
                             reason="successful mediation")
    else:
        lifecycle.transition(session, case, CaseState.RETURNED, at=now, actor=actor,
                             reason="impasse")
    for party in case.parties:
        enqueue(session, kind=NoticeKind.OUTCOME, recipient=party, due_at=now, now=now,
                case_id=case.id, context={"case_id": case.id, "outcome": outcome.value})
    audit.record(session, at=now, actor=actor, action="case.outcome", case_id=case.id,
                 subject_kind="session", subject_id=session_row.id, outcome=outcome.value,
                 note_given=bool(note))


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
