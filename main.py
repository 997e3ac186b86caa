"""The composition root and command line: the one place where settings, database, clock, policy,
notifiers, calendars, scheduler and web are wired together.

Run ``python main.py --help``. Every command reads ``CMP_*`` settings (see ``settings.py``) and
exits non-zero with a one-line reason on bad input.
"""

from __future__ import annotations

import logging
import sys
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import date, datetime
from functools import cached_property
from pathlib import Path
from types import FrameType
from typing import TYPE_CHECKING, Any, TypeVar
from zoneinfo import ZoneInfo

import click
from sqlalchemy import Engine, select
from sqlalchemy.orm import Session, sessionmaker

from cases.clock import Clock, SystemClock
from cases.errors import DomainError
from cases.policy import Policy, load_policy
from settings import Settings, SettingsError, load_settings, with_secret_key

if TYPE_CHECKING:  # imported where used, so that `--help` loads nothing heavy
    import threading

    from calendars.base import CalendarSource
    from cases.calendar_urls import AllowedHosts
    from cases.models import Mediator
    from cases.sealing import Sealer
    from scheduler.jobs import JobDeps, SourceFor

STAFF_ACTOR = "cli"
F = TypeVar("F", bound=Callable[..., Any])


@dataclass
class App:
    """What every command needs, built lazily from settings so `--help` touches nothing.

    ``loaded`` are the settings as read from the environment; ``settings`` adds the secret key,
    read from CMP_SECRET_KEY or the key file (created on first use) when a command first needs it.
    """

    loaded: Settings
    clock: Clock

    @cached_property
    def settings(self) -> Settings:
        return with_secret_key(self.loaded)

    @cached_property
    def engine(self) -> Engine:
        from cases.database import make_engine

        return make_engine(self.loaded.database_url)

    @cached_property
    def session_factory(self) -> sessionmaker[Session]:
        from cases.database import make_session_factory

        return make_session_factory(self.engine)

    def today(self) -> date:
        """The program's local day now (``CMP_TIME_ZONE``), the day qualification is judged on."""
        return self.clock.now().astimezone(ZoneInfo(self.loaded.time_zone)).date()

    @cached_property
    def policy(self) -> Policy:
        return load_policy(self.loaded.policy_file)

    @cached_property
    def sealer(self) -> Sealer:
        """Seals and opens stored calendar credentials (``cases.sealing``)."""
        from cases.sealing import Sealer

        return Sealer(self.settings.signing_key)

    @cached_property
    def calendar_hosts(self) -> AllowedHosts:
        """``CMP_CALENDAR_ALLOWED_HOSTS``, parsed (``cases.calendar_urls.AllowedHosts``)."""
        from cases.calendar_urls import AllowedHosts

        return AllowedHosts.parse(self.settings.calendar_allowed_hosts)

    @contextmanager
    def transaction(self) -> Iterator[Session]:
        from cases.database import transaction

        with transaction(self.session_factory) as session:
            yield session

    def upgrade(self) -> None:
        from cases.database import upgrade

        upgrade(self.loaded.database_url)

    def local(self, when: datetime | None) -> str:
        if when is None:
            return "-"
        return when.astimezone(ZoneInfo(self.loaded.time_zone)).strftime("%Y-%m-%d %H:%M %Z")


def build_app(clock: Clock | None = None, **overrides: Any) -> App:
    return App(loaded=load_settings(**overrides), clock=clock or SystemClock())


def fail(message: str, code: int = 2) -> None:
    click.echo(f"error: {message}", err=True)
    sys.exit(code)


def domain_errors(func: F) -> F:
    """Turn domain and settings errors into one readable line and a non-zero exit."""
    import functools

    @functools.wraps(func)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        try:
            return func(*args, **kwargs)
        except (DomainError, SettingsError) as exc:
            fail(str(exc))

    return wrapper  # type: ignore[return-value]


pass_app = click.make_pass_decorator(App)


