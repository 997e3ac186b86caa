"""Messages written as files, one per message, for demos and for running without credentials.

Each file is plain UTF-8 a person can open: a few header lines, the text body, the HTML body and
the attachments' names. The file name carries the notice id, so writing the same notice twice
replaces one file instead of making two.
"""

from __future__ import annotations

import logging
import os
import tempfile
from pathlib import Path
from typing import ClassVar

from notifiers.base import Channel, OutgoingMessage, Receipt, TransientSendError

log = logging.getLogger(__name__)


class FileOutboxNotifier:
    provider: ClassVar[str] = "file"
    max_body_chars: ClassVar[int] = 1_000_000
    rate_per_second: ClassVar[float] = 1000.0

    def __init__(self, directory: Path | str, channel: Channel) -> None:
        self.directory = Path(directory)
        self.directory.mkdir(parents=True, exist_ok=True)
        self.channel = channel  # one class serves both channels
        log.warning(
            "no %s provider credentials configured: %s messages are written to files in %s "
            "and are NOT delivered to anyone",
            channel.value,
            channel.value,
            self.directory,
        )

    def path_for(self, message: OutgoingMessage) -> Path:
        return self.directory / f"notice-{message.notice_id:08d}.{message.channel.value}.txt"

    def send(self, message: OutgoingMessage) -> Receipt:
        lines = [f"Channel: {message.channel.value}", f"To: {message.to}"]
        if message.subject is not None:
            lines.append(f"Subject: {message.subject}")
        lines.append(f"Notice: {message.notice_id}")
        lines += [
            f"Attachment: {a.filename} ({a.content_type}, {len(a.content)} bytes)"
            for a in message.attachments
        ]
        lines += ["", message.body_text]
        if message.body_html:
            lines += ["", "----- HTML -----", message.body_html]
        path = self.path_for(message)
        try:
            fd, tmp = tempfile.mkstemp(dir=self.directory, prefix=".tmp-")
            with os.fdopen(fd, "w", encoding="utf-8") as handle:
                handle.write("\n".join(lines) + "\n")
            os.replace(tmp, path)
        except OSError as exc:
            raise TransientSendError(None, f"file outbox: {type(exc).__name__}") from None
        return Receipt(provider=self.provider, provider_message_id=f"file:{path.name}", status="written")
