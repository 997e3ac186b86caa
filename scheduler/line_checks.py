"""The scheduled job that asks the provider what kind of line each due number is.

Three short steps, never a transaction around a network call: read the due numbers
(``cases.phone_lines.due_numbers``), ask the provider about each one, record each answer (or the
failure and its retry time) in its own transaction. A provider that is slow or down costs this
job its timeout per number and nothing else: intake already committed, the numbers stay
"not checked" (texts allowed, as before lookups existed) and are asked again later.

Only the active worker runs it (``scheduler.service.leader_jobs``), so two workers do not pay
for the same lookup.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field

from sqlalchemy.orm import Session, sessionmaker

from cases import phone_lines
from cases.clock import Clock
from cases.database import transaction
from cases.phone_lines import LineChecker, LookupFailed

log = logging.getLogger(__name__)


@dataclass
class LineCheckReport:
    checked: int = 0
    failed: int = 0
    found: dict[str, int] = field(default_factory=dict)  # line type -> count (no numbers)


def check_due_numbers(factory: sessionmaker[Session], clock: Clock,
                      checker: LineChecker) -> LineCheckReport:
    """Look up the numbers that are due, at most one batch. Returns what happened."""
    report = LineCheckReport()
    with transaction(factory) as session:
        due = phone_lines.due_numbers(session, now=clock.now(), max_age=checker.max_age,
                                      limit=checker.batch_size)
    for number in due:
        try:
            answer = checker.lookup.check(number)
        except LookupFailed as exc:
            with transaction(factory) as session:
                phone_lines.record_failure(session, number, exc.detail, now=clock.now(),
                                           retry_base=checker.retry_base,
                                           retry_cap=checker.retry_cap)
            report.failed += 1
            continue
        with transaction(factory) as session:
            phone_lines.record_check(session, number, answer, now=clock.now())
        report.checked += 1
        report.found[answer.line_type.value] = report.found.get(answer.line_type.value, 0) + 1
    if report.failed:
        log.warning("line type lookups: %d answered, %d failed (retried later)",
                    report.checked, report.failed)
    return report
