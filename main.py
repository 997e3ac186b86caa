"""The entry point and composition root: the one place where settings, database, clock, policy,
notifiers, calendars, scheduler and web are wired together (``App``), and where the command
groups of :mod:`cli` are registered on the root group.

Run ``python main.py --help``. Every command reads ``CMP_*`` settings (see ``settings.py``) and
exits as :mod:`cli` says: 0 done, 1 done in part, 2 refused with a one-line reason.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import date, datetime
from functools import cached_property
from typing import TYPE_CHECKING, Any
from zoneinfo import ZoneInfo

import click
from sqlalchemy import Engine
from sqlalchemy.orm import Session, sessionmaker

from cases.clock import Clock, SystemClock
from cases.policy import Policy, load_policy
from cli import cases as cases_commands
from cli import config, db, demo, importing, mediators, remind, service, sessions, users, venues
from cli.context import Deps
from cli.errors import fail
from settings import Settings, SettingsError, load_settings, with_secret_key

if TYPE_CHECKING:  # imported where used, so that `--help` loads nothing heavy
    from calendars.base import CalendarSource
    from cases.calendar_urls import AllowedHosts
    from cases.models import Mediator
    from cases.sealing import Sealer
    from scheduler.jobs import JobDeps, SourceFor


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

    def job_deps(self) -> JobDeps:
        """What the worker's jobs need (see :func:`job_deps`)."""
        return job_deps(self)

    def local(self, when: datetime | None) -> str:
        if when is None:
            return "-"
        return when.astimezone(ZoneInfo(self.loaded.time_zone)).strftime("%Y-%m-%d %H:%M %Z")


def build_app(clock: Clock | None = None, **overrides: Any) -> App:
    return App(loaded=load_settings(**overrides), clock=clock or SystemClock())


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


# --- what the worker's jobs are given ----------------------------------------------------------

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
    from notifiers.wiring import build_dispatcher, build_line_checker
    from scheduler.jobs import JobDeps
    from scheduler.wiring import booking_rules

    rules = booking_rules(app.policy, app.settings)
    dispatcher = build_dispatcher(app.settings, app.session_factory, app.clock)
    return JobDeps(rules=rules, dispatcher=dispatcher,
                   calendar_source=calendar_source_for(app.clock, app.sealer, app.calendar_hosts),
                   calendar_writer=lambda mediator: writer_for(mediator, app.clock, sealer=app.sealer,
                                                               allowed=app.calendar_hosts),
                   program_name=app.settings.program_name,
                   line_checker=build_line_checker(app.settings))


_: type[Deps] = App  # mypy: the App gives every command what it needs

for command in (config.config, db.db, cases_commands.cases, mediators.mediators, venues.venues,
                importing.import_command, demo.demo, service.worker, service.serve,
                service.dispatch, service.emulator, remind.remind, sessions.sessions,
                users.users):
    cli.add_command(command)


if __name__ == "__main__":
    cli()
