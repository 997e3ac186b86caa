"""`import`: cases, mediators or venues from CSV; bad rows listed, the rest kept."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import TYPE_CHECKING

import click

from cli.context import STAFF_ACTOR, Deps, pass_app
from cli.errors import EXIT_PARTLY, domain_errors

if TYPE_CHECKING:
    pass


@click.command("import")
@click.argument("kind", type=click.Choice(["cases", "mediators", "venues"]))
@click.argument("path", type=click.Path(path_type=Path))
@pass_app
@domain_errors
def import_command(app: Deps, kind: str, path: Path) -> None:
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
        sys.exit(EXIT_PARTLY)
