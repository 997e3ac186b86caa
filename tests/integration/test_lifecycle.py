from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import select
from sqlalchemy.orm import Session

from cases import lifecycle
from cases.clock import FixedClock
from cases.errors import DomainError, IllegalTransition, InvalidInput
from cases.models import AuditEvent, CaseState, Consent, Notification
from cases.referrals import decide, expire_consents, record_consent
from tests.support.factories import make_case, policy

S = CaseState


def test_every_state_has_a_rule_and_terminal_states_have_no_exit() -> None:
    assert set(lifecycle.TRANSITIONS) == set(CaseState)
    assert {S.INELIGIBLE, S.COMPLETED, S.RETURNED} == lifecycle.TERMINAL
    assert lifecycle.can_transition(S.BOOKED, S.SCHEDULING)
    assert not lifecycle.can_transition(S.SCREENING, S.BOOKED)


@pytest.mark.parametrize(("start", "target"), [
    (S.SCREENING, S.BOOKED), (S.AWAITING_CONSENT, S.SCREENING), (S.COMPLETED, S.SCHEDULING),
    (S.RETURNED, S.AWAITING_CONSENT), (S.INELIGIBLE, S.ELIGIBLE),
])
def test_illegal_transitions_name_the_case_and_both_states(
        db: Session, clock: FixedClock, start: CaseState, target: CaseState) -> None:
    case = make_case(db, clock.now())
    case.state = start.value
    with pytest.raises(IllegalTransition) as info:
        lifecycle.transition(db, case, target, at=clock.now(), actor="staff:ana")
    assert str(info.value) == (f"case {case.id}: cannot go from '{start.value}' "
                               f"to '{target.value}'")
    assert case.state == start.value


def test_transitions_are_audited(db: Session, clock: FixedClock) -> None:
    case = make_case(db, clock.now())
    decide(db, case, eligible=True, reason=None, policy=policy(), now=clock.now(),
           actor="staff:ana")
    db.commit()
    moves = [(e.detail["from_state"], e.detail["to_state"], e.actor) for e in db.scalars(
        select(AuditEvent).where(AuditEvent.action == "case.transition").order_by(AuditEvent.id))]
    assert moves == [("screening", "eligible", "staff:ana"),
                     ("eligible", "awaiting_consent", "staff:ana")]


def test_approval_refers_the_case_and_writes_notices_in_the_same_transaction(
        db: Session, clock: FixedClock) -> None:
    case = make_case(db, clock.now())
    decide(db, case, eligible=True, reason=None, policy=policy(), now=clock.now(),
           actor="staff:ana")
    db.commit()
    assert case.state == S.AWAITING_CONSENT
    # 09:00 on Nov 25 + 14 days: the end of Dec 9 where the parties live (CST, UTC-6)
    assert case.consent_deadline == datetime(2026, 12, 10, 5, 59, 59, 999999, tzinfo=UTC)
    notices = db.scalars(select(Notification).order_by(Notification.id)).all()
    kinds = sorted((n.kind, n.channel, n.recipient_kind) for n in notices)
    # both parties, both notices, on each of their channels
    assert kinds.count(("consent_request", "sms", "party")) == 2
    assert kinds.count(("eligibility_notice", "email", "party")) == 2
    assert {n.language for n in notices if n.party_id == case.parties[0].id} == {"es"}


def test_rejected_decision_rolls_back_with_nothing_written(db: Session, clock: FixedClock) -> None:
    case = make_case(db, clock.now(), allegation_categories=["illegal_search"])
    db.commit()
    with pytest.raises(InvalidInput, match="needs a reason"):
        decide(db, case, eligible=True, reason="  ", policy=policy(), now=clock.now(),
               actor="staff:ana")
    db.rollback()
    assert case.state == S.SCREENING
    assert db.scalars(select(Notification)).all() == []


def test_override_keeps_the_reason(db: Session, clock: FixedClock) -> None:
    case = make_case(db, clock.now(), allegation_categories=["illegal_search"])
    assert case.recommendation == "ineligible"
    decide(db, case, eligible=True, reason="complainant asked; supervisor approved",
           policy=policy(), now=clock.now(), actor="staff:ana")
    assert case.decision_overrode_policy
    assert case.decision_reason == "complainant asked; supervisor approved"
    with pytest.raises(IllegalTransition):
        decide(db, case, eligible=False, reason="again", policy=policy(), now=clock.now(),
               actor="staff:ana")


def test_ineligible_case_sends_nothing(db: Session, clock: FixedClock) -> None:
    case = make_case(db, clock.now(), allegation_categories=["excessive_force"])
    decide(db, case, eligible=False, reason=None, policy=policy(), now=clock.now(), actor="s")
    assert case.state == S.INELIGIBLE
    assert db.scalars(select(Notification)).all() == []