@click.group(context_settings={"help_option_names": ["-h", "--help"]})
@click.option("-v", "--verbose", is_flag=True, help="Log at DEBUG level.")
@click.pass_context
def cli(ctx: click.Context, verbose: bool) -> None:
    """Scheduling and notifications for a police–community mediation program.

    Settings come from CMP_* environment variables (or .env); `python main.py config` lists them.
    With no credentials, messages go to a local file outbox (CMP_OUTBOX_DIR).
    """
    from logging_setup import configure_logging

    configure_logging(verbose=verbose)
    if ctx.obj is None:
        try:
            ctx.obj = build_app()
        except SettingsError as exc:
            fail(str(exc))


# --- configuration and database ------------------------------------------------------------------

@cli.command()
@click.option("--markdown", is_flag=True, help="Print the settings table for the README.")
@pass_app
def config(app: App, markdown: bool) -> None:
    """Show the effective settings (secrets masked)."""
    if markdown:
        fields = type(app.loaded).model_fields
        click.echo("| variable | default | meaning |\n|---|---|---|")
        for (name, value), field in zip(app.loaded.describe(), fields.values(), strict=True):
            click.echo(f"| `{name}` | `{value}` | {field.description or ''} |")
        return
    for name, value in app.loaded.describe():
        click.echo(f"{name:<36} {value}")


@cli.group()
def db() -> None:
    """Database schema."""


@db.command("upgrade")
@pass_app
@domain_errors
def db_upgrade(app: App) -> None:
    """Migrate the database to the latest schema."""
    app.upgrade()
    click.echo("database is up to date")


# --- cases -----------------------------------------------------------------------------------------

@cli.group()
def cases() -> None:
    """Complaints screened for mediation."""


@cases.command("add")
@click.option("--log-number", required=True)
@click.option("--incident-date", required=True, type=click.DateTime(["%Y-%m-%d"]))
@click.option("--category", "categories", multiple=True, required=True,
              help="Allegation category (repeatable), e.g. perceived_bias")
@click.option("--injury", is_flag=True)
@click.option("--criminal-conduct", is_flag=True)
@click.option("--pending-litigation", is_flag=True)
@click.option("--accepts-video", is_flag=True)
@click.option("--complainant-name", required=True)
@click.option("--complainant-message-name",
              help="How messages greet the complainant (e.g. 'Ms. Nowak'); default: no name")
@click.option("--complainant-phone")
@click.option("--complainant-email")
@click.option("--complainant-language", default="en", show_default=True)
@click.option("--complainant-channels", default="sms,email", show_default=True)
@click.option("--officer-name", required=True)
@click.option("--officer-message-name",
              help="How messages greet the officer (e.g. 'Officer Ruiz'); default: no name")
@click.option("--officer-star", required=True)
@click.option("--officer-email")
@click.option("--officer-phone")
@click.option("--notes", default="")
@pass_app
@domain_errors
def cases_add(app: App, **opts: Any) -> None:
    """Record a complaint and show the policy's recommendation."""
    from cases.service import NewCase, NewParty, add_case

    new = NewCase(
        log_number=opts["log_number"], incident_date=opts["incident_date"].date(),
        allegation_categories=list(opts["categories"]), injury=opts["injury"],
        criminal_conduct=opts["criminal_conduct"],
        pending_litigation=opts["pending_litigation"], accepts_video=opts["accepts_video"],
        staff_notes=opts["notes"],
        parties=[
            NewParty(role="complainant", full_name=opts["complainant_name"],
                     message_name=opts["complainant_message_name"],
                     phone=opts["complainant_phone"], email=opts["complainant_email"],
                     language=opts["complainant_language"],
                     channels=opts["complainant_channels"]),
            NewParty(role="officer", full_name=opts["officer_name"],
                     message_name=opts["officer_message_name"],
                     officer_star=opts["officer_star"], phone=opts["officer_phone"],
                     email=opts["officer_email"], channels="email,sms"),
        ],
    )
    with app.transaction() as session:
        case = add_case(session, new, app.policy, now=app.clock.now(), actor=STAFF_ACTOR)
        click.echo(f"case {case.id} ({case.log_number}) recorded; policy recommends "
                   f"{case.recommendation}: {'; '.join(case.recommendation_reasons)}")


