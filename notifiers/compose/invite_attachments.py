"""The calendar invite that rides along with a booking, reschedule or cancellation email.

Built at render time from the session row, so the invite always carries the session's current
time, place and SEQUENCE; each recipient's invite names only that recipient (``calendars.invites``).
"""

from __future__ import annotations

from datetime import datetime

from calendars.invites import (
    Invite,
    Method,
    Person,
    build_invite,
    mime_content_type,
)
from calendars.sessions import session_event
from cases.models import Notification
from cases.outbox import NoticeKind
from cases.session_needs import needs_summary
from notifiers.channels.base import Attachment
from notifiers.compose.context import Lookup, ProgramInfo, session_id_of
from notifiers.compose.terms import ltr

INVITE_METHODS: dict[str, Method] = {
    NoticeKind.BOOKING_CONFIRMATION.value: Method.REQUEST,
    NoticeKind.RESCHEDULE.value: Method.REQUEST,
    NoticeKind.CANCELLATION.value: Method.CANCEL,
}

SUMMARY = {
    "en": "Mediation session",
    "es": "Sesión de mediación",
    "pl": "Sesja mediacyjna",
    "zh": "调解会议",
    "ar": "جلسة وساطة",
}
DESCRIPTION = {
    "en": "Confidential mediation session of the {program}. Questions or changes: {phone}.",
    "es": "Sesión de mediación confidencial del {program}. Preguntas o cambios: {phone}.",
    "pl": "Poufna sesja mediacyjna programu {program}. Pytania lub zmiany: {phone}.",
    "zh": "{program}的保密调解会议。如有问题或变更，请致电 {phone}。",
    "ar": "جلسة وساطة سرية من {program}. للأسئلة أو التغييرات: {phone}.",
}


def _attendee_name(lookup: Lookup, row: Notification) -> str:
    person = lookup.party(row.party_id) or lookup.mediator(row.mediator_id)
    return person.full_name if person is not None else ""


def invite_attachment(
    lookup: Lookup, row: Notification, program: ProgramInfo, now: datetime
) -> Attachment | None:
    """The .ics for this outbox row, or None when the row is not an email about a session."""
    method = INVITE_METHODS.get(row.kind)
    if method is None or row.channel != "email":
        return None
    mediator = lookup.mediator(row.mediator_id)
    if mediator is not None and mediator.calendar_kind == "caldav":
        # The session is written straight into this mediator's calendar (calendars.push) under
        # the same UID; an emailed copy would show twice or clash with the pushed event.
        return None
    meeting = lookup.mediation_session(session_id_of(row))
    if meeting is None:
        return None
    language = row.language if row.language in SUMMARY else "en"
    event = session_event(
        meeting, summary=f"{SUMMARY[language]} — {program.name}",
        description=DESCRIPTION[language].format(
            program=program.name, phone=ltr(program.phone) if language == "ar" else program.phone)
        + (f"\nSession: {needs_summary(meeting.case)}" if mediator is not None else ""),
        fallback_zone=program.time_zone)
    invite = Invite(
        uid=event.uid,
        # the notice's own version: a queued invite keeps the SEQUENCE it was written for
        sequence=int(row.context.get("sequence", event.sequence)),
        method=method,
        start=event.start,
        end=event.end,
        summary=event.summary,
        description=event.description,
        organizer=Person(program.email, program.name),
        attendee=Person(row.to_address, _attendee_name(lookup, row)),
        tzid=event.tzid,
        location=event.location,
        video_url=event.url,
        language=language,
    )
    return Attachment(
        filename="invite.ics" if method is Method.REQUEST else "cancel.ics",
        content_type=mime_content_type(method),
        content=build_invite(invite, dtstamp=now),
    )
