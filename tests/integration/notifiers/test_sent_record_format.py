"""The hot path records ``sent_at`` with raw SQL; it must store exactly what the ORM stores, or
SQLite's text comparisons (``sent_at == now``, ranges) silently stop matching."""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from cases.clock import FixedClock
from cases.database import transaction
from cases.models import Notification
from cases.outbox import Channel
from notifiers.channels.memory import MemoryNotifier
from notifiers.compose.context import ProgramInfo
from notifiers.compose.rendering import Renderer
from notifiers.outbox.dispatcher import Dispatcher
from tests.support.factories import make_case, policy


def test_sent_at_written_by_the_dispatcher_compares_equal_to_the_clock(
        session_factory: sessionmaker[Session], clock: FixedClock) -> None:
    from cases.referrals import decide

    with transaction(session_factory) as db:
        case = make_case(db, clock.now())
        decide(db, case, eligible=True, reason=None, policy=policy(), now=clock.now(), actor="t")
    program = ProgramInfo(name="CMP", phone="+13127463594", email="cmp@example.org",
                          public_base_url="http://127.0.0.1:8000", link_secret="s" * 32)
    dispatcher = Dispatcher(session_factory, {Channel.SMS: MemoryNotifier(Channel.SMS),
                                              Channel.EMAIL: MemoryNotifier(Channel.EMAIL)},
                            clock, renderer=Renderer(), program=program, worker_id="t")
    report = dispatcher.run_once()
    assert report.sent > 0
    with session_factory() as db:
        matched = db.scalars(select(Notification).where(Notification.sent_at == clock.now())).all()
        assert len(matched) == report.sent
        later = db.scalars(select(Notification).where(Notification.sent_at > clock.now())).all()
        assert later == []