@cases.command("list")
@click.option("--state", help="Only cases in this state.")
@pass_app
def cases_list(app: App, state: str | None) -> None:
    """List cases with their state."""
    from cases.models import Case

    with app.transaction() as session:
        query = select(Case).order_by(Case.id)
        if state:
            query = query.where(Case.state == state)
        rows = session.scalars(query).all()
        click.echo(f"{'id':>4}  {'log number':<12} {'state':<17} {'recommendation':<14} referred")
        for case in rows:
            click.echo(f"{case.id:>4}  {case.log_number:<12} {case.state:<17} "
                       f"{case.recommendation or '-':<14} {app.local(case.referred_at)}")


@cases.command("show")
@click.argument("ident")
@pass_app
@domain_errors
def cases_show(app: App, ident: str) -> None:
    """Show a case (by id or log number) with its parties, consents and timeline."""
    from cases.models import AuditEvent
    from cases.privacy import mask_email, mask_phone
    from cases.service import find_case

    with app.transaction() as session:
        case = find_case(session, ident)
        click.echo(f"case {case.id}  log {case.log_number}  state {case.state}")
        click.echo(f"  incident {case.incident_date}  categories "
                   f"{', '.join(case.allegation_categories)}")
        click.echo(f"  recommendation {case.recommendation}: "
                   f"{'; '.join(case.recommendation_reasons)}")
        if case.decided_by:
            click.echo(f"  decided by {case.decided_by}"
                       f"{' (override)' if case.decision_overrode_policy else ''}: "
                       f"{case.decision_reason or '-'}")
        for party in case.parties:
            click.echo(f"  {party.role:<12} {party.full_name}  {mask_phone(party.phone)}  "
                       f"{mask_email(party.email)}  lang {party.language}"
                       f"{'  SMS opted out' if party.sms_opted_out else ''}")
        for consent in case.consents:
            click.echo(f"  consent of party {consent.party_id}: {consent.status}")
        for row in case.sessions:
            click.echo(f"  session {row.id}: {row.status} {app.local(row.starts_at)} "
                       f"mediator {row.mediator_id} venue {row.venue_id}")
        events = session.scalars(select(AuditEvent).where(AuditEvent.case_id == case.id)
                                 .order_by(AuditEvent.id)).all()
        click.echo("  timeline:")
        for event in events:
            detail = ", ".join(f"{k}={v}" for k, v in event.detail.items() if v is not None)
            click.echo(f"    {app.local(event.at)}  {event.actor:<10} {event.action} {detail}")


@cases.command("decide")
@click.argument("ident")
@click.option("--eligible/--ineligible", required=True)
@click.option("--reason", help="Required when overriding the policy's recommendation.")
@click.option("--by", "actor", default=STAFF_ACTOR, show_default=True)
@pass_app
@domain_errors
def cases_decide(app: App, ident: str, eligible: bool, reason: str | None, actor: str) -> None:
    """Staff's eligibility decision; an eligible case is sent consent requests at once."""
    from cases.service import decide, find_case

    with app.transaction() as session:
        case = find_case(session, ident)
        decide(session, case, eligible=eligible, reason=reason, policy=app.policy,
               now=app.clock.now(), actor=actor)
        click.echo(f"case {case.id} is now {case.state}")


# --- mediators and venues ---------------------------------------------------------------------------

@cli.group()
def mediators() -> None:
    """Volunteer mediators."""


@mediators.command("add")
@click.option("--name", required=True)
@click.option("--email", required=True)
@click.option("--phone")
@click.option("--language", "languages", multiple=True, default=["en"], show_default=True)
@click.option("--general-hours", type=float, required=True)
@click.option("--specialized-hours", type=float, required=True)
@click.option("--expires-on", type=click.DateTime(["%Y-%m-%d"]))
@click.option("--max-per-week", type=int, default=3, show_default=True)
@click.option("--former-police", is_flag=True)
@click.option("--conflict-star", "conflict_stars", multiple=True,
              help="Star number of an officer this mediator must not mediate for.")
