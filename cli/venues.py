"""`venues`: where sessions may take place (add, list)."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import click

from cli.context import STAFF_ACTOR, Deps, pass_app
from cli.errors import domain_errors

if TYPE_CHECKING:
    pass


@click.group()
def venues() -> None:
    """Neutral places (and video rooms) for sessions."""


@venues.command("add")
@click.option("--name", required=True)
@click.option("--address", default="")
@click.option("--kind", type=click.Choice(["in_person", "video"]), default="in_person")
@click.option("--neutral/--not-neutral", default=None,
              help="Required: neutral ground (library, community centre...), or not (e.g. a "
              "police facility: never offered or booked).")
@click.option("--not-accessible", is_flag=True)
@click.option("--capacity", type=int, default=6, show_default=True)
@click.option("--hours", default="mon-fri 09:00-17:00", show_default=True)
@click.option("--video-url")
@pass_app
@domain_errors
def venues_add(app: Deps, **opts: Any) -> None:
    """Add a venue."""
    from cases.directory import NewVenue, add_venue, parse_opening_hours

    if opts["neutral"] is None:
        raise click.UsageError("say --neutral or --not-neutral (a police facility is not)")
    new = NewVenue(name=opts["name"], address=opts["address"], kind=opts["kind"],
                   neutral=opts["neutral"], accessible=not opts["not_accessible"],
                   capacity=opts["capacity"], opening_hours=parse_opening_hours(opts["hours"]),
                   video_url=opts["video_url"])
    with app.transaction() as session:
        venue = add_venue(session, new, now=app.clock.now(), actor=STAFF_ACTOR)
        click.echo(f"venue {venue.id} added{'' if venue.neutral else ' (not neutral: never offered)'}")


@venues.command("list")
@pass_app
def venues_list(app: Deps) -> None:
    """List venues."""
    from cases.directory import list_venues

    with app.transaction() as session:
        for v in list_venues(session):
            flags = [v.kind, "neutral" if v.neutral else "NOT NEUTRAL",
                     "accessible" if v.accessible else "not accessible"]
            click.echo(f"{v.id:>4}  {v.name:<32} {', '.join(flags)}")
