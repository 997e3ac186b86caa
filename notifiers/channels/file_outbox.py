"""Messages written as files, one per message, for demos and for running without credentials.

Each file is plain UTF-8 a person can open: a few header lines, the text body and the HTML body.
Each attachment (the calendar invite of a booking) is written as a file of its own beside the
message, byte for byte what a provider would have been given, so it opens in a calendar; the
message names it on an ``Attachment:`` line. File names carry the notice id (the attachment's
also its own name, reduced to safe characters), so writing the same notice twice replaces its
files instead of adding more. Attachments are written before the message, so a message file never
points to a file that is not there.
"""

from __future__ import annotations

import logging
import os
import re
import tempfile
from pathlib import Path
from typing import ClassVar

from notifiers.channels.base import Channel, OutgoingMessage, Receipt, TransientSendError

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

    def _stem(self, message: OutgoingMessage) -> str:
        return f"notice-{message.notice_id:08d}.{message.channel.value}"

    def path_for(self, message: OutgoingMessage) -> Path:
        return self.directory / f"{self._stem(message)}.txt"

    def attachment_paths(self, message: OutgoingMessage) -> list[Path]:
        """Where each of the message's attachments is written, in order: the message's name and
        the attachment's own (``notice-00000012.email.invite.ics``), never outside the outbox."""
        paths: list[Path] = []
        for attachment in message.attachments:
            name = f"{self._stem(message)}.{safe_filename(attachment.filename)}"
            candidate, n = name, 2
            while self.directory / candidate in paths:  # two attachments with one name
                stem, dot, ext = name.rpartition(".")
                candidate = f"{stem}-{n}{dot}{ext}" if dot else f"{name}-{n}"
                n += 1
            paths.append(self.directory / candidate)
        return paths

    def send(self, message: OutgoingMessage) -> Receipt:
        lines = [f"Channel: {message.channel.value}", f"To: {message.to}"]
        if message.subject is not None:
            lines.append(f"Subject: {message.subject}")
        lines.append(f"Notice: {message.notice_id}")
        attached = self.attachment_paths(message)
        lines += [
            f"Attachment: {a.filename} ({a.content_type}, {len(a.content)} bytes) -> {path.name}"
            for a, path in zip(message.attachments, attached, strict=True)
        ]
        lines += ["", message.body_text]
        if message.body_html:
            lines += ["", "----- HTML -----", message.body_html]
        path = self.path_for(message)
        try:
            for attachment, target in zip(message.attachments, attached, strict=True):
                self._write(target, attachment.content)
            self._write(path, ("\n".join(lines) + "\n").encode("utf-8"))
        except OSError as exc:
            raise TransientSendError(None, f"file outbox: {type(exc).__name__}") from None
        return Receipt(provider=self.provider, provider_message_id=f"file:{path.name}", status="written")

    def _write(self, path: Path, content: bytes) -> None:
        """Whole or not at all: a reader never sees half a file."""
        fd, tmp = tempfile.mkstemp(dir=self.directory, prefix=".tmp-")
        try:
            with os.fdopen(fd, "wb") as handle:
                handle.write(content)
            os.replace(tmp, path)
        except OSError:
            Path(tmp).unlink(missing_ok=True)
            raise


_UNSAFE = re.compile(r"[^A-Za-z0-9._-]+")


def safe_filename(name: str, limit: int = 80) -> str:
    """An attachment's name as a file name that stays in the outbox and opens anywhere: the last
    path component only, ASCII letters, digits, ``.``, ``_`` and ``-`` (anything else becomes
    ``_``), no leading dots, at most ``limit`` characters keeping the extension."""
    base = re.split(r"[\\/]", name)[-1]
    cleaned = _UNSAFE.sub("_", base).lstrip(".") or "attachment"
    if len(cleaned) > limit:
        stem, dot, ext = cleaned.rpartition(".")
        ext = ext[:16]
        cleaned = (stem[: limit - len(ext) - 1] + "." + ext) if dot and stem else cleaned[:limit]
    return cleaned
