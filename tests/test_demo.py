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
    assert all("mediacion" in f.read_text() for f in spanish)


def test_demo_command_exits_zero(tmp_path: Path) -> None:
    result = CliRunner().invoke(cli, ["demo", "--dir", str(tmp_path)])
    assert result.exit_code == 0, result.output
    assert "final states: 2026-0101 ineligible, 2026-0102 returned, 2026-0103 completed" \
        in result.output
