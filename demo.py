"""`python main.py demo`: the whole service on simulated time, with no credentials and no network.

Three cases on a fresh SQLite database: one the policy and staff find ineligible, one the officer
declines, and one that both parties consent to, that is matched, booked, reminded and completed.
Every message goes through the real outbox and dispatcher into a file outbox, and the printed
timeline lists exactly the files written there.
"""

from __future__ import annotations

import re
import secrets
import tempfile
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

from sqlalchemy import func, select
from sqlalchemy.orm import Session, sessionmaker

from cases.clock import FixedClock
from cases.database import make_engine, make_session_factory, transaction, upgrade
from cases.directory import NewMediator, NewVenue, add_mediator, add_venue, parse_opening_hours
from cases.models import Case, MediationSession, Notification, NotificationStatus, Outcome, Party
from cases.policy import Policy, load_policy
from cases.qualification import QualificationRules
from cases.referrals import decide, record_consent
from cases.service import NewCase, NewParty, WeeklyWindow, add_case, set_weekly_availability
from notifiers.compose.rendering import Renderer
from notifiers.tracking import handle_inbound_sms
from notifiers.wiring import build_dispatcher
from scheduler import self_service
from scheduler.booking import record_outcome
from scheduler.candidates import match_and_book
from scheduler.wiring import booking_rules
from settings import Settings, load_settings

STAFF = "staff:demo"
START = datetime(2026, 11, 30, 15, 0, tzinfo=UTC)  # Monday 09:00 in Chicago


@dataclass
class DemoResult:
    directory: Path
    outbox: Path
    sent: list[str] = field(default_factory=list)
    case_states: dict[str, str] = field(default_factory=dict)


class Story:
    """Drives the service step by step and narrates what it did."""

    def __init__(self, settings: Settings, factory: sessionmaker[Session], clock: FixedClock,
                 policy: Policy, echo: Callable[[str], None]) -> None:
        self.settings = settings
        self.factory = factory
        self.clock = clock
        self.policy = policy
        self.echo = echo
        self.zone = ZoneInfo(settings.time_zone)
        self.outbox = settings.outbox_dir
        self.dispatcher = build_dispatcher(settings, factory, clock, worker_id="demo")
        self.rules = booking_rules(policy, settings)
        self.sent: list[str] = []

    def say(self, text: str) -> None:
        stamp = self.clock.now().astimezone(self.zone).strftime("%a %b %d %H:%M %Z")
        self.echo(f"{stamp}  {text}")

    def dispatch(self) -> None:
        """Deliver everything due now, and list it."""
        now = self.clock.now()
        while self.dispatcher.run_once().touched:
            pass
        with transaction(self.factory) as session:
            rows = session.scalars(select(Notification).where(
                Notification.sent_at == now).order_by(Notification.id)).all()
            for row in rows:
                who = self._recipient(session, row)
                written = self.outbox / f"notice-{row.id:08d}.{row.channel}.txt"
                # the invites are files of their own beside the message (notifiers.channels.file_outbox)
                attached = re.findall(r"^Attachment: .* -> (\S+)$",
                                      written.read_text(encoding="utf-8"), re.M)
                self.sent += [written.name, *attached]
                invite = "".join(f" + {name}" for name in attached)
                self.say(f"  -> {row.channel:<5} {row.kind:<21} to {who} "
                         f"({row.language}){invite}")

    @staticmethod
    def _recipient(session: Session, row: Notification) -> str:
        if row.recipient_kind == "staff":
            return "program staff"
        if row.party_id is not None:
            party = session.get(Party, row.party_id)
            return f"{party.role if party else 'party'} of case {row.case_id}"
        return f"mediator {row.mediator_id}"

    def run_until(self, until: datetime) -> None:
        """Let simulated time pass, dispatching each notice when it falls due."""
        while True:
            with transaction(self.factory) as session:
                due = session.scalar(select(func.min(Notification.due_at)).where(
                    Notification.status == NotificationStatus.PENDING.value,
                    Notification.due_at <= until))
                retry = session.scalar(select(func.min(Notification.next_attempt_at)).where(
                    Notification.status == NotificationStatus.PENDING.value,
                    Notification.next_attempt_at <= until))
            candidates = [t for t in (due, retry) if t is not None]
            if not candidates:
                break
            self.clock.set(max(min(candidates), self.clock.now()))
            before = len(self.sent)
            self.dispatch()
            if len(self.sent) == before:  # held (quiet hours): move on a minute
                self.clock.advance(timedelta(minutes=1))
        self.clock.set(max(until, self.clock.now()))


