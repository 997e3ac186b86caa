"""Numbers that can receive texts: each party's number is checked with Twilio Lookup v2
(``line_type_intelligence``) through the real SDK against the emulator, by the scheduled job, never
on intake's path; a landline gets no text (email instead, or the staff queue); a failed lookup
leaves the number "not checked" and is retried. On SQLite and PostgreSQL."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import timedelta

import pytest
from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from cases import phone_lines
from cases.clock import FixedClock
from cases.database import transaction
from cases.models import AuditEvent, Case, Notification, Party, PhoneLine
from cases.outbox import NoticeKind, enqueue
from cases.phone_lines import LANDLINE_REASON, LineCheck, LineType, LookupFailed
from cases.service import NewParty
from emulator import EmulatorClient, EmulatorHTTPServer
from notifiers.channels.twilio_lookup import TwilioLineTypeLookup, line_check_from
from notifiers.outbox.dispatcher import Dispatcher
from notifiers.wiring import build_dispatcher, build_line_checker, build_notifiers
from scheduler import jobs
from scheduler.jobs import JobDeps
from scheduler.wiring import booking_rules, worker_config
from settings import Settings
from tests.support import FIXTURES
from tests.support.factories import make_case, new_case, policy
from web.queue import build as build_queue

LANDLINE = "+13125550110"  # the emulator's landline test number
MOBILE = "+13125550111"


@pytest.fixture
def lookups(emulator: EmulatorClient, emulator_server: EmulatorHTTPServer) -> Iterator[EmulatorClient]:
    emulator_server.line_types.reset()  # the shared emulator: forget other tests' numbers
    yield emulator
    emulator_server.line_types.reset()


@pytest.fixture
def deps(settings: Settings) -> JobDeps:
    checker = build_line_checker(settings)
    assert checker is not None
    return JobDeps(booking_rules(policy(), settings), line_checker=checker)


def _intake(factory: sessionmaker[Session], clock: FixedClock, *, phone: str,
            email: str | None = "maria@example.org", channels: str = "sms") -> tuple[int, int]:
    """A case recorded through intake (``cases.service.add_case``), the complainant on ``phone``."""
    base = new_case()
    complainant = NewParty(role="complainant", full_name="Maria Lopez", phone=phone, email=email,
                           language="es", channels=channels)
    with transaction(factory) as session:
        case = make_case(session, clock.now(), parties=[complainant, base.parties[1]])
        return case.id, case.parties[0].id


def _notify(factory: sessionmaker[Session], clock: FixedClock, party_id: int) -> None:
    with transaction(factory) as session:
        party = session.get(Party, party_id)
        assert party is not None
        enqueue(session, kind=NoticeKind.ELIGIBILITY_NOTICE, recipient=party, due_at=clock.now(),
                now=clock.now(), case_id=party.case_id, context={"case_id": party.case_id})


def _line(factory: sessionmaker[Session], number: str) -> PhoneLine:
    with factory() as session:
        row = session.scalar(select(PhoneLine).where(PhoneLine.number == number))
        assert row is not None
        return row


def _adapter(settings: Settings, token: str | None = None) -> TwilioLineTypeLookup:
    assert settings.twilio_auth_token is not None
    return TwilioLineTypeLookup(account_sid=settings.twilio_account_sid or "",
                                auth_token=token or settings.twilio_auth_token.get_secret_value(),
                                base_url=settings.twilio_base_url)


def _sent_to(emulator: EmulatorClient, to: str) -> list[str]:
    return [m["channel"] for m in emulator.messages() if m["to"] == to]


def test_intake_notes_the_numbers_and_the_job_checks_them_through_the_sdk(
        session_factory: sessionmaker[Session], clock: FixedClock, lookups: EmulatorClient,
        deps: JobDeps) -> None:
    _, party_id = _intake(session_factory, clock, phone=LANDLINE)
    with session_factory() as session:
        officer = session.scalars(select(Party).where(Party.id != party_id)).one().phone
        assert officer is not None
        assert phone_lines.line_types(session, [LANDLINE, officer]) == {
            LANDLINE: LineType.UNCHECKED, officer: LineType.UNCHECKED}
    assert lookups.lookups() == {}  # intake asked no one

    report = jobs.check_phone_lines(session_factory, clock, deps)

    assert report is not None and (report.checked, report.failed) == (2, 0)
    assert lookups.lookups() == {LANDLINE: 1, officer: 1}
    row = _line(session_factory, LANDLINE)
    assert (row.line_type, row.provider_type, row.checked_at) == ("landline", "landline", clock.now())
    assert _line(session_factory, officer).line_type == "mobile"
    # nothing is due any more: a second run asks nobody
    assert jobs.check_phone_lines(session_factory, clock, deps).checked == 0  # type: ignore[union-attr]
    assert lookups.lookups() == {LANDLINE: 1, officer: 1}


@pytest.mark.parametrize(("twilio_type", "ours"), [
    ("landline", LineType.LANDLINE), ("mobile", LineType.MOBILE),
    ("fixedVoip", LineType.VOIP), ("nonFixedVoip", LineType.VOIP),
    ("tollFree", LineType.OTHER), ("unknown", LineType.UNKNOWN),
])
def test_the_adapter_maps_twilios_line_types(
        settings: Settings, lookups: EmulatorClient, twilio_type: str, ours: LineType) -> None:
    lookups.set_line_type(MOBILE, twilio_type)
    assert _adapter(settings).check(MOBILE) == LineCheck(ours, twilio_type)


def test_no_line_type_or_an_invalid_number_is_unknown(
        settings: Settings, lookups: EmulatorClient) -> None:
    assert line_check_from(None, True) == LineCheck(LineType.UNKNOWN, None)
    assert _adapter(settings).check("12345") == LineCheck(LineType.UNKNOWN, "invalid")


def test_wrong_credentials_are_a_failed_lookup_not_an_answer(
        settings: Settings, lookups: EmulatorClient) -> None:
    with pytest.raises(LookupFailed, match="401/20003"):
        _adapter(settings, token="wrong").check(MOBILE)


def test_a_landline_gets_no_text_and_gets_the_email(
        session_factory: sessionmaker[Session], clock: FixedClock, lookups: EmulatorClient,
        deps: JobDeps, dispatcher: Dispatcher) -> None:
    _, party_id = _intake(session_factory, clock, phone=LANDLINE, channels="sms")  # texts only
    jobs.check_phone_lines(session_factory, clock, deps)
    _notify(session_factory, clock, party_id)

    for _ in range(3):
        dispatcher.run_once()

    assert _sent_to(lookups, LANDLINE) == []
    assert _sent_to(lookups, "maria@example.org") == ["email"]
    with session_factory() as session:
        rows = {r.channel: r for r in session.scalars(
            select(Notification).where(Notification.party_id == party_id))}
        assert (rows["sms"].status, rows["sms"].last_error) == ("cancelled", LANDLINE_REASON)
        assert rows["email"].status == "sent" and rows["email"].fallback_of_id == rows["sms"].id
        actions = set(session.scalars(select(AuditEvent.action)))
        assert {"notice.cancelled_landline", "notice.fallback"} <= actions
        queue = build_queue(session, deps.rules, now=clock.now())
        assert queue.landlines == []  # the email reaches them: nothing for staff to do


def test_a_landline_without_email_goes_to_the_work_queue(
        session_factory: sessionmaker[Session], clock: FixedClock, lookups: EmulatorClient,
        deps: JobDeps, dispatcher: Dispatcher) -> None:
    case_id, party_id = _intake(session_factory, clock, phone=LANDLINE, email=None)
    jobs.check_phone_lines(session_factory, clock, deps)
    _notify(session_factory, clock, party_id)

    dispatcher.run_once()

    assert _sent_to(lookups, LANDLINE) == []
    with session_factory() as session:
        queue = build_queue(session, deps.rules, now=clock.now())
        assert [(i.notice.case_id, i.party.id if i.party else None) for i in queue.landlines] \
            == [(case_id, party_id)]
        assert queue.total >= 1


def test_a_failed_lookup_keeps_intake_and_is_retried_later(
        session_factory: sessionmaker[Session], clock: FixedClock, lookups: EmulatorClient,
        deps: JobDeps, dispatcher: Dispatcher) -> None:
    lookups.fault(channel="lookup", status=503, times=None)  # Lookup is down
    case_id, party_id = _intake(session_factory, clock, phone=LANDLINE, email=None)

    report = jobs.check_phone_lines(session_factory, clock, deps)

    assert report is not None and (report.checked, report.failed) == (0, 2)
    with session_factory() as session:
        assert session.get(Case, case_id) is not None  # intake kept everything
    row = _line(session_factory, LANDLINE)
    assert (row.line_type, row.failures, row.next_check_at) == \
        ("unchecked", 1, clock.now() + timedelta(minutes=5))
    assert row.last_error == "twilio lookup 503/50300"
    # not checked: texts go out as before lookups existed
    _notify(session_factory, clock, party_id)
    dispatcher.run_once()
    assert _sent_to(lookups, LANDLINE) == ["sms"]

    lookups.clear_faults()
    clock.advance(timedelta(minutes=4))
    assert jobs.check_phone_lines(session_factory, clock, deps).checked == 0  # type: ignore[union-attr]
    clock.advance(timedelta(minutes=1))
    assert jobs.check_phone_lines(session_factory, clock, deps).checked == 2  # type: ignore[union-attr]
    assert _line(session_factory, LANDLINE).line_type == "landline"


def test_a_lookup_that_times_out_is_retried_with_a_longer_wait(
        settings: Settings, session_factory: sessionmaker[Session], clock: FixedClock,
        lookups: EmulatorClient) -> None:
    quick = build_line_checker(settings.model_copy(update={"line_lookup_timeout_seconds": 0.3}))
    assert quick is not None
    deps = JobDeps(booking_rules(policy(), settings), line_checker=quick)
    lookups.fault(channel="lookup", to=LANDLINE, delay_ms=1500, times=2)  # slower than the timeout
    _intake(session_factory, clock, phone=LANDLINE, email=None)

    first = jobs.check_phone_lines(session_factory, clock, deps)
    clock.advance(timedelta(minutes=5))
    second = jobs.check_phone_lines(session_factory, clock, deps)

    assert first is not None and (first.checked, first.failed) == (1, 1)  # the officer's answered
    assert second is not None and (second.checked, second.failed) == (0, 1)
    row = _line(session_factory, LANDLINE)
    assert row.last_error == "twilio lookup network: ReadTimeout"
    assert (row.line_type, row.failures) == ("unchecked", 2)
    assert row.next_check_at == clock.now() + timedelta(minutes=10)  # 5 min, then 10


def test_a_number_on_several_cases_is_looked_up_once_until_its_answer_is_old(
        session_factory: sessionmaker[Session], clock: FixedClock, lookups: EmulatorClient,
        deps: JobDeps) -> None:
    _intake(session_factory, clock, phone=MOBILE)
    jobs.check_phone_lines(session_factory, clock, deps)
    clock.advance(timedelta(days=30))
    _intake(session_factory, clock, phone=MOBILE)  # the same person complains again
    jobs.check_phone_lines(session_factory, clock, deps)
    assert lookups.lookups()[MOBILE] == 1

    lookups.set_line_type(MOBILE, "landline")  # ported to a landline since
    clock.advance(deps.line_checker.max_age)  # type: ignore[union-attr]
    jobs.check_phone_lines(session_factory, clock, deps)
    assert lookups.lookups()[MOBILE] == 2
    assert _line(session_factory, MOBILE).line_type == "landline"


def test_a_changed_number_is_checked_again(
        session_factory: sessionmaker[Session], clock: FixedClock, lookups: EmulatorClient,
        deps: JobDeps) -> None:
    from cases.parties import update_party

    _, party_id = _intake(session_factory, clock, phone=MOBILE)
    jobs.check_phone_lines(session_factory, clock, deps)
    with transaction(session_factory) as session:
        party = session.get(Party, party_id)
        assert party is not None
        update_party(session, party, NewParty(role="complainant", full_name="Maria Lopez",
                                              phone=LANDLINE, channels="sms"),
                     now=clock.now(), actor="test")
    jobs.check_phone_lines(session_factory, clock, deps)
    assert _line(session_factory, LANDLINE).line_type == "landline"


def test_without_twilio_nothing_is_looked_up_and_texts_go_to_the_file_outbox(
        session_factory: sessionmaker[Session], clock: FixedClock, tmp_path: object) -> None:
    plain = Settings(outbox_dir=tmp_path, secret_key="x" * 40)  # type: ignore[call-arg, arg-type]
    assert build_line_checker(plain) is None
    deps = JobDeps(booking_rules(policy(), plain), line_checker=None)
    _, party_id = _intake(session_factory, clock, phone=LANDLINE)

    assert jobs.check_phone_lines(session_factory, clock, deps) is None
    _notify(session_factory, clock, party_id)
    report = build_dispatcher(plain, session_factory, clock, worker_id="files",
                              notifiers=build_notifiers(plain)).run_once()

    assert report.sent == 1  # not checked: the text is written, as before lookups existed
    with session_factory() as session:
        assert phone_lines.line_types(session, [LANDLINE]) == {LANDLINE: LineType.UNCHECKED}


def test_the_domain_rule_only_a_landline_is_not_texted() -> None:
    assert [t for t in LineType if not phone_lines.can_text(t)] == [LineType.LANDLINE]
    assert LineCheck(LineType.VOIP, "nonFixedVoip").line_type is LineType.VOIP


def test_numbers_imported_from_csv_are_checked_too(
        session_factory: sessionmaker[Session], clock: FixedClock, lookups: EmulatorClient,
        deps: JobDeps) -> None:

    from cases.importing import import_csv

    with transaction(session_factory) as session:
        report = import_csv(session, FIXTURES / "cases.csv", "cases", policy=policy(),
                            now=clock.now(), actor="import")
    assert report.imported > 0
    with session_factory() as session:
        phones = {p for p in session.scalars(select(Party.phone)) if p}
        assert set(phone_lines.line_types(session, phones).values()) == {LineType.UNCHECKED}
    jobs.check_phone_lines(session_factory, clock, deps)
    assert set(lookups.lookups()) == phones
    with session_factory() as session:
        assert set(phone_lines.line_types(session, phones).values()) == {LineType.MOBILE}


def test_the_email_to_a_party_on_a_landline_does_not_ask_them_to_text(
        session_factory: sessionmaker[Session], clock: FixedClock, lookups: EmulatorClient,
        deps: JobDeps) -> None:
    from notifiers.compose.context import Lookup, build_variables
    from tests.support.notify import PROGRAM

    _, party_id = _intake(session_factory, clock, phone=LANDLINE, channels="sms,email")
    _notify(session_factory, clock, party_id)
    with session_factory() as session:
        email = session.scalars(select(Notification).where(
            Notification.party_id == party_id, Notification.channel == "email")).one()
        before = build_variables(Lookup(session, [email]), email, PROGRAM, now=clock.now())
    jobs.check_phone_lines(session_factory, clock, deps)
    with session_factory() as session:
        after = build_variables(Lookup(session, [email]), email, PROGRAM, now=clock.now())
    assert before["recipient"]["channels"] == ["sms", "email"]  # not checked: as before
    assert after["recipient"]["channels"] == ["email"]  # the words for an email-only reader


def test_the_worker_runs_the_lookups_as_a_leader_job_wired_from_settings(
        settings: Settings, tmp_path: object) -> None:
    from main import build_app, job_deps
    from scheduler.service import leader_jobs

    config = worker_config(settings.model_copy(
        update={"line_lookup_interval_seconds": 42.0}))
    job, trigger = leader_jobs(config)["check_phone_lines"]
    assert job is jobs.check_phone_lines and trigger.interval == timedelta(seconds=42)
    wired = job_deps(build_app(
        database_url=f"sqlite:///{tmp_path}/wired.db", secret_key="w" * 40,
        twilio_account_sid=settings.twilio_account_sid, twilio_auth_token="emulator-token",
        twilio_from_number=settings.twilio_from_number, line_lookup_max_age_days=7))
    assert wired.line_checker is not None and wired.line_checker.max_age == timedelta(days=7)
    assert job_deps(build_app(database_url=f"sqlite:///{tmp_path}/plain.db",
                              secret_key="w" * 40)).line_checker is None
