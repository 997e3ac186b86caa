"""Run a command with the system clock moved, e.g. ``python tests/moved_clock.py +400d -m pytest -q``.

The suite must pass on any date: a test that mixes the real clock with a fixed one passes on the day
it is written and fails later. This preloads libfaketime so that every process of the run (pytest,
uvicorn threads, Radicale, dispatcher children, Chromium) sees the wall clock moved by the offset,
while the monotonic clock stays real so that timed waits still end.

The library comes from PyPI's ``libfaketime`` package (a dev dependency), not Debian's: Debian 12's
libfaketime 0.9.10 turns every ``time.sleep`` of Python 3.11 into ``EINVAL`` when the monotonic
clock is left real (libfaketime issue #426), and without that setting every timed wait hangs.
"""

from __future__ import annotations

import os
import sys

import libfaketime


def main(argv: list[str]) -> int:
    if len(argv) < 2 or not argv[0].startswith(("+", "-")):
        sys.stderr.write("usage: moved_clock.py +OFFSET (e.g. +400d, +6y) PYTHON-ARGS...\n")
        return 2
    offset, args = argv[0], argv[1:]
    _, additions = libfaketime.get_reload_information()
    env = {**os.environ, **additions, "FAKETIME": offset, "FAKETIME_DONT_FAKE_MONOTONIC": "1"}
    os.execve(sys.executable, [sys.executable, *args], env)


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
