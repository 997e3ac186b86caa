"""Domain errors to HTTP: 422 naming the field, 404 that says nothing about what exists, 409 for
a change the case's state does not allow."""

from __future__ import annotations

import re
from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse, Response
from sqlalchemy.exc import IntegrityError

from cases.errors import DomainError, InvalidInput, NotFound
from cases.links import InvalidLink
from scheduler.booking import NotBookable, NotSchedulable, SlotTaken, is_slot_taken

NOT_FOUND = {"detail": "not found"}


def field_loc(field: str) -> list[str | int]:
    """'parties[0].phone' -> ['body', 'parties', 0, 'phone']."""
    loc: list[str | int] = ["body"]
    for part in field.split("."):
        match = re.fullmatch(r"([^\[\]]*)((?:\[\d+\])*)", part)
        if match is None:
            loc.append(part)
            continue
        if match.group(1):
            loc.append(match.group(1))
        loc.extend(int(i) for i in re.findall(r"\[(\d+)\]", match.group(2)))
    return loc


def invalid_body(field: str, message: str) -> dict[str, Any]:
    return {"detail": [{"loc": field_loc(field), "msg": message, "type": "value_error"}]}


def _is_api(request: Request) -> bool:
    return request.url.path.startswith("/api")


def _page(request: Request, status: int, message: str) -> Response:
    templates = request.app.state.web.templates
    return templates.TemplateResponse(request, "staff/error.html",
                                      {"status": status, "message": message},
                                      status_code=status)


def install(app: FastAPI) -> None:
    @app.exception_handler(RequestValidationError)
    async def _validation(request: Request, exc: RequestValidationError) -> Response:
        detail = [{"loc": list(e.get("loc", ())), "msg": str(e.get("msg", "")),
                   "type": str(e.get("type", "value_error"))} for e in exc.errors()]
        if not _is_api(request):
            first = detail[0] if detail else {"loc": [], "msg": "invalid input"}
            return _page(request, 422, f"{'.'.join(map(str, first['loc'][1:]))}: {first['msg']}")
        return JSONResponse({"detail": detail}, status_code=422)

    @app.exception_handler(InvalidInput)
    async def _invalid(request: Request, exc: InvalidInput) -> Response:
        if not _is_api(request):
            return _page(request, 422, str(exc))
        return JSONResponse(invalid_body(exc.field, exc.message), status_code=422)

    @app.exception_handler(NotFound)
    async def _not_found(request: Request, exc: NotFound) -> Response:
        if not _is_api(request):
            return _page(request, 404, "Not found.")
        return JSONResponse(NOT_FOUND, status_code=404)

    @app.exception_handler(InvalidLink)
    async def _bad_link(request: Request, exc: InvalidLink) -> Response:
        return JSONResponse(NOT_FOUND, status_code=404)

    @app.exception_handler(NotBookable)
    async def _not_bookable(request: Request, exc: NotBookable) -> Response:
        # a rule of booking is broken (422, each rule named); a case not being scheduled is a
        # conflict with its state (409)
        status = 409 if isinstance(exc, NotSchedulable) else 422
        if not _is_api(request):
            return _page(request, status, str(exc))
        return JSONResponse({"detail": str(exc)}, status_code=status)

    @app.exception_handler(DomainError)
    async def _conflict(request: Request, exc: DomainError) -> Response:
        message = "slot taken" if isinstance(exc, SlotTaken) else str(exc)
        if not _is_api(request):
            return _page(request, 409, message)
        return JSONResponse({"detail": message}, status_code=409)

    @app.exception_handler(IntegrityError)
    async def _integrity(request: Request, exc: IntegrityError) -> Response:
        message = "slot taken" if is_slot_taken(exc) else "conflicts with existing data"
        if not _is_api(request):
            return _page(request, 409, message)
        return JSONResponse({"detail": message}, status_code=409)
