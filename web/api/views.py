"""ORM rows to response models, in one place so every router shows the same fields."""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.orm import Session, object_session

from cases.models import (
    AuditEvent,
    Case,
    Consent,
    InboundMessage,
    MediationSession,
    Mediator,
    MediatorCalendarSnapshot,
    Notification,
    Party,
    StaffUser,
    Venue,
)
from cases.privacy import mask_email, mask_phone
from web.api.schemas import (
    CalendarStatusOut,
    CaseOut,
    CaseSummary,
    ConsentOut,
    InboundOut,
    MediatorOut,
    NotificationOut,
    PartyOut,
    SessionOut,
    TimelineEntry,
    UserOut,
    VenueOut,
)


def case_summary(case: Case) -> CaseSummary:
    return CaseSummary(
        id=case.id, log_number=case.log_number, state=case.state,
        allegation_categories=list(case.allegation_categories),
        recommendation=case.recommendation, referred_at=case.referred_at,
        consent_deadline=case.consent_deadline, created_at=case.created_at)


def party_out(party: Party, consent: Consent | None) -> PartyOut:
    return PartyOut(
        id=party.id, role=party.role, full_name=party.full_name,
        message_name=party.message_name, phone=party.phone,
        email=party.email, language=party.language, channels=list(party.channels),
        time_zone=party.time_zone, officer_star=party.officer_star,
        interpreter=party.interpreter, accessibility=party.accessibility,
        guardian_name=party.guardian_name, sms_opted_out=party.sms_opted_out,
        consent=consent.status if consent else None)


def case_out(case: Case) -> CaseOut:
    consents = {c.party_id: c for c in case.consents}
    return CaseOut(
        **case_summary(case).model_dump(),
        incident_date=case.incident_date, injury=case.injury,
        criminal_conduct=case.criminal_conduct, pending_litigation=case.pending_litigation,
        staff_notes=case.staff_notes, accepts_video=case.accepts_video,
        co_mediation=case.co_mediation, session_language=case.session_language or "en",
        interpreter=case.interpreter, access_needs=list(case.access_needs or []),
        recommendation_reasons=[str(r) for r in case.recommendation_reasons],
        decided_by=case.decided_by, decision_reason=case.decision_reason,
        decision_overrode_policy=case.decision_overrode_policy,
        booking_target=case.booking_target, booking_deadline=case.booking_deadline,
        outcome=case.outcome, returned_reason=case.returned_reason, closed_at=case.closed_at,
        parties=[party_out(p, consents.get(p.id)) for p in case.parties])


def consent_out(consent: Consent) -> ConsentOut:
    return ConsentOut(
        party_id=consent.party_id, role=consent.party.role, status=consent.status,
        requested_at=consent.requested_at, deadline=consent.deadline,
        answered_at=consent.answered_at, channel=consent.channel,
        recorded_by=consent.recorded_by)


def session_out(row: MediationSession) -> SessionOut:
    return SessionOut(
        id=row.id, case_id=row.case_id, mediator_id=row.mediator_id,
        co_mediator_id=row.co_mediator_id, venue_id=row.venue_id, starts_at=row.starts_at,
        ends_at=row.ends_at, status=row.status, sequence=row.sequence,
        interpreter=row.interpreter, cancel_reason=row.cancel_reason,
        no_show_reason=row.no_show_reason)


def inbound_out(row: InboundMessage) -> InboundOut:
    return InboundOut(
        id=row.id, received_at=row.received_at, sender=row.from_masked, body=row.body,
        interpretation=row.interpretation, needs_staff=row.needs_staff, party_id=row.party_id,
        case_ids=[int(c) for c in row.case_ids or []])


def masked_address(row: Notification) -> str:
    if row.recipient_kind == "staff":
        return "staff"
    return mask_phone(row.to_address) if row.channel == "sms" else mask_email(row.to_address)


def notification_out(row: Notification, *, full_address: bool = False) -> NotificationOut:
    return NotificationOut(
        id=row.id, case_id=row.case_id, party_id=row.party_id, mediator_id=row.mediator_id,
        session_id=row.session_id, recipient_kind=row.recipient_kind, kind=row.kind,
        channel=row.channel, language=row.language,
        to=row.to_address if full_address else masked_address(row), status=row.status,
        attempts=row.attempts, due_at=row.due_at, sent_at=row.sent_at,
        delivered_at=row.delivered_at, last_error=row.last_error,
        fallback_of_id=row.fallback_of_id, created_at=row.created_at)


def timeline(session: Session, case: Case) -> list[TimelineEntry]:
    """Audit events, notices and sessions of a case, oldest first (no personal data)."""
    entries: list[TimelineEntry] = []
    for event in session.scalars(select(AuditEvent).where(AuditEvent.case_id == case.id)):
        entries.append(TimelineEntry(at=event.at, kind="audit", action=event.action,
                                     actor=event.actor,
                                     detail={"subject_kind": event.subject_kind,
                                             "subject_id": event.subject_id, **event.detail}))
    for note in session.scalars(select(Notification).where(Notification.case_id == case.id)):
        entries.append(TimelineEntry(
            at=note.created_at, kind="notification", action=f"{note.kind} ({note.channel})",
            detail={"id": note.id, "status": note.status, "recipient": note.recipient_kind,
                    "party_id": note.party_id, "session_id": note.session_id,
                    "sent_at": note.sent_at.isoformat() if note.sent_at else None,
                    "delivered_at": note.delivered_at.isoformat() if note.delivered_at else None,
                    "last_error": note.last_error}))
    for row in case.sessions:
        entries.append(TimelineEntry(
            at=row.created_at, kind="session", action=f"session {row.status}",
            detail={"session_id": row.id, "starts_at": row.starts_at.isoformat(),
                    "mediator_id": row.mediator_id, "venue_id": row.venue_id}))
    order = {"audit": 0, "session": 1, "notification": 2}
    entries.sort(key=lambda e: (e.at, order[e.kind]))
    return entries


def mediator_out(m: Mediator) -> MediatorOut:
    return MediatorOut(
        id=m.id, full_name=m.full_name, email=m.email, phone=m.phone,
        languages=list(m.languages), general_training_hours=m.general_training_hours,
        specialized_training_hours=m.specialized_training_hours,
        training_expires_on=m.training_expires_on,
        max_sessions_per_week=m.max_sessions_per_week, former_police=m.former_police,
        time_zone=m.time_zone, active=m.active, calendar_kind=m.calendar_kind,
        calendar_url=m.calendar_url, calendar_status=calendar_status_out(m))


def calendar_status_out(m: Mediator) -> CalendarStatusOut | None:
    session = object_session(m)
    snapshot = session.get(MediatorCalendarSnapshot, m.id) if session is not None else None
    if snapshot is None or m.calendar_kind == "none":
        return None
    return CalendarStatusOut(checked_at=snapshot.fetched_at, read_at=snapshot.last_ok_at,
                             stale=snapshot.stale, error=snapshot.last_error)


def venue_out(v: Venue) -> VenueOut:
    return VenueOut(id=v.id, name=v.name, kind=v.kind, address=v.address, neutral=v.neutral,
                    accessible=v.accessible, features=list(v.features or []),
                    capacity=v.capacity, time_zone=v.time_zone,
                    video_url=v.video_url, active=v.active)


def user_out(u: StaffUser) -> UserOut:
    return UserOut(id=u.id, username=u.username, role=u.role, active=u.active,
                   created_at=u.created_at)
