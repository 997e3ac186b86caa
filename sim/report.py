"""The report printed at the end of a run; its last line is ``invariants: N checks, V violations``."""

from __future__ import annotations

import statistics
from collections import Counter

from sqlalchemy import func, select

from cases.models import AuditEvent, Case, MediationSession, Notification, SessionStatus
from sim.state import Sim


def funnel(sim: Sim) -> list[tuple[str, int]]:
    with sim.world.factory() as session:
        def count(query: object) -> int:
            return int(session.scalar(query) or 0)  # type: ignore[call-overload]

        agreed = select(func.count(func.distinct(AuditEvent.case_id))).where(
            AuditEvent.action == "case.transition",
            AuditEvent.detail["to_state"].as_string() == "consented")
        return [
            ("referred", count(select(func.count(Case.id)))),
            ("eligible", count(select(func.count(Case.id)).where(Case.referred_at.is_not(None)))),
            ("both agreed", count(agreed)),
            ("booked", count(select(func.count(func.distinct(MediationSession.case_id))))),
            ("held", count(select(func.count(func.distinct(MediationSession.case_id))).where(
                MediationSession.status == SessionStatus.COMPLETED.value))),
            ("resolved", count(select(func.count(Case.id)).where(Case.outcome == "successful"))),
        ]


def days_to_session(sim: Sim) -> list[float]:
    with sim.world.factory() as session:
        rows = session.execute(select(Case.referred_at, func.min(MediationSession.starts_at))
                               .join(MediationSession, MediationSession.case_id == Case.id)
                               .where(MediationSession.status == SessionStatus.COMPLETED.value)
                               .group_by(Case.id, Case.referred_at)).all()
    return sorted((start - referred).total_seconds() / 86400 for referred, start in rows
                  if referred is not None)


#: the action counts the party-replies line shows (outcomes of ``sim.parties``' behaviours)
PARTY_WORDS = ("reminder reply", "booking page", "email ")


def _rate(shows: list[bool]) -> str:
    return f"{sum(shows)}/{len(shows)} ({100 * sum(shows) / len(shows):.0f}%)" if shows else "0/0"


def render(sim: Sim, backend: str, seconds: float) -> str:
    result = sim.result
    lines = [f"simulation: seed {sim.world.seed}, {sim.days:g} days on {backend}, "
             f"{result.steps} steps (one simulated hour each), {seconds:.0f} s"]
    lines.append("")
    lines.append("funnel:")
    lines += [f"  {name:<12} {n:>5}" for name, n in funnel(sim)]
    days = days_to_session(sim)
    if days:
        p90 = days[min(len(days) - 1, round(0.9 * (len(days) - 1)))]
        lines.append(f"referral to session: median {statistics.median(days):.1f} days, "
                     f"p90 {p90:.1f} days ({len(days)} sessions held)")
    lines.append("no-show rate by reminders the complainant received:")
    by_plan: dict[int, list[bool]] = {}
    for session_id, got in sim.reminder_counts.items():
        if session_id in sim.no_shows:
            by_plan.setdefault(got, []).append(sim.no_shows[session_id])
    for got in sorted(by_plan):
        shows = by_plan[got]
        lines.append(f"  {got} reminder(s): {sum(shows)}/{len(shows)} "
                     f"({100 * sum(shows) / len(shows):.0f}%)")
    confirmed = [sim.no_shows[s] for s, c in sim.confirmed.items() if c and s in sim.no_shows]
    unconfirmed = [sim.no_shows[s] for s, c in sim.confirmed.items()
                   if not c and s in sim.no_shows]
    lines.append(f"no-show rate, complainant confirmed / not: {_rate(confirmed)} / "
                 f"{_rate(unconfirmed)}")
    replies = [f"{k} {n}" for k, n in sorted(result.actions.items()) if k.startswith(PARTY_WORDS)]
    lines.append("party replies and self-service: " + (", ".join(replies) or "none"))
    lines.append("notices per channel and their fates:")
    with sim.world.factory() as session:
        fates = session.execute(select(Notification.channel, Notification.status,
                                       func.count(Notification.id))
                                .group_by(Notification.channel, Notification.status)).all()
    per: dict[str, Counter[str]] = {}
    for channel, status, n in fates:
        per.setdefault(str(channel), Counter())[str(status)] = int(n)
    for channel in sorted(per):
        total = sum(per[channel].values())
        parts = ", ".join(f"{s} {n}" for s, n in sorted(per[channel].items()))
        lines.append(f"  {channel:<6} {total:>6}: {parts}")
    lines.append("faults injected / survived:")
    survived = sim.faults.survived([v.step for v in result.violations])
    for name, n in sorted(sim.faults.injected.items()):
        lines.append(f"  {name:<36} {n:>5} / {survived[name]}")
    lines.append("actions: " + ", ".join(f"{k} {n}" for k, n in sorted(result.actions.items())
                                         if not k.startswith(PARTY_WORDS)))
    if result.refused:
        lines.append("actions the service refused (the world had moved on): "
                     + ", ".join(f"{k} {n}" for k, n in sorted(result.refused.items())))
    lines.append("invariants (checks, violations):")
    by_invariant = Counter(v.invariant for v in result.violations)
    for invariant in sim.invariants:
        lines.append(f"  {invariant.name:<88} {result.checks[invariant.name]:>8} "
                     f"{by_invariant[invariant.name]:>4}")
    for v in result.violations[:50]:
        lines.append(f"VIOLATION at step {v.step} ({v.at.isoformat()}): {v.invariant}: {v.text}")
    lines.append(f"invariants: {sum(result.checks.values())} checks, "
                 f"{len(result.violations)} violations")
    return "\n".join(lines)