def _setup_directory(session: Session, now: datetime, qualification: QualificationRules) -> None:
    hours = parse_opening_hours("mon-sat 09:00-20:00")
    add_venue(session, NewVenue(name="Harold Washington Library Center",
                                address="400 S State St, Chicago, IL 60605", neutral=True,
                                opening_hours=hours, latitude=41.876, longitude=-87.628),
              now=now, actor=STAFF)
    add_venue(session, NewVenue(name="District 1 police station", address="1718 S State St",
                                neutral=False, opening_hours=hours), now=now, actor=STAFF)
    evenings = [WeeklyWindow(d, time(9), time(20)) for d in range(6)]
    for name, langs, general, special in (("Rosa Alvarez", ["en", "es"], 40, 25),
                                          ("Jan Nowak", ["en", "pl"], 60, 30),
                                          ("Sam Lee", ["en", "es"], 20, 25)):
        mediator = add_mediator(session, NewMediator(
            full_name=name, email=f"{name.split()[0].lower()}@mediators.example.org",
            languages=langs, general_training_hours=general,
            specialized_training_hours=special, training_expires_on=date(2028, 6, 30)),
            now=now, actor=STAFF, qualification=qualification)
        set_weekly_availability(session, owner_kind="mediator", owner_id=mediator.id,
                                windows=evenings, time_zone="America/Chicago", now=now,
                                actor=STAFF)


def _case(log: str, categories: list[str], complainant: str, language: str, phone: str,
          star: str, injury: bool = False) -> NewCase:
    return NewCase(
        log_number=log, incident_date=date(2026, 10, 14), allegation_categories=categories,
        injury=injury,
        parties=[
            NewParty(role="complainant", full_name=complainant, phone=phone,
                     email=f"{complainant.split()[0].lower()}@example.org", language=language),
            NewParty(role="officer", full_name=f"Officer {star}", officer_star=star,
                     email=f"officer{star}@example.org", channels="email"),
        ],
    )


def _confirm_by_reply(story: Story, case_id: int) -> None:
    """The complainant answers the 3-day reminder with "1", as the webhook would apply it."""
    with transaction(story.factory) as session:
        complainant = session.scalars(select(Party).where(
            Party.case_id == case_id, Party.role == "complainant")).one()
        result = handle_inbound_sms(session, sender=complainant.phone or "", body="1",
                                    provider_message_id=None, policy=story.policy,
                                    now=story.clock.now())
    program = {"name": story.settings.program_name, "phone": story.settings.program_phone,
               "email": story.settings.program_email}
    answer = Renderer().reply(result.reply_language, result.intent, program, when=result.when)
    story.say(f"the complainant replies 1 to the reminder: {result.intent.replace('_', ' ')}; "
              f"answered \"{answer}\"")


def _party_moves_the_session(story: Story, case_id: int) -> None:
    """The complainant opens their booking page and taps one of the other times it offers: the
    page's own path (``scheduler.self_service``), so the session moves within the policy's
    reschedule limit and everyone gets the moved invite."""
    with transaction(story.factory) as session:
        case = session.get_one(Case, case_id)
        row = session.scalars(select(MediationSession).where(
            MediationSession.case_id == case_id)).one()
        complainant = case.parties[0]
        found = self_service.offers(session, case, row, story.rules, now=story.clock.now())
        if not found.options:
            raise RuntimeError(f"the demo expected other times to offer: {found.blocked}")
        before = row.starts_at.astimezone(story.zone).strftime("%a %b %d %H:%M")
        outcome = self_service.move(session, row, found.options[0], story.rules,
                                    expected_sequence=row.sequence, now=story.clock.now(),
                                    actor=f"party:{complainant.id}")
        after = row.starts_at.astimezone(story.zone).strftime("%a %b %d %H:%M")
        story.say(f"the complainant of case {case_id} opens their booking page, sees "
                  f"{len(found.options)} other times that suit everyone and taps one: "
                  f"{outcome.value}, {before} -> {after} (invite sequence {row.sequence})")
    story.dispatch()