def _referred(db: Session, clock: FixedClock, **policy_changes: object):  # type: ignore[no-untyped-def]
    pol = policy(**policy_changes)
    case = make_case(db, clock.now(), pol)
    decide(db, case, eligible=True, reason=None, policy=pol, now=clock.now(), actor="s")
    db.commit()
    complainant, officer = case.parties
    return case, complainant, officer, pol


def test_both_consents_move_the_case_to_scheduling(db: Session, clock: FixedClock) -> None:
    case, complainant, officer, pol = _referred(db, clock)
    record_consent(db, case, officer, granted=True, channel="sms", policy=pol, now=clock.now(),
                   actor="sms")
    assert case.state == S.AWAITING_CONSENT
    record_consent(db, case, complainant, granted=True, channel="link", policy=pol,
                   now=clock.now(), actor="link")
    db.commit()
    assert case.state == S.SCHEDULING
    requests = db.scalars(select(Notification).where(
        Notification.kind == "availability_request")).all()
    assert {n.party_id for n in requests} == {complainant.id, officer.id}


def test_a_decline_returns_the_case_and_alerts_staff(db: Session, clock: FixedClock) -> None:
    case, _, officer, pol = _referred(db, clock)
    record_consent(db, case, officer, granted=False, channel="staff", policy=pol,
                   now=clock.now(), actor="staff:ana")
    db.commit()
    assert case.state == S.RETURNED
    assert case.returned_reason == "officer declined mediation"
    alert = db.scalars(select(Notification).where(Notification.kind == "staff_alert")).one()
    assert alert.recipient_kind == "staff" and alert.context["alert"] == "case_returned"
    with pytest.raises(DomainError, match="not awaiting consent"):
        record_consent(db, case, officer, granted=True, channel="sms", policy=pol,
                       now=clock.now(), actor="sms")


def test_officer_first_order_asks_the_complainant_only_after_the_officer(
        db: Session, clock: FixedClock) -> None:
    case, complainant, officer, pol = _referred(db, clock, consent_order="officer_first")
    asked = {n.party_id for n in db.scalars(select(Notification))}
    assert asked == {officer.id}
    clock.advance(timedelta(days=1))
    record_consent(db, case, officer, granted=True, channel="sms", policy=pol, now=clock.now(),
                   actor="sms")
    db.commit()
    asked = {n.party_id for n in db.scalars(select(Notification).where(
        Notification.kind == "consent_request"))}
    assert asked == {officer.id, complainant.id}


def test_silence_past_the_deadline_returns_the_case_once(db: Session, clock: FixedClock) -> None:
    case, _, officer, pol = _referred(db, clock)
    record_consent(db, case, officer, granted=True, channel="sms", policy=pol, now=clock.now(),
                   actor="sms")
    db.commit()
    clock.advance(timedelta(days=14, hours=14, minutes=59))  # 23:59 on Dec 9, the deadline day
    assert expire_consents(db, now=clock.now()) == []
    clock.advance(timedelta(minutes=2))  # 00:01 on Dec 10
    assert expire_consents(db, now=clock.now()) == [case.id]
    db.commit()
    assert expire_consents(db, now=clock.now()) == []
    assert case.state == S.RETURNED
    statuses = {c.party_id: c.status for c in db.scalars(select(Consent))}
    assert sorted(statuses.values()) == ["expired", "granted"]
    told = db.scalars(select(Notification).where(Notification.kind == "case_returned")).all()
    assert {(n.party_id, n.channel) for n in told} == {
        (p.id, c) for p in case.parties for c in p.channels}
    assert {n.context["why"] for n in told} == {"no_answer"}


def test_a_decline_tells_the_other_party_kindly_and_the_one_who_declined_once(
        db: Session, clock: FixedClock) -> None:
    case, complainant, officer, pol = _referred(db, clock)
    record_consent(db, case, officer, granted=False, channel="link", policy=pol,
                   now=clock.now(), actor="link")
    db.commit()
    told = db.scalars(select(Notification).where(Notification.kind == "case_returned")).all()
    assert {(n.party_id, n.channel) for n in told} == {(complainant.id, c)
                                                       for c in complainant.channels}
    assert {(n.context["why"], n.language) for n in told} == {("declined", "es")}
    answered = db.scalars(select(Notification).where(Notification.kind == "consent_received"))
    assert {n.party_id for n in answered} == {officer.id}  # what happens next, in one notice


def test_enqueue_is_idempotent(db: Session, clock: FixedClock) -> None:
    from cases.outbox import NoticeKind, enqueue

    case, complainant, _, _ = _referred(db, clock)
    before = len(db.scalars(select(Notification)).all())
    rows = enqueue(db, kind=NoticeKind.CONSENT_REQUEST, recipient=complainant,
                   due_at=clock.now(), now=clock.now(), case_id=case.id)
    db.commit()
    assert len(rows) == 2
    assert len(db.scalars(select(Notification)).all()) == before
