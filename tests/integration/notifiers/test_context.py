"""What a notice knows about its reader, from the database: the name staff gave for messages
(never a piece of the full name), the reader's role, and the channels they actually get."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import select
from sqlalchemy.orm import Session

from cases import suppressions
from cases.clock import FixedClock
from cases.models import Case, Notification, Party
from cases.outbox import Channel, NoticeKind, enqueue
from cases.referrals import decide
from cases.service import NewParty
from notifiers.compose.context import Lookup, ProgramInfo, build_variables
from notifiers.compose.rendering import Renderer
from tests.support.factories import make_case, make_mediator, new_case, policy

PROGRAM = ProgramInfo(name="Community Mediation Program", phone="+13127463594",
                      email="cmp@example.org", public_base_url="https://cmp.example.org",
                      link_secret="s" * 40)
PARTY_KINDS = [k for k in NoticeKind if k not in (NoticeKind.STAFF_ALERT,)]


def _case(db: Session, now: datetime, complainant: dict[str, object],
          officer: dict[str, object] | None = None) -> Case:
    base = new_case()
    parties = [NewParty(**{**base.parties[0].__dict__, **complainant}),
               NewParty(**{**base.parties[1].__dict__, **(officer or {})})]
    case = make_case(db, now, parties=parties)
    decide(db, case, eligible=True, reason=None, policy=policy(), now=now, actor="staff")
    db.commit()
    return case


def _everything_said_to(db: Session, party: Party, now: datetime) -> list[tuple[str, str]]:
    """(kind/channel, text) of every notice kind this party can get, rendered from its rows."""
    for kind in PARTY_KINDS:
        if kind not in (NoticeKind.ELIGIBILITY_NOTICE, NoticeKind.CONSENT_REQUEST):
            enqueue(db, kind=kind, recipient=party, due_at=now, now=now, case_id=party.case_id,
                    context={"case_id": party.case_id, "granted": False, "outcome": "impasse",
                             "why": "declined"})
    db.flush()
    renderer, lookup = Renderer(), Lookup(db)
    said = []
    rows = db.scalars(select(Notification).where(Notification.party_id == party.id)).all()
    for row in rows:
        values = build_variables(lookup, row, PROGRAM, now=now)
        if values["session"] is None and row.kind in ("booking_confirmation", "reminder",
                                                      "reschedule"):
            continue  # needs a booked session; the template tests cover those words
        rendered = renderer.render(NoticeKind(row.kind), row.language, Channel(row.channel),
                                   values)
        text = getattr(rendered, "body", None) or getattr(rendered, "text", "")
        said.append((f"{row.kind}/{row.channel}", text))
    return said


def test_no_name_given_means_no_name_and_never_a_piece_of_the_full_name(
        db: Session, clock: FixedClock) -> None:
    now = clock.now()
    case = _case(db, now, {"full_name": "عبد الرحمن محمود", "language": "ar"})
    complainant = case.parties[0]
    said = _everything_said_to(db, complainant, now)
    assert len(said) >= 2 * 7
    for where, text in said:
        assert "عبد" not in text and "محمود" not in text, where
    emails = [text for where, text in said if where.endswith("/email")]
    assert emails and all(text.startswith("مرحبًا،\n") for text in emails)


def test_the_name_for_messages_is_used_as_staff_wrote_it(db: Session, clock: FixedClock) -> None:
    now = clock.now()
    case = _case(db, now, {"full_name": "Agnieszka Maria Nowak-Kowalska", "language": "pl",
                           "message_name": "  Pani   Agnieszko "})
    complainant = case.parties[0]
    assert complainant.message_name == "Pani Agnieszko"
    said = dict(_everything_said_to(db, complainant, now))
    assert said["consent_request/email"].startswith("Dzień dobry, Pani Agnieszko,\n")
    assert "Nowak" not in " ".join(said.values())


def test_an_email_only_officer_is_not_asked_to_reply_by_text(
        db: Session, clock: FixedClock) -> None:
    now = clock.now()
    case = _case(db, now, {}, officer={"phone": None, "channels": "email"})
    officer = case.parties[1]
    said = dict(_everything_said_to(db, officer, now))
    request = said["consent_request/email"]
    assert "text message" not in request and "YES or NO" not in request
    assert "saying no carries no penalty" in request
    assert not [t for t in said.values() if "your complaint" in t.lower()]


def test_channels_are_the_ones_actually_reached(db: Session, clock: FixedClock) -> None:
    now = clock.now()
    case = _case(db, now, {"language": "en"})
    complainant = case.parties[0]
    assert complainant.phone
    suppressions.suppress(db, Channel.SMS, complainant.phone, source="inbound_sms", now=now)
    db.flush()
    row = db.scalars(select(Notification).where(Notification.party_id == complainant.id,
                                                Notification.kind == "consent_request",
                                                Notification.channel == "email")).one()
    values = build_variables(Lookup(db), row, PROGRAM, now=now)
    assert values["recipient"]["channels"] == ["email"]
    assert values["recipient"]["role"] == "complainant"
    text = Renderer().email(NoticeKind.CONSENT_REQUEST, "en", values).text
    assert "text message" not in text


def test_a_mediator_is_greeted_by_the_name_they_gave(db: Session, clock: FixedClock) -> None:
    now = clock.now()
    mediator = make_mediator(db, now, full_name="Rev. Dr. Martha Okafor-Williams")
    case = make_case(db, now)
    rows = enqueue(db, kind=NoticeKind.CANCELLATION, recipient=mediator, due_at=now, now=now,
                   case_id=case.id, context={"case_id": case.id})
    values = build_variables(Lookup(db), rows[0], PROGRAM, now=now)
    assert values["recipient"]["name"] == "Rev. Dr. Martha Okafor-Williams"
    assert values["recipient"]["role"] == "mediator"
