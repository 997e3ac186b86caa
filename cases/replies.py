"""What a party's answer by text applies to: the question they were last asked, in one case only.

A party may have been asked two kinds of question: to consent (a pending consent request, "reply
YES or NO") and to confirm a booked session (a reminder, "reply 1 to confirm, 2 for another
time"). Each question accepts its own words (:data:`ACCEPTS`); YES is accepted by both. The
answer goes to the open question that accepts it and was asked last — unless the questions that
accept it belong to more than one case and the answer names none: then it is applied to nothing,
the party is asked which case, and staff see it. Nothing is ever guessed across cases: a
reminder that reached them after a consent request in another case still counts as asked last
once its session has begun, so a bare YES then goes to staff rather than to that consent.

An answer no open question accepts (NO to a reminder, 1 with nothing to confirm) is left to
staff, with a kind word back. Consent answers keep their own rules (:func:`_answer_consent`).

:func:`apply_inbound_sms` applies one inbound text, already understood (``notifiers.inbound``
turns the words into an :class:`InboundMeaning`): an opt-out or opt-in of the sender's number,
HELP, or an answer. What the answer was about comes back as values (:class:`SessionTime`); how
to word it for the party is the notices' business (``notifiers.tracking``).
"""

from __future__ import annotations

import enum
import logging
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import select
from sqlalchemy.orm import Session

from cases import audit, confirmations, reference, suppressions
from cases.errors import DeadlinePassed, DomainError
from cases.models import (
    Case,
    Consent,
    ConsentStatus,
    InboundMessage,
    Party,
)
from cases.outbox import Channel
from cases.policy import Policy
from cases.privacy import mask_phone
from cases.questions import Asked, Question, SessionTime, begun, open_questions, reminded_since

log = logging.getLogger(__name__)


class Intent(enum.StrEnum):
    """What an inbound text means, whatever words said it (the words: ``notifiers.inbound``)."""

    OPT_OUT = "opt_out"
    OPT_IN = "opt_in"
    HELP = "help"
    CONSENT_YES = "consent_yes"
    CONSENT_NO = "consent_no"
    CONFIRM = "confirm"  # 1 / "confirm": I will come to the session
    CHANGE = "change"  # 2 / "change": I need another time
    UNKNOWN = "unknown"


@dataclass(frozen=True, slots=True)
class InboundMeaning:
    """An inbound text understood: the domain applies this, never the raw words."""

    intent: Intent
    language: str | None  # the language the answer was given in, when it tells us
    normalized: str
    case_id: int | None = None  # the case a consent answer names ("YES CMP-12")
    provider_handles: bool = False  # Twilio answers it itself (and blocks/unblocks the number)


#: a consent answer that could belong to more than one case: applied to none, the party is asked
WHICH_CASE = "which_case"
#: the replies that list the cases an answer could be about
LISTS_CASES = frozenset({WHICH_CASE, "which_case_session"})
#: what an answer to a question may be (:func:`answer` decides which question)
ANSWERS = frozenset({Intent.CONSENT_YES, Intent.CONSENT_NO, Intent.CONFIRM, Intent.CHANGE})


ACCEPTS: dict[Question, frozenset[Intent]] = {
    "consent": frozenset({Intent.CONSENT_YES, Intent.CONSENT_NO}),
    "session": frozenset({Intent.CONFIRM, Intent.CONSENT_YES, Intent.CHANGE}),
}
ACTOR = "party-sms"
#: who records an opt-out or opt-in by text (the provider's webhook)
WEBHOOK_ACTOR = "webhook"


@dataclass(frozen=True)
class Applied:
    """What the answer did. ``intent`` names the reply the party gets ('session_confirmed',
    'change_requested', 'change_limit', 'which_case_session', 'session_begun' (a reply to the
    reminder of a session under way: call us now), 'reminder_unclear', or
    'consent' when the consent rules take over); ``about`` is the session it was about, to be
    worded for the party."""

    intent: str
    needs_staff: bool
    case_ids: tuple[int, ...] = ()
    about: SessionTime | None = None


