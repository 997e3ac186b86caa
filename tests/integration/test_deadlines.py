"""A deadline stated as a date lasts to the end of that day where the party lives, across
daylight-saving changes: an answer at 23:59 on the deadline day is in time, one at 00:01 the
next day is too late, and the expiry job returns the case only then."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy import select
from sqlalchemy.orm import Session

from cases.clock import FixedClock
from cases.deadlines import deadline_after, end_of_day
from cases.errors import DeadlinePassed
from cases.models import CaseState, Consent, Notification
from cases.referrals import decide, expire_consents, record_consent
from cases.service import NewParty
from notifiers.compose.context import Lookup, ProgramInfo, build_variables
from tests.support.factories import make_case, new_case, policy

CHICAGO = ZoneInfo("America/Chicago")
PROGRAM = ProgramInfo(name="CMP", phone="+13127463594", email="cmp@example.org",
                      public_base_url="https://cmp.example.org", link_secret="s" * 40)


@pytest.mark.parametrize(("day", "last_instant"), [
    (date(2026, 11, 1), datetime(2026, 11, 2, 5, 59, 59, 999999, tzinfo=UTC)),  # DST ends: 25 h
    (date(2027, 3, 14), datetime(2027, 3, 15, 4, 59, 59, 999999, tzinfo=UTC)),  # DST starts: 23 h
    (date(2026, 12, 15), datetime(2026, 12, 16, 5, 59, 59, 999999, tzinfo=UTC)),
])
def test_a_date_lasts_to_the_end_of_that_local_day(day: date, last_instant: datetime) -> None:
    assert end_of_day(day, "America/Chicago") == last_instant
    assert last_instant.astimezone(CHICAGO).strftime("%H:%M:%S.%f") == "23:59:59.999999"


def test_the_referral_time_of_day_does_not_move_the_deadline() -> None:
    """Referred at 22:01 CST (04:01 UTC the next day) the deadline is still a whole day."""
    late_evening = datetime(2026, 12, 2, 4, 1, tzinfo=UTC)  # Dec 1, 22:01 CST
    assert deadline_after(late_evening, 14, "America/Chicago") == end_of_day(
        date(2026, 12, 15), "America/Chicago")


#: referral days whose 14-day deadline falls on the day DST ends / starts in Chicago
DST_DEADLINES = [
    (datetime(2026, 10, 18, 15, 0, tzinfo=UTC), date(2026, 11, 1), "November 1"),
    (datetime(2027, 2, 28, 22, 0, tzinfo=UTC), date(2027, 3, 14), "March 14"),
]


def _local(day: date, hour: int, minute: int) -> datetime:
    return datetime(day.year, day.month, day.day, hour, minute, tzinfo=CHICAGO).astimezone(UTC)


def _referred(db: Session, now: datetime):  # type: ignore[no-untyped-def]
    pol = policy()
    case = make_case(db, now, pol, incident_date=now.date() - timedelta(days=20))
    decide(db, case, eligible=True, reason=None, policy=pol, now=now, actor="staff")
    db.commit()
    complainant, officer = case.parties
    return case, complainant, officer, pol


@pytest.mark.parametrize(("referred", "day", "written"), DST_DEADLINES)
def test_an_answer_at_23_59_on_the_deadline_day_is_in_time(
        db: Session, referred: datetime, day: date, written: str) -> None:
    case, _, officer, pol = _referred(db, referred)
    consent = db.scalar(select(Consent).where(Consent.party_id == officer.id))
    assert consent is not None and consent.deadline == end_of_day(day, "America/Chicago")
    # the notice states the day the party can keep
    request = db.scalars(select(Notification).where(
        Notification.kind == "consent_request", Notification.party_id == officer.id)).first()
    assert request is not None
    assert build_variables(Lookup(db), request, PROGRAM, now=referred)["deadline"] == written

    just_in_time = _local(day, 23, 59)
    assert expire_consents(db, now=just_in_time) == []
    record_consent(db, case, officer, granted=True, channel="sms", policy=pol,
                   now=just_in_time, actor="sms")
    db.commit()
    assert case.state == CaseState.AWAITING_CONSENT


@pytest.mark.parametrize(("referred", "day", "written"), DST_DEADLINES)
def test_an_answer_at_00_01_the_next_day_is_too_late(
        db: Session, referred: datetime, day: date, written: str) -> None:
    case, _, officer, pol = _referred(db, referred)
    too_late = _local(day + timedelta(days=1), 0, 1)
    with pytest.raises(DeadlinePassed):
        record_consent(db, case, officer, granted=True, channel="sms", policy=pol,
                       now=too_late, actor="sms")
    db.rollback()
    assert expire_consents(db, now=too_late) == [case.id]
    db.commit()
    assert case.state == CaseState.RETURNED


def test_each_party_keeps_the_day_of_their_own_zone(db: Session, clock: FixedClock) -> None:
    base = new_case()
    east = NewParty(**{**base.parties[0].__dict__, "time_zone": "America/New_York"})
    pol = policy()
    case = make_case(db, clock.now(), pol, parties=[east, base.parties[1]])
    decide(db, case, eligible=True, reason=None, policy=pol, now=clock.now(), actor="staff")
    db.commit()
    deadlines = {c.party_id: c.deadline for c in db.scalars(select(Consent))}
    complainant, officer = case.parties
    assert deadlines[complainant.id] == end_of_day(date(2026, 12, 9), "America/New_York")
    assert deadlines[officer.id] == end_of_day(date(2026, 12, 9), "America/Chicago")
    assert case.consent_deadline == deadlines[officer.id]  # the latest of them
    # 23:30 Chicago is 00:30 in New York: the New Yorker's day is over, the case returns
    assert expire_consents(db, now=_local(date(2026, 12, 9), 23, 30)) == [case.id]
