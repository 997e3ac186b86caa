"""Every opt-out word the FCC's 2024 rule names, Twilio's own, and their equivalents in each
supported language; and consent answers that name the case they belong to. Pure: no database."""

from __future__ import annotations

import pytest

from cases.contacts import SUPPORTED_LANGUAGES
from cases.replies import Intent
from notifiers.inbound import OPT_OUT_WORDS, interpret

#: language -> the words (and short phrases) that mean "stop texting me" in it
OPT_OUT: dict[str, list[str]] = {
    "en": ["stop", "quit", "end", "revoke", "opt out", "optout", "opt-out", "cancel",
           "unsubscribe", "stopall", "stop all"],
    "es": ["alto", "parar", "basta", "cancelar", "detener", "baja", "no más", "no mas"],
    "pl": ["stop", "koniec", "rezygnuję", "rezygnuje", "wypisz", "wypisz mnie", "anuluj"],
    "zh": ["退订", "TD", "取消", "停止", "取消订阅", "退出"],
    "ar": ["توقف", "إلغاء", "الغاء", "ايقاف", "إيقاف", "أوقف", "إلغاء الاشتراك"],
}  # fmt: skip
#: what Twilio's default handling answers (and blocks) itself, so we must not confirm it again
TWILIO_ANSWERS = {"stop", "stopall", "unsubscribe", "cancel", "end", "quit", "revoke", "optout"}


def test_every_supported_language_has_its_opt_out_words() -> None:
    assert set(OPT_OUT) == set(SUPPORTED_LANGUAGES)


@pytest.mark.parametrize(
    ("language", "word"), [(lang, word) for lang, words in OPT_OUT.items() for word in words]
)
def test_every_opt_out_word_in_every_language(language: str, word: str) -> None:
    for spelling in (word, word.upper(), f" {word.capitalize()}. ", f"{word}!"):
        meaning = interpret(spelling)
        assert meaning.intent is Intent.OPT_OUT, spelling
        assert meaning.language in (None, language), spelling  # English words are everyone's
        assert meaning.provider_handles is (word.casefold() in TWILIO_ANSWERS), spelling


def test_the_fcc_words_are_all_there() -> None:
    fcc = {"stop", "quit", "end", "revoke", "opt out", "cancel", "unsubscribe"}
    assert all(interpret(word).intent is Intent.OPT_OUT for word in fcc)
    assert TWILIO_ANSWERS <= OPT_OUT_WORDS


@pytest.mark.parametrize(
    "body",
    [
        "cancel my session on tuesday",  # wants to cancel a session, not the texts
        "stop texting me about tuesday",  # more than a keyword: staff read it
        "no",
        "yes",
        "the end",
        "para",
    ],
)
def test_longer_messages_and_answers_are_not_opt_outs(body: str) -> None:
    assert interpret(body).intent is not Intent.OPT_OUT


@pytest.mark.parametrize(
    ("body", "intent", "case_id"),
    [
        ("YES CMP-12", Intent.CONSENT_YES, 12),
        ("no 12", Intent.CONSENT_NO, 12),
        ("No, CMP 7.", Intent.CONSENT_NO, 7),
        ("cmp-7 yes", Intent.CONSENT_YES, 7),
        ("Sí CMP-3", Intent.CONSENT_YES, 3),
        ("tak #44", Intent.CONSENT_YES, 44),
        ("同意 CMP-5", Intent.CONSENT_YES, 5),
        ("لا CMP-9", Intent.CONSENT_NO, 9),
        ("YES", Intent.CONSENT_YES, None),
        ("12", Intent.UNKNOWN, None),
        ("yes 12 13", Intent.UNKNOWN, None),
        ("STOP CMP-12", Intent.OPT_OUT, None),  # still a revocation: it covers the number
    ],
)
def test_a_consent_answer_may_name_its_case(body: str, intent: Intent, case_id: int | None) -> None:
    meaning = interpret(body)
    assert (meaning.intent, meaning.case_id) == (intent, case_id)
