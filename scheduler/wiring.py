"""Building the scheduler's typed configuration from ``Settings``: called by the composition
roots (``main.py``, ``demo.py``, the web app and its CLI). The inner modules take ``Rules`` and
``WorkerConfig`` with typed fields and never see the settings object, so a renamed setting is
a type error here, not an ``AttributeError`` at run time. Nothing here runs at import time."""

from __future__ import annotations

from typing import TYPE_CHECKING

from cases.policy import Policy
from scheduler.booking.constraints import Rules
from scheduler.service import WorkerConfig

if TYPE_CHECKING:
    from settings import Settings


def booking_rules(policy: Policy, settings: Settings) -> Rules:
    """Booking's rules: the policy (which holds the reminder plan) and the program's display zone."""
    return Rules(policy=policy, time_zone=settings.time_zone)


def worker_config(settings: Settings) -> WorkerConfig:
    """How often the worker's jobs look, and under which name it takes leases."""
    return WorkerConfig(worker_id=settings.worker_name,
                        dispatch_interval_seconds=settings.dispatch_interval_seconds,
                        calendar_pull_minutes=settings.calendar_pull_minutes,
                        line_check_seconds=settings.line_lookup_interval_seconds,
                        time_zone=settings.time_zone)
