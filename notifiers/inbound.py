"""What an inbound SMS means. Pure: text in, intent out; the webhook applies it to the database.

Carrier keywords (CTIA, and what Twilio's default Advanced Opt-Out honours) are matched on the
whole message, case-insensitively, ignoring surrounding punctuation. Consent answers are matched in
the program's languages: English, Spanish, Polish, Simplified Chinese and Arabic.
"""

from __future__ import annotations

import enum
import unicodedata
from dataclasses import dataclass


class Intent(enum.StrEnum):
    OPT_OUT = "opt_out"
    OPT_IN = "opt_in"
    HELP = "help"
    CONSENT_YES = "consent_yes"
    CONSENT_NO = "consent_no"
    UNKNOWN = "unknown"


OPT_OUT_WORDS = frozenset({"stop", "stopall", "unsubscribe", "cancel", "end", "quit", "optout", "revoke"})
OPT_IN_WORDS = frozenset({"start", "unstop"})
HELP_WORDS = frozenset({"help", "info", "ayuda", "pomoc", "帮助", "مساعدة"})

YES_WORDS: dict[str, str] = {
    "yes": "en", "y": "en", "yeah": "en", "ok": "en", "i agree": "en", "agree": "en",
    "si": "es", "sí": "es", "claro": "es", "acepto": "es", "de acuerdo": "es",
    "tak": "pl", "zgadzam sie": "pl", "zgadzam się": "pl",
    "是": "zh", "是的": "zh", "同意": "zh", "好": "zh", "好的": "zh", "可以": "zh",
    "نعم": "ar", "موافق": "ar", "أوافق": "ar",
}  # fmt: skip
NO_WORDS: dict[str, str] = {
    "no": "en", "n": "en", "nope": "en", "decline": "en", "i decline": "en",
    "no acepto": "es",
    "nie": "pl", "nie zgadzam sie": "pl", "nie zgadzam się": "pl",
    "否": "zh", "不": "zh", "不同意": "zh", "不要": "zh", "不是": "zh",
    "لا": "ar", "لا أوافق": "ar",
}  # fmt: skip

_STRIP = " \t\r\n.!?,;:'\"()[]-*~。！？，、；：「」"


@dataclass(frozen=True, slots=True)
class InboundMeaning:
    intent: Intent
    language: str | None  # the language the answer was given in, when it tells us
    normalized: str


def normalize(body: str) -> str:
    """Casefold, NFC, collapse whitespace, strip punctuation around the words."""
    text = unicodedata.normalize("NFC", body).casefold()
    text = " ".join(text.split())
    return text.strip(_STRIP)


def _without_accents(text: str) -> str:
    decomposed = unicodedata.normalize("NFD", text)
    return unicodedata.normalize("NFC", "".join(ch for ch in decomposed if not unicodedata.combining(ch)))


def interpret(body: str) -> InboundMeaning:
    text = normalize(body)
    plain = _without_accents(text)
    # Like Twilio's opt-out handling, a keyword counts only as the whole message.
    if plain in OPT_OUT_WORDS:
        return InboundMeaning(Intent.OPT_OUT, None, text)
    if plain in OPT_IN_WORDS:
        return InboundMeaning(Intent.OPT_IN, None, text)
    if text in HELP_WORDS or plain in HELP_WORDS:
        return InboundMeaning(Intent.HELP, None, text)
    for candidate in (text, plain):
        if candidate in YES_WORDS:
            return InboundMeaning(Intent.CONSENT_YES, YES_WORDS[candidate], text)
        if candidate in NO_WORDS:
            return InboundMeaning(Intent.CONSENT_NO, NO_WORDS[candidate], text)
    return InboundMeaning(Intent.UNKNOWN, None, text)
