"""The variables a notice template sees, built from an outbox row and the database at send time.

Only the recipient's own name is personal, and only as staff wrote it for messages (a party's
``message_name``; none: the greeting has no name — a name is never cut out of the full name).
The other party is never named, and no phone number or email address other than the program's
reaches a template. ``recipient.role`` and ``recipient.channels`` (the channels this person
actually gets) let a template say the right words to an officer and never ask an email-only
reader to answer a text.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any, TypeVar

from sqlalchemy import select
from sqlalchemy.orm import Session, joinedload

from calendars.invites import venue_location
from cases import phone_lines, reference, suppressions
from cases.deadlines import deadline_day
from cases.links import party_url
from cases.models import MediationSession, Mediator, Notification, Party, SessionConfirmation
from cases.outbox import Channel, NoticeKind
from cases.session_needs import needs_summary
from notifiers.compose.rendering import format_day, format_when, language_of
from notifiers.compose.terms import agency, zone_name

LINK_PURPOSES: dict[str, str] = {
    NoticeKind.CONSENT_REQUEST.value: "consent",
    NoticeKind.AVAILABILITY_REQUEST.value: "availability",
    # the party's booking page: the session, the times they can move it to, withdrawing
    NoticeKind.BOOKING_CONFIRMATION.value: "booking",
    NoticeKind.RESCHEDULE.value: "booking",
}
LINK_LIFETIME = timedelta(days=21)
#: a planned reminder this close to the session is the short one of the day
SOON_HOURS = 12
M = TypeVar("M", Party, Mediator, MediationSession)


@dataclass(frozen=True)
class ProgramInfo:
    name: str
    phone: str
    email: str
    public_base_url: str
    link_secret: str
    time_zone: str = "America/Chicago"

    def link(self, party_id: int, purpose: str, expires_at: datetime) -> str:
        return party_url(self.public_base_url, self.link_secret, party_id=party_id, purpose=purpose,
                         expires_at=expires_at)


def case_ref(case_id: int | None) -> str | None:
    """How notices name a case (``cases.reference``): not the COPA log number, which is
    personal data."""
    return reference.case_ref(case_id) if case_id is not None else None


def _parse_instant(value: Any) -> datetime | None:
    if not value:
        return None
    parsed = datetime.fromisoformat(str(value))
    return parsed if parsed.tzinfo else None


class Lookup:
    """The parties, mediators and sessions a batch of rows refers to, loaded in one query each and
    held strongly (the ORM identity map is weak, so repeated ``session.get`` would re-query)."""

    def __init__(self, session: Session, rows: Sequence[Notification] = ()) -> None:
        self.session = session
        self.parties: dict[int, Party] = {}
        self.mediators: dict[int, Mediator] = {}
        self.sessions: dict[int, MediationSession] = {}
        self._checked: set[suppressions.Entry] = set()
        self._suppressed: set[suppressions.Entry] = set()
        self._lines_read: set[str] = set()
        self._landlines: set[str] = set()
        self.preload(rows)

    def preload(self, rows: Sequence[Notification]) -> None:
        party_ids = {r.party_id for r in rows if r.party_id is not None} - self.parties.keys()
        mediator_ids = {r.mediator_id for r in rows if r.mediator_id is not None} - self.mediators.keys()
        session_ids = {i for r in rows if (i := session_id_of(r)) is not None} - self.sessions.keys()
        self._check_suppressions([(Channel(r.channel), r.to_address) for r in rows if r.to_address])
        if party_ids:
            parties = self.session.scalars(select(Party).where(Party.id.in_(party_ids)))
            self.parties.update((p.id, p) for p in parties)
        self._check_lines([r.to_address for r in rows if r.channel == Channel.SMS.value]
                          + [p.phone for p in self.parties.values() if p.phone])
        if mediator_ids:
            mediators = self.session.scalars(select(Mediator).where(Mediator.id.in_(mediator_ids)))
            self.mediators.update((m.id, m) for m in mediators)
        if session_ids:
            booked = self.session.scalars(
                select(MediationSession)
                .where(MediationSession.id.in_(session_ids))
                .options(joinedload(MediationSession.venue))
            )
            self.sessions.update((s.id, s) for s in booked)

    def _get(self, cache: dict[int, M], model: type[M], key: int | None) -> M | None:
        if key is None:
            return None
        if key not in cache:
            found = self.session.get(model, key)
            if found is None:
                return None
            cache[key] = found
        return cache[key]

    def _check_suppressions(self, wanted: Sequence[tuple[Channel, str]]) -> None:
        entries = {(c, suppressions.address_key(c, a)) for c, a in wanted} - self._checked
        if entries:
            self._suppressed |= suppressions.suppressed(self.session, entries)
            self._checked |= entries

    def suppressed(self, channel: Channel, address: str) -> bool:
        """Whether ``address`` is on the suppression list for ``channel`` (``cases.suppressions``),
        as read for this batch."""
        self._check_suppressions([(channel, address)])
        return (channel, suppressions.address_key(channel, address)) in self._suppressed

    def _check_lines(self, numbers: Sequence[str | None]) -> None:
        wanted = {n for n in numbers if n} - self._lines_read
        if wanted:
            found = phone_lines.line_types(self.session, wanted)
            self._landlines |= {n for n, kind in found.items() if not phone_lines.can_text(kind)}
            self._lines_read |= wanted

    def landline(self, number: str | None) -> bool:
        """Whether ``number`` is known to be a landline (``cases.phone_lines``): no texts to it."""
        if not number:
            return False
        self._check_lines([number])
        return number in self._landlines

    def party(self, party_id: int | None) -> Party | None:
        return self._get(self.parties, Party, party_id)

    def mediator(self, mediator_id: int | None) -> Mediator | None:
        return self._get(self.mediators, Mediator, mediator_id)

    def mediation_session(self, session_id: int | None) -> MediationSession | None:
        return self._get(self.sessions, MediationSession, session_id)


def session_id_of(row: Notification) -> int | None:
    value = row.session_id or (row.context or {}).get("session_id")
    return int(value) if value is not None else None


def build_variables(
    lookup: Lookup, row: Notification, program: ProgramInfo, *, now: datetime
) -> dict[str, Any]:
    """Everything the templates of ``row.kind`` may use; keys are always present (None if n/a)."""
    context = row.context or {}
    language = language_of(row.language)
    zone = program.time_zone
    recipient: dict[str, Any] = {"name": "", "kind": row.recipient_kind, "role": row.recipient_kind,
                                 "channels": [row.channel]}
    party = lookup.party(row.party_id)
    mediator = lookup.mediator(row.mediator_id) if party is None else None
    if party is not None:
        zone = party.time_zone or zone
        recipient.update(name=party.message_name or "", role=party.role,
                         channels=reached_on(party, lookup) or [row.channel])
    elif mediator is not None:
        zone = mediator.time_zone or zone
        recipient.update(name=mediator.full_name, role="mediator", channels=[Channel.EMAIL.value])

    session_vars: dict[str, Any] | None = None
    booked = lookup.mediation_session(session_id_of(row))
    if booked is not None:
        venue = booked.venue
        video = venue.kind == "video"
        session_vars = {
            "when": format_when(booked.starts_at, zone, language),
            "minutes": int((booked.ends_at - booked.starts_at).total_seconds() // 60),
            "video": video,
            "video_url": venue.video_url if video else None,
            "place": venue.name,
            "address": venue.address,
            "location": venue_location(venue.name, venue.address),
            "directions": "" if video else " ".join((venue.directions or "").split()),
            "when_zone": format_when(booked.starts_at, zone, language,
                                     zone_name(zone, language)),
            # the session's language, interpreter and access needs, for the mediator only
            "needs": needs_summary(booked.case) if mediator is not None else None,
        }

    deadline = _parse_instant(context.get("deadline"))
    link = None
    purpose = LINK_PURPOSES.get(row.kind)
    if purpose and party is not None:
        ends = _parse_instant(context.get("ends_at")) if purpose == "booking" else None
        expires = max(deadline or now, ends or now, now) + LINK_LIFETIME  # past the session
        link = program.link(party.id, purpose, expires)

    return {
        "program": {"name": program.name, "phone": program.phone, "email": program.email,
                    "agency": agency(language)},
        "recipient": recipient,
        "case_ref": case_ref(row.case_id),
        "session": session_vars,
        "link": link,
        "deadline": format_day(deadline_day(deadline, zone), language) if deadline else None,
        "zone_name": zone_name(zone, language),
        "granted": context.get("granted"),
        "outcome": context.get("outcome"),
        "why": context.get("why"),
        "alert": context.get("alert"),
        "reason": context.get("reason"),
        "message": context.get("message"),
        # a reminder: the last short one, sent on the day (``scheduler.reminders``)
        "soon": 0 < int(context.get("offset_hours") or 0) < SOON_HOURS,
        # the party already said they will come (a reminder thanks them instead of asking again)
        "confirmed": booked is not None and party is not None and lookup.session.scalar(
            select(SessionConfirmation.id).where(
                SessionConfirmation.session_id == booked.id,
                SessionConfirmation.party_id == party.id,
                SessionConfirmation.sequence == booked.sequence)) is not None,
    }


def reached_on(party: Party, lookup: Lookup) -> list[str]:
    """The channels this party actually gets: chosen, with an address, not suppressed, and no
    texts to a landline."""
    reachable = {
        Channel.SMS.value: bool(party.phone) and not lookup.suppressed(Channel.SMS, party.phone or "")
        and not lookup.landline(party.phone),
        Channel.EMAIL.value: bool(party.email)
        and not lookup.suppressed(Channel.EMAIL, party.email or ""),
    }
    return [c for c in party.channels if reachable.get(c)]
