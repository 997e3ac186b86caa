"""`db`: the database schema."""

from __future__ import annotations

from typing import TYPE_CHECKING

import click

from cli.context import Deps, pass_app
from cli.errors import domain_errors

if TYPE_CHECKING:
    pass


@click.group()
def db() -> None:
    """Database schema."""


@db.command("upgrade")
@pass_app
@domain_errors
def db_upgrade(app: Deps) -> None:
    """Migrate the database to the latest schema."""
    app.upgrade()
    click.echo("database is up to date")
