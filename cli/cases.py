"""`cases`: complaints screened for mediation (add, list, show, decide)."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import click
from sqlalchemy import select

from cli.context import STAFF_ACTOR, Deps, pass_app
from cli.errors import domain_errors

if TYPE_CHECKING:
    pass


@click.group()
def cases() -> None:
    """Complaints screened for mediation."""


@cases.command("add")
@click.option("--log-number", required=True)
@click.option("--incident-date", required=True, type=click.DateTime(["%Y-%m-%d"]))
@click.option("--category", "categories", multiple=True, required=True,
              help="Allegation category (repeatable), e.g. perceived_bias")
@click.option("--injury", is_flag=True)
@click.option("--criminal-conduct", is_flag=True)
@click.option("--pending-litigation", is_flag=True)
@click.option("--accepts-video", is_flag=True)
@click.option("--complainant-name", required=True)
@click.option("--complainant-message-name",
              help="How messages greet the complainant (e.g. 'Ms. Nowak'); default: no name")
@click.option("--complainant-phone")
@click.option("--complainant-email")
@click.option("--complainant-language", default="en", show_default=True)
@click.option("--complainant-channels", default="sms,email", show_default=True)
@click.option("--officer-name", required=True)
@click.option("--officer-message-name",
              help="How messages greet the officer (e.g. 'Officer Ruiz'); default: no name")
@click.option("--officer-star", required=True)
@click.option("--officer-email")
@click.option("--officer-phone")
@click.option("--notes", default="")
@pass_app
@domain_errors
def cases_add(app: Deps, **opts: Any) -> None:
    """Record a complaint and show the policy's recommendation."""
    from cases.service import NewCase, NewParty, add_case

    new = NewCase(
        log_number=opts["log_number"], incident_date=opts["incident_date"].date(),
        allegation_categories=list(opts["categories"]), injury=opts["injury"],
        criminal_conduct=opts["criminal_conduct"],
        pending_litigation=opts["pending_litigation"], accepts_video=opts["accepts_video"],
        staff_notes=opts["notes"],
        parties=[
            NewParty(role="complainant", full_name=opts["complainant_name"],
                     message_name=opts["complainant_message_name"],
                     phone=opts["complainant_phone"], email=opts["complainant_email"],
                     language=opts["complainant_language"],
                     channels=opts["complainant_channels"]),
            NewParty(role="officer", full_name=opts["officer_name"],
                     message_name=opts["officer_message_name"],
                     officer_star=opts["officer_star"], phone=opts["officer_phone"],
                     email=opts["officer_email"], channels="email,sms"),
        ],
    )
    with app.transaction() as session:
        case = add_case(session, new, app.policy, now=app.clock.now(), actor=STAFF_ACTOR)
        click.echo(f"case {case.id} ({case.log_number}) recorded; policy recommends "
                   f"{case.recommendation}: {'; '.join(case.recommendation_reasons)}")


@cases.command("list")
@click.option("--state", help="Only cases in this state.")
@pass_app
def cases_list(app: Deps, state: str | None) -> None:
    """List cases with their state."""
    from cases.models import Case

    with app.transaction() as session:
        query = select(Case).order_by(Case.id)
        if state:
            query = query.where(Case.state == state)
        rows = session.scalars(query).all()
        click.echo(f"{'id':>4}  {'log number':<12} {'state':<17} {'recommendation':<14} referred")
        for case in rows:
            click.echo(f"{case.id:>4}  {case.log_number:<12} {case.state:<17} "
                       f"{case.recommendation or '-':<14} {app.local(case.referred_at)}")


@cases.command("show")
@click.argument("ident")
@pass_app
@domain_errors
def cases_show(app: Deps, ident: str) -> None:
    """Show a case (by id or log number) with its parties, consents and timeline."""
    from cases.models import AuditEvent
    from cases.privacy import mask_email, mask_phone
    from cases.service import find_case

    with app.transaction() as session:
        case = find_case(session, ident)
        click.echo(f"case {case.id}  log {case.log_number}  state {case.state}")
        click.echo(f"  incident {case.incident_date}  categories "
                   f"{', '.join(case.allegation_categories)}")
        click.echo(f"  recommendation {case.recommendation}: "
                   f"{'; '.join(case.recommendation_reasons)}")
        if case.decided_by:
            click.echo(f"  decided by {case.decided_by}"
                       f"{' (override)' if case.decision_overrode_policy else ''}: "
                       f"{case.decision_reason or '-'}")
        for party in case.parties:
            click.echo(f"  {party.role:<12} {party.full_name}  {mask_phone(party.phone)}  "
                       f"{mask_email(party.email)}  lang {party.language}"
                       f"{'  SMS opted out' if party.sms_opted_out else ''}")
        for consent in case.consents:
            click.echo(f"  consent of party {consent.party_id}: {consent.status}")
        for row in case.sessions:
            click.echo(f"  session {row.id}: {row.status} {app.local(row.starts_at)} "
                       f"mediator {row.mediator_id} venue {row.venue_id}")
        events = session.scalars(select(AuditEvent).where(AuditEvent.case_id == case.id)
                                 .order_by(AuditEvent.id)).all()
        click.echo("  timeline:")
        for event in events:
            detail = ", ".join(f"{k}={v}" for k, v in event.detail.items() if v is not None)
            click.echo(f"    {app.local(event.at)}  {event.actor:<10} {event.action} {detail}")


@cases.command("decide")
@click.argument("ident")
@click.option("--eligible/--ineligible", required=True)
@click.option("--reason", help="Required when overriding the policy's recommendation.")
@click.option("--by", "actor", default=STAFF_ACTOR, show_default=True)
@pass_app
@domain_errors
def cases_decide(app: Deps, ident: str, eligible: bool, reason: str | None, actor: str) -> None:
    """Staff's eligibility decision; an eligible case is sent consent requests at once."""
    from cases.referrals import decide
    from cases.service import find_case

    with app.transaction() as session:
        case = find_case(session, ident)
        decide(session, case, eligible=eligible, reason=reason, policy=app.policy,
               now=app.clock.now(), actor=actor)
        click.echo(f"case {case.id} is now {case.state}")
