"""The staff API as the web tests drive it: a client with a token per role, and the people,
places and cases most tests need, made through the API itself."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta
from typing import Any

from cases.clock import FixedClock
from tests.support.web import TestClient, case_body


@dataclass
class Api:
    """The client with a token per role: ``api.post(path, role='staff', json=...)``."""

    client: TestClient
    tokens: dict[str, str]

    def headers(self, role: str | None) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.tokens[role]}"} if role else {}

    def get(self, path: str, role: str | None = "staff", **kw: Any) -> Any:
        return self.client.get(path, headers=self.headers(role), **kw)

    def post(self, path: str, role: str | None = "staff", **kw: Any) -> Any:
        return self.client.post(path, headers=self.headers(role), **kw)

    def put(self, path: str, role: str | None = "staff", **kw: Any) -> Any:
        return self.client.put(path, headers=self.headers(role), **kw)

    def patch(self, path: str, role: str | None = "staff", **kw: Any) -> Any:
        return self.client.patch(path, headers=self.headers(role), **kw)

    def delete(self, path: str, role: str | None = "staff", **kw: Any) -> Any:
        return self.client.delete(path, headers=self.headers(role), **kw)

    def new_case(self, **changes: Any) -> dict[str, Any]:
        response = self.post("/api/cases", json=case_body(**changes))
        assert response.status_code == 201, response.text
        result: dict[str, Any] = response.json()
        return result



MEDIATOR = {"full_name": "Rosa Diaz", "email": "rosa@example.org", "languages": ["en", "es"],
            "general_training_hours": 40, "specialized_training_hours": 25,
            "training_expires_on": "2028-01-01"}
VENUE = {"name": "Harold Washington Library", "address": "400 S State St, Chicago, IL",
         "neutral": True, "opening_hours": "mon-sat 09:00-20:00", "capacity": 8}
#: the windows the helpers' people give: every day, 08:00-21:00 in Chicago
EVERY_DAY = {"windows": [{"weekday": d, "start": "08:00", "end": "21:00"} for d in range(7)]}


def mediator(api: Api, **changes: Any) -> dict[str, Any]:
    response = api.post("/api/mediators", json=MEDIATOR | changes)
    assert response.status_code == 201, response.text
    result: dict[str, Any] = response.json()
    hours = api.put(f"/api/mediators/{result['id']}/availability", json=EVERY_DAY)
    assert hours.status_code == 200, hours.text
    return result


def venue(api: Api, **changes: Any) -> dict[str, Any]:
    response = api.post("/api/venues", json=VENUE | changes)
    assert response.status_code == 201, response.text
    result: dict[str, Any] = response.json()
    return result


def scheduling_case(api: Api, windows: dict[str, Any] | None = None,
                    **changes: Any) -> dict[str, Any]:
    """A case in scheduling whose parties gave ``windows`` (every day by default)."""
    case = api.new_case(**changes)
    api.post(f"/api/cases/{case['id']}/decision", json={"eligible": True})
    for party in case["parties"]:
        api.post(f"/api/cases/{case['id']}/parties/{party['id']}/consent", json={"granted": True})
        given = api.put(f"/api/parties/{party['id']}/availability",
                        json=EVERY_DAY if windows is None else windows)
        assert given.status_code == 200, given.text
    return case


def start_in(clock: FixedClock, days: int = 7) -> str:
    return (clock.now() + timedelta(days=days)).replace(hour=23, minute=0).isoformat()


def link(api: Api, case: dict[str, object], party_index: int, purpose: str) -> str:
    party = case["parties"][party_index]["id"]  # type: ignore[index]
    url = api.post(f"/api/cases/{case['id']}/parties/{party}/link",
                   json={"purpose": purpose}).json()["url"]
    return str(url).removeprefix("http://testserver")
