from __future__ import annotations

import re
from pathlib import Path

from click.testing import CliRunner
from icalendar import Calendar

from demo import run_demo
from main import cli


def test_demo_tells_the_whole_story_and_the_outbox_holds_what_it_printed(tmp_path: Path) -> None:
    lines: list[str] = []
    result = run_demo(lines.append, tmp_path)
    assert result.case_states == {"2026-0101": "ineligible", "2026-0102": "returned",
                                  "2026-0103": "completed"}
    files = sorted(p.name for p in result.outbox.glob("notice-*"))
    assert files == sorted(result.sent)
    assert len(files) >= 20
    # the outbox holds the invites themselves, each named by its message, and they open
    invites = sorted(result.outbox.glob("notice-*.email.*.ics"))
    assert invites
    for invite in invites:
        message = invite.with_name(invite.name.split(".email.")[0] + ".email.txt")
        assert f"-> {invite.name}" in message.read_text(encoding="utf-8")
        event = Calendar.from_ical(invite.read_bytes()).walk("VEVENT")[0]
        assert event["UID"] and event["DTSTART"].dt
    text = "\n".join(lines)
    assert "policy recommends ineligible — allegation 'excessive_force' is excluded" in text
    assert "case returned (officer declined mediation)" in text
    assert "the matcher books case 3" in text
    assert "reminder" in text and "outcome" in text
    assert "the complainant replies 1 to the reminder: session confirmed" in text
    assert "registramos que usted vendrá" in text  # answered in their language
    # the complainant moves the session from their booking page; everyone gets the moved invite
    assert re.search(r"the complainant of case 3 opens their booking page, sees \d other times "
                     r"that suit everyone and taps one: moved, .+ -> .+ \(invite sequence 1\)",
                     text)
    moved = [line for line in lines if " reschedule " in line]
    assert [line.split(" to ", 1)[1].split(" (")[0] for line in moved] == [
        "complainant of case 3", "complainant of case 3", "officer of case 3", "mediator 1"]
    # the police station is never offered, and the untrained mediator (3) never booked
    assert "at venue 2" not in text and "with mediator 3" not in text
    # messages are in the parties' languages
    spanish = [f for f in result.outbox.glob("*.sms.txt") if "+13127460103" in f.read_text()]
    assert len(spanish) >= 5
    texts = [f.read_text() for f in spanish]  # accents kept, never folded away
    assert any("mediación" in t for t in texts) and not any("mediacion" in t for t in texts)


def test_demo_command_exits_zero_and_never_uses_provider_credentials(tmp_path: Path) -> None:
    provider = {"CMP_TWILIO_ACCOUNT_SID": "AC" + "1" * 32, "CMP_TWILIO_AUTH_TOKEN": "t",
                "CMP_TWILIO_FROM_NUMBER": "+13125550100",
                "CMP_TWILIO_BASE_URL": "http://127.0.0.1:9",  # nothing listens there
                "CMP_SENDGRID_API_KEY": "SG.x", "CMP_SENDGRID_FROM_EMAIL": "cmp@example.org",
                "CMP_SENDGRID_BASE_URL": "http://127.0.0.1:9"}
    result = CliRunner().invoke(cli, ["demo", "--dir", str(tmp_path)], env=provider)
    assert result.exit_code == 0, result.output
    assert "final states: 2026-0101 ineligible, 2026-0102 returned, 2026-0103 completed" \
        in result.output
    assert len(list((tmp_path / "outbox").glob("notice-*"))) >= 20


def test_demo_writes_to_cmp_outbox_dir_when_it_is_set(tmp_path: Path) -> None:
    outbox = tmp_path / "elsewhere"
    result = CliRunner().invoke(cli, ["demo", "--dir", str(tmp_path / "run")],
                                env={"CMP_OUTBOX_DIR": str(outbox)})
    assert result.exit_code == 0, result.output
    assert len(list(outbox.glob("notice-*"))) >= 20
    assert not (tmp_path / "run" / "outbox").exists()
