"""The unit lane: pure code and fakes, no database and no server, so it runs anywhere in seconds.

A test placed here that asks for a database is refused at collection, naming it: it belongs in
``tests/integration/``.
"""

from __future__ import annotations

from pathlib import Path

import pytest

HERE = Path(__file__).resolve().parent
DATABASE_FIXTURES = {"db_url", "sqlite_template", "postgres_template"}


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    misplaced = [item.nodeid for item in items
                 if HERE in item.path.parents and DATABASE_FIXTURES & set(getattr(item, "fixturenames", ()))]
    if misplaced:
        raise pytest.UsageError("unit tests use no database; move these to tests/integration/:\n  "
                                + "\n  ".join(misplaced))
