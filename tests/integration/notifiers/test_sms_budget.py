"""The SMS budget is the sending adapter's (a class attribute), read when a notice is rendered:
the dispatcher sends the form that fits, and nothing over it."""

from __future__ import annotations

from typing import ClassVar

from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from cases.clock import FixedClock
from cases.database import transaction
from cases.models import Notification
from cases.outbox import Channel
from cases.referrals import decide
from notifiers.channels.memory import MemoryNotifier
from notifiers.channels.twilio_sms import TwilioSmsNotifier
from notifiers.compose.context import ProgramInfo
from notifiers.compose.rendering import Renderer, segment_budget
from notifiers.compose.segments import count_segments
from notifiers.outbox.dispatcher import Dispatcher
from tests.support.factories import make_case, policy

PROGRAM = ProgramInfo(name="Community Mediation Program", phone="+13127463594",
                      email="cmp@example.org", public_base_url="https://cmp.example.org",
                      link_secret="s" * 40)


class OneSegmentSms(MemoryNotifier):
    """A fake SMS adapter on a one-segment plan."""

    max_segments: ClassVar[int] = 1


def test_twilio_declares_three_segments() -> None:
    assert segment_budget(TwilioSmsNotifier) == 3
    assert segment_budget(MemoryNotifier(Channel.SMS)) is None  # the renderer's default then


def test_the_dispatcher_renders_to_the_adapters_budget(
        session_factory: sessionmaker[Session], clock: FixedClock) -> None:
    sms = OneSegmentSms(Channel.SMS)
    dispatcher = Dispatcher(session_factory, {Channel.SMS: sms,
                                              Channel.EMAIL: MemoryNotifier(Channel.EMAIL)},
                            clock, renderer=Renderer(), program=PROGRAM, worker_id="t")
    with transaction(session_factory) as db:
        case = make_case(db, clock.now(), complainant_language="en")
        decide(db, case, eligible=True, reason=None, policy=policy(), now=clock.now(),
               actor="staff")
    while dispatcher.run_once().touched:
        pass
    assert sms.sent
    assert [count_segments(m.body_text).segments for m in sms.sent] == [1] * len(sms.sent)
    asks = [m.body_text for m in sms.sent if "YES or NO" in m.body_text]
    assert asks and all("by December 9" in a for a in asks)
    with session_factory() as db:
        statuses = set(db.scalars(select(Notification.status).where(
            Notification.channel == "sms")))
    assert statuses == {"sent"}
