"""`config`: the effective settings, secrets masked (and the README's table)."""

from __future__ import annotations

from typing import TYPE_CHECKING

import click

from cli.context import Deps, pass_app

if TYPE_CHECKING:
    pass


@click.command()
@click.option("--markdown", is_flag=True, help="Print the settings table for the README.")
@pass_app
def config(app: Deps, markdown: bool) -> None:
    """Show the effective settings (secrets masked)."""
    if markdown:
        fields = type(app.loaded).model_fields
        click.echo("| variable | default | meaning |\n|---|---|---|")
        for (name, value), field in zip(app.loaded.describe(), fields.values(), strict=True):
            click.echo(f"| `{name}` | `{value}` | {field.description or ''} |")
        return
    for name, value in app.loaded.describe():
        click.echo(f"{name:<36} {value}")
