"""The running service: `serve` (HTTP beside the worker), `worker`, `dispatch` and the
provider `emulator`."""

from __future__ import annotations

import logging
from types import FrameType
from typing import TYPE_CHECKING

import click

from cli.context import Deps, pass_app
from cli.errors import domain_errors

if TYPE_CHECKING:
    import threading


def _stop_on_signals(stop: threading.Event) -> None:
    import signal

    def handler(signum: int, _frame: FrameType | None) -> None:
        logging.getLogger("main").info("signal %s: stopping", signum)
        stop.set()

    signal.signal(signal.SIGTERM, handler)
    signal.signal(signal.SIGINT, handler)


def _worker_thread(app: Deps, stop: threading.Event) -> threading.Thread:
    import threading

    from scheduler.service import run_worker
    from scheduler.wiring import worker_config

    config = worker_config(app.settings)
    thread = threading.Thread(
        target=run_worker, name="cmp-worker",
        args=(config, app.session_factory, app.clock, stop, app.job_deps()), daemon=True)
    thread.start()
    return thread


@click.command()
@pass_app
@domain_errors
def worker(app: Deps) -> None:
    """The scheduler (one active per database, the others stand by) and the outbox dispatcher."""
    import threading

    from scheduler.service import run_worker
    from scheduler.wiring import worker_config

    if app.settings.migrate_on_start:
        app.upgrade()
    stop = threading.Event()
    _stop_on_signals(stop)
    run_worker(worker_config(app.settings), app.session_factory, app.clock, stop,
               app.job_deps())


@click.command()
@pass_app
@domain_errors
def serve(app: Deps) -> None:
    """HTTP (staff API, dashboard, party pages, webhooks) with the worker beside it."""
    import threading

    import uvicorn

    from web.app import create_app

    if app.settings.migrate_on_start:
        app.upgrade()
    stop = threading.Event()
    thread = _worker_thread(app, stop)
    web = create_app(app.settings, app.session_factory, app.clock, app.policy)
    click.echo(f"serving on http://{app.settings.host}:{app.settings.port}/ "
               f"(API docs at /docs); database {app.settings.database_url.split('@')[-1]}")
    try:
        # log_config=None: uvicorn's loggers (the access log prints request paths, which hold
        # party-link tokens) go through the one redacting handler of logging_setup.
        uvicorn.run(web, host=app.settings.host, port=app.settings.port, log_config=None)
    finally:
        stop.set()
        thread.join(timeout=10)


@click.command()
@click.option("--until-idle", is_flag=True, help="Stop when nothing is due.")
@click.option("--worker-id", default=None,
              help="Name of this dispatcher's claims (default CMP_WORKER_ID, else host:pid).")
@click.option("--batch-size", type=click.IntRange(min=1), default=None,
              help="Notices claimed at once (default CMP_DISPATCH_BATCH_SIZE).")
@click.option("--lease-seconds", type=click.FloatRange(min=0, min_open=True), default=None,
              help="How long a claim holds a notice before another worker may take it over.")
@pass_app
@domain_errors
def dispatch(app: Deps, until_idle: bool, worker_id: str | None, batch_size: int | None,
             lease_seconds: float | None) -> None:
    """Only the outbox dispatcher; run as many as you like against one PostgreSQL
    (CMP_DATABASE_URL)."""
    import threading
    from dataclasses import replace
    from datetime import timedelta

    from notifiers.outbox.loop import run_dispatcher
    from notifiers.wiring import build_dispatcher, build_wakeup

    stop = threading.Event()
    _stop_on_signals(stop)
    dispatcher = build_dispatcher(app.settings, app.session_factory, app.clock, worker_id=worker_id)
    if batch_size is not None:
        dispatcher.policy = replace(dispatcher.policy, batch_size=batch_size)
    if lease_seconds is not None:
        dispatcher.policy = replace(dispatcher.policy, lease=timedelta(seconds=lease_seconds))
    # a notice written by any process wakes this one at once; the interval is the safety net
    wakeup = build_wakeup(app.engine)
    try:
        totals = run_dispatcher(dispatcher, stop, idle_wait=app.settings.dispatch_interval_seconds,
                                until_idle=until_idle, wakeup=wakeup)
    finally:
        wakeup.close()
    click.echo(f"sent {totals.sent}, retried {totals.retried}, failed {totals.failed}, "
               f"dead {totals.dead}, held {totals.deferred}")


@click.command()
@click.option("--host", default="127.0.0.1", show_default=True)
@click.option("--port", type=int, default=8025, show_default=True)
def emulator(host: str, port: int) -> None:
    """A local stand-in for the Twilio and SendGrid APIs; point CMP_*_BASE_URL at it."""
    from emulator.__main__ import serve as serve_emulator
    from emulator.config import EmulatorConfig

    serve_emulator(EmulatorConfig(), host, port)
