"""What a command needs from the composition root: ``main.App`` provides it (mypy checks that in
``main.py``), tests may pass their own through click's ``obj``."""

from __future__ import annotations

from contextlib import AbstractContextManager
from datetime import date, datetime
from typing import TYPE_CHECKING, Protocol

import click
from sqlalchemy import Engine
from sqlalchemy.orm import Session, sessionmaker

from cases.clock import Clock
from cases.policy import Policy
from settings import Settings

if TYPE_CHECKING:
    from cases.calendar_urls import AllowedHosts
    from cases.sealing import Sealer
    from scheduler.jobs import JobDeps

#: who the audit trail names for a command run by hand
STAFF_ACTOR = "cli"


class Deps(Protocol):
    """``loaded``: the settings as read; ``settings``: with the secret key (read or created on
    first use). The rest is built lazily, so that ``--help`` touches nothing."""

    loaded: Settings
    clock: Clock

    @property
    def settings(self) -> Settings: ...

    @property
    def engine(self) -> Engine: ...

    @property
    def session_factory(self) -> sessionmaker[Session]: ...

    @property
    def policy(self) -> Policy: ...

    @property
    def sealer(self) -> Sealer: ...

    @property
    def calendar_hosts(self) -> AllowedHosts: ...

    def transaction(self) -> AbstractContextManager[Session]: ...

    def upgrade(self) -> None: ...

    def local(self, when: datetime | None) -> str: ...

    def today(self) -> date: ...

    def job_deps(self) -> JobDeps: ...


pass_app = click.pass_obj
actor_option = click.option("--actor", default=STAFF_ACTOR, show_default=True,
                            help="Name recorded in the audit trail.")
