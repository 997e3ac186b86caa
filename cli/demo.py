"""`demo`: three cases on simulated time, every message written to a local outbox."""

from __future__ import annotations

import logging
from pathlib import Path
from typing import TYPE_CHECKING

import click

from cli.context import Deps, pass_app
from cli.errors import domain_errors, fail

if TYPE_CHECKING:
    pass


@click.command()
@click.option("--dir", "directory", type=click.Path(path_type=Path),
              help="Where to keep the demo database, and the outbox unless CMP_OUTBOX_DIR is "
                   "set (default: a new temp folder).")
@pass_app
@domain_errors
def demo(app: Deps, directory: Path | None) -> None:
    """Three cases on simulated time, every message written to a local outbox."""
    from demo import run_demo

    logging.getLogger().setLevel(logging.ERROR)
    chosen = "outbox_dir" in app.loaded.model_fields_set  # CMP_OUTBOX_DIR, or .env
    result = run_demo(click.echo, directory, app.loaded.outbox_dir if chosen else None)
    written = sorted(p.name for p in result.outbox.glob("notice-*"))
    if sorted(result.sent) != written:
        fail(f"the outbox does not match the timeline: {len(written)} files, "
             f"{len(result.sent)} messages")
