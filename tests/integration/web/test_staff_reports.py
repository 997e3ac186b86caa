"""Reports: the funnel by month, category and language as SVG charts in the page, with the CSV
beside them; counts under 5 exported as "<5"; viewers may read them, and they name no one."""

from __future__ import annotations

from datetime import timedelta

from sqlalchemy.orm import Session, sessionmaker

from cases.clock import FixedClock
from tests.support.api import Api, mediator, scheduling_case, start_in, venue
from tests.support.staff import sign_in


def test_funnel_charts_and_suppressed_csv(api: Api, session_factory: sessionmaker[Session],
                                          clock: FixedClock) -> None:
    consented = [scheduling_case(api) for _ in range(5)]
    declined = api.new_case()
    api.post(f"/api/cases/{declined['id']}/decision", json={"eligible": True})
    api.post(f"/api/cases/{declined['id']}/parties/{declined['parties'][0]['id']}/consent",
             json={"granted": False})
    m, v = mediator(api), venue(api)
    session = api.post("/api/sessions", json={"case_id": consented[0]["id"],
                                              "mediator_id": m["id"], "venue_id": v["id"],
                                              "starts_at": start_in(clock, 5)}).json()
    clock.advance(timedelta(days=6))
    api.post(f"/api/sessions/{session['id']}/outcome", json={"outcome": "successful"})
    viewer = sign_in(api.client, session_factory, clock, username="monitor", role="viewer")
    page = viewer.get("/reports")
    assert page.status_code == 200
    assert ('aria-label="Funnel, all cases. referred: 6, eligible: 6, offered: 6, '
            'both consented: 5, booked: 1, held: 1, resolved: 1"') in page.text
    assert page.text.count('<svg class="chart" role="img"') >= 5  # all, days, month, category, language
    assert "Funnel for language es" in page.text and "Funnel for category perceived_bias" in page.text
    assert "<script" not in page.text
    assert "Maria" not in page.text and "example.org" not in page.text
    assert 'href="/reports/funnel.csv"' in page.text
    exported = viewer.get("/reports/funnel.csv")
    assert exported.headers["content-type"].startswith("text/csv")
    lines = exported.text.splitlines()
    assert lines[0] == ("group,value,referred,eligible,offered,both consented,booked,held,"
                        "resolved")
    assert lines[1] == "all,all,6,6,6,5,<5,<5,<5"
    assert "language,es,6,6,6,5,<5,<5,<5" in lines
    assert "0–14 days,<5" in lines


def test_reports_need_a_sign_in(api: Api) -> None:
    response = api.client.get("/reports/funnel.csv", follow_redirects=False)
    assert response.status_code == 303 and response.headers["location"].startswith("/login")
