"""The dispatcher-process tests use the provider emulator and the webhook server
(tests/support/notify_fixtures.py); the browser tests have an emulator each
(tests/support/browser.py)."""

from tests.support.browser import browser_emulator  # noqa: F401 (a fixture for this folder)
from tests.support.notify_fixtures import (  # noqa: F401 (fixtures for this folder)
    dispatcher,
    emulator,
    emulator_server,
    notifiers,
    settings,
    webhook_server,
    webhooks_live,
    webhooks_live_system_clock,
)
