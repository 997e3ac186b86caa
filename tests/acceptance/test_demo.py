from __future__ import annotations

from pathlib import Path

from click.testing import CliRunner

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
    text = "\n".join(lines)
    assert "policy recommends ineligible — allegation 'excessive_force' is excluded" in text
    assert "case returned (officer declined mediation)" in text
    assert "the matcher books case 3" in text
    assert "reminder" in text and "outcome" in text
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
