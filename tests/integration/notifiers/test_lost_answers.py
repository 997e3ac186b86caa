"""A send whose answer is lost: the provider holds the message, the service does not know it.

Found by the simulation (``sim/``): an email accepted by SendGrid whose answer was lost was sent
again an hour later, and its own delivery report — which arrived before the resend and named the
notice — was thrown away, so the second copy was never recognised as a duplicate. Now the report
is the record: the notice is not sent again, and a copy reported later is a duplicate."""

from __future__ import annotations

from datetime import timedelta

from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from cases.clock import FixedClock
from cases.models import AuditEvent, Notification, Party
from cases.outbox import Channel, NoticeKind, enqueue
from emulator import EmulatorClient
from notifiers.outbox.dispatcher import Dispatcher
from tests.support.notify import WebhookServer, add_case, add_party


def _email_notice(factory: sessionmaker[Session], clock: FixedClock) -> int:
    with factory() as session, session.begin():
        case = add_case(session, clock.now(), state="awaiting_consent")
        party = add_party(session, case, clock.now())
        row = enqueue(session, kind=NoticeKind.CONSENT_RECEIVED, recipient=session.get(Party, party.id),
                      due_at=clock.now(), now=clock.now(), case_id=case.id, context={"granted": True},
                      channels=[Channel.EMAIL])  # fmt: skip
        session.flush()
        return row[0].id


def test_a_report_of_the_lost_attempt_records_it_and_nothing_is_sent_again(
    webhooks_live: WebhookServer,
    emulator: EmulatorClient,
    dispatcher: Dispatcher,
    session_factory: sessionmaker[Session],
    clock: FixedClock,
) -> None:
    notice = _email_notice(session_factory, clock)
    emulator.answer_fault(mode="lost", channel="email")
    assert dispatcher.run_once().retried == 1  # accepted, but the answer never came
    (copy,) = emulator.messages()
    assert emulator.sendgrid_event(copy["sid"], "delivered")["result"]["http_status"] == 204
    with session_factory() as session:
        row = session.get_one(Notification, notice)
        assert (row.status, row.provider_message_id) == ("delivered", copy["sid"])
        actions = list(session.scalars(select(AuditEvent.action).where(
            AuditEvent.subject_kind == "notification", AuditEvent.subject_id == notice)))
    assert actions == ["notice.found_already_sent"]
    clock.advance(timedelta(hours=3))
    dispatcher.run_once()
    assert len(emulator.messages()) == 1  # not sent again


def test_a_copy_reported_after_the_record_is_a_duplicate_shown_to_staff(
    webhooks_live: WebhookServer,
    emulator: EmulatorClient,
    dispatcher: Dispatcher,
    session_factory: sessionmaker[Session],
    clock: FixedClock,
) -> None:
    notice = _email_notice(session_factory, clock)
    emulator.answer_fault(mode="lost", channel="email")
    dispatcher.run_once()
    clock.advance(timedelta(hours=3))  # the first copy's report is late: the notice goes again
    emulator.set_clock(clock.now())
    assert dispatcher.run_once().sent == 1
    first, second = emulator.messages()
    assert emulator.sendgrid_event(second["sid"], "delivered")["result"]["http_status"] == 204
    assert emulator.sendgrid_event(first["sid"], "delivered")["result"]["http_status"] == 204
    with session_factory() as session:
        detected = session.scalars(select(AuditEvent.detail).where(
            AuditEvent.action == "notice.duplicate_detected", AuditEvent.subject_id == notice)).all()
        alerts = [n.context["alert"] for n in session.scalars(
            select(Notification).where(Notification.kind == "staff_alert"))]
    assert [d["provider_message_id"] for d in detected] == [first["sid"]]
    assert alerts == ["duplicate_send"]
