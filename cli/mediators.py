"""`mediators`: who may mediate (add, list, their own calendar)."""

from __future__ import annotations

import sys
from datetime import datetime
from typing import TYPE_CHECKING, Any

import click

from cli.context import STAFF_ACTOR, Deps, pass_app
from cli.errors import domain_errors, fail

if TYPE_CHECKING:
    pass


@click.group()
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
def mediators_add(app: Deps, **opts: Any) -> None:
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
def mediators_list(app: Deps) -> None:
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
def mediators_calendar(app: Deps, mediator_id: int, kind: str, url: str | None,
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
