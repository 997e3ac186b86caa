"""`remind`: a reminder now, to every party and mediator of a session."""

from __future__ import annotations

import threading

import click

from cli.context import Deps, actor_option, pass_app
from cli.errors import domain_errors
from scheduler.reminders import trigger_reminder


@click.command("remind")
@click.option("--session", "session_id", type=int, help="Remind about this session.")
@click.option("--case", "case_id", type=int, help="Remind about this case's booked session.")
@actor_option
@pass_app
@domain_errors
def remind(deps: Deps, session_id: int | None, case_id: int | None, actor: str) -> None:
    """Send a reminder now to every party and mediator of a session."""
    if (session_id is None) == (case_id is None):
        raise click.UsageError("give exactly one of --session or --case")
    with deps.transaction() as session:
        rows = trigger_reminder(session, session_id=session_id, case_id=case_id,
                                now=deps.clock.now(), actor=actor)
        count = len(rows)
    # Send at once rather than waiting for a worker's next poll (claims make this safe beside
    # running workers); an SMS in the recipient's quiet hours stays held until morning.
    from notifiers.outbox.loop import run_dispatcher
    from notifiers.wiring import build_dispatcher

    dispatcher = build_dispatcher(deps.settings, deps.session_factory, deps.clock)
    totals = run_dispatcher(dispatcher, threading.Event(), until_idle=True)
    click.echo(f"{count} reminder(s) queued; {totals.sent} message(s) sent now"
               f"{f', {totals.deferred} held for quiet hours' if totals.deferred else ''}.")