def run_demo(echo: Callable[[str], None], directory: Path | None = None,
             outbox_dir: Path | None = None) -> DemoResult:
    """The story in ``directory`` (a new temporary folder when None); messages go to
    ``outbox_dir`` (``CMP_OUTBOX_DIR`` when the caller has it set), else ``directory/outbox``."""
    workdir = directory or Path(tempfile.mkdtemp(prefix="cmp-demo-"))
    outbox = outbox_dir or workdir / "outbox"
    url = f"sqlite:///{workdir / 'demo.db'}"
    # Always the file outbox: the demo must never reach a provider, whatever the environment says.
    # A throwaway key for a throwaway database: the demo never writes a key file.
    settings = load_settings(database_url=url, outbox_dir=outbox, twilio_account_sid=None,
                             secret_key=secrets.token_urlsafe(48),
                             twilio_auth_token=None, twilio_from_number=None,
                             sendgrid_api_key=None, sendgrid_from_email=None)
    upgrade(url)
    engine = make_engine(url)
    factory = make_session_factory(engine)
    clock = FixedClock(START)
    policy = load_policy(settings.policy_file)
    story = Story(settings, factory, clock, policy, echo)
    echo(f"demo database {workdir / 'demo.db'}; outbox {outbox}")
    echo("")

    with transaction(factory) as session:
        _setup_directory(session, clock.now(), policy.qualification)
        story.say("staff register 2 venues (one is a police station: never offered) and "
                  "3 mediators (one lacks training)")
        ids = {}
        for new in (
            _case("2026-0101", ["excessive_force"], "Darnell Hayes", "en", "+13127460101",
                  "5101", injury=True),
            _case("2026-0102", ["unprofessionalism"], "Katarzyna Wójcik", "pl", "+17737460102",
                  "5102"),
            _case("2026-0103", ["perceived_bias"], "María López", "es", "+13127460103", "5103"),
        ):
            case = add_case(session, new, policy, now=clock.now(), actor=STAFF)
            ids[case.log_number] = case.id
            story.say(f"case {case.log_number} recorded ({', '.join(case.allegation_categories)}"
                      f"): policy recommends {case.recommendation} — "
                      f"{'; '.join(case.recommendation_reasons)}")

    clock.advance(timedelta(hours=1))
    with transaction(factory) as session:
        for log, eligible in (("2026-0101", False), ("2026-0102", True), ("2026-0103", True)):
            case = session.get_one(Case, ids[log])
            decide(session, case, eligible=eligible, reason=None, policy=policy,
                   now=clock.now(), actor=STAFF)
            story.say(f"staff decide case {log}: {case.state}")
    story.dispatch()

    clock.advance(timedelta(hours=5))
    with transaction(factory) as session:
        declined = session.get_one(Case, ids["2026-0102"])
        officer = declined.parties[1]
        record_consent(session, declined, officer, granted=False, channel="link",
                       policy=policy, now=clock.now(), actor=f"party:{officer.id}")
        story.say(f"the officer of case 2026-0102 declines by link: case {declined.state} "
                  f"({declined.returned_reason})")
        consenting = session.get_one(Case, ids["2026-0103"])
        complainant, officer = consenting.parties
        record_consent(session, consenting, complainant, granted=True, channel="sms",
                       policy=policy, now=clock.now(), actor=f"party:{complainant.id}")
        story.say("the complainant of case 2026-0103 replies SÍ by SMS")
    story.dispatch()

    clock.advance(timedelta(hours=20))
    with transaction(factory) as session:
        consenting = session.get_one(Case, ids["2026-0103"])
        complainant, officer = consenting.parties
        record_consent(session, consenting, officer, granted=True, channel="staff",
                       policy=policy, now=clock.now(), actor=STAFF)
        story.say(f"staff record the officer's consent taken by phone: case {consenting.state}")
    story.dispatch()

    clock.advance(timedelta(hours=3))
    with transaction(factory) as session:
        consenting = session.get_one(Case, ids["2026-0103"])
        complainant, officer = consenting.parties
        set_weekly_availability(
            session, owner_kind="party", owner_id=complainant.id,
            windows=[WeeklyWindow(1, time(17), time(20)), WeeklyWindow(3, time(17), time(20))],
            time_zone=complainant.time_zone, now=clock.now(), actor=f"party:{complainant.id}",
            case_id=consenting.id)
        set_weekly_availability(
            session, owner_kind="party", owner_id=officer.id,
            windows=[WeeklyWindow(d, time(15), time(19)) for d in (1, 2, 3)],
            time_zone=officer.time_zone, now=clock.now(), actor=f"party:{officer.id}",
            case_id=consenting.id)
        story.say("both parties of case 2026-0103 give their weekly availability")

    run = match_and_book(factory, story.rules, now=clock.now())
    with transaction(factory) as session:
        booked = session.scalars(select(MediationSession)).all()
        for row in booked:
            local = row.starts_at.astimezone(story.zone).strftime("%a %b %d %H:%M")
            story.say(f"the matcher books case {row.case_id}: {local} with mediator "
                      f"{row.mediator_id} at venue {row.venue_id}")
        for case_id, reason in run.unbooked.items():
            story.say(f"case {case_id} not booked: {reason}")
    story.dispatch()
    if not booked:
        raise RuntimeError("the demo expected case 2026-0103 to be booked")

    clock.advance(timedelta(hours=2))
    _party_moves_the_session(story, ids["2026-0103"])
    with transaction(factory) as session:
        session_row = session.get_one(MediationSession, booked[0].id)

    story.run_until(session_row.starts_at - timedelta(days=3))
    _confirm_by_reply(story, session_row.case_id)
    story.run_until(session_row.starts_at)
    story.say("the session takes place")
    clock.set(session_row.ends_at + timedelta(minutes=15))
    with transaction(factory) as session:
        case = session.get_one(Case, ids["2026-0103"])
        record_outcome(session, case, Outcome.SUCCESSFUL, now=clock.now(), actor=STAFF)
        story.say(f"staff record a successful mediation: case {case.state}")
    story.dispatch()

    result = DemoResult(directory=workdir, outbox=outbox, sent=story.sent)
    with transaction(factory) as session:
        for case in session.scalars(select(Case).order_by(Case.id)):
            result.case_states[case.log_number] = case.state
    engine.dispose()
    echo("")
    echo("final states: " + ", ".join(f"{k} {v}" for k, v in result.case_states.items()))
    files = sorted(p.name for p in outbox.glob("notice-*"))
    echo(f"{len(story.sent)} messages sent; {len(files)} files in {outbox}")
    return result
