"""The background scheduler service: APScheduler 3 decides *when* to look, the rows decide *what*.

Why a ``MemoryJobStore`` and not a persistent one: nothing about *what* is due lives in
APScheduler. Reminders, consent deadlines and the outbox are rows with their own due
times; every job (:mod:`scheduler.jobs`) reads ``now`` once and queries for what is due, so a job
that ran late, twice or after a restart does the right thing. The schedule itself is code (this
module), rebuilt on every start. A persistent job store would add nothing but the risk APScheduler
3 has when two schedulers share one store (a job run twice, then a crash — measured).

Which worker runs the timed jobs is decided by :mod:`scheduler.leader`: exactly one is *active*
and the others are *standbys* that poll the lock every ``leader_poll_seconds`` and take over when
the active worker dies. Dispatching the outbox runs in every worker, active or standby, because the
dispatcher claims rows before it sends them.

On taking over, every leader job runs once at once, so work that fell due while no leader was up
(a reminder due while the service was down) is done straight away — exactly once, because the
rows record what was done.
"""

from __future__ import annotations

import json
import logging
import os
import tempfile
import threading
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from apscheduler.executors.pool import ThreadPoolExecutor
from apscheduler.jobstores.memory import MemoryJobStore
from apscheduler.schedulers.background import BackgroundScheduler
from apscheduler.triggers.cron import CronTrigger
from apscheduler.triggers.interval import IntervalTrigger
from sqlalchemy.orm import Session, sessionmaker

from cases import audit
from cases.clock import Clock
from cases.database import transaction
from notifiers.outbox.dispatcher import Dispatcher
from notifiers.outbox.loop import run_dispatcher
from notifiers.wiring import build_wakeup
from scheduler import jobs
from scheduler.jobs import JobDeps
from scheduler.leader import DEFAULT_KEY, LeaderLock, lock_for

log = logging.getLogger(__name__)

Job = Callable[[sessionmaker[Session], Clock, JobDeps], Any]


@dataclass(frozen=True)
class WorkerConfig:
    """How often each job looks. Built from ``Settings`` by :func:`scheduler.wiring.worker_config`."""

    worker_id: str
    dispatch_interval_seconds: float = 5.0
    calendar_pull_minutes: float = 30.0
    leader_poll_seconds: float = 5.0
    expire_interval_seconds: float = 60.0
    match_interval_minutes: float = 10.0
    plan_interval_minutes: float = 15.0
    heartbeat_seconds: float = 10.0
    digest_hour: int = 7
    line_check_seconds: float = 60.0
    time_zone: str = "America/Chicago"
    leader_key: int = DEFAULT_KEY
    status_path: Path | None = None


def leader_jobs(config: WorkerConfig) -> dict[str, tuple[Job, Any]]:
    """The timed jobs only the active worker runs, with their triggers."""
    seconds = IntervalTrigger
    return {
        "expire_consents": (jobs.expire_consents,
                            seconds(seconds=config.expire_interval_seconds)),
        "plan_reminders": (jobs.plan_reminders,
                           seconds(minutes=config.plan_interval_minutes)),
        "match_new_cases": (jobs.match_new_cases,
                            seconds(minutes=config.match_interval_minutes)),
        "pull_calendars": (jobs.pull_calendars, seconds(minutes=config.calendar_pull_minutes)),
        "push_calendars": (jobs.push_calendars, seconds(minutes=config.plan_interval_minutes)),
        "check_phone_lines": (jobs.check_phone_lines,
                              seconds(seconds=config.line_check_seconds)),
        "daily_digest": (jobs.daily_digest,
                         CronTrigger(hour=config.digest_hour, timezone=config.time_zone)),
    }


