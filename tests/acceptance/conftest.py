"""The dispatcher-process tests use the provider emulator and the webhook server
(tests/support/notify_fixtures.py)."""

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
