"""A provider emulator: the Twilio Messages API and SendGrid v3 mail/send, as a real HTTP server.

The real SDKs are pointed at it by configuration (``CMP_TWILIO_BASE_URL``,
``CMP_SENDGRID_BASE_URL``); tests and demos use it so nothing ever reaches the real providers.
"""

from notifiers.emulator.client import EmulatorClient
from notifiers.emulator.server import EmulatorConfig, EmulatorHTTPServer, start_emulator

__all__ = ["EmulatorClient", "EmulatorConfig", "EmulatorHTTPServer", "start_emulator"]
