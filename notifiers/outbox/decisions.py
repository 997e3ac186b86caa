"""What the outbox engine decided about one notice, as a value, and the one place that applies it.

The claim's per-row rules (``notifiers.outbox.claim.decide``) and the failure rules
(``notifiers.outbox.record.decide_failure``) only decide; :func:`apply` is the only code that
changes a row because of a decision, and it hands every domain consequence (fallback to the
other channel, staff alerts, suppression, withdrawing for a landline, their audit) to
``cases.notice_outcomes``. So a notice's path goes down the layers once: notifiers, then cases.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import datetime
from typing import ClassVar

from sqlalchemy.orm import Session

from cases import notice_outcomes
from cases.models import Notification, NotificationStatus, Party
from cases.notice_outcomes import Problem
from cases.outbox import Channel
from cases.privacy import mask_email, mask_phone

log = logging.getLogger(__name__)
ACTOR = "dispatcher"


@dataclass(frozen=True)
class CancelOptedOut:
    """The recipient opted out of the notice's channel: cancelled, the other channel tried."""

    counted_as: ClassVar[str] = "cancelled"


@dataclass(frozen=True)
class WithdrawLandline:
    """An SMS to a number known to be a landline: withdrawn, email tried instead."""

    counted_as: ClassVar[str] = "cancelled"


@dataclass(frozen=True)
class Defer:
    """An SMS in the recipient's quiet hours: back to ``pending`` until ``until``, unclaimed."""

    until: datetime
    counted_as: ClassVar[str] = "deferred"


@dataclass(frozen=True)
class CannotPrepare:
    """The notice cannot be written (template, address, channel): failed, staff told."""

    reason: str
    counted_as: ClassVar[str] = "failed"


@dataclass(frozen=True)
class Retry:
    """A transient failure: ``pending`` again at ``at``. ``confirmed``: the provider answered and
    no earlier attempt is unaccounted for, so the notice is no longer in doubt."""

    at: datetime
    reason: str
    confirmed: bool
    counted_as: ClassVar[str] = "retried"


@dataclass(frozen=True)
class RateLimited:
    """A 429: ``pending`` again at ``until``, the attempt not counted (not this notice's fault);
    the sender pauses until then for every process."""

    until: datetime
    reason: str
    confirmed: bool
    counted_as: ClassVar[str] = "rate_limited"


@dataclass(frozen=True)
class GiveUp:
    """No more attempts: ``dead`` (transient failures until ``max_attempts``) or ``failed`` (the
    provider refused it for good, for ``problem``). ``error`` names the failure for staff."""

    dead: bool
    reason: str
    problem: Problem
    error: str
    code: int | None

    @property
    def counted_as(self) -> str:
        return "dead" if self.dead else "failed"


Decision = CancelOptedOut | WithdrawLandline | Defer | CannotPrepare | Retry | RateLimited | GiveUp


def apply(session: Session, row: Notification, decision: Decision, *, party: Party | None,
          now: datetime) -> None:
    """Make ``decision`` true of ``row`` (and of the domain) in the caller's transaction."""
    match decision:
        case CancelOptedOut():
            notice_outcomes.cancel_opted_out(session, row, party, now, actor=ACTOR)
        case WithdrawLandline():
            notice_outcomes.withdraw_for_landline(session, row, party, now, actor=ACTOR)
        case Defer(until=until):
            row.status = NotificationStatus.PENDING.value
            row.next_attempt_at = until
            row.claimed_by = row.claimed_until = None
        case CannotPrepare(reason=reason):
            notice_outcomes.cannot_prepare(session, row, reason, now)
        case Retry() | RateLimited():
            at = decision.at if isinstance(decision, Retry) else decision.until
            row.status = NotificationStatus.PENDING.value
            if isinstance(decision, RateLimited):
                row.attempts -= 1
            row.next_attempt_at = at
            row.claimed_by = row.claimed_until = None
            if decision.confirmed:
                row.unconfirmed_since = None
            row.last_error = decision.reason
        case GiveUp():
            log.warning(
                "notice %s (%s to %s) %s: %s", row.id, row.channel,
                _masked(row.channel, row.to_address),
                notice_outcomes.give_up_action(decision.dead), decision.reason,
            )  # fmt: skip
            notice_outcomes.give_up(session, row, party, now, dead=decision.dead,
                                    reason=decision.reason, problem=decision.problem,
                                    error=decision.error, code=decision.code, actor=ACTOR)


def _masked(channel: str, address: str) -> str:
    return mask_phone(address) if channel == Channel.SMS.value else mask_email(address)
