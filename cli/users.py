"""`users`: staff accounts and API tokens."""

from __future__ import annotations

import click
from sqlalchemy import select

from cases.errors import DomainError
from cases.models import StaffUser
from cli.context import Deps, pass_app
from cli.errors import domain_errors
from web.auth import create_user, issue_api_token


@click.group("users")
def users() -> None:
    """Staff accounts and API tokens."""


@users.command("add")
@click.argument("username")
@click.option("--role", type=click.Choice(["admin", "staff", "viewer"]), required=True)
@click.password_option(help="At least 10 characters (prompted when left out).")
@pass_app
@domain_errors
def users_add(deps: Deps, username: str, role: str, password: str) -> None:
    """Create a staff account."""
    with deps.transaction() as session:
        user = create_user(session, username=username, password=password, role=role,
                           now=deps.clock.now())
        name = user.username
    click.echo(f"user {name} ({role}) created")


@users.command("token")
@click.argument("username")
@click.option("--name", default="script", show_default=True, help="What the token is for.")
@pass_app
@domain_errors
def users_token(deps: Deps, username: str, name: str) -> None:
    """Print a new API token for USERNAME (shown once; only its hash is kept)."""
    with deps.transaction() as session:
        user = session.scalar(select(StaffUser).where(StaffUser.username == username.lower()))
        if user is None or not user.active:
            raise DomainError(f"no active user {username!r}")
        _, plain = issue_api_token(session, user, name, deps.clock.now())
    click.echo(plain)
