"""``create_app``: the FastAPI application, built from collaborators the composition root passes.

Nothing is built at import time; ``main.py`` calls ``create_app(settings, session_factory, clock,
policy)`` and serves the result with uvicorn.
"""

from __future__ import annotations

import logging
from datetime import timedelta
from pathlib import Path
from typing import Any

from fastapi import APIRouter, FastAPI, Request
from fastapi.responses import Response
from fastapi.staticfiles import StaticFiles
from fastapi.templating import Jinja2Templates
from jinja2 import Environment, FileSystemLoader, StrictUndefined, select_autoescape
from sqlalchemy.orm import Session, sessionmaker

from cases.clock import Clock
from cases.policy import Policy
from settings import Settings
from web import errors, webhooks
from web.api import (
    availability,
    cases,
    inbound,
    mediators,
    notifications,
    reports,
    sessions,
    users,
    venues,
)
from web.body_limit import BodyLimit, limits_by_prefix
from web.context import WebContext
from web.login_throttle import LoginThrottle
from web.pages import (
    filters,
    mediator_pages,
    party,
    party_booking,
    party_changes,
    staff,
    staff_booking,
    staff_cases,
    staff_directory,
    staff_intake,
    staff_reports,
    work_queue,
)

HERE = Path(__file__).resolve().parent
DOCS_PATHS = ("/docs", "/redoc")
log = logging.getLogger(__name__)

SECURITY_HEADERS = {
    "X-Content-Type-Options": "nosniff",
    "X-Frame-Options": "DENY",
    "Referrer-Policy": "no-referrer",
    "Content-Security-Policy": "default-src 'self'; img-src 'self' data:; style-src 'self'; "
                               "form-action 'self'; frame-ancestors 'none'",
}

HSTS = "max-age=31536000"  # a year; sent only when the public base URL is https


def make_templates() -> Jinja2Templates:
    env = Environment(loader=FileSystemLoader(HERE / "templates"),
                      autoescape=select_autoescape(default=True, default_for_string=True),
                      undefined=StrictUndefined, trim_blocks=True, lstrip_blocks=True)
    filters.register(env)
    return Jinja2Templates(env=env)


def create_app(
    settings: Settings,
    session_factory: sessionmaker[Session],
    clock: Clock,
    policy: Policy,
    *,
    cookie_secure: bool | None = None,
    login_throttle: LoginThrottle | None = None,
) -> FastAPI:
    """The whole HTTP service: ``/api`` (staff API, OpenAPI at ``/docs``), the staff dashboard at
    ``/``, party pages at ``/p/<purpose>/<token>``, mediator pages at ``/m/<token>``, feeds at
    ``/calendars/mediators/<token>.ics`` and the provider webhooks at ``/webhooks``.

    ``cookie_secure`` defaults to whether ``public_base_url`` is https.
    """
    app = FastAPI(
        title=f"{settings.program_name} — staff API",
        version="0.1.0",
        description="Cases, consent, availability, sessions, notices, mediators, venues and "
                    "reports. Authenticate with `Authorization: Bearer <token>` (create one at "
                    "`POST /api/me/tokens` after signing in) or the dashboard's session cookie "
                    "plus the `X-CSRF-Token` header.",
    )
    settings.signing_key  # noqa: B018 - no key, no app (main.py reads or creates it first)
    https = settings.public_base_url.startswith("https://")
    secure = https if cookie_secure is None else cookie_secure
    throttle = login_throttle or LoginThrottle(
        session_factory, clock, per_account=settings.login_max_failures_per_account,
        per_address=settings.login_max_failures_per_address,
        window=timedelta(minutes=settings.login_window_minutes))
    app.state.web = WebContext(
        settings=settings, session_factory=session_factory, clock=clock, policy=policy,
        templates=make_templates(), limiter=throttle, cookie_secure=secure)
    errors.install(app)

    api = APIRouter(prefix="/api")
    for module in (cases, availability, sessions, notifications, inbound, mediators, venues,
                   reports, users):
        api.include_router(module.router)
    app.include_router(api)
    app.include_router(staff.router)
    app.include_router(staff_cases.router)
    app.include_router(staff_intake.router)
    app.include_router(staff_booking.router)
    app.include_router(work_queue.router)
    app.include_router(staff_directory.router)
    app.include_router(staff_reports.router)
    app.include_router(party.router)
    app.include_router(party_booking.router)
    app.include_router(party_changes.router)
    app.include_router(mediator_pages.router)
    app.include_router(webhooks.router)
    app.mount("/static", StaticFiles(directory=HERE / "static"), name="static")

    @app.middleware("http")
    async def _headers(request: Request, call_next: Any) -> Response:
        response: Response = await call_next(request)
        for name, value in SECURITY_HEADERS.items():
            if name == "Content-Security-Policy" and request.url.path.startswith(DOCS_PATHS):
                continue  # Swagger UI loads its own scripts
            response.headers.setdefault(name, value)
        if request.url.path.startswith(("/p/", "/m/", "/api/")):
            response.headers.setdefault("Cache-Control", "no-store")
        if https:
            response.headers.setdefault("Strict-Transport-Security", HSTS)
        return response

    # Outermost, so that every body is counted before anything else reads it.
    app.add_middleware(BodyLimit, limit_for=limits_by_prefix(
        settings.max_body_bytes, {"/webhooks/": settings.max_webhook_body_bytes}))

    @app.get("/healthz", include_in_schema=False)
    def healthz() -> dict[str, str]:
        return {"status": "ok"}

    return app
