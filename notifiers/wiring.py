"""Building notifiers and the dispatcher from ``Settings``: called by ``main.py`` (the composition
root) and by ``python -m notifiers.outbox.dispatcher``. Nothing here runs at import time."""

from __future__ import annotations

import logging
import threading
from datetime import timedelta
from typing import TYPE_CHECKING

from sqlalchemy import Engine
from sqlalchemy.orm import Session, sessionmaker

from cases.clock import Clock, SystemClock
from cases.phone_lines import LineChecker
from notifiers.channels.base import Channel, Notifier
from notifiers.compose.context import ProgramInfo
from notifiers.compose.rendering import Renderer
from notifiers.outbox.dispatcher import Dispatcher
from notifiers.outbox.pacing import Pacer, Sender, Sleep, sendgrid_sender, twilio_sender
from notifiers.outbox.policy import DispatchPolicy
from notifiers.outbox.wakeup import Wakeup

if TYPE_CHECKING:
    from settings import Settings

log = logging.getLogger(__name__)

TWILIO_STATUS_PATH = "/webhooks/twilio/status"


def build_notifiers(settings: Settings) -> dict[Channel, Notifier]:
    """Twilio and SendGrid when their credentials are set, else the file outbox (logged loudly)."""
    from notifiers.channels.file_outbox import FileOutboxNotifier

    notifiers: dict[Channel, Notifier] = {}
    if settings.twilio_account_sid and settings.twilio_auth_token and settings.twilio_from_number:
        from notifiers.channels.twilio_sms import TwilioSmsNotifier

        notifiers[Channel.SMS] = TwilioSmsNotifier(
            account_sid=settings.twilio_account_sid,
            auth_token=settings.twilio_auth_token.get_secret_value(),
            from_number=settings.twilio_from_number,
            status_callback_url=settings.public_base_url.rstrip("/") + TWILIO_STATUS_PATH,
            base_url=settings.twilio_base_url,
            rate_per_second=settings.sms_rate_per_second,
        )
    else:
        notifiers[Channel.SMS] = FileOutboxNotifier(settings.outbox_dir, Channel.SMS)
    if settings.sendgrid_api_key and settings.sendgrid_from_email:
        from notifiers.channels.sendgrid_email import SendGridEmailNotifier

        notifiers[Channel.EMAIL] = SendGridEmailNotifier(
            api_key=settings.sendgrid_api_key.get_secret_value(),
            from_email=settings.sendgrid_from_email,
            from_name=settings.program_name,
            base_url=settings.sendgrid_base_url,
            rate_per_second=settings.email_rate_per_second,
        )
    else:
        notifiers[Channel.EMAIL] = FileOutboxNotifier(settings.outbox_dir, Channel.EMAIL)
    return notifiers


def build_line_checker(settings: Settings) -> LineChecker | None:
    """Twilio Lookup when Twilio's credentials are set (and ``CMP_LINE_LOOKUP`` is on); else None:
    the file outbox and memory channels look nothing up, every number shows "not checked" and
    texts go out as before."""
    if not (settings.line_lookup and settings.twilio_account_sid and settings.twilio_auth_token):
        return None
    from notifiers.channels.twilio_lookup import TwilioLineTypeLookup

    lookup = TwilioLineTypeLookup(
        account_sid=settings.twilio_account_sid,
        auth_token=settings.twilio_auth_token.get_secret_value(),
        base_url=settings.twilio_base_url,
        timeout=settings.line_lookup_timeout_seconds,
    )
    return LineChecker(lookup, max_age=timedelta(days=settings.line_lookup_max_age_days),
                       retry_base=timedelta(minutes=settings.line_lookup_retry_minutes))


def program_info(settings: Settings) -> ProgramInfo:
    return ProgramInfo(
        name=settings.program_name,
        phone=settings.program_phone,
        email=settings.program_email,
        public_base_url=settings.public_base_url,
        link_secret=settings.signing_key,
        time_zone=settings.time_zone,
    )


def dispatch_policy(settings: Settings) -> DispatchPolicy:
    return DispatchPolicy(
        batch_size=settings.dispatch_batch_size,
        max_attempts=settings.max_send_attempts,
        quiet_hours_start=settings.quiet_hours_start,
        quiet_hours_end=settings.quiet_hours_end,
        concurrency=settings.dispatch_concurrency,
    )


def senders(settings: Settings) -> dict[Channel, Sender]:
    """Each configured provider's sending identity and its rate (the file outbox is not paced)."""
    found: dict[Channel, Sender] = {}
    if settings.twilio_account_sid and settings.twilio_from_number:
        found[Channel.SMS] = twilio_sender(settings.twilio_from_number, settings.sms_rate_per_second)
    if settings.sendgrid_api_key:
        found[Channel.EMAIL] = sendgrid_sender(settings.sendgrid_api_key.get_secret_value(),
                                               settings.email_rate_per_second)  # fmt: skip
    return found


def build_wakeup(engine: Engine) -> Wakeup:
    """What ends an idle dispatcher's wait when a notice is written (``notifiers.outbox.wakeup``): this
    process's own commits, and on PostgreSQL every process's (LISTEN/NOTIFY)."""
    return Wakeup().watch_engine(engine).listen_postgres(engine)


def build_dispatcher(
    settings: Settings,
    session_factory: sessionmaker[Session],
    clock: Clock,
    *,
    worker_id: str | None = None,
    notifiers: dict[Channel, Notifier] | None = None,
    renderer: Renderer | None = None,
    sleep: Sleep | None = None,
) -> Dispatcher:
    """Sends are paced to each sender's rate (``notifiers.outbox.pacing``) when the clock is the system
    clock, waiting on the dispatcher's ``stopping`` event (a stop cuts the wait short). A
    simulated clock (tests, the demo) does not move while a send waits for its slot, so it is
    paced only with a ``sleep`` that moves it (a test of pacing passes one)."""
    stopping = threading.Event()
    engine: Engine = session_factory.kw["bind"]
    if sleep is None and isinstance(clock, SystemClock):
        sleep = stopping.wait
    return Dispatcher(
        session_factory,
        notifiers if notifiers is not None else build_notifiers(settings),
        clock,
        renderer=renderer or Renderer(),
        program=program_info(settings),
        worker_id=worker_id or settings.worker_name,
        policy=dispatch_policy(settings),
        senders=senders(settings),
        pacer=Pacer(engine, clock, sleep) if sleep is not None else None,
        stopping=stopping,
    )