@pass_app
@domain_errors
def mediators_add(app: App, **opts: Any) -> None:
    """Add a mediator; says whether they are qualified to be assigned."""
    from cases.directory import NewMediator, add_mediator, qualification_problems

    expires: datetime | None = opts["expires_on"]
    new = NewMediator(
        full_name=opts["name"], email=opts["email"], phone=opts["phone"],
        languages=list(opts["languages"]), general_training_hours=opts["general_hours"],
        specialized_training_hours=opts["specialized_hours"],
        training_expires_on=expires.date() if expires else None,
        max_sessions_per_week=opts["max_per_week"], former_police=opts["former_police"],
        conflict_officer_stars=list(opts["conflict_stars"]),
    )
    with app.transaction() as session:
        mediator = add_mediator(session, new, now=app.clock.now(), actor=STAFF_ACTOR,
                                qualification=app.policy.qualification)
        problems = qualification_problems(mediator, app.today(), app.policy.qualification)
        status = "qualified" if not problems else "NOT qualified: " + "; ".join(problems)
        click.echo(f"mediator {mediator.id} added ({status})")


@mediators.command("list")
@pass_app
def mediators_list(app: App) -> None:
    """List mediators with languages and qualification."""
    from cases.directory import list_mediators, qualification_problems

    with app.transaction() as session:
        today = app.today()
        for m in list_mediators(session):
            problems = qualification_problems(m, today, app.policy.qualification)
            click.echo(f"{m.id:>4}  {m.full_name:<28} {','.join(m.languages):<10} "
                       f"max {m.max_sessions_per_week}/wk  "
                       f"{'qualified' if not problems else '; '.join(problems)}")


@mediators.command("calendar")
@click.argument("mediator_id", type=int)
@click.option("--kind", type=click.Choice(["caldav", "ics", "none"]), required=True,
              help="caldav: read busy times and write sessions; ics: read a feed; none: forget it.")
@click.option("--url", default=None, help="The calendar collection (CalDAV) or feed (ICS) URL.")
@click.option("--username", default=None, help="CalDAV user name (omit to send the secret as a token).")
@click.option("--secret-stdin", is_flag=True,
              help="Read the CalDAV password or token from standard input (never from the command "
                   "line, where other users and the shell history would see it). Without it, no "
                   "secret is kept.")
@pass_app
@domain_errors
def mediators_calendar(app: App, mediator_id: int, kind: str, url: str | None,
                       username: str | None, secret_stdin: bool) -> None:
    """Set where a mediator keeps their calendar; the secret is stored sealed."""
    from cases.directory import CalendarSettings, get_mediator, set_mediator_calendar

    secret = sys.stdin.readline().rstrip("\r\n") if secret_stdin else None
    if secret_stdin and not secret:
        fail("--secret-stdin: standard input held no secret")
    with app.transaction() as session:
        mediator = get_mediator(session, mediator_id)
        dropped = set_mediator_calendar(session, mediator, CalendarSettings(kind, url, username, secret),
                                        sealer=app.sealer, now=app.clock.now(), actor=STAFF_ACTOR,
                                        allowed=app.calendar_hosts)
    moved = f"; {dropped} sessions will be written into the new calendar" if dropped else ""
    click.echo(f"mediator {mediator_id}: calendar set to {kind}{moved}")


@cli.group()
def venues() -> None:
    """Neutral places (and video rooms) for sessions."""


@venues.command("add")
@click.option("--name", required=True)
@click.option("--address", default="")
@click.option("--kind", type=click.Choice(["in_person", "video"]), default="in_person")
@click.option("--neutral/--not-neutral", default=None,
              help="Required: neutral ground (library, community centre...), or not (e.g. a "
              "police facility: never offered or booked).")
