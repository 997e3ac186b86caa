from __future__ import annotations

from pathlib import Path

import pytest
from click.testing import CliRunner, Result
from sqlalchemy import select

from cases.database import make_engine
from cases.models import Mediator
from cases.sealing import Sealer
from main import cli

FIXTURES = Path(__file__).parent / "fixtures"


SECRET_KEY = "a-long-test-secret-key-for-the-cli-0123"


@pytest.fixture
def run(db_url: str, tmp_path: Path):  # type: ignore[no-untyped-def]
    runner = CliRunner()
    env = {"CMP_DATABASE_URL": db_url, "CMP_OUTBOX_DIR": str(tmp_path / "outbox"),
           "CMP_SECRET_KEY": SECRET_KEY}

    def invoke(*args: str, input: str | None = None) -> Result:
        return runner.invoke(cli, list(args), env=env, catch_exceptions=False, input=input)

    return invoke


CASE = ["cases", "add", "--log-number", "2026-0042", "--incident-date", "2026-10-03",
        "--category", "Perceived Bias", "--complainant-name", "Maria Lopez",
        "--complainant-phone", "(312) 746-3594", "--complainant-language", "Spanish",
        "--officer-name", "John Smith", "--officer-star", "8812",
        "--officer-email", "jsmith@example.org"]


def test_case_lifecycle_through_the_cli(run) -> None:  # type: ignore[no-untyped-def]
    added = run(*CASE)
    assert added.exit_code == 0, added.output
    assert "policy recommends eligible" in added.output
    decided = run("cases", "decide", "2026-0042", "--eligible", "--by", "staff:ana")
    assert decided.exit_code == 0
    assert "is now awaiting_consent" in decided.output
    listed = run("cases", "list", "--state", "awaiting_consent")
    assert "2026-0042" in listed.output
    shown = run("cases", "show", "2026-0042")
    assert "screening, to_state=eligible" in shown.output
    assert "3594" in shown.output and "746-3594" not in shown.output  # phone shown masked
    assert "jsmith@" not in shown.output


def test_bad_input_exits_non_zero_with_a_precise_message(run) -> None:  # type: ignore[no-untyped-def]
    bad_phone = [*CASE]
    bad_phone[bad_phone.index("(312) 746-3594")] = "746"
    result = run(*bad_phone)
    assert result.exit_code == 2
    assert "error: parties[0].phone: '746' is not a valid phone number" in result.output
    assert "2026-0042" not in run("cases", "list").output
    unknown = run("cases", "show", "2099-9999")
    assert unknown.exit_code == 2 and "case 2099-9999 not found" in unknown.output
    again = run("cases", "decide", "2099-9999", "--eligible")
    assert again.exit_code == 2


def test_illegal_transition_is_refused(run) -> None:  # type: ignore[no-untyped-def]
    assert run(*CASE).exit_code == 0
    assert run("cases", "decide", "2026-0042", "--ineligible", "--reason", "x").exit_code == 0
    result = run("cases", "decide", "2026-0042", "--eligible")
    assert result.exit_code == 2
    assert "cannot go from 'ineligible' to 'eligible'" in result.output


def test_import_reports_rejected_rows_and_keeps_the_rest(run) -> None:  # type: ignore[no-untyped-def]
    result = run("import", "mediators", str(FIXTURES / "mediators.csv"))
    assert result.exit_code == 1
    assert "imported 3 mediators; 2 row(s) rejected" in result.output
    assert "line 5: general_hours: 'forty' is not a number" in result.output
    listed = run("mediators", "list").output
    assert "Rosa Alvarez" in listed and "Jan Nowak" in listed
    assert "general mediation training 20 h < 40 h" in listed  # Sam Lee is not qualified


