"""The CLI's staff actions, through the command line ``main.py`` registers (``main.cli``), each
in its own transaction, on SQLite and PostgreSQL. Refusals exit 2 with one ``error:`` line."""

from __future__ import annotations

from pathlib import Path

from click.testing import CliRunner

from cases.clock import FixedClock
from main import App, cli
from settings import Settings
from tests.support.api import Api, mediator, scheduling_case, start_in, venue


def run(app: App, *args: str, input: str | None = None) -> tuple[int, str]:
    result = CliRunner().invoke(cli, list(args), obj=app, input=input)
    return result.exit_code, result.output


def test_cli_decide_remind_cancel_and_users(
        api: Api, web_settings: Settings, db_url: str, clock: FixedClock, tmp_path: Path
) -> None:
    outbox = tmp_path / "outbox"
    deps = App(loaded=web_settings.model_copy(update={"outbox_dir": outbox,
                                                       "database_url": db_url}), clock=clock)
    screening = api.new_case()
    assert run(deps, "cases", "decide", screening["log_number"], "--eligible") == (
        0, f"case {screening['id']} is now awaiting_consent\n")
    code, out = run(deps, "cases", "decide", str(screening["id"]), "--eligible")
    assert code == 2 and out.startswith("error: ") and "cannot go from 'awaiting_consent'" in out
    assert run(deps, "cases", "decide", "nope", "--ineligible")[0] == 2

    case = scheduling_case(api)
    m, v = mediator(api), venue(api)
    session = api.post("/api/sessions", json={"case_id": case["id"], "mediator_id": m["id"],
                                              "venue_id": v["id"],
                                              "starts_at": start_in(clock)}).json()
    before = set(outbox.glob("notice-*.txt")) if outbox.exists() else set()
    code, out = run(deps, "remind", "--session", str(session["id"]))
    assert code == 0 and "reminder(s) queued" in out
    sent_now = set(outbox.glob("notice-*.txt")) - before  # the messages, not their invite files
    reminders = [p for p in sent_now if "eminder" in p.read_text(encoding="utf-8")]
    assert reminders, "the reminder should go out at once, not wait for a worker"
    assert f"{len(sent_now)} message(s) sent now" in out
    assert run(deps, "remind")[0] == 2
    assert run(deps, "remind", "--case", str(case["id"]))[0] == 0
    assert run(deps, "sessions", "cancel", str(session["id"]), "--reason", "storm") == (
        0, f"session {session['id']} cancelled\n")
    assert run(deps, "sessions", "cancel", str(session["id"]), "--reason", "x")[0] == 2
    assert run(deps, "sessions", "cancel", "999", "--reason", "x") == (
        2, "error: session 999 not found\n")

    code, out = run(deps, "users", "add", "Pat", "--role", "viewer",
                    input="long enough pw\nlong enough pw\n")
    assert code == 0 and "user pat (viewer) created" in out
    code, out = run(deps, "users", "add", "sam", "--role", "staff", "--password", "short")
    assert code == 2 and "at least 10 characters" in out
    code, token = run(deps, "users", "token", "pat")
    assert code == 0
    me = api.client.get("/api/me", headers={"Authorization": f"Bearer {token.strip()}"})
    assert me.json()["username"] == "pat"
    assert run(deps, "users", "token", "ghost") == (2, "error: no active user 'ghost'\n")
