"""`sessions`: changes to a booked mediation session."""

from __future__ import annotations

import click

from cases.errors import NotFound
from cases.models import MediationSession
from cli.context import Deps, actor_option, pass_app
from cli.errors import domain_errors
from scheduler import booking
from scheduler.wiring import booking_rules


@click.group("sessions")
def sessions() -> None:
    """Mediation sessions."""


@sessions.command("cancel")
@click.argument("session_id", type=int)
@click.option("--reason", required=True, help="Told to parties and kept in the audit trail.")
@actor_option
@pass_app
@domain_errors
def sessions_cancel(deps: Deps, session_id: int, reason: str, actor: str) -> None:
    """Cancel a session; everyone is told and the case goes back to scheduling."""
    with deps.transaction() as session:
        row = session.get(MediationSession, session_id)
        if row is None:
            raise NotFound("session", session_id)
        booking.cancel(session, row, booking_rules(deps.policy, deps.settings), reason=reason,
                       now=deps.clock.now(), actor=actor)
    click.echo(f"session {session_id} cancelled")
