"""The service as the simulator drives it, wired once from a database URL and a start time.

Real parts only: the migrated database (SQLite or PostgreSQL), the outbox dispatcher with the
real Twilio and SendGrid SDKs pointed at the bundled emulator on a loopback port, the FastAPI app
(webhooks included) called in-process, the scheduler's job functions. Time is one
``FixedClock`` that the runner moves; the emulator stamps messages with it too.

The provider's side of the conversation is here as well: delivery reports and inbound texts are
signed the way Twilio and SendGrid sign them and POSTed to the app, so the webhooks verify them
exactly as they would in production.
"""

from __future__ import annotations

import json
import random
import secrets
import tempfile
import time
import urllib.parse
import warnings
from collections.abc import Callable
from dataclasses import dataclass, field, replace
from datetime import datetime
from pathlib import Path
from typing import Any

from pydantic import SecretStr
from sqlalchemy import Engine
from sqlalchemy.orm import Session, sessionmaker

from cases.clock import FixedClock
from cases.database import make_engine, make_session_factory
from cases.models import Mediator
from cases.phone_lines import LineTypeLookup
from cases.policy import Policy, load_policy
from emulator import EmulatorClient, EmulatorConfig, EmulatorHTTPServer, start_emulator
from notifiers.channels.base import Channel, Notifier
from notifiers.channels.signatures import (
    SENDGRID_SIGNATURE_HEADER,
    SENDGRID_TIMESTAMP_HEADER,
    TWILIO_SIGNATURE_HEADER,
    SendGridKeyPair,
    twilio_signature,
)
from notifiers.outbox.dispatcher import Dispatcher
from notifiers.outbox.policy import DispatchPolicy
from notifiers.wiring import build_dispatcher, build_line_checker, build_notifiers, dispatch_policy
from scheduler.jobs import JobDeps
from scheduler.wiring import booking_rules
from settings import Settings
from web.app import create_app

with warnings.catch_warnings():
    # starlette asks for the httpx2 package, which the project does not use; httpx works.
    warnings.simplefilter("ignore")
    from starlette.testclient import TestClient

ACCOUNT_SID = "AC" + "5153aaaa" * 4
AUTH_TOKEN = "simulation-auth-token-0123456789"
SENDGRID_KEY = "SG.simulation-key"
FROM_NUMBER = "+13125550199"
PUBLIC_URL = "https://mediation.sim.invalid"

CalendarFor = Callable[[Mediator], Any]


@dataclass
class Parts:
    """The seams where a test puts a deliberately broken double of one part of the service.

    Each default is the real thing; ``sim/`` never replaces anything else."""

    #: wraps each real notifier (the SDK adapters) before the dispatcher gets it
    notifier: Callable[[Channel, Notifier, Settings], Notifier] = lambda _c, n, _s: n
    #: how an inbound SMS reaches the service: (world, sender, body) -> the app's interpretation
    inbound_sms: Callable[[World, str, str], str] | None = None
    #: the dispatcher's policy (quiet hours, attempts); None: the settings' own
    dispatch_policy: DispatchPolicy | None = None
    #: the program's policy; None: the policy file's
    policy: Policy | None = None
    #: wraps the real line-type lookup (Twilio Lookup through the SDK) before the checker gets it
    line_lookup: Callable[[LineTypeLookup], LineTypeLookup] = lambda lookup: lookup
    #: staff actions and jobs a double may replace: name -> callable (see ``sim.population``)
    overrides: dict[str, Callable[..., Any]] = field(default_factory=dict)


