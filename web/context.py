"""What every request handler needs, built once by ``create_app`` and kept on ``app.state``."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from datetime import datetime
from typing import Annotated

from fastapi import Depends, Request
from fastapi.templating import Jinja2Templates
from sqlalchemy.orm import Session, sessionmaker

from cases.clock import Clock
from cases.database import transaction
from cases.policy import Policy
from settings import Settings
from web.login_throttle import LoginThrottle


@dataclass
class WebContext:
    settings: Settings
    session_factory: sessionmaker[Session]
    clock: Clock
    policy: Policy
    templates: Jinja2Templates
    limiter: LoginThrottle
    cookie_secure: bool

    @property
    def secret(self) -> str:
        return self.settings.signing_key

    def now(self) -> datetime:
        return self.clock.now()


def get_context(request: Request) -> WebContext:
    ctx: WebContext = request.app.state.web
    return ctx


Ctx = Annotated[WebContext, Depends(get_context)]


def get_db(request: Request) -> Iterator[Session]:
    """One session per request, committed when the handler returns and rolled back on error.

    Used with ``scope="function"`` so the commit happens *before* the response is sent: a
    constraint violation at commit becomes an error response instead of a lost write.
    """
    with transaction(get_context(request).session_factory) as session:
        yield session


Db = Annotated[Session, Depends(get_db, scope="function")]
