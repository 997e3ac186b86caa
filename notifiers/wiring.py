"""Building notifiers and the dispatcher from ``Settings``: called by ``main.py`` (the composition
root) and by ``python -m notifiers.dispatcher``. Nothing here runs at import time."""

from __future__ import annotations

import logging
from typing import TYPE_CHECKING

from sqlalchemy.orm import Session, sessionmaker

from cases.clock import Clock
from notifiers.base import Channel, Notifier
from notifiers.context import ProgramInfo
from notifiers.dispatcher import Dispatcher, DispatchPolicy
from notifiers.rendering import Renderer

if TYPE_CHECKING:
    from settings import Settings

log = logging.getLogger(__name__)

TWILIO_STATUS_PATH = "/webhooks/twilio/status"


def build_notifiers(settings: Settings) -> dict[Channel, Notifier]:
    """Twilio and SendGrid when their credentials are set, else the file outbox (logged loudly)."""
    from notifiers.file_outbox import FileOutboxNotifier

    notifiers: dict[Channel, Notifier] = {}
    if settings.twilio_account_sid and settings.twilio_auth_token and settings.twilio_from_number:
        from notifiers.twilio_sms import TwilioSmsNotifier

        notifiers[Channel.SMS] = TwilioSmsNotifier(
            account_sid=settings.twilio_account_sid,
            auth_token=settings.twilio_auth_token.get_secret_value(),
            from_number=settings.twilio_from_number,
            status_callback_url=settings.public_base_url.rstrip("/") + TWILIO_STATUS_PATH,
            base_url=settings.twilio_base_url,
        )
    else:
        notifiers[Channel.SMS] = FileOutboxNotifier(settings.outbox_dir, Channel.SMS)
    if settings.sendgrid_api_key and settings.sendgrid_from_email:
        from notifiers.sendgrid_email import SendGridEmailNotifier

        notifiers[Channel.EMAIL] = SendGridEmailNotifier(
            api_key=settings.sendgrid_api_key.get_secret_value(),
            from_email=settings.sendgrid_from_email,
            from_name=settings.program_name,
            base_url=settings.sendgrid_base_url,
        )
    else:
        notifiers[Channel.EMAIL] = FileOutboxNotifier(settings.outbox_dir, Channel.EMAIL)
    return notifiers


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
    )


def build_dispatcher(
    settings: Settings,
    session_factory: sessionmaker[Session],
    clock: Clock,
    *,
    worker_id: str | None = None,
    notifiers: dict[Channel, Notifier] | None = None,
    renderer: Renderer | None = None,
) -> Dispatcher:
    return Dispatcher(
        session_factory,
        notifiers if notifiers is not None else build_notifiers(settings),
        clock,
        renderer=renderer or Renderer(),
        program=program_info(settings),
        worker_id=worker_id or settings.worker_name,
        policy=dispatch_policy(settings),
    )
