"""What needs a person now, each item with why: the staff work queue's read side.

Items come from the rows (nothing is copied into a queue table); an item a member of staff
handled is recorded in ``queue_handled`` (``cases.queue``) and leaves the queue.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime, timedelta

from sqlalchemy import select
from sqlalchemy.orm import Session

from cases import confirmations
from cases.models import (
    AuditEvent,
    Case,
    CaseState,
    Consent,
    ConsentStatus,
    InboundMessage,
    MediationSession,
    Mediator,
    MediatorCalendarSnapshot,
    Notification,
    NotificationStatus,
    Party,
    SessionStatus,
)
from cases.phone_lines import LANDLINE_REASON
from cases.queue import handled_ids
from scheduler.booking import Rules
from scheduler.candidates import read_inputs
from scheduler.matching import match

PLAIN_ERRORS = (
    ("21610", "The person replied STOP to our texts, so texts to them are blocked."),
    ("21614", "The number is not a mobile phone; it cannot receive texts."),
    ("21211", "The phone number is not valid for texts."),
    ("21408", "Texts to this country are not enabled."),
    ("30003", "The phone was unreachable or switched off."),
    ("30005", "The number is unknown to the carrier (it may no longer exist)."),
    ("30006", "The number is a landline or cannot receive texts."),
    ("30007", "The carrier filtered the text as spam."),
    ("bounce", "The email address bounced (it does not exist or the mailbox is full)."),
    ("dropped", "The email provider dropped the message (the address may have bounced before)."),
    ("spam", "The recipient marked our email as spam."),
    ("opted out", "The person asked not to be contacted on this channel."),
    ("timed out", "The provider could not be reached; it was tried several times."),
    ("connection", "The provider could not be reached; it was tried several times."),
    ("401", "Our account with the provider refused the credentials; tell the administrator."),
    ("403", "Our account with the provider refused the message; tell the administrator."),
)


def plain_error(raw: str | None) -> str:
    """A provider's error in words a coordinator can act on (the raw text stays on the row)."""
    text = (raw or "").lower()
    for needle, words in PLAIN_ERRORS:
        if needle in text:
            return words
    return "The provider did not accept the message." if text else "No reason was given."


@dataclass(frozen=True)
class Reply:
    message: InboundMessage
    party: Party | None


@dataclass(frozen=True)
class Change:
    event: AuditEvent
    session: MediationSession | None


@dataclass(frozen=True)
class Unbooked:
    case: Case
    reason: str | None  # None: the matcher can book it now


@dataclass(frozen=True)
class Unconfirmed:
    session: MediationSession
    why: list[str]


@dataclass(frozen=True)
class Failed:
    notice: Notification
    plain: str


@dataclass(frozen=True)
class Landline:
    """A text withdrawn because the number is a landline, and no email reaches the party."""

    notice: Notification
    party: Party | None


@dataclass(frozen=True)
class StaleCalendar:
    mediator: Mediator
    snapshot: MediatorCalendarSnapshot | None


@dataclass
class Queue:
    decide: list[Case] = field(default_factory=list)
    replies: list[Reply] = field(default_factory=list)
    changes: list[Change] = field(default_factory=list)
    declined: list[Change] = field(default_factory=list)
    unbooked: list[Unbooked] = field(default_factory=list)
    consents: list[Consent] = field(default_factory=list)
    unconfirmed: list[Unconfirmed] = field(default_factory=list)
    #: sessions close to their start that a party has not confirmed (policy ``confirm_by_hours``)
    not_confirmed: list[confirmations.Unconfirmed] = field(default_factory=list)
    held: list[Notification] = field(default_factory=list)
    failed: list[Failed] = field(default_factory=list)
    landlines: list[Landline] = field(default_factory=list)
    covered: int = 0
    calendars: list[StaleCalendar] = field(default_factory=list)

    @property
    def total(self) -> int:
        return sum(len(x) for x in (self.decide, self.replies, self.changes, self.declined,
                                    self.unbooked, self.consents, self.unconfirmed, self.failed,
                                    self.landlines, self.calendars, self.not_confirmed))


def _events(session: Session, action: str, kind: str) -> list[Change]:
    done = handled_ids(session, kind)
    out = []
    for event in session.scalars(select(AuditEvent).where(AuditEvent.action == action)
                                 .order_by(AuditEvent.id)):
        if event.id in done:
            continue
        row = session.get(MediationSession, event.subject_id) if event.subject_id else None
        out.append(Change(event, row))
    return out


def _unbooked(session: Session, rules: Rules, now: datetime) -> list[Unbooked]:
    inputs = read_inputs(session, rules, now=now)
    if not inputs.cases:
        return []
    result = match(inputs.cases, inputs.mediators, inputs.venues, now=now, policy=inputs.policy)
    cases = {c.id: c for c in session.scalars(select(Case).where(
        Case.id.in_([int(r.case_id) for r in inputs.cases])))}
    return [Unbooked(cases[int(r.case_id)], result.unbooked.get(r.case_id))
            for r in inputs.cases if int(r.case_id) in cases]