def test_mediators_and_venues_commands(run) -> None:  # type: ignore[no-untyped-def]
    added = run("mediators", "add", "--name", "Rosa Alvarez", "--email", "rosa@example.org",
                "--language", "en", "--language", "es", "--general-hours", "40",
                "--specialized-hours", "10")
    assert added.exit_code == 0
    assert "NOT qualified: community–police training 10 h < 25 h" in added.output
    venue = run("venues", "add", "--name", "District 1", "--address", "1718 S State St",
                "--not-neutral")
    assert "never offered" in venue.output
    bad = run("venues", "add", "--name", "Library", "--address", "x", "--neutral",
              "--hours", "9 to 5")
    assert bad.exit_code == 2 and "is not like 'mon-fri 09:00-17:00'" in bad.output
    unsaid = run("venues", "add", "--name", "Library", "--address", "400 S State St")
    assert unsaid.exit_code == 2 and "say --neutral or --not-neutral" in unsaid.output
    listed = run("venues", "list")
    assert "Library" not in listed.output  # nothing was added without saying


def test_invalid_settings_are_reported_by_variable() -> None:
    result = CliRunner().invoke(cli, ["config"], env={"CMP_DATABASE_URL": "mysql://x",
                                                      "CMP_QUIET_HOURS_START": "25"})
    assert result.exit_code == 2
    assert "CMP_DATABASE_URL: Value error, only sqlite:/// and postgresql" in result.output
    assert "CMP_QUIET_HOURS_START: Input should be less than or equal to 23" in result.output


def test_config_masks_secrets() -> None:
    result = CliRunner().invoke(cli, ["config"], env={
        "CMP_TWILIO_ACCOUNT_SID": "AC123", "CMP_TWILIO_AUTH_TOKEN": "supersecret",
        "CMP_TWILIO_FROM_NUMBER": "+13125550100"})
    assert result.exit_code == 0
    assert "supersecret" not in result.output
    assert "CMP_TWILIO_AUTH_TOKEN" in result.output


def test_a_mediators_calendar_is_set_with_the_secret_from_stdin_and_stored_sealed(
        run, db_url: str) -> None:  # type: ignore[no-untyped-def]
    added = run("mediators", "add", "--name", "Rosa Alvarez", "--email", "rosa@example.org",
                "--general-hours", "40", "--specialized-hours", "25")
    assert added.exit_code == 0, added.output
    set_ = run("mediators", "calendar", "1", "--kind", "caldav", "--url", "https://dav.example.org/rosa/",
               "--username", "rosa", "--secret-stdin", input="calendar-pass-123\n")
    assert set_.exit_code == 0, set_.output
    assert set_.output == "mediator 1: calendar set to caldav\n"
    engine = make_engine(db_url)
    with engine.connect() as connection:
        stored = connection.execute(select(Mediator.calendar_secret)).scalar_one()
    engine.dispose()
    assert "calendar-pass-123" not in stored and Sealer(SECRET_KEY).open(stored) == "calendar-pass-123"
    empty = run("mediators", "calendar", "1", "--kind", "caldav", "--url", "https://dav.example.org/r/",
                "--secret-stdin", input="")
    assert empty.exit_code == 2 and "standard input held no secret" in empty.output
    bad = run("mediators", "calendar", "1", "--kind", "caldav", "--url", "webcal://x")
    assert bad.exit_code == 2 and "calendar_url: an http(s) URL is required" in bad.output
    unknown = run("mediators", "calendar", "99", "--kind", "none")
    assert unknown.exit_code == 2 and "mediator 99 not found" in unknown.output


def test_the_name_for_messages_is_an_intake_option(run, db_url: str) -> None:  # type: ignore[no-untyped-def]
    from cases.models import Party

    added = run(*CASE, "--complainant-message-name", "Sra. López")
    assert added.exit_code == 0, added.output
    engine = make_engine(db_url)
    try:
        with engine.connect() as conn:
            names = dict(conn.execute(select(Party.role, Party.message_name)).all())
    finally:
        engine.dispose()
    assert names == {"complainant": "Sra. López", "officer": None}
