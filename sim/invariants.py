"""The invariants, checked after every step. Each returns (items checked, violations).

They compare the service with what really happened, not with its own records of it: the texts
and emails the provider emulator actually received, and the people's own ledger (who texted STOP
when, which session was cancelled when). A violation is a sentence without personal data.
"""

from __future__ import annotations

import itertools
import logging
import re
from collections import defaultdict
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import select

from cases.models import (
    AuditEvent,
    Case,
    CaseState,
    MediationSession,
    Mediator,
    Notification,
    NotificationStatus,
    Party,
    SessionStatus,
    Venue,
)
from logging_setup import WIRE_LOGGERS
from sim.state import Invariant, Message, Sim

FINAL = {CaseState.COMPLETED.value, CaseState.RETURNED.value, CaseState.INELIGIBLE.value}
TOOK_PLACE = (SessionStatus.HELD.value, SessionStatus.BOOKED.value, SessionStatus.COMPLETED.value,
              SessionStatus.NO_SHOW.value)


class NoDoubleBooking:
    name = "no person or place booked twice at once; no weekly limit exceeded"

    def check(self, sim: Sim) -> tuple[int, list[str]]:
        with sim.world.factory() as session:
            rows = session.execute(select(
                MediationSession.id, MediationSession.case_id, MediationSession.mediator_id,
                MediationSession.co_mediator_id, MediationSession.venue_id,
                MediationSession.starts_at, MediationSession.ends_at)
                .where(MediationSession.status.in_(TOOK_PLACE))).all()
            video = set(session.scalars(select(Venue.id).where(Venue.kind == "video")))
            limits = dict(session.execute(select(Mediator.id, Mediator.max_sessions_per_week)).all())
            people: dict[int, set[str]] = defaultdict(set)
            for case_id, phone, star in session.execute(
                    select(Party.case_id, Party.phone, Party.officer_star)).all():
                people[case_id] |= {x for x in (phone and f"phone:{phone}",
                                                star and f"officer:{star}") if x}
        problems: list[str] = []
        by_resource: dict[str, list[tuple[datetime, datetime, int]]] = defaultdict(list)
        weeks: dict[tuple[int, int, int], int] = defaultdict(int)
        zone = ZoneInfo("America/Chicago")
        for sid, case_id, m1, m2, venue, start, end in rows:
            keys = [f"mediator:{m}" for m in (m1, m2) if m]
            if venue not in video:
                keys.append(f"venue:{venue}")
            keys += sorted(people[case_id])
            for key in keys:
                by_resource[key].append((start, end, sid))
            iso = start.astimezone(zone).isocalendar()
            for m in (m1, m2):
                if m:
                    weeks[(m, iso[0], iso[1])] += 1
        for key, spans in by_resource.items():
            spans.sort()
            for (_s1, e1, a), (s2, _e2, b) in itertools.pairwise(spans):
                if s2 < e1:
                    problems.append(f"{key.split(':')[0]} in sessions {a} and {b} at once")
        for (m, year, week), count in weeks.items():
            if count > limits.get(m, 0):
                problems.append(f"mediator {m}: {count} sessions in week {year}-W{week:02d} "
                                f"(limit {limits.get(m)})")
        return len(rows) + len(weeks), problems


def messages_of(sim: Sim, new: list[dict[str, Any]]) -> list[Message]:
    """The emulator's new messages, each tied to its notice: by the notice id it carried, else
    by recipient and text (a send that lost its notice id)."""
    out = []
    for m in new:
        notice = int(m["notice"]) if m.get("notice") else None
        if notice is None:
            with sim.world.factory() as session:
                notice = session.scalar(select(Notification.id).where(
                    Notification.to_address == m["to"], Notification.body_text == m["body"])
                    .order_by(Notification.id.desc()).limit(1))
        out.append(Message(m["sid"], m["channel"], m["to"], m["body"],
                           datetime.fromtimestamp(m["received_at"], UTC), notice, m))
    return out


class NothingToSuppressed:
    name = "nothing sent to a suppressed number or address"

    def check(self, sim: Sim) -> tuple[int, list[str]]:
        ledger = sim.ledger
        problems = [f"message {m.sid[:10]} (notice {m.notice_id}) went to a number that had "
                    f"texted STOP" for m in sim.new_messages
                    if m.channel == "sms" and ledger.stopped_at(m.to, m.at)]
        problems += [f"email {m.sid[:10]} (notice {m.notice_id}) went to an address that had "
                     f"unsubscribed or reported spam" for m in sim.new_messages
                     if m.channel == "email" and (since := ledger.email_suppressed.get(
                         m.to.lower())) is not None and m.at > since]
        return len(sim.new_messages), problems


class NoTextToLandlines:
    name = "no SMS to a number the provider reported as a landline"

    def check(self, sim: Sim) -> tuple[int, list[str]]:
        reported = sim.ledger.landline_reported
        texts = [m for m in sim.new_messages if m.channel == "sms"]
        problems = [f"SMS {m.sid[:10]} (notice {m.notice_id}) went to a number the provider "
                    f"had reported as a landline" for m in texts
                    if (since := reported.get(m.to)) is not None and m.at >= since]
        return len(texts), problems


