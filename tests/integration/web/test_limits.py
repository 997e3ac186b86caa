"""Bodies are refused while they are read (413), per route; HSTS under https; and a party's
booking link cannot flood staff with change requests."""

from __future__ import annotations

import asyncio
import json
import socket
from collections.abc import Iterator
from datetime import timedelta
from typing import Any

from fastapi import FastAPI
from sqlalchemy.orm import Session, sessionmaker

from cases.clock import FixedClock
from cases.policy import load_policy
from settings import load_settings
from tests.support.api import Api, mediator, scheduling_case, start_in, venue
from tests.support.web import SECRET, TestClient, serve
from web.app import create_app

MiB = 1024 * 1024


def _call(app: FastAPI, method: str, path: str, chunks: Iterator[bytes],
          headers: list[tuple[bytes, bytes]]) -> tuple[int, bytes]:
    """One request through the app's ASGI interface, its body read from ``chunks`` only as
    fast as the app asks for it."""
    sent: list[dict[str, Any]] = []

    async def receive() -> dict[str, Any]:
        chunk = next(chunks, None)
        if chunk is None:
            return {"type": "http.request", "body": b"", "more_body": False}
        return {"type": "http.request", "body": chunk, "more_body": True}

    async def send(message: dict[str, Any]) -> None:
        sent.append(message)

    scope = {"type": "http", "asgi": {"version": "3.0"}, "http_version": "1.1",
             "method": method, "scheme": "http", "path": path, "raw_path": path.encode(),
             "query_string": b"", "root_path": "", "headers": [(b"host", b"testserver"),
                                                              *headers],
             "client": ("127.0.0.1", 5000), "server": ("testserver", 80)}
    asyncio.run(app(scope, receive, send))
    start = next(m for m in sent if m["type"] == "http.response.start")
    return start["status"], b"".join(m.get("body", b"") for m in sent
                                     if m["type"] == "http.response.body")


def test_a_huge_chunked_webhook_post_is_refused_after_its_first_chunks(app: FastAPI) -> None:
    produced = 0

    def body() -> Iterator[bytes]:  # 300 MB of form data, 64 KiB at a time, no Content-Length
        nonlocal produced
        for _ in range(300 * MiB // (64 * 1024)):
            produced += 64 * 1024
            yield b"Body=" + b"x" * (64 * 1024 - 5)

    status, text = _call(app, "POST", "/webhooks/twilio/inbound", body(),
                         [(b"content-type", b"application/x-www-form-urlencoded"),
                          (b"transfer-encoding", b"chunked")])
    assert status == 413 and b"too large" in text
    assert produced <= 2 * 64 * 1024  # read stopped at the first chunk over 64 KiB


def test_a_chunked_api_body_over_the_general_limit_is_refused(app: FastAPI, api: Api) -> None:
    chunks = (b"x" * (256 * 1024) for _ in range(400))  # 100 MiB of JSON, never finished
    status, _ = _call(app, "POST", "/api/cases", chunks,
                      [(b"content-type", b"application/json"),
                       (b"authorization", f"Bearer {api.tokens['staff']}".encode())])
    assert status == 413
    assert len(list(chunks)) == 400 - 5  # 1 MiB read (4 chunks) and one more, then no further


def test_a_declared_length_over_the_limit_is_refused_before_any_body_is_sent(
        app: FastAPI) -> None:
    with serve(app) as served, socket.create_connection(("127.0.0.1", served.port)) as sock:
        sock.sendall(b"POST /webhooks/twilio/inbound HTTP/1.1\r\nHost: x\r\n"
                     b"Content-Type: application/x-www-form-urlencoded\r\n"
                     b"Content-Length: 314572800\r\n\r\n")  # 300 MB announced, none sent
        sock.settimeout(30)
        answer = b""
        while b"\r\n\r\n" not in answer:
            data = sock.recv(4096)
            if not data:
                break
            answer += data
    assert answer.startswith(b"HTTP/1.1 413 ")


def test_limits_are_per_route_and_configurable(
        session_factory: sessionmaker[Session], clock: FixedClock, api: Api) -> None:
    form = {"Body": "x" * (100 * 1024)}
    assert api.client.post("/webhooks/twilio/inbound", data=form).status_code == 413
    big_json = json.dumps({"log_number": "x" * (2 * MiB)})
    assert api.client.post("/api/cases", content=big_json,
                    headers={**api.headers("staff"), "content-type": "application/json"}
                    ).status_code == 413
    medium = json.dumps({"log_number": "x" * (200 * 1024)})  # fine for the API: its own answer
    assert api.client.post("/api/cases", content=medium,
                    headers={**api.headers("staff"), "content-type": "application/json"}
                    ).status_code == 422
    roomy = load_settings(secret_key=SECRET, public_base_url="http://testserver",
                          max_webhook_body_bytes=256 * 1024)
    with TestClient(create_app(roomy, session_factory, clock, load_policy())) as client:
        assert client.post("/webhooks/twilio/inbound", data=form).status_code == 403


def test_hsts_only_under_https(session_factory: sessionmaker[Session], clock: FixedClock,
                               client: TestClient) -> None:
    assert "strict-transport-security" not in client.get("/healthz").headers
    https = load_settings(secret_key=SECRET, public_base_url="https://cmp.example.org")
    with TestClient(create_app(https, session_factory, clock, load_policy()),
                    base_url="https://testserver") as secure:
        for path in ("/healthz", "/login", "/p/booking/nonsense"):
            assert secure.get(path).headers["strict-transport-security"] == "max-age=31536000"


def test_change_requests_from_one_link_are_limited(api: Api, clock: FixedClock) -> None:
    case = scheduling_case(api)
    party = case["parties"][0]["id"]
    path = api.post(f"/api/cases/{case['id']}/parties/{party}/link",
                    json={"purpose": "booking"}).json()["url"].removeprefix("http://testserver")
    api.post("/api/sessions", json={"case_id": case["id"], "mediator_id": mediator(api)["id"],
                                    "venue_id": venue(api)["id"], "starts_at": start_in(clock)})

    def alerts() -> int:
        return len(api.get("/api/notifications", params={"kind": "staff_alert",
                                                         "case_id": case["id"]}).json())

    before = alerts()
    for _ in range(3):
        sent = api.client.post(path, follow_redirects=True)
        assert "Gracias. Alguien del personal se comunicará" in sent.text
        clock.advance(timedelta(minutes=1))
    each = (alerts() - before) // 3
    assert each >= 1 and alerts() == before + 3 * each
    pages = [api.client.post(path, follow_redirects=True) for _ in range(22)]
    assert alerts() == before + 3 * each
    assert all("Ya tenemos su solicitud" in p.text for p in pages)
    clock.advance(timedelta(hours=24))
    assert "Gracias. Alguien" in api.client.post(path, follow_redirects=True).text
    assert alerts() == before + 4 * each
