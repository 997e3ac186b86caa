"""Reports for the program and its monitor: referrals, consents, time from referral to session,
outcomes — by allegation category and language. No names, contacts or log numbers, so viewers
may read them."""

from __future__ import annotations

import csv
import io
import statistics
from collections import Counter, defaultdict
from datetime import UTC, date, datetime, time
from typing import Annotated, Any

from fastapi import APIRouter, Query
from fastapi.responses import Response
from pydantic import BaseModel
from sqlalchemy import select
from sqlalchemy.orm import Session

from cases.errors import InvalidInput
from cases.models import Case, ConsentStatus, PartyRole, SessionStatus
from cases.policy import Policy
from web.api.schemas import Day
from web.auth import Viewer
from web.context import Ctx, Db

router = APIRouter(prefix="/reports", tags=["reports"])

HELD = {SessionStatus.BOOKED.value, SessionStatus.COMPLETED.value, SessionStatus.NO_SHOW.value}


class Row(BaseModel):
    """One case, anonymous."""

    case: int
    state: str
    categories: list[str]
    language: str
    referred_on: date | None
    first_session_on: date | None
    days_to_session: float | None
    consents: dict[str, int]
    outcome: str | None


class Summary(BaseModel):
    start: date | None
    end: date | None
    cases: int
    referrals: dict[str, Any]
    consents: dict[str, Any]
    time_to_session_days: dict[str, Any]
    outcomes: dict[str, Any]


def rows(session: Session, start: date | None, end: date | None) -> list[Row]:
    if start and end and start > end:
        raise InvalidInput("start", "must not be after end")
    query = select(Case).order_by(Case.id)
    if start is not None:
        query = query.where(Case.created_at >= datetime.combine(start, time(), tzinfo=UTC))
    if end is not None:
        query = query.where(Case.created_at < datetime.combine(end, time.max, tzinfo=UTC))
    result = []
    for case in session.scalars(query):
        complainants = case.party(PartyRole.COMPLAINANT)
        language = complainants[0].language if complainants else "-"
        held = sorted(s.starts_at for s in case.sessions if s.status in HELD)
        first = held[0] if held else None
        days = None
        if first is not None and case.referred_at is not None:
            days = round((first - case.referred_at).total_seconds() / 86400, 1)
        result.append(Row(
            case=case.id, state=case.state, categories=list(case.allegation_categories),
            language=language, referred_on=case.referred_at.date() if case.referred_at else None,
            first_session_on=first.date() if first else None, days_to_session=days,
            consents=dict(Counter(c.status for c in case.consents)), outcome=case.outcome))
    return result


def _by(items: list[Row], key: str) -> dict[str, list[Row]]:
    groups: dict[str, list[Row]] = defaultdict(list)
    for row in items:
        values = row.categories if key == "category" else [row.language]
        for value in values or ["-"]:
            groups[value].append(row)
    return dict(sorted(groups.items()))


def _days(items: list[Row], policy: Policy) -> dict[str, Any]:
    days = [r.days_to_session for r in items if r.days_to_session is not None]
    target = policy.booking_target.days
    limit = policy.booking_limit.days
    return {"count": len(days),
            "median": statistics.median(days) if days else None,
            "mean": round(statistics.fmean(days), 1) if days else None,
            "within_target": sum(1 for d in days if d <= target),
            "over_limit": sum(1 for d in days if d > limit),
            "target_days": target, "limit_days": limit}


def summarise(items: list[Row], policy: Policy, start: date | None, end: date | None) -> Summary:
    referred = [r for r in items if r.referred_on is not None]

    def consent_counts(group: list[Row]) -> dict[str, int]:
        counts: Counter[str] = Counter()
        for row in group:
            counts.update(row.consents)
        return {s.value: counts.get(s.value, 0) for s in ConsentStatus}

    def outcome_counts(group: list[Row]) -> dict[str, int]:
        return dict(sorted(Counter(r.outcome for r in group if r.outcome).items()))

    return Summary(
        start=start, end=end, cases=len(items),
        referrals={"total": len(referred),
                   "by_category": {k: len(v) for k, v in _by(referred, "category").items()},
                   "by_language": {k: len(v) for k, v in _by(referred, "language").items()}},
        consents={**consent_counts(referred),
                  "by_category": {k: consent_counts(v)
                                  for k, v in _by(referred, "category").items()},
                  "by_language": {k: consent_counts(v)
                                  for k, v in _by(referred, "language").items()}},
        time_to_session_days={**_days(referred, policy),
                              "by_category": {k: _days(v, policy)
                                              for k, v in _by(referred, "category").items()},
                              "by_language": {k: _days(v, policy)
                                              for k, v in _by(referred, "language").items()}},
        outcomes={"total": outcome_counts(items),
                  "by_category": {k: outcome_counts(v) for k, v in _by(items, "category").items()},
                  "by_language": {k: outcome_counts(v)
                                  for k, v in _by(items, "language").items()}},
    )


@router.get("/summary", response_model=Summary,
            summary="Referrals, consents, time to session and outcomes, by category and language")
def summary(db: Db, ctx: Ctx, user: Viewer,
            start: Annotated[Day | None, Query(description="cases recorded on or after")] = None,
            end: Annotated[Day | None, Query(description="cases recorded on or before")] = None,
            ) -> Summary:
    return summarise(rows(db, start, end), ctx.policy, start, end)


CSV_COLUMNS = ["case", "state", "categories", "language", "referred_on", "first_session_on",
               "days_to_session", "consents_granted", "consents_declined", "consents_expired",
               "outcome"]


def to_csv(items: list[Row]) -> str:
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow(CSV_COLUMNS)
    for r in items:
        writer.writerow([r.case, r.state, ";".join(r.categories), r.language,
                         r.referred_on or "", r.first_session_on or "",
                         "" if r.days_to_session is None else r.days_to_session,
                         r.consents.get("granted", 0), r.consents.get("declined", 0),
                         r.consents.get("expired", 0), r.outcome or ""])
    return out.getvalue()


@router.get("/cases.csv", response_class=Response,
            responses={200: {"content": {"text/csv": {}}}},
            summary="One anonymous row per case, as CSV")
def cases_csv(db: Db, user: Viewer,
              start: Annotated[Day | None, Query()] = None,
              end: Annotated[Day | None, Query()] = None) -> Response:
    return Response(to_csv(rows(db, start, end)), media_type="text/csv",
                    headers={"Content-Disposition": 'attachment; filename="cases.csv"'})