class QuietHoursAndStaleReminders:
    name = "no SMS in quiet hours; no reminder after a cancellation or an outcome"

    def check(self, sim: Sim) -> tuple[int, list[str]]:
        problems = []
        start, end = sim.world.settings.quiet_hours_start, sim.world.settings.quiet_hours_end
        with sim.world.factory() as session:
            for m in sim.new_messages:
                row = session.get(Notification, m.notice_id) if m.notice_id else None
                if m.channel == "sms":
                    zone = _zone_of(session, row)
                    hour = m.at.astimezone(ZoneInfo(zone)).hour
                    if hour >= start or hour < end:
                        problems.append(f"SMS {m.sid[:10]} (notice {m.notice_id}) at "
                                        f"{hour:02d}h local")
                if row is not None and row.kind == "reminder" and row.session_id is not None:
                    closed = sim.ledger.session_closed.get(row.session_id)
                    if closed is not None and m.at > closed:
                        problems.append(f"reminder notice {row.id} sent after session "
                                        f"{row.session_id} was cancelled or closed")
        return len(sim.new_messages), problems


def _zone_of(session: Any, row: Notification | None) -> str:
    if row is not None and row.party_id is not None:
        party = session.get(Party, row.party_id)
        if party is not None:
            return str(party.time_zone)
    if row is not None and row.mediator_id is not None:
        mediator = session.get(Mediator, row.mediator_id)
        if mediator is not None:
            return str(mediator.time_zone)
    return "America/Chicago"


@dataclass
class ExactlyOnce:
    name = "every notice delivered once, or its duplicate detected, recorded and shown to staff"
    sends: dict[int, list[str]] = field(default_factory=lambda: defaultdict(list))
    orphans: list[str] = field(default_factory=list)

    def check(self, sim: Sim) -> tuple[int, list[str]]:
        for m in sim.new_messages:
            if m.notice_id is None:
                self.orphans.append(m.sid)
            else:
                self.sends[m.notice_id].append(m.sid)
        problems = [f"provider message {sid[:10]} belongs to no notice" for sid in self.orphans]
        twice = [n for n, sids in self.sends.items() if len(sids) > 1]
        if twice:
            with sim.world.factory() as session:
                detected = set(session.scalars(select(AuditEvent.subject_id).where(
                    AuditEvent.action == "notice.duplicate_detected",
                    AuditEvent.subject_id.in_(twice))))
                alerted = {int(c.get("notification_id") or 0) for c in session.scalars(
                    select(Notification.context).where(Notification.kind == "staff_alert"))
                    if c.get("alert") == "duplicate_send"}
            for n in twice:
                if n not in detected:
                    problems.append(f"notice {n} reached the provider {len(self.sends[n])} "
                                    f"times and no duplicate was recorded")
                elif n not in alerted:
                    problems.append(f"notice {n}: duplicate recorded but staff not told")
        return len(sim.new_messages) + len(twice), problems


class CasesInsideDeadlines:
    name = "every case final or inside its policy deadline"
    #: the time the program takes to act once a deadline passes: the hourly job; staff's next
    #: working morning (a long weekend); an outcome recorded within a week of the session
    job_grace = timedelta(hours=2)
    staff_grace = timedelta(days=4)

    def check(self, sim: Sim) -> tuple[int, list[str]]:
        now = sim.now()
        problems = []
        with sim.world.factory() as session:
            cases = session.scalars(select(Case).where(Case.state.not_in(FINAL))).all()
            for case in cases:
                limit: datetime | None = None
                if case.state == CaseState.SCREENING.value:
                    limit = case.created_at + timedelta(days=7)
                elif case.state == CaseState.AWAITING_CONSENT.value:
                    limit = case.consent_deadline and case.consent_deadline + self.job_grace
                elif case.state in (CaseState.SCHEDULING.value, CaseState.CONSENTED.value,
                                    CaseState.ELIGIBLE.value):
                    limit = case.booking_deadline and case.booking_deadline + self.staff_grace
                elif case.state == CaseState.BOOKED.value:
                    ends = [s.ends_at for s in case.sessions
                            if s.status == SessionStatus.BOOKED.value]
                    limit = max(ends) + timedelta(days=7) if ends else now - timedelta(seconds=1)
                if limit is None or now > limit:
                    problems.append(f"case {case.id} still {case.state} past its deadline")
        return len(cases), problems