@click.option("--not-accessible", is_flag=True)
@click.option("--capacity", type=int, default=6, show_default=True)
@click.option("--hours", default="mon-fri 09:00-17:00", show_default=True)
@click.option("--video-url")
@pass_app
@domain_errors
def venues_add(app: App, **opts: Any) -> None:
    """Add a venue."""
    from cases.directory import NewVenue, add_venue, parse_opening_hours

    if opts["neutral"] is None:
        raise click.UsageError("say --neutral or --not-neutral (a police facility is not)")
    new = NewVenue(name=opts["name"], address=opts["address"], kind=opts["kind"],
                   neutral=opts["neutral"], accessible=not opts["not_accessible"],
                   capacity=opts["capacity"], opening_hours=parse_opening_hours(opts["hours"]),
                   video_url=opts["video_url"])
    with app.transaction() as session:
        venue = add_venue(session, new, now=app.clock.now(), actor=STAFF_ACTOR)
        click.echo(f"venue {venue.id} added{'' if venue.neutral else ' (not neutral: never offered)'}")


@venues.command("list")
@pass_app
def venues_list(app: App) -> None:
    """List venues."""
    from cases.directory import list_venues

    with app.transaction() as session:
        for v in list_venues(session):
            flags = [v.kind, "neutral" if v.neutral else "NOT NEUTRAL",
                     "accessible" if v.accessible else "not accessible"]
            click.echo(f"{v.id:>4}  {v.name:<32} {', '.join(flags)}")


@cli.command("import")
@click.argument("kind", type=click.Choice(["cases", "mediators", "venues"]))
@click.argument("path", type=click.Path(path_type=Path))
@pass_app
@domain_errors
def import_command(app: App, kind: str, path: Path) -> None:
    """Import cases, mediators or venues from CSV; bad rows are listed and the rest kept."""
    from tqdm import tqdm

    from cases.importing import import_csv

    with app.transaction() as session, tqdm(desc=f"importing {kind}", unit="row",
                                            disable=None, file=sys.stderr) as bar:
        report = import_csv(session, path, kind, policy=app.policy, now=app.clock.now(),
                            actor=STAFF_ACTOR, progress=bar.update,
                            calendar_hosts=app.calendar_hosts)
    click.echo(f"imported {report.imported} {kind}; {len(report.errors)} row(s) rejected")
    for error in report.errors:
        click.echo(f"  {error}", err=True)
    if report.errors:
        sys.exit(1)


@cli.command()
@click.option("--dir", "directory", type=click.Path(path_type=Path),
              help="Where to keep the demo database, and the outbox unless CMP_OUTBOX_DIR is "
                   "set (default: a new temp folder).")
@pass_app
@domain_errors
def demo(app: App, directory: Path | None) -> None:
    """Three cases on simulated time, every message written to a local outbox."""
    from demo import run_demo

    logging.getLogger().setLevel(logging.ERROR)
    chosen = "outbox_dir" in app.loaded.model_fields_set  # CMP_OUTBOX_DIR, or .env
    result = run_demo(click.echo, directory, app.loaded.outbox_dir if chosen else None)
    written = sorted(p.name for p in result.outbox.glob("notice-*"))
    if sorted(result.sent) != written:
        fail(f"the outbox does not match the timeline: {len(written)} files, "
             f"{len(result.sent)} messages")


# --- the running service ------------------------------------------------------------------------------

def calendar_source_for(clock: Clock, sealer: Sealer, allowed: AllowedHosts) -> SourceFor:
    """A mediator's busy-time source: their CalDAV calendar or read-only ICS feed, if any.
    ``allowed``: ``App.calendar_hosts``. Raises ``ValueError`` for an unusable feed URL."""
    from calendars.ics_feed import IcsFeedSource
    from calendars.push import writer_for
    from calendars.sessions import SESSION_UID_DOMAIN

    def source(mediator: Mediator) -> CalendarSource | None:
        if mediator.calendar_kind == "ics" and mediator.calendar_url:
            return IcsFeedSource(mediator.calendar_url, default_zone=mediator.time_zone,
                                 own_domain=SESSION_UID_DOMAIN, allowed=allowed)
        return writer_for(mediator, clock, sealer=sealer, allowed=allowed)

    return source


