"""What parties do about the messages they receive, through the doors a real person uses.

After each dispatch round :func:`react` reads what the provider delivered to each party and
plans their answers: a reply to a reminder text ("1" / YES / the word in their language to
confirm, "2" / the word for another time), a move or a withdrawal on the booking page linked
from their booking email (the page is read and its own forms posted through the web app's
client), and now and then an unsubscribe or a spam report that SendGrid reports through the
signed event webhook. Each behaviour is one function registered in ``PARTY_BEHAVIOURS``.
"""

from __future__ import annotations

import html
import re
import urllib.parse
from collections.abc import Callable
from datetime import timedelta
from typing import Any

from sqlalchemy import select

from cases.models import MediationSession, Notification, SessionStatus
from sim.state import Message, Sim
from sim.words import CHANGE, CONFIRM, YES

BOOKING_LINK = re.compile(r"https?://[^/\s]+(/p/booking/[^\s?#/<>\"]+)")
#: a time the booking page offers: the form the party taps (as the page renders it)
OFFER = re.compile(
    r'<form method="post" action="([^"]+)" class="answer">\s*'
    r'<input type="hidden" name="option" value="([^"]+)">\s*'
    r'<input type="hidden" name="sequence" value="(\d+)">\s*'
    r'<input type="hidden" name="csrf_token" value="([^"]+)">')
CSRF = re.compile(r'name="csrf_token" value="([^"]+)"')
BOOKING_NOTICES = ("booking_confirmation", "reschedule")


def react(sim: Sim, messages: list[Message]) -> None:
    """Plan what each party does about what just reached them (once per notice, however often
    it was delivered)."""
    ids = [m.notice_id for m in messages if m.notice_id]
    if not ids:
        return
    with sim.world.factory() as session:
        notices = {n.id: n for n in session.scalars(select(Notification).where(
            Notification.id.in_(ids), Notification.party_id.is_not(None)))}
        rows = [(m, notices[m.notice_id]) for m in messages
                if m.notice_id in notices]
        about = [(m, n.kind, n.case_id, n.party_id, n.session_id) for m, n in rows]
    for m, kind, case_id, party_id, session_id in about:
        person = sim.case_people.get(case_id or 0, {}).get(party_id or 0)
        if person is None or (m.notice_id or 0, person) in sim.answered:
            continue
        sim.answered.add((m.notice_id or 0, person))
        if m.channel == "sms" and kind == "reminder" and session_id is not None:
            _plan_reminder_reply(sim, person, session_id)
        elif m.channel == "email":
            _plan_email_reaction(sim, m, kind, session_id)


def _plan_reminder_reply(sim: Sim, person: int, session_id: int) -> None:
    rng, rates = sim.rng, sim.rates
    r = rng.random()
    if r < rates.reminder_confirm + rates.reminder_change:
        sim.schedule(sim.now() + timedelta(hours=rng.uniform(0.1, 8)), "reminder_reply",
                     person=person, session_id=session_id, change=r >= rates.reminder_confirm)


def _plan_email_reaction(sim: Sim, m: Message, kind: str, session_id: int | None) -> None:
    rng, rates = sim.rng, sim.rates
    link = BOOKING_LINK.search(m.body)
    if kind in BOOKING_NOTICES and link is not None and session_id is not None:
        r = rng.random()
        at = sim.now() + timedelta(hours=rng.uniform(0.5, 72))
        if r < rates.self_move:
            sim.schedule(at, "party_moves", path=link.group(1), session_id=session_id)
        elif r < rates.self_move + rates.self_withdraw:
            sim.schedule(at, "party_withdraws_online", path=link.group(1),
                         session_id=session_id)
    r = rng.random()
    if r < rates.unsubscribe + rates.spam_report:
        event = rng.choice(("unsubscribe", "group_unsubscribe")) if r < rates.unsubscribe \
            else "spamreport"
        sim.schedule(sim.now() + timedelta(hours=rng.uniform(0.2, 96)), "email_opt_out",
                     message=m.raw, event=event)


# -- the behaviours -----------------------------------------------------------------------------

def reminder_reply(sim: Sim, *, person: int, session_id: int, change: bool) -> None:
    """A text back to the reminder. Staff call a party who asked for another time and move the
    session (``staff_reschedule``)."""
    who = sim.ledger.people[person]
    if who.phone is None or who.landline:
        return
    words = ("2", CHANGE[who.language]) if change else ("1", YES[who.language],
                                                         CONFIRM[who.language])
    meaning = sim.world.inbound_sms(who.phone, sim.rng.choice(words))
    sim.result.actions[f"reminder reply: {meaning}"] += 1
    if meaning != "change_requested":
        return
    with sim.world.factory() as session:
        row = session.get(MediationSession, session_id)
        starts = row.starts_at.isoformat() if row is not None else ""
    sim.schedule(sim.business_time(sim.now()), "staff_reschedule", session_id=session_id,
                 starts_at=starts)


def party_moves(sim: Sim, *, path: str, session_id: int) -> None:
    """The party opens their booking page and taps one of the times it offers."""
    page = sim.world.http.get(path)
    if page.status_code != 200:
        sim.result.actions[f"booking page: http {page.status_code}"] += 1
        return
    offers = OFFER.findall(page.text)
    if not offers:
        sim.result.actions["booking page: no time offered"] += 1
        return
    action, option, sequence, token = sim.rng.choice(offers)
    answer = sim.world.http.post(html.unescape(action), data={
        "option": html.unescape(option), "sequence": sequence, "csrf_token": token},
        follow_redirects=False)
    sim.result.actions[f"booking page move: {_done(answer)}"] += 1


def party_withdraws_online(sim: Sim, *, path: str, session_id: int) -> None:
    """The party withdraws on their booking page, through its confirmation step."""
    page = sim.world.http.get(f"{path}/withdraw")
    token = CSRF.search(page.text) if page.status_code == 200 else None
    if token is None:  # the page says it is too late to withdraw here (or refused the link)
        shown = "not offered" if page.status_code == 200 else f"http {page.status_code}"
        sim.result.actions[f"booking page withdraw: {shown}"] += 1
        return
    answer = sim.world.http.post(f"{path}/withdraw", data={"csrf_token": token.group(1)},
                                 follow_redirects=False)
    sim.result.actions[f"booking page withdraw: {_done(answer)}"] += 1
    with sim.world.factory() as session:
        row = session.get(MediationSession, session_id)
        if row is not None and row.status != SessionStatus.BOOKED.value:
            sim.ledger.session_closed.setdefault(session_id, sim.now())


def email_opt_out(sim: Sim, *, message: dict[str, Any], event: str) -> None:
    """An unsubscribe or a spam report, as SendGrid reports it to the event webhook."""
    status = sim.world.sendgrid_event(message, event)
    sim.result.actions[f"email {event}: http {status}"] += 1
    if status < 300:
        sim.ledger.email_suppressed.setdefault(str(message["to"]).lower(), sim.now())


def _done(response: Any) -> str:
    if response.status_code != 303:
        return f"http {response.status_code}"
    query = urllib.parse.parse_qs(urllib.parse.urlsplit(response.headers["location"]).query)
    return query.get("done", ["nothing"])[0]


PARTY_BEHAVIOURS: dict[str, Callable[..., Any]] = {
    "reminder_reply": reminder_reply,
    "party_moves": party_moves,
    "party_withdraws_online": party_withdraws_online,
    "email_opt_out": email_opt_out,
}