class World:
    """Everything one simulated run touches; closed with :meth:`close`."""

    def __init__(self, url: str, start: datetime, seed: int, parts: Parts | None = None) -> None:
        self.url = url
        self.seed = seed
        self.parts = parts or Parts()
        self.clock = FixedClock(start)
        self.engine: Engine = make_engine(url)
        self.factory: sessionmaker[Session] = make_session_factory(self.engine)
        self.keys = SendGridKeyPair.generate()
        self.emulator_server: EmulatorHTTPServer = start_emulator(EmulatorConfig(
            twilio_account_sid=ACCOUNT_SID, twilio_auth_token=AUTH_TOKEN,
            twilio_from_numbers=(FROM_NUMBER,), sendgrid_api_key=SENDGRID_KEY,
            sendgrid_keys=self.keys))
        self.emulator = EmulatorClient(self.emulator_server.url)
        self.workdir = Path(tempfile.mkdtemp(prefix="cmp-sim-"))
        self.settings = Settings(  # type: ignore[call-arg]
            _env_file=None, database_url=url,
            twilio_account_sid=ACCOUNT_SID, twilio_auth_token=SecretStr(AUTH_TOKEN),
            twilio_from_number=FROM_NUMBER, twilio_base_url=self.emulator_server.url,
            sendgrid_api_key=SecretStr(SENDGRID_KEY), sendgrid_from_email="mediation@sim-mediation.org",
            sendgrid_base_url=self.emulator_server.url, public_base_url=PUBLIC_URL,
            sendgrid_webhook_public_key=self.keys.public_key_b64,
            secret_key=SecretStr(secrets.token_urlsafe(48)), outbox_dir=self.workdir / "outbox")
        self.policy: Policy = self.parts.policy or load_policy(self.settings.policy_file)
        self.rules = booking_rules(self.policy, self.settings)
        self.notifiers = {channel: self.parts.notifier(channel, notifier, self.settings)
                          for channel, notifier in build_notifiers(self.settings).items()}
        self.app = create_app(self.settings, self.factory, self.clock, self.policy)
        self.http = TestClient(self.app, base_url=PUBLIC_URL)
        self.http.__enter__()  # one event loop for the whole run, not one per request
        self.rng = random.Random(seed)
        self.dispatcher = self.new_dispatcher("sim-worker-1")
        self.calendars: dict[int, Any] = {}
        self.calendar_for: CalendarFor = lambda m: self.calendars.get(m.id)
        checker = build_line_checker(self.settings)
        if checker is not None:
            checker = replace(checker, lookup=self.parts.line_lookup(checker.lookup))
        self.deps = JobDeps(rules=self.rules, dispatcher=self.dispatcher,
                            calendar_source=lambda m: self.calendar_for(m), line_checker=checker)

    def new_dispatcher(self, worker_id: str,
                       notifiers: dict[Channel, Notifier] | None = None) -> Dispatcher:
        """A dispatcher as a worker process builds it, with a seeded jitter."""
        dispatcher = build_dispatcher(self.settings, self.factory, self.clock, worker_id=worker_id,
                                      notifiers=notifiers or self.notifiers)
        dispatcher.policy = self.parts.dispatch_policy or dispatch_policy(self.settings)
        dispatcher.rng = random.Random(f"{self.seed}-{worker_id}")
        return dispatcher

    def now(self) -> datetime:
        return self.clock.now()

    def sync_provider_clock(self) -> None:
        """The emulator stamps what it accepts with the simulated time (``date_created``)."""
        state = self.emulator_server.state  # in-process: the same as ``POST /_emulator/clock``
        state.clock_offset = self.clock.now().timestamp() - time.time()

    # -- the provider's side ----------------------------------------------------------------
    def inbound_sms(self, sender: str, body: str) -> str:
        """A text from ``sender`` as Twilio delivers it; returns the service's interpretation."""
        if self.parts.inbound_sms is not None:
            return self.parts.inbound_sms(self, sender, body)
        return post_inbound_sms(self, sender, body)

    def twilio_status(self, callback_url: str, sid: str, to: str, status: str,
                      error_code: str | None = None) -> int:
        params = {"MessageSid": sid, "SmsSid": sid, "AccountSid": ACCOUNT_SID,
                  "From": FROM_NUMBER, "To": to, "MessageStatus": status, "SmsStatus": status,
                  "ApiVersion": "2010-04-01"}
        if error_code is not None:
            params["ErrorCode"] = error_code
        return self._post_twilio(callback_url, params)

    def sendgrid_event(self, message: dict[str, Any], event: str) -> int:
        now = int(self.clock.now().timestamp())
        payload = json.dumps([{
            "email": message["to"], "timestamp": now, "event": event,
            "sg_event_id": f"sim-{message['sid']}-{event}",
            "sg_message_id": f"{message['sid']}.filter0001.{now}.0",
            **message["custom_args"]}]).encode("utf-8")
        response = self.http.post("/webhooks/sendgrid/events", content=payload, headers={
            "Content-Type": "application/json",
            SENDGRID_SIGNATURE_HEADER: self.keys.sign(payload, str(now)),
            SENDGRID_TIMESTAMP_HEADER: str(now)})
        return response.status_code

    def _post_twilio(self, url: str, params: dict[str, str]) -> int:
        parts = urllib.parse.urlsplit(url)
        path = parts.path + (f"?{parts.query}" if parts.query else "")
        response = self.http.post(path, data=params, headers={
            TWILIO_SIGNATURE_HEADER: twilio_signature(AUTH_TOKEN, url, params)})
        return response.status_code

    def close(self) -> None:
        self.http.__exit__(None, None, None)
        self.emulator.close()
        self.emulator_server.stop()
        self.engine.dispose()


def post_inbound_sms(world: World, sender: str, body: str, sid: str | None = None) -> str:
    """The real path: a signed POST to ``/webhooks/twilio/inbound``; the reply's TwiML is read
    only to know whether the service answered. Returns the stored interpretation."""
    from sqlalchemy import select

    from cases.models import InboundMessage

    sid = sid or "SM" + world.rng.getrandbits(128).to_bytes(16, "big").hex()
    params = {"MessageSid": sid, "SmsSid": sid, "AccountSid": ACCOUNT_SID, "From": sender,
              "To": FROM_NUMBER, "Body": body, "NumMedia": "0", "NumSegments": "1",
              "ApiVersion": "2010-04-01"}
    status = world._post_twilio(PUBLIC_URL + "/webhooks/twilio/inbound", params)
    if status != 200:
        return f"http {status}"
    with world.factory() as session:
        row = session.scalar(select(InboundMessage).where(InboundMessage.provider_message_id == sid))
        return row.interpretation if row is not None else "unrecorded"
