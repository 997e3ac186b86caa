"""Reports viewers can look at: the funnel by month, allegation category and language, and the
time from referral to session, drawn as SVG charts in the page with the CSV beside them (small
counts suppressed in the export). No personal data, so viewers may read them."""

from __future__ import annotations

from fastapi import APIRouter, Request
from fastapi.responses import Response

from cases.models import StaffRole
from web import funnel
from web.api import reports
from web.context import Ctx, Db
from web.pages.staff import page_user, render

router = APIRouter(include_in_schema=False)


@router.get("/reports")
def report_page(request: Request, db: Db, ctx: Ctx) -> Response:
    user = page_user(request, db, StaffRole.VIEWER)
    summary = reports.summarise(reports.rows(db, None, None), ctx.policy, None, None)
    report = funnel.build(db, ctx.settings.time_zone)
    return render(request, ctx, "staff/reports.html", user, summary=summary, report=report,
                  overall=funnel.funnel_chart("Funnel, all cases", report.overall),
                  days=funnel.bar_chart("Days from referral to first session",
                                        report.day_buckets()),
                  charts=list(funnel.charts(report)))


@router.get("/reports/funnel.csv")
def funnel_csv(request: Request, db: Db, ctx: Ctx) -> Response:
    page_user(request, db, StaffRole.VIEWER)
    body = funnel.funnel_csv(funnel.build(db, ctx.settings.time_zone))
    return Response(body, media_type="text/csv",
                    headers={"Content-Disposition": 'attachment; filename="funnel.csv"'})