def _unconfirmed(session: Session, now: datetime) -> list[Unconfirmed]:
    done = handled_ids(session, "unconfirmed")
    soon = session.scalars(select(MediationSession).where(
        MediationSession.status == SessionStatus.BOOKED.value, MediationSession.starts_at > now,
        MediationSession.starts_at < now + timedelta(days=7)).order_by(MediationSession.starts_at))
    out = []
    for row in soon:
        if row.id in done:
            continue
        why = []
        for mediator_id in filter(None, (row.mediator_id, row.co_mediator_id)):
            accepted = session.scalar(select(AuditEvent.id).where(
                AuditEvent.action == "assignment.accepted", AuditEvent.subject_id == row.id,
                AuditEvent.actor == f"mediator:{mediator_id}"))
            if accepted is None:
                why.append("the mediator has not accepted yet")
        notices = session.scalars(select(Notification).where(
            Notification.session_id == row.id, Notification.recipient_kind == "party",
            Notification.kind == "booking_confirmation")).all()
        reached = {n.party_id for n in notices if n.status in (
            NotificationStatus.SENT.value, NotificationStatus.DELIVERED.value)}
        parties = session.scalars(select(Party.id).where(Party.case_id == row.case_id)).all()
        if any(p not in reached for p in parties):
            why.append("a party has not been sent the confirmation yet")
        if why:
            out.append(Unconfirmed(row, why))
    return out


def _failed(session: Session) -> tuple[list[Failed], int]:
    done = handled_ids(session, "failed")
    rows = session.scalars(select(Notification).where(Notification.status.in_(
        [NotificationStatus.FAILED.value, NotificationStatus.DEAD.value]))
        .order_by(Notification.id.desc()).limit(200)).all()
    covering = {n.fallback_of_id for n in session.scalars(select(Notification).where(
        Notification.fallback_of_id.in_([r.id for r in rows]),
        Notification.status.in_([NotificationStatus.PENDING.value,
                                 NotificationStatus.SENDING.value,
                                 NotificationStatus.SENT.value,
                                 NotificationStatus.DELIVERED.value])))}
    out, covered = [], 0
    for row in rows:
        if row.id in covering:
            covered += 1
        elif row.id not in done:
            out.append(Failed(row, plain_error(row.last_error)))
    return out, covered


def _landlines(session: Session) -> list[Landline]:
    """Texts withdrawn for a landline (``cases.notice_outcomes.withdraw_for_landline``) that no
    email covers: the same notice by email (sent alongside, or as the fallback) pending or gone
    out."""
    done = handled_ids(session, "landline")
    rows = [r for r in session.scalars(select(Notification).where(
        Notification.status == NotificationStatus.CANCELLED.value,
        Notification.last_error == LANDLINE_REASON).order_by(Notification.id).limit(200))
        if r.id not in done]
    email_keys = {r.id: (r.idempotency_key.rsplit(":", 1)[0] + ":email",
                         f"{r.idempotency_key}>fallback:email") for r in rows}
    wanted = [key for pair in email_keys.values() for key in pair]
    reaching = set(session.scalars(select(Notification.idempotency_key).where(
        Notification.idempotency_key.in_(wanted),
        Notification.status.in_([NotificationStatus.PENDING.value,
                                 NotificationStatus.SENDING.value,
                                 NotificationStatus.SENT.value,
                                 NotificationStatus.DELIVERED.value])))) if wanted else set()
    return [Landline(r, session.get(Party, r.party_id) if r.party_id else None)
            for r in rows if not reaching & set(email_keys[r.id])]


def _calendars(session: Session, now: datetime, pull: timedelta) -> list[StaleCalendar]:
    out = []
    for mediator in session.scalars(select(Mediator).where(
            Mediator.active.is_(True), Mediator.calendar_kind != "none").order_by(Mediator.id)):
        snap = session.get(MediatorCalendarSnapshot, mediator.id)
        if snap is None or snap.stale or snap.last_ok_at is None \
                or snap.last_ok_at < now - 3 * pull:
            out.append(StaleCalendar(mediator, snap))
    return out


def build(session: Session, rules: Rules, *, now: datetime,
          calendar_pull: timedelta = timedelta(minutes=30)) -> Queue:
    queue = Queue()
    queue.decide = list(session.scalars(select(Case).where(
        Case.state == CaseState.SCREENING.value).order_by(Case.created_at)))
    replied = handled_ids(session, "reply")
    for message in session.scalars(select(InboundMessage).where(
            InboundMessage.needs_staff.is_(True)).order_by(InboundMessage.received_at)):
        if message.id not in replied:
            party = session.get(Party, message.party_id) if message.party_id else None
            queue.replies.append(Reply(message, party))
    queue.changes = _events(session, "booking.change_requested", "change")
    queue.declined = _events(session, "assignment.declined", "declined")
    queue.unbooked = _unbooked(session, rules, now)
    queue.consents = list(session.scalars(
        select(Consent).join(Case, Case.id == Consent.case_id)
        .where(Consent.status == ConsentStatus.PENDING.value,
               Case.state == CaseState.AWAITING_CONSENT.value,
               Consent.deadline < now + timedelta(days=3))
        .order_by(Consent.deadline)))
    queue.unconfirmed = _unconfirmed(session, now)
    queue.not_confirmed = confirmations.unconfirmed_parties(
        session, now=now, within=timedelta(hours=rules.policy.reminders.confirm_by_hours))
    queue.held = list(session.scalars(select(Notification).where(
        Notification.status == NotificationStatus.PENDING.value,
        Notification.next_attempt_at > now).order_by(Notification.next_attempt_at).limit(100)))
    queue.failed, queue.covered = _failed(session)
    queue.landlines = _landlines(session)
    queue.calendars = _calendars(session, now, calendar_pull)
    return queue

