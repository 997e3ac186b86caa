"""What the mediation session itself needs, apart from how each party reads: the language it
is held in, an interpreter (a spoken language or ASL), the access features of the room, and
whether two mediators lead it.

A party's ``language`` chooses only their notices and pages: an officer who reads Polish can
sit in a session held in English. Staff set these per case at intake and on the case page; the
matcher (:mod:`scheduler.profiles`) reads them, the mediator's booking notice shows them.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy.orm import Session

from cases import audit
from cases.errors import InvalidInput
from cases.models import Case
from cases.policy import Policy

#: languages a session can be held in or interpreted from (``ase``: American Sign Language)
SESSION_LANGUAGES: dict[str, str] = {
    "en": "English", "es": "Spanish", "pl": "Polish", "zh": "Chinese", "ar": "Arabic",
    "tl": "Tagalog", "ko": "Korean", "hi": "Hindi", "ur": "Urdu", "ase": "ASL",
}
#: access features a venue may offer and a case may need (``step_free`` is ``Venue.accessible``)
ACCESS_FEATURES: dict[str, str] = {
    "step_free": "Step-free access",
    "accessible_restroom": "Accessible restroom",
    "hearing_loop": "Hearing loop",
    "quiet_room": "Quiet room (sensory needs)",
}
STEP_FREE = "step_free"


def normalise_session_language(raw: str | None, field: str = "session_language") -> str | None:
    """A code of :data:`SESSION_LANGUAGES` (names and "asl" accepted), or ``None`` for empty."""
    text = (raw or "").strip().lower()
    if not text:
        return None
    if text == "asl":
        return "ase"
    if text in SESSION_LANGUAGES:
        return text
    for code, name in SESSION_LANGUAGES.items():
        if name.lower() == text:
            return code
    known = ", ".join(f"{c} ({n})" for c, n in SESSION_LANGUAGES.items())
    raise InvalidInput(field, f"unknown language {raw!r} (known: {known})")


def normalise_features(raw: Iterable[str] | str | None, field: str = "access_needs"
                       ) -> list[str]:
    """Sorted codes of :data:`ACCESS_FEATURES` (a list, or text separated by ``;`` or ``,``)."""
    if raw is None:
        return []
    items = raw.replace(";", ",").split(",") if isinstance(raw, str) else list(raw)
    out: set[str] = set()
    for item in items:
        code = "_".join(item.strip().lower().replace("-", " ").split())
        if not code:
            continue
        if code not in ACCESS_FEATURES:
            raise InvalidInput(field, f"unknown access feature {item!r} "
                                      f"(known: {', '.join(ACCESS_FEATURES)})")
        out.add(code)
    return sorted(out)


def session_language(case: Case, policy: Policy) -> str:
    """The language the session is held in: the case's, else the program's working language."""
    return case.session_language or policy.working_language


def language_name(code: str | None) -> str:
    return SESSION_LANGUAGES.get(code or "", code or "")


@dataclass(frozen=True)
class SessionNeeds:
    """What staff set for a case's session; ``None`` leaves a field as it is."""

    session_language: str | None = None
    interpreter: str | None = None
    access_needs: list[str] | None = None
    co_mediation: bool | None = None


def apply_needs(case: Case, needs: SessionNeeds, policy: Policy) -> list[str]:
    """Normalise and set the needs on ``case``; returns the names of the fields that changed.

    An empty ``interpreter`` ("" or "none") clears it; an empty session language means the
    working language.
    """
    changed: list[str] = []
    if needs.session_language is not None:
        value = normalise_session_language(needs.session_language) or policy.working_language
        if value != case.session_language:
            case.session_language = value
            changed.append("session_language")
    if needs.interpreter is not None:
        text = needs.interpreter.strip()
        code = None if text.lower() in ("", "none") else \
            normalise_session_language(text, "interpreter")
        if code != case.interpreter:
            case.interpreter = code
            changed.append("interpreter")
    if needs.access_needs is not None:
        value_list = normalise_features(needs.access_needs)
        if value_list != list(case.access_needs or []):
            case.access_needs = value_list
            changed.append("access_needs")
    if needs.co_mediation is not None and needs.co_mediation != case.co_mediation:
        case.co_mediation = needs.co_mediation
        changed.append("co_mediation")
    return changed


def set_session_needs(session: Session, case: Case, needs: SessionNeeds, policy: Policy, *,
                      now: datetime, actor: str) -> list[str]:
    """Change the session's needs on the case page; audited (codes only, no names)."""
    changed = apply_needs(case, needs, policy)
    if changed:
        case.updated_at = now
        audit.record(session, at=now, actor=actor, action="case.session_needs",
                     case_id=case.id, subject_kind="case", subject_id=case.id,
                     changed=changed, session_language=case.session_language,
                     interpreter=case.interpreter, access_needs=list(case.access_needs or []),
                     co_mediation=case.co_mediation)
    return changed


def needs_summary(case: Case) -> str:
    """One English line for the mediator's notice and invite: the session's language, the
    interpreter and the access needs (codes only; no names)."""
    parts = [f"held in {language_name(case.session_language or 'en')}"]
    if case.interpreter:
        name = language_name(case.interpreter)
        parts.append(f"{'an' if name[:1] in 'AEIOU' else 'a'} {name} interpreter attends")
    needs = [ACCESS_FEATURES.get(n, n).lower() for n in case.access_needs or ()]
    if needs:
        parts.append(f"access needed: {', '.join(needs)}")
    if case.co_mediation:
        parts.append("two mediators")
    return "; ".join(parts) + "."