def answer(session: Session, parties: list[Party], meaning: InboundMeaning, *, now: datetime,
           change_requests_per_day: int) -> Applied:
    """Apply a reply to the open question it answers (see the module's docstring)."""
    questions = open_questions(session, parties, now=now)
    if meaning.case_id is not None:
        named = [q for q in questions if q.case_id == meaning.case_id]
        if not named and any(q.question == "session" for q in questions):
            return Applied("which_case_session", True, _cases(questions))
        questions = named
    accepting = [q for q in questions if meaning.intent in ACCEPTS[q.question]]
    if not accepting:
        under_way = begun(session, parties, now=now)
        if under_way is not None:  # a reply to the reminder of a session under way: call us now
            return Applied("session_begun", True, (under_way.case_id,), under_way.about)
        if meaning.intent in ACCEPTS["consent"] and not any(
                q.question == "session" for q in questions):
            return Applied("consent", False)  # the consent rules answer (already answered…)
        return Applied("reminder_unclear", True, _cases(questions))
    if len({q.case_id for q in accepting}) > 1:
        sessions = any(q.question == "session" for q in accepting)
        return Applied("which_case_session" if sessions else "consent", True, _cases(accepting))
    last = max(accepting, key=lambda q: q.asked_at)
    if last.question == "consent":
        reminded = None if meaning.case_id is not None else reminded_since(session, parties, last)
        if reminded is not None:
            # the last thing they were asked was a reminder, of a session since begun: their YES
            # is about that, not consent in another case (nothing is guessed across cases)
            cases = tuple(sorted({reminded, last.case_id}))
            under_way = begun(session, parties, now=now)
            if under_way is not None and under_way.case_id == reminded:
                return Applied("session_begun", True, cases, under_way.about)
            return Applied("reminder_unclear", True, cases)
        return Applied("consent", False)
    if len({q.party.id for q in accepting if q.question == "session"}) > 1:
        return Applied("which_party", True, (last.case_id,))  # one number, two parties: staff
    row = last.session
    assert row is not None
    about = SessionTime(row.starts_at, last.party.time_zone, last.party.language)
    if meaning.intent is Intent.CHANGE:
        accepted = confirmations.request_change(session, last.party, row, now=now, via="sms",
                                                per_day=change_requests_per_day)
        return Applied("change_requested" if accepted else "change_limit", False,
                       (row.case_id,), about)
    try:
        confirmations.confirm(session, row, last.party, now=now, channel="sms", actor=ACTOR)
    except DomainError:
        return Applied("reminder_unclear", True, (row.case_id,))
    return Applied("session_confirmed", False, (row.case_id,), about)


def _cases(questions: list[Asked]) -> tuple[int, ...]:
    return tuple(sorted({q.case_id for q in questions}))


@dataclass(frozen=True)
class InboundResult:
    intent: str  # what we understood, incl. 'already_answered' / 'no_open_request' / 'which_case'
    # / 'too_late'
    reply_language: str
    reply: bool  # whether to answer with an SMS (carrier keywords are answered by Twilio)
    needs_staff: bool
    duplicate: bool = False
    case_refs: tuple[str, ...] = ()  # the cases a 'which_case' reply lists ("CMP-12")
    when: str = ""  # the session a reminder reply was about, as the party reads its time
    about: SessionTime | None = None  # that session, before it is worded (``when``)


