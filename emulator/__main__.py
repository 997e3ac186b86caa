"""``python -m emulator`` — run the provider emulator in the foreground."""

from __future__ import annotations

import argparse
import logging
import sys

from emulator.config import EmulatorConfig
from emulator.server import EmulatorHTTPServer


def serve(config: EmulatorConfig, host: str = "127.0.0.1", port: int = 8025) -> None:
    """Serve until interrupted; prints one line with the URL and the SendGrid webhook public key."""
    server = EmulatorHTTPServer((host, port), config)
    sys.stdout.write(
        f"emulator listening on {server.url} "
        f"(sendgrid webhook public key: {config.sendgrid_keys.public_key_b64})\n"
    )
    sys.stdout.flush()
    try:
        server.serve_forever()
    except KeyboardInterrupt:
        pass
    finally:
        server.server_close()


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="python -m emulator")
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=8025)
    parser.add_argument("--twilio-account-sid", default=EmulatorConfig.twilio_account_sid)
    parser.add_argument("--twilio-auth-token", default=EmulatorConfig.twilio_auth_token)
    parser.add_argument("--sendgrid-api-key", default=EmulatorConfig.sendgrid_api_key)
    parser.add_argument("--sendgrid-event-url", default=None)
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.INFO)
    serve(
        EmulatorConfig(
            twilio_account_sid=args.twilio_account_sid,
            twilio_auth_token=args.twilio_auth_token,
            sendgrid_api_key=args.sendgrid_api_key,
            sendgrid_event_url=args.sendgrid_event_url,
        ),
        args.host,
        args.port,
    )


if __name__ == "__main__":
    main()
