"""Referral: staff approve a screened case, each party is asked for consent, and the last consent
moves the case on to scheduling; a decline or silence past the deadline returns it.

Every function takes the caller's ``Session`` and a ``now``; none commits. Notices are written to
the outbox in the same transaction as the change that causes them.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import select
from sqlalchemy.orm import Session

from cases import audit, lifecycle
from cases.deadlines import deadline_after, is_past
from cases.errors import DeadlinePassed, DomainError, IllegalTransition, InvalidInput, NotFound
from cases.models import Case, CaseState, Consent, ConsentStatus, Party, PartyRole
from cases.outbox import NoticeKind, enqueue
from cases.policy import Policy
from cases.service import ReturnReason, return_case


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
