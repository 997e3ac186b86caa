"""The secret key that signs cookies and party links is never one anyone can read: unset, a
random key is generated on first start and kept (mode 0600) beside the database; a short key,
or a key file others can read, stops the service with one line."""

from __future__ import annotations

import os
import socket
import stat
import subprocess
import sys
import threading
from pathlib import Path

import pytest

from main import build_app
from settings import SettingsError, load_settings, resolve_secret_key, secret_key_path
from tests.support import ROOT

OLD_BUILT_IN_KEY = "dev-only-change-me-0123456789abcdef"  # printed in settings.py until now


def test_without_a_key_a_random_one_is_kept_beside_the_database_and_reused(
        tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'data' / 'cmp.db'}"
    first = build_app(database_url=url).settings.signing_key
    kept = tmp_path / "data" / "secret_key"
    assert kept.read_text().strip() == first
    assert stat.S_IMODE(kept.stat().st_mode) == 0o600
    assert len(first.encode()) >= 48 and first != OLD_BUILT_IN_KEY
    assert build_app(database_url=url).settings.signing_key == first  # the next start


@pytest.mark.parametrize(("url", "expected"), [
    ("sqlite:///var/cmp.db", Path("var/secret_key")),
    ("sqlite:////srv/cmp/data/cmp.db", Path("/srv/cmp/data/secret_key")),
    ("postgresql+psycopg://cmp@db/cmp", Path("var/secret_key")),
])
def test_the_key_file_sits_beside_the_database(url: str, expected: Path) -> None:
    assert secret_key_path(load_settings(database_url=url)) == expected
    chosen = load_settings(database_url=url, secret_key_file="/etc/cmp/key")
    assert secret_key_path(chosen) == Path("/etc/cmp/key")


def test_a_short_key_is_refused_naming_the_variable() -> None:
    with pytest.raises(SettingsError, match=r"CMP_SECRET_KEY: .*shorter than 32 bytes"):
        load_settings(secret_key="x" * 31)
    assert load_settings(secret_key="x" * 32).signing_key == "x" * 32


@pytest.mark.parametrize(("content", "mode", "reason"), [
    ("k" * 64, 0o644, "readable by others"),
    ("k" * 64, 0o640, "readable by others"),
    ("short", 0o600, "shorter than 32 bytes"),
])
def test_a_bad_key_file_is_refused(tmp_path: Path, content: str, mode: int, reason: str) -> None:
    path = tmp_path / "secret_key"
    path.write_text(content)
    path.chmod(mode)
    with pytest.raises(SettingsError, match=reason):
        resolve_secret_key(load_settings(secret_key_file=path))


def test_an_unreadable_key_file_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "secret_key"
    path.mkdir(mode=0o700)  # exists, cannot be read as a file
    with pytest.raises(SettingsError, match="cannot read"):
        resolve_secret_key(load_settings(secret_key_file=path))


def test_processes_starting_together_agree_on_one_key(tmp_path: Path) -> None:
    settings = load_settings(secret_key_file=tmp_path / "secret_key")
    keys: list[str] = []
    gate = threading.Barrier(8)

    def start() -> None:
        gate.wait()
        keys.append(resolve_secret_key(settings))

    threads = [threading.Thread(target=start) for _ in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert len(keys) == 8 and len(set(keys)) == 1
    assert sorted(p.name for p in tmp_path.iterdir()) == ["secret_key"]  # no temporary left


@pytest.mark.parametrize(("env", "reason"), [
    ({"CMP_SECRET_KEY": "too-short"}, "CMP_SECRET_KEY: "),
    ({"CMP_SECRET_KEY_FILE": "open_key"}, "CMP_SECRET_KEY_FILE: "),
])
def test_serve_refuses_to_start_with_one_line(tmp_path: Path, env: dict[str, str],
                                              reason: str) -> None:
    (tmp_path / "open_key").write_text("k" * 64)
    (tmp_path / "open_key").chmod(0o644)
    clean = {k: v for k, v in os.environ.items() if not k.startswith("CMP_")}
    with socket.socket() as sock:  # should it start after all, it must not take a used port
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    clean |= {"CMP_DATABASE_URL": f"sqlite:///{tmp_path / 'cmp.db'}", "CMP_PORT": str(port),
              "CMP_OUTBOX_DIR": str(tmp_path / "outbox"), **env}
    done = subprocess.run([sys.executable, str(ROOT / "main.py"), "serve"], cwd=tmp_path,
                          env=clean, capture_output=True, text=True, timeout=60)
    assert done.returncode == 2
    lines = done.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("error: ") and reason in lines[0], done.stderr
