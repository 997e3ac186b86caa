"""Staff actions that matter in a pinch, from the command line (registered by ``main.py``):

    python main.py remind --session ID | --case ID
    python main.py sessions cancel ID --reason TEXT
    python main.py users add USERNAME --role staff        (password prompted)
    python main.py users token USERNAME --name cron       (prints a new API token once)

Every command opens its own transaction. The click context object must provide
``settings``, ``clock``, ``session_factory`` and ``policy`` (``main.App`` does).
"""

from __future__ import annotations

import functools
import sys
import threading
from collections.abc import Callable
from typing import Any, Protocol, TypeVar

import click
from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from cases.clock import Clock
from cases.database import transaction
from cases.errors import DomainError, NotFound
from cases.models import MediationSession, StaffUser
from cases.policy import Policy
from scheduler import booking
from scheduler.booking import Rules
from scheduler.reminders import trigger_reminder
from scheduler.wiring import booking_rules
from settings import Settings, SettingsError
from web.auth import create_user, issue_api_token

F = TypeVar("F", bound=Callable[..., Any])


class CliDeps(Protocol):
    settings: Settings
    clock: Clock
    policy: Policy

    @property
    def session_factory(self) -> sessionmaker[Session]: ...


def _errors(func: F) -> F:
    """Refused (a domain or settings error): one ``error:`` line and exit 2, as ``main.py``'s."""
    @functools.wraps(func)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        try:
            return func(*args, **kwargs)
        except (DomainError, SettingsError) as exc:
            click.echo(f"error: {exc}", err=True)
            sys.exit(2)

    return wrapper  # type: ignore[return-value]


actor_option = click.option("--actor", default="cli", show_default=True,
                            help="Name recorded in the audit trail.")


@click.command("remind")
@click.option("--session", "session_id", type=int, help="Remind about this session.")
@click.option("--case", "case_id", type=int, help="Remind about this case's booked session.")
@actor_option
@click.pass_obj
@_errors
def remind(deps: CliDeps, session_id: int | None, case_id: int | None, actor: str) -> None:
    """Send a reminder now to every party and mediator of a session."""
    if (session_id is None) == (case_id is None):
        raise click.UsageError("give exactly one of --session or --case")
    with transaction(deps.session_factory) as session:
        rows = trigger_reminder(session, session_id=session_id, case_id=case_id,
                                now=deps.clock.now(), actor=actor)
        count = len(rows)
    # Send at once rather than waiting for a worker's next poll (claims make this safe beside
    # running workers); an SMS in the recipient's quiet hours stays held until morning.
    from notifiers.dispatcher import run_dispatcher
    from notifiers.wiring import build_dispatcher

    dispatcher = build_dispatcher(deps.settings, deps.session_factory, deps.clock)
    totals = run_dispatcher(dispatcher, threading.Event(), until_idle=True)
    click.echo(f"{count} reminder(s) queued; {totals.sent} message(s) sent now"
               f"{f', {totals.deferred} held for quiet hours' if totals.deferred else ''}.")


def _rules(deps: CliDeps) -> Rules:
    return booking_rules(deps.policy, deps.settings)


@click.command("cancel")
@click.argument("session_id", type=int)
@click.option("--reason", required=True, help="Told to parties and kept in the audit trail.")
@actor_option
@click.pass_obj
@_errors
def sessions_cancel(deps: CliDeps, session_id: int, reason: str, actor: str) -> None:
    """Cancel a session; everyone is told and the case goes back to scheduling."""
    with transaction(deps.session_factory) as session:
        row = session.get(MediationSession, session_id)
        if row is None:
            raise NotFound("session", session_id)
        booking.cancel(session, row, _rules(deps), reason=reason, now=deps.clock.now(),
                       actor=actor)
    click.echo(f"session {session_id} cancelled")


@click.command("add")
@click.argument("username")
@click.option("--role", type=click.Choice(["admin", "staff", "viewer"]), required=True)
@click.password_option(help="At least 10 characters (prompted when left out).")
@click.pass_obj
@_errors
def users_add(deps: CliDeps, username: str, role: str, password: str) -> None:
    """Create a staff account."""
    with transaction(deps.session_factory) as session:
        user = create_user(session, username=username, password=password, role=role,
                           now=deps.clock.now())
        name = user.username
    click.echo(f"user {name} ({role}) created")


@click.command("token")
@click.argument("username")
@click.option("--name", default="script", show_default=True, help="What the token is for.")
@click.pass_obj
@_errors
def users_token(deps: CliDeps, username: str, name: str) -> None:
    """Print a new API token for USERNAME (shown once; only its hash is kept)."""
    with transaction(deps.session_factory) as session:
        user = session.scalar(select(StaffUser).where(StaffUser.username == username.lower()))
        if user is None or not user.active:
            raise DomainError(f"no active user {username!r}")
        _, plain = issue_api_token(session, user, name, deps.clock.now())
    click.echo(plain)


@click.group("sessions")
def sessions_group() -> None:
    """Mediation sessions."""


@click.group("users")
def users_group() -> None:
    """Staff accounts and API tokens."""


sessions_group.add_command(sessions_cancel)
users_group.add_command(users_add)
users_group.add_command(users_token)


def register(cli: click.Group) -> None:
    """Add the web's commands to ``cli``, joining groups of the same name that already exist."""
    cli.add_command(remind)
    for group, commands in ((sessions_group, [sessions_cancel]),
                            (users_group, [users_add, users_token])):
        existing = cli.commands.get(group.name or "")
        if isinstance(existing, click.Group):
            for command in commands:
                if command.name not in existing.commands:
                    existing.add_command(command)
        else:
            cli.add_command(group)
