"""Helpers shared by the tests of every lane, in one place (``from tests.support.web import ...``).

Test files import helpers only from here, never from each other or from a ``conftest.py``: pytest
imports test modules and conftests by their bare names, so such imports pick whichever module of
that name was loaded first and break as soon as two folders are collected together.
"""

from __future__ import annotations

from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
"""The project's root folder (where ``main.py`` is)."""

FIXTURES = ROOT / "tests" / "fixtures"
"""Data files the tests read (CSV imports, calendar feeds)."""