@dataclass
class EverythingAudited:
    name = "every transition and every notice has its audit event"
    seen_at: datetime | None = None
    pending: list[Message] = field(default_factory=list)

    def check(self, sim: Sim) -> tuple[int, list[str]]:
        since = self.seen_at
        self.seen_at = sim.now()
        problems: list[str] = []
        checked = 0
        with sim.world.factory() as session:
            query = select(Case)
            if since is not None:
                query = query.where(Case.updated_at >= since)
            for case in session.scalars(query):
                checked += 1
                last = session.scalar(select(AuditEvent.detail).where(
                    AuditEvent.action == "case.transition", AuditEvent.subject_id == case.id,
                    AuditEvent.subject_kind == "case").order_by(AuditEvent.id.desc()).limit(1))
                expected = last.get("to_state") if last else CaseState.SCREENING.value
                if expected != case.state:
                    problems.append(f"case {case.id} is {case.state} with no transition "
                                    f"audited (last audited: {expected})")
            # a message is recorded on its notice, or by the audit event that explains it;
            # judged a step later (a crashed worker's send is recorded when its lease lapses)
            due, self.pending = self.pending, list(sim.new_messages)
            sids = [m.sid for m in due]
            recorded = set(session.scalars(select(Notification.provider_message_id).where(
                Notification.provider_message_id.in_(sids)))) if sids else set()
            audited = {str(d.get("provider_message_id")) for d in session.scalars(
                select(AuditEvent.detail).where(AuditEvent.action.in_(
                    ["notice.duplicate_detected", "notice.sent_after_lease_lost"]),
                    AuditEvent.at >= (since or sim.now()) - timedelta(days=1)))} if sids else set()
            for m in due:
                checked += 1
                if m.sid not in recorded and m.sid not in audited:
                    problems.append(f"provider message {m.sid[:10]} (notice {m.notice_id}) "
                                    f"recorded nowhere")
            query_n = select(Notification).where(Notification.status.in_(
                [NotificationStatus.DEAD.value, NotificationStatus.FAILED.value]))
            if since is not None:
                query_n = query_n.where(Notification.created_at >= since - timedelta(days=40))
            failed = session.scalars(query_n).all()
            if failed:
                explained = set(session.scalars(select(AuditEvent.subject_id).where(
                    AuditEvent.subject_kind == "notification",
                    AuditEvent.subject_id.in_([f.id for f in failed]))))
                alerts = {int(c.get("notification_id") or 0) for c in session.scalars(
                    select(Notification.context).where(Notification.kind == "staff_alert",
                                                       Notification.case_id.in_(
                                                           {f.case_id for f in failed})))}
                for f in failed:
                    checked += 1
                    if f.id not in explained and f.id not in alerts:
                        problems.append(f"notice {f.id} is {f.status} with no audit event")
        return checked, problems


class LogCapture(logging.Handler):
    """Every record the service's loggers emit at INFO and above (the wire loggers' records
    below WARNING are dropped by the project's logging setup, so they are not looked at)."""

    def __init__(self) -> None:
        super().__init__(logging.INFO)
        self.lines: list[str] = []

    def emit(self, record: logging.LogRecord) -> None:
        if record.levelno < logging.WARNING and record.name.startswith(WIRE_LOGGERS):
            return
        try:
            self.lines.append(record.getMessage())
        except Exception:  # a broken format string is a bug elsewhere, not a leak
            self.lines.append(str(record.msg))


@dataclass
class NoPersonalDataInLogs:
    name = "no personal data or link token in any log line"
    capture: LogCapture = field(default_factory=LogCapture)
    secrets: set[str] = field(default_factory=set)
    known_parties: int = 0
    pattern: re.Pattern[str] | None = None

    def _refresh(self, sim: Sim) -> None:
        with sim.world.factory() as session:
            count = session.scalar(select(Party.id).order_by(Party.id.desc()).limit(1)) or 0
            if count == self.known_parties and self.pattern is not None:
                return
            self.known_parties = count
            for name, phone, email, token in session.execute(select(
                    Party.full_name, Party.phone, Party.email, Party.link_token)):
                self.secrets |= {x for x in (name, phone, email, token) if x}
                if phone:
                    self.secrets.add(phone[-10:])
            for name, email, token in session.execute(select(
                    Mediator.full_name, Mediator.email, Mediator.feed_token)):
                self.secrets |= {name, email, token}
        ordered = sorted(self.secrets, key=len, reverse=True)
        self.pattern = re.compile("|".join(re.escape(s) for s in ordered)) if ordered else None

    def check(self, sim: Sim) -> tuple[int, list[str]]:
        lines, self.capture.lines = self.capture.lines, []
        if not lines:
            return 0, []
        self._refresh(sim)
        problems = []
        for line in lines:
            if self.pattern is not None and (found := self.pattern.search(line)):
                kind = ("phone" if found.group(0)[-4:].isdigit() else
                        "email" if "@" in found.group(0) else "name or token")
                problems.append(f"a log line holds a {kind}: {line[:found.start()][:60]!r}...")
        return len(lines), problems


def all_invariants() -> list[Invariant]:
    return [NoDoubleBooking(), NothingToSuppressed(), NoTextToLandlines(),
            QuietHoursAndStaleReminders(),
            ExactlyOnce(), CasesInsideDeadlines(), EverythingAudited(), NoPersonalDataInLogs()]
