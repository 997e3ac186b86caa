"""A provider emulator: the Twilio Messages and Lookup APIs and SendGrid v3 mail/send, as a real
HTTP server. A test and demo tool, never used to send real messages.

The real SDKs are pointed at it by configuration (``CMP_TWILIO_BASE_URL``,
``CMP_SENDGRID_BASE_URL``); tests, the demo, the simulation and the benchmarks use it so nothing
ever reaches the real providers. It lives outside the product packages so that none of them can
come to depend on it: ``cases/``, ``scheduler/``, ``notifiers/``, ``calendars/`` and ``web/``
never import it; only the tools do (``tests/``, ``sim/``, ``bench/``, ``demo.py`` and the
``emulator`` command in ``cli/``). ``python -m emulator`` runs it in the foreground.

It signs its webhooks with the service's own ``notifiers.channels.signatures`` and knows Twilio's opt-out
words from ``notifiers.inbound``, so a test checks the real verification and the real words.
"""

from emulator.client import EmulatorClient
from emulator.config import EmulatorConfig
from emulator.server import EmulatorHTTPServer, start_emulator

__all__ = ["EmulatorClient", "EmulatorConfig", "EmulatorHTTPServer", "start_emulator"]
