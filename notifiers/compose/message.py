"""An outbox row as the message its channel sends: the rendered bodies, the recipient, the stored
attachments and the session invite, built at claim time (``notifiers.outbox.claim``)."""

from __future__ import annotations

import base64
from datetime import datetime

from cases.models import Notification
from cases.outbox import NoticeKind
from notifiers.channels.base import Attachment, Channel, Notifier, OutgoingMessage
from notifiers.compose.context import Lookup, ProgramInfo, build_variables
from notifiers.compose.invite_attachments import invite_attachment
from notifiers.compose.rendering import RenderedSms, Renderer, segment_budget


def compose(
    lookup: Lookup, row: Notification, channel: Channel, program: ProgramInfo, renderer: Renderer,
    notifier: Notifier | None, now: datetime,
) -> tuple[OutgoingMessage, dict[str, str | None]]:
    """The message, and the bodies to store on the row (``subject``, ``body_text``, ``body_html``).
    An SMS is rendered to the segment budget ``notifier`` declares. Raises ``TemplateError``,
    ``LookupError``, ``ValueError`` or ``TypeError`` when the notice cannot be written."""
    variables = build_variables(lookup, row, program, now=now)
    kind = NoticeKind(row.kind)
    rendered = renderer.render(kind, row.language, channel, variables, segment_budget(notifier))
    to = row.to_address or (program.email if channel is Channel.EMAIL else "")
    if not to:
        raise ValueError(f"no {channel.value} address")
    if isinstance(rendered, RenderedSms):
        stored = {"subject": None, "body_text": rendered.body, "body_html": None}
        return OutgoingMessage(row.id, channel, to, rendered.body), stored
    stored = {"subject": rendered.subject, "body_text": rendered.text, "body_html": rendered.html}
    attachments = tuple(
        Attachment(
            filename=str(item["filename"]),
            content_type=str(item.get("content_type", "application/octet-stream")),
            content=base64.b64decode(item["content"]),
            disposition=str(item.get("disposition", "attachment")),
        )
        for item in row.attachments or []
    )
    invite = invite_attachment(lookup, row, program, now)
    if invite is not None:
        attachments += (invite,)
    message = OutgoingMessage(
        row.id, channel, to, rendered.text, rendered.subject, rendered.html, attachments
    )
    return message, stored