class Worker:
    """One worker process: always dispatching, running the timed jobs while it leads."""

    def __init__(self, config: WorkerConfig, factory: sessionmaker[Session], clock: Clock,
                 deps: JobDeps, lock: LeaderLock) -> None:
        self.config, self.factory, self.clock, self.deps, self.lock = \
            config, factory, clock, deps, lock
        self.active = False
        self._dispatch_stop = threading.Event()
        self._dispatch_thread: threading.Thread | None = None
        self.scheduler = BackgroundScheduler(
            jobstores={"default": MemoryJobStore()},
            executors={"default": ThreadPoolExecutor(4)},
            job_defaults={"coalesce": True, "max_instances": 1, "misfire_grace_time": None},
            timezone=config.time_zone)

    def _run(self, name: str, job: Job) -> Callable[[], None]:
        def run() -> None:
            try:
                result = job(self.factory, self.clock, self.deps)
                log.debug("job %s done: %r", name, result)
            except Exception:
                log.exception("job %s failed; it runs again on its next tick", name)
        return run

    def start(self) -> None:
        self.scheduler.start()
        if isinstance(self.deps.dispatcher, Dispatcher):
            # The outbox has its own loop: woken when a notice is written, sleeping until the
            # next one falls due, polling only as a safety net (``run_dispatcher``). The timed
            # job keeps withdrawing stale reminders.
            self._dispatch_thread = threading.Thread(
                target=self._dispatch_loop, args=(self.deps.dispatcher,), name="cmp-dispatch",
                daemon=True)
            self._dispatch_thread.start()
            self.scheduler.add_job(self._run("withdraw_stale_reminders", jobs.withdraw_stale),
                                   IntervalTrigger(seconds=self.config.dispatch_interval_seconds),
                                   id="withdraw_stale_reminders")
        else:
            self.scheduler.add_job(self._run("dispatch_outbox", jobs.dispatch_outbox),
                                   IntervalTrigger(seconds=self.config.dispatch_interval_seconds),
                                   id="dispatch_outbox")
            self.scheduler.add_job(self._run("dispatch_outbox", jobs.dispatch_outbox),
                                   id="dispatch_outbox_now")
        self._status("standby")

    def _dispatch_loop(self, dispatcher: Dispatcher) -> None:
        engine = self.factory.kw["bind"]
        wakeup = build_wakeup(engine)
        try:
            while not self._dispatch_stop.is_set():
                try:
                    run_dispatcher(dispatcher, self._dispatch_stop, wakeup=wakeup,
                                   idle_wait=self.config.dispatch_interval_seconds)
                except Exception:
                    log.exception("dispatcher loop failed; starting it again")
                    self._dispatch_stop.wait(self.config.dispatch_interval_seconds)
        finally:
            wakeup.close()

    def poll(self) -> None:
        """One election step: take over if free, step down if the lock is lost."""
        if not self.active:
            if self.lock.try_acquire():
                self._become_active()
        elif not self.lock.still_held():
            self._step_down("lost the leader lock")
        elif self.config.status_path is not None:
            self._status("active")

    def stop(self) -> None:
        if self.active:
            self._step_down("shutting down")
        self._dispatch_stop.set()
        if self._dispatch_thread is not None:
            self._dispatch_thread.join(timeout=30)
        self.scheduler.shutdown(wait=True)
        self.lock.release()

    def _become_active(self) -> None:
        self.active = True
        log.info("worker %s is now the active scheduler", self.config.worker_id)
        self._audit("scheduler.elected")
        for name, (job, trigger) in leader_jobs(self.config).items():
            self.scheduler.add_job(self._run(name, job), trigger, id=name, replace_existing=True)
            if name != "daily_digest":
                self.scheduler.add_job(self._run(name, job), id=f"{name}_now",
                                       replace_existing=True)  # catch up at once
        self._status("active")

    def _step_down(self, why: str) -> None:
        self.active = False
        for name in leader_jobs(self.config):
            if self.scheduler.get_job(name) is not None:
                self.scheduler.remove_job(name)
        log.warning("worker %s stepped down: %s", self.config.worker_id, why)
        self._audit("scheduler.stepped_down", reason=why)
        self._status("standby")

    def _audit(self, action: str, **detail: Any) -> None:
        try:
            with transaction(self.factory) as session:
                audit.record(session, at=self.clock.now(), actor=self.config.worker_id,
                             action=action, subject_kind="worker", pid=os.getpid(), **detail)
        except Exception:
            log.exception("could not record %s", action)

    def _status(self, role: str) -> None:
        """Write ``{"worker_id", "role", "pid", "at"}`` atomically to ``status_path``, if set."""
        path = self.config.status_path
        if path is None:
            return
        data = {"worker_id": self.config.worker_id, "role": role, "pid": os.getpid(),
                "at": self.clock.now().isoformat()}
        fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=".status-")
        with os.fdopen(fd, "w") as handle:
            json.dump(data, handle)
        os.replace(tmp, path)


def run_worker(config: WorkerConfig, factory: sessionmaker[Session], clock: Clock,
               stop_event: threading.Event, deps: JobDeps, *,
               lock: LeaderLock | None = None) -> None:
    """Run until ``stop_event`` is set: dispatch always, the timed jobs while elected.

    ``main.py worker`` calls this in the foreground; ``main.py serve`` in a thread beside the web
    app. A SIGTERM handler should set ``stop_event``; the leader lock is released on the way out.
    """
    bind = factory.kw.get("bind")
    if lock is None:
        if bind is None:
            raise ValueError("the session factory has no engine bound; pass lock=")
        lock = lock_for(bind, config.leader_key)
    worker = Worker(config, factory, clock, deps, lock)
    worker.start()
    try:
        while not stop_event.is_set():
            worker.poll()
            stop_event.wait(config.leader_poll_seconds)
    finally:
        worker.stop()
