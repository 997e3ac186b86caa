"""The sign-in limit, kept in the database so that every process serving it counts the same
attempts and a restart forgets none. Apart from :mod:`web.auth` because the request context
(:mod:`web.context`) carries one, and the auth dependencies read the context.
"""

from __future__ import annotations

from datetime import timedelta

from sqlalchemy import delete, func, select
from sqlalchemy.orm import Session, sessionmaker

from cases.clock import Clock
from cases.database import transaction
from cases.models import LoginAttempt


class LoginThrottle:
    """At most ``per_account`` failed sign-ins to one account (from any address) and
    ``per_address`` from one source address (to any accounts) within ``window``.

    Kept in the database (``login_attempts``), so every process serving the same database shares
    it and a restart forgets nothing. Each attempt is recorded and committed *before* the password
    is checked and the count includes it, so attempts racing in parallel cannot slip past the
    limit. Time comes from the injected clock, so tests move it instead of sleeping.
    """

    def __init__(self, session_factory: sessionmaker[Session], clock: Clock, *,
                 per_account: int = 5, per_address: int = 10,
                 window: timedelta = timedelta(minutes=15)) -> None:
        self._factory = session_factory
        self._clock = clock
        self.per_account = per_account
        self.per_address = per_address
        self.window = window

    def attempt(self, username: str, address: str) -> bool:
        """Record an attempt; ``False`` when the account or the address is over its limit.

        Commits in transactions of its own, so call it before the request's session has written
        or read anything (SQLite has one writer at a time).
        """
        account, now = _account(username), self._clock.now()
        since = now - self.window
        with transaction(self._factory) as session:
            session.execute(delete(LoginAttempt).where(LoginAttempt.at <= since))
            session.add(LoginAttempt(account=account, address=address[:64], at=now))
        with transaction(self._factory) as session:
            recent = select(func.count()).select_from(LoginAttempt).where(LoginAttempt.at > since)
            by_account = session.scalar(recent.where(LoginAttempt.account == account)) or 0
            by_address = session.scalar(recent.where(LoginAttempt.address == address[:64])) or 0
        return by_account <= self.per_account and by_address <= self.per_address

    @staticmethod
    def succeeded(session: Session, username: str) -> None:
        """The account's attempts are forgiven (those of the address to other accounts are not),
        in the caller's transaction."""
        session.execute(delete(LoginAttempt).where(LoginAttempt.account == _account(username)))


def _account(username: str) -> str:
    return username.strip().lower()[:64]
