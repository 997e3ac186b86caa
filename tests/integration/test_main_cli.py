from __future__ import annotations

from pathlib import Path

import pytest
from click.testing import CliRunner, Result
from sqlalchemy import select

from cases.database import make_engine
from cases.models import Mediator
from cases.sealing import Sealer
from main import cli
from tests.support import FIXTURES

SECRET_KEY = "a-long-test-secret-key-for-the-cli-0123"


@pytest.fixture
def run(db_url: str, tmp_path: Path):  # type: ignore[no-untyped-def]
    runner = CliRunner()
    env = {"CMP_DATABASE_URL": db_url, "CMP_OUTBOX_DIR": str(tmp_path / "outbox"),
           "CMP_SECRET_KEY": SECRET_KEY}

    def invoke(*args: str, input: str | None = None, **more_env: str) -> Result:
        return runner.invoke(cli, list(args), env={**env, **more_env}, catch_exceptions=False,
                             input=input)

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
    assert "fewer than 40 h of mediation training" in listed  # Sam Lee is not qualified


def test_mediators_and_venues_commands(run) -> None:  # type: ignore[no-untyped-def]
    added = run("mediators", "add", "--name", "Rosa Alvarez", "--email", "rosa@example.org",
                "--language", "en", "--language", "es", "--general-hours", "40",
                "--specialized-hours", "10")
    assert added.exit_code == 0
    assert "NOT qualified: fewer than 25 h of community-police training" in added.output
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


INSIDE = "; calendars are read only from public addresses (or hosts in CMP_CALENDAR_ALLOWED_HOSTS)"


@pytest.mark.parametrize(("url", "message"), [
    ("http://127.0.0.1:5232/dav/", "127.0.0.1 is a loopback address" + INSIDE),
    ("http://[::1]/dav/", "::1 is a loopback address" + INSIDE),
    ("https://10.1.2.3/feed.ics", "10.1.2.3 is a private address" + INSIDE),
    ("http://169.254.169.254/latest/meta-data/", "169.254.169.254 is a link-local address" + INSIDE),
    ("http://0.0.0.0/feed.ics", "0.0.0.0 is an unspecified address" + INSIDE),
    ("http://224.0.0.251/feed.ics", "224.0.0.251 is a multicast address" + INSIDE),
    ("http://[::ffff:127.0.0.1]/feed.ics", "::ffff:127.0.0.1 is a loopback IPv4 address in IPv6" + INSIDE),
    ("http://2130706433/feed.ics", "2130706433 is a loopback address" + INSIDE),
    ("https:///feed.ics", "has no host name (like https://calendar.example.org/...)"),
])
def test_a_calendar_url_inside_the_network_is_refused_on_entry(
        run, url: str, message: str) -> None:  # type: ignore[no-untyped-def]
    assert run("mediators", "add", "--name", "Rosa Alvarez", "--email", "rosa@example.org",
               "--general-hours", "40", "--specialized-hours", "25").exit_code == 0
    for kind in ("ics", "caldav"):
        refused = run("mediators", "calendar", "1", "--kind", kind, "--url", url)
        assert (refused.exit_code, refused.output) == (2, f"error: calendar_url: {message}\n")
    shown = run("mediators", "calendar", "1", "--kind", "ics", "--url", "https://cal.example.org/a.ics")
    assert shown.exit_code == 0


def test_the_allow_list_admits_a_named_host_on_the_inside(run) -> None:  # type: ignore[no-untyped-def]
    assert run("mediators", "add", "--name", "Rosa Alvarez", "--email", "rosa@example.org",
               "--general-hours", "40", "--specialized-hours", "25").exit_code == 0
    allowed = {"CMP_CALENDAR_ALLOWED_HOSTS": '["127.0.0.1:5232"]'}
    ok = run("mediators", "calendar", "1", "--kind", "caldav", "--url", "http://127.0.0.1:5232/dav/",
             **allowed)
    assert ok.exit_code == 0, ok.output
    other_port = run("mediators", "calendar", "1", "--kind", "caldav", "--url",
                     "http://127.0.0.1:8000/dav/", **allowed)
    assert other_port.exit_code == 2 and "127.0.0.1 is a loopback address" in other_port.output
    bad = run("mediators", "list", CMP_CALENDAR_ALLOWED_HOSTS='["http://x/"]')
    assert bad.exit_code == 2
    assert "CMP_CALENDAR_ALLOWED_HOSTS" in bad.output and "is not a host or host:port" in bad.output
