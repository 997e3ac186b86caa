"""Fixtures for the notification tests: the provider emulator as a real server on a loopback
port, a webhook app served by uvicorn, and settings pointing the real SDKs at the emulator.

A folder whose tests use them imports them into its ``conftest.py``; the servers start once per
session and each test resets the emulator's state."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
from sqlalchemy.orm import Session, sessionmaker

from cases.clock import Clock, FixedClock, SystemClock
from cases.policy import load_policy
from emulator import EmulatorClient, EmulatorConfig, EmulatorHTTPServer, start_emulator
from notifiers.channels.base import Channel, Notifier
from notifiers.compose.rendering import Renderer
from notifiers.outbox.dispatcher import Dispatcher
from notifiers.wiring import build_dispatcher, build_notifiers
from settings import Settings
from tests.support.notify import (
    ACCOUNT_SID,
    AUTH_TOKEN,
    FROM_NUMBER,
    SENDGRID_KEY,
    SENDGRID_KEYS,
    WebhookServer,
    emulator_env,
)
from web import webhooks


@pytest.fixture(scope="session")
def emulator_server() -> Iterator[EmulatorHTTPServer]:
    server = start_emulator(
        EmulatorConfig(
            twilio_account_sid=ACCOUNT_SID,
            twilio_auth_token=AUTH_TOKEN,
            twilio_from_numbers=(FROM_NUMBER,),
            sendgrid_api_key=SENDGRID_KEY,
            sendgrid_keys=SENDGRID_KEYS,
        )
    )
    yield server
    server.stop()


@pytest.fixture(scope="session")
def webhook_server() -> Iterator[WebhookServer]:
    server = WebhookServer().start()
    yield server
    server.stop()


@pytest.fixture
def emulator(emulator_server: EmulatorHTTPServer, webhook_server: WebhookServer) -> Iterator[EmulatorClient]:
    emulator_server.state.reset()
    emulator_server.config.sendgrid_event_url = f"{webhook_server.url}/webhooks/sendgrid/events"
    client = EmulatorClient(emulator_server.url)
    yield client
    client.close()


@pytest.fixture
def settings(emulator_server: EmulatorHTTPServer, webhook_server: WebhookServer, tmp_path: Any) -> Settings:
    env = emulator_env(emulator_server.url, webhook_server.url)
    return Settings(
        twilio_account_sid=env["CMP_TWILIO_ACCOUNT_SID"],
        twilio_auth_token=env["CMP_TWILIO_AUTH_TOKEN"],
        twilio_from_number=env["CMP_TWILIO_FROM_NUMBER"],
        twilio_base_url=env["CMP_TWILIO_BASE_URL"],
        sendgrid_api_key=env["CMP_SENDGRID_API_KEY"],
        sendgrid_from_email=env["CMP_SENDGRID_FROM_EMAIL"],
        secret_key=env["CMP_SECRET_KEY"],
        sendgrid_base_url=env["CMP_SENDGRID_BASE_URL"],
        public_base_url=env["CMP_PUBLIC_BASE_URL"],
        sendgrid_webhook_public_key=env["CMP_SENDGRID_WEBHOOK_PUBLIC_KEY"],
        outbox_dir=tmp_path / "outbox",
        max_send_attempts=3,
    )  # type: ignore[call-arg]


@pytest.fixture
def notifiers(settings: Settings) -> dict[Channel, Notifier]:
    return build_notifiers(settings)


@pytest.fixture
def dispatcher(
    settings: Settings,
    session_factory: sessionmaker[Session],
    clock: FixedClock,
    notifiers: dict[Channel, Notifier],
) -> Dispatcher:
    return build_dispatcher(settings, session_factory, clock, worker_id="test-worker", notifiers=notifiers)


def _wire_webhooks(
    server: WebhookServer, settings: Settings, factory: sessionmaker[Session], clock: Clock
) -> Iterator[WebhookServer]:
    server.app.state.webhook_deps = webhooks.WebhookDeps(
        settings=settings, session_factory=factory, clock=clock, policy=load_policy(), renderer=Renderer()
    )
    yield server
    del server.app.state.webhook_deps


@pytest.fixture
def webhooks_live(
    webhook_server: WebhookServer,
    settings: Settings,
    session_factory: sessionmaker[Session],
    emulator: EmulatorClient,
    clock: FixedClock,
) -> Iterator[WebhookServer]:
    """The webhook app wired to this test's database, settings and clock. One clock for the whole
    test: the emulator stamps messages and signs SendGrid events at the test's time too, so the
    webhooks, the dispatcher and the provider agree on "now" on any day the suite runs."""
    emulator.set_clock(clock.now())
    yield from _wire_webhooks(webhook_server, settings, session_factory, clock)


@pytest.fixture
def webhooks_live_system_clock(
    webhook_server: WebhookServer,
    settings: Settings,
    session_factory: sessionmaker[Session],
    emulator: EmulatorClient,
) -> Iterator[WebhookServer]:
    """For tests whose dispatchers run as child processes, on the system clock: the webhooks and
    the emulator (reset to the system clock) use it too, so every process agrees on "now"."""
    yield from _wire_webhooks(webhook_server, settings, session_factory, SystemClock())