def job_deps(app: App) -> JobDeps:
    from calendars.push import writer_for
    from notifiers.wiring import build_dispatcher
    from scheduler.jobs import JobDeps
    from scheduler.wiring import booking_rules

    rules = booking_rules(app.policy, app.settings)
    dispatcher = build_dispatcher(app.settings, app.session_factory, app.clock)
    return JobDeps(rules=rules, dispatcher=dispatcher,
                   calendar_source=calendar_source_for(app.clock, app.sealer, app.calendar_hosts),
                   calendar_writer=lambda mediator: writer_for(mediator, app.clock, sealer=app.sealer,
                                                               allowed=app.calendar_hosts),
                   program_name=app.settings.program_name)


def _stop_on_signals(stop: threading.Event) -> None:
    import signal

    def handler(signum: int, _frame: FrameType | None) -> None:
        logging.getLogger("main").info("signal %s: stopping", signum)
        stop.set()

    signal.signal(signal.SIGTERM, handler)
    signal.signal(signal.SIGINT, handler)


def _worker_thread(app: App, stop: threading.Event) -> threading.Thread:
    import threading

    from scheduler.service import run_worker
    from scheduler.wiring import worker_config

    config = worker_config(app.settings)
    thread = threading.Thread(
        target=run_worker, name="cmp-worker",
        args=(config, app.session_factory, app.clock, stop, job_deps(app)), daemon=True)
    thread.start()
    return thread


@cli.command()
@pass_app
@domain_errors
def worker(app: App) -> None:
    """The scheduler (one active per database, the others stand by) and the outbox dispatcher."""
    import threading

    from scheduler.service import run_worker
    from scheduler.wiring import worker_config

    if app.settings.migrate_on_start:
        app.upgrade()
    stop = threading.Event()
    _stop_on_signals(stop)
    run_worker(worker_config(app.settings), app.session_factory, app.clock, stop,
               job_deps(app))


@cli.command()
@pass_app
@domain_errors
def serve(app: App) -> None:
    """HTTP (staff API, dashboard, party pages, webhooks) with the worker beside it."""
    import threading

    import uvicorn

    from web.app import create_app

    if app.settings.migrate_on_start:
        app.upgrade()
    stop = threading.Event()
    thread = _worker_thread(app, stop)
    web = create_app(app.settings, app.session_factory, app.clock, app.policy)
    click.echo(f"serving on http://{app.settings.host}:{app.settings.port}/ "
               f"(API docs at /docs); database {app.settings.database_url.split('@')[-1]}")
    try:
        # log_config=None: uvicorn's loggers (the access log prints request paths, which hold
        # party-link tokens) go through the one redacting handler of logging_setup.
        uvicorn.run(web, host=app.settings.host, port=app.settings.port, log_config=None)
    finally:
        stop.set()
        thread.join(timeout=10)


@cli.command()
@click.option("--until-idle", is_flag=True, help="Stop when nothing is due.")
@pass_app
@domain_errors
def dispatch(app: App, until_idle: bool) -> None:
    """Only the outbox dispatcher; run as many as you like against one PostgreSQL."""
    import threading

    from notifiers.dispatcher import run_dispatcher
    from notifiers.wiring import build_dispatcher

    stop = threading.Event()
    _stop_on_signals(stop)
    totals = run_dispatcher(build_dispatcher(app.settings, app.session_factory, app.clock), stop,
                            idle_wait=app.settings.dispatch_interval_seconds,
                            until_idle=until_idle)
    click.echo(f"sent {totals.sent}, retried {totals.retried}, failed {totals.failed}, "
               f"dead {totals.dead}, held {totals.deferred}")


@cli.command()
@click.option("--host", default="127.0.0.1", show_default=True)
@click.option("--port", type=int, default=8025, show_default=True)
def emulator(host: str, port: int) -> None:
    """A local stand-in for the Twilio and SendGrid APIs; point CMP_*_BASE_URL at it."""
    from notifiers.emulator.__main__ import serve as serve_emulator
    from notifiers.emulator.server import EmulatorConfig

    serve_emulator(EmulatorConfig(), host, port)


def _register_web_commands() -> None:
    from web.cli import register

    register(cli)


_register_web_commands()


if __name__ == "__main__":
    cli()
