"""The monitor's funnel — referred → eligible → offered → both consented → booked → held →
resolved — by month, allegation category and language, time from referral to session, and
the charts of them (server-rendered SVG: no script, readable by screen readers).

Read from the rows as they are; nothing is entered for reporting. Exports suppress small counts
(1–4 become "<5") so that no one can be singled out.
"""

from __future__ import annotations

import csv
import io
from collections import defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from html import escape
from zoneinfo import ZoneInfo

from markupsafe import Markup
from sqlalchemy import select
from sqlalchemy.orm import Session

from cases.models import Case, ConsentStatus, Outcome, PartyRole, SessionStatus

STAGES = ("referred", "eligible", "offered", "both consented", "booked", "held", "resolved")
BOOKED = {SessionStatus.BOOKED.value, SessionStatus.COMPLETED.value, SessionStatus.NO_SHOW.value}
DAY_BUCKETS = ((0, 15, "0–14 days"), (15, 30, "15–29 days"), (30, 45, "30–44 days"),
               (45, 61, "45–60 days"), (61, 10_000, "over 60 days"))
SMALL = 5


@dataclass(frozen=True)
class CaseFacts:
    month: str
    categories: tuple[str, ...]
    language: str
    reached: tuple[str, ...]
    days_to_session: float | None


@dataclass
class Funnel:
    counts: dict[str, int] = field(default_factory=lambda: dict.fromkeys(STAGES, 0))

    def add(self, facts: CaseFacts) -> None:
        for stage in facts.reached:
            self.counts[stage] += 1


@dataclass
class Report:
    overall: Funnel
    by_month: dict[str, Funnel]
    by_category: dict[str, Funnel]
    by_language: dict[str, Funnel]
    days: list[float]

    def groups(self) -> list[tuple[str, dict[str, Funnel]]]:
        return [("month", self.by_month), ("category", self.by_category),
                ("language", self.by_language)]

    def day_buckets(self) -> list[tuple[str, int]]:
        return [(label, sum(1 for d in self.days if lo <= d < hi))
                for lo, hi, label in DAY_BUCKETS]


def facts_of(case: Case, zone: ZoneInfo) -> CaseFacts:
    reached = ["referred"]
    consents = list(case.consents)
    sessions = [s for s in case.sessions if s.status in BOOKED]
    if case.referred_at is not None:
        reached.append("eligible")
    if any(c.requested_at is not None for c in consents):
        reached.append("offered")
    if consents and all(c.status == ConsentStatus.GRANTED.value for c in consents):
        reached.append("both consented")
    if sessions:
        reached.append("booked")
    if any(s.status == SessionStatus.COMPLETED.value for s in sessions):
        reached.append("held")
    if case.outcome == Outcome.SUCCESSFUL.value:
        reached.append("resolved")
    first = min((s.starts_at for s in sessions), default=None)
    days = None
    if first is not None and case.referred_at is not None:
        days = round((first - case.referred_at).total_seconds() / 86400, 1)
    complainants = case.party(PartyRole.COMPLAINANT)
    return CaseFacts(month=case.created_at.astimezone(zone).strftime("%Y-%m"),
                     categories=tuple(case.allegation_categories) or ("-",),
                     language=complainants[0].language if complainants else "-",
                     reached=tuple(reached), days_to_session=days)


def build(session: Session, zone: str) -> Report:
    tz = ZoneInfo(zone)
    report = Report(Funnel(), defaultdict(Funnel), defaultdict(Funnel), defaultdict(Funnel), [])
    for case in session.scalars(select(Case).order_by(Case.id)):
        facts = facts_of(case, tz)
        report.overall.add(facts)
        report.by_month[facts.month].add(facts)
        for category in facts.categories:
            report.by_category[category].add(facts)
        report.by_language[facts.language].add(facts)
        if facts.days_to_session is not None:
            report.days.append(facts.days_to_session)
    for name in ("by_month", "by_category", "by_language"):
        setattr(report, name, dict(sorted(getattr(report, name).items())))
    return report


def suppressed(count: int) -> str:
    """A count as exported: 1–4 become '<5'."""
    return "<5" if 0 < count < SMALL else str(count)


def funnel_csv(report: Report) -> str:
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow(["group", "value", *STAGES])
    writer.writerow(["all", "all", *(suppressed(report.overall.counts[s]) for s in STAGES)])
    for kind, groups in report.groups():
        for value, funnel in groups.items():
            writer.writerow([kind, value, *(suppressed(funnel.counts[s]) for s in STAGES)])
    writer.writerow([])
    writer.writerow(["days from referral to first session", "sessions"])
    for label, count in report.day_buckets():
        writer.writerow([label, suppressed(count)])
    return out.getvalue()


def bar_chart(title: str, bars: Sequence[tuple[str, int]], *, width: int = 560,
              label_width: int = 150) -> Markup:
    """A horizontal bar chart as inline SVG, its numbers also written beside each bar; the
    title and a text summary make it readable without sight."""
    row, top = 28, 8
    height = top + row * len(bars) + 4
    peak = max([v for _, v in bars] + [1])
    room = width - label_width - 60
    summary = ", ".join(f"{label}: {value}" for label, value in bars)
    parts = [f'<svg class="chart" role="img" viewBox="0 0 {width} {height}" '
             f'width="100%" aria-label="{escape(title)}. {escape(summary)}" '
             f'xmlns="http://www.w3.org/2000/svg"><title>{escape(title)}</title>']
    for i, (label, value) in enumerate(bars):
        y = top + i * row
        length = round(room * value / peak)
        parts.append(
            f'<text x="{label_width - 8}" y="{y + 17}" text-anchor="end" class="chart-label">'
            f'{escape(label)}</text>'
            f'<rect x="{label_width}" y="{y + 3}" width="{max(length, 1)}" height="{row - 8}" '
            f'class="chart-bar"/>'
            f'<text x="{label_width + length + 6}" y="{y + 17}" class="chart-value">{value}</text>')
    parts.append("</svg>")
    return Markup("".join(parts))


def funnel_chart(title: str, funnel: Funnel) -> Markup:
    return bar_chart(title, [(stage, funnel.counts[stage]) for stage in STAGES])


def charts(report: Report) -> Iterable[tuple[str, str, Markup]]:
    """(group kind, value, chart) for each month, category and language."""
    for kind, groups in report.groups():
        for value, funnel in groups.items():
            yield kind, value, funnel_chart(f"Funnel for {kind} {value}", funnel)