def apply_inbound_sms(
    session: Session,
    *,
    sender: str,
    body: str,
    meaning: InboundMeaning,
    provider_message_id: str | None,
    policy: Policy,
    now: datetime,
    change_requests_per_day: int = 3,
) -> InboundResult:
    """Opt-out/in of the sender's number, HELP, or an answer to the question the sender was last
    asked (:func:`answer`): a consent request, or a reminder (confirm, or ask for another
    time) — applied to none when it could belong to more than one case.

    A number on the suppression list gets no reply but the one confirmation of its opt-out (and
    none for Twilio's own keywords, which Twilio answers)."""
    if provider_message_id is not None:
        seen = session.scalar(
            select(InboundMessage).where(InboundMessage.provider_message_id == provider_message_id)
        )
        if seen is not None:  # Twilio retried the webhook: answer again, change nothing
            return InboundResult(seen.interpretation, "en", False, seen.needs_staff, True)
    number = suppressions.address_key(Channel.SMS, sender)
    parties = list(session.scalars(select(Party).where(Party.phone == number).order_by(Party.id.desc())))
    language = parties[0].language if parties else (meaning.language or "en")
    intent, reply, needs_staff, case_ids = meaning.intent.value, True, False, list[int]()
    about: SessionTime | None = None

    if meaning.intent is Intent.OPT_OUT:
        added = suppressions.suppress(session, Channel.SMS, number, source="sms_keyword", now=now)
        _audit_parties(session, parties, "party.sms_opted_out", now, added)
        reply = added and not meaning.provider_handles  # confirmed once, by Twilio or by us
        language = meaning.language or language  # in the language of the word ("ALTO")
    elif meaning.intent is Intent.OPT_IN:
        lifted = suppressions.lift(session, Channel.SMS, number, source="sms_keyword", now=now)
        _audit_parties(session, parties, "party.sms_opted_in", now, lifted)
        reply = False
    elif meaning.intent in ANSWERS:
        applied = answer(session, parties, meaning, now=now,
                         change_requests_per_day=change_requests_per_day)
        if applied.intent == "consent":
            intent, needs_staff, case_ids = _answer_consent(session, parties, meaning, policy, now)
        else:
            intent, needs_staff, case_ids = applied.intent, applied.needs_staff, list(
                applied.case_ids)
            about = applied.about
    elif meaning.intent is Intent.UNKNOWN:
        needs_staff = True
    if (reply and meaning.intent is not Intent.OPT_OUT
            and suppressions.is_suppressed(session, Channel.SMS, number)):
        reply = False

    session.add(
        InboundMessage(
            received_at=now,
            party_id=parties[0].id if parties else None,
            from_masked=mask_phone(sender),
            body=body[:2000],
            interpretation=intent,
            needs_staff=needs_staff,
            provider_message_id=provider_message_id,
            case_ids=case_ids,
        )
    )
    log.info("inbound SMS from %s understood as %s", mask_phone(sender), intent)
    refs = tuple(reference.case_ref(c) for c in case_ids) if intent in LISTS_CASES else ()
    return InboundResult(intent, language, reply, needs_staff, case_refs=refs, about=about)


def _audit_parties(
    session: Session, parties: list[Party], action: str, now: datetime, changed: bool
) -> None:
    """Put a number's opt-out or opt-in on the timeline of every case it is a party to."""
    if changed:
        for party in parties:
            audit.record(session, at=now, actor=WEBHOOK_ACTOR, action=action, case_id=party.case_id,
                         subject_kind="party", subject_id=party.id)  # fmt: skip


def _answer_consent(
    session: Session,
    parties: list[Party],
    meaning: InboundMeaning,
    policy: Policy,
    now: datetime,
) -> tuple[str, bool, list[int]]:
    """Record the answer on the sender's open consent request: the one in the case it names
    ("YES CMP-12"), else the only one open. Returns (interpretation, needs staff, case ids).

    An answer that could belong to more than one case — or names a case with no open request
    of theirs — is applied to none: the party is asked which ('which_case'), staff see it."""
    from cases.referrals import record_consent

    if not parties:
        return "no_open_request", True, []
    consents = session.scalars(
        select(Consent)
        .where(
            Consent.party_id.in_([p.id for p in parties]),
            Consent.requested_at.is_not(None),
        )
        .order_by(Consent.requested_at.desc(), Consent.id.desc())
    ).all()
    pending = [c for c in consents if c.status == ConsentStatus.PENDING.value]
    candidates = pending
    if meaning.case_id is not None:
        named = [c for c in consents if c.case_id == meaning.case_id]
        if not named and pending:
            return WHICH_CASE, True, sorted({c.case_id for c in pending})
        candidates = [c for c in named if c.status == ConsentStatus.PENDING.value]
        consents = named or consents
    if not candidates:
        return ("already_answered" if consents else "no_open_request"), not consents, []
    case_ids = sorted({c.case_id for c in candidates})
    if len(case_ids) > 1:
        return WHICH_CASE, True, case_ids
    if len(candidates) > 1:  # two parties of one case share the number: staff decide
        return "which_party", True, case_ids
    consent = candidates[0]
    case = session.get(Case, consent.case_id)
    party = session.get(Party, consent.party_id)
    if case is None or party is None:
        return "no_open_request", True, []
    try:
        record_consent(session, case, party, granted=meaning.intent is Intent.CONSENT_YES,
                       channel="sms", policy=policy, now=now, actor="party-sms")  # fmt: skip
    except DeadlinePassed:  # the end of the stated day has passed; the case is going back
        return "too_late", False, []
    except DomainError:
        return "already_answered", True, []
    return ("consent_yes" if meaning.intent is Intent.CONSENT_YES else "consent_no"), False, []
