"""What an inbound SMS means. Pure: text in, intent out; the webhook applies it to the database.

Opt-out words are matched on the whole message, case-insensitively, ignoring accents, spaces,
hyphens and surrounding punctuation ("Opt-Out!", "STOP ALL"): the words the FCC's 2024 rule names
(stop, quit, end, revoke, opt out, cancel, unsubscribe), Twilio's (stopall, optout), and their
equivalents in the program's languages — English, Spanish, Polish, Simplified Chinese and
Arabic. A longer message that merely contains one ("cancel my session on Tuesday") is not an
opt-out: it goes to staff, who read it. Twilio's default opt-out handling answers its own
keywords itself (``provider_handles``); the others we must confirm ourselves.

A consent answer may name the case it is about, as the notices do ("YES CMP-12", "no 12").

A reply to a reminder is 1 / YES (or the word in the reader's language) to confirm, 2 / CHANGE
to ask for another time. What a YES means — consent, or confirming a session — depends on what
the party was last asked, which only the database knows (``cases.replies``): here YES is
``CONSENT_YES`` and 1 is ``CONFIRM``.
"""

from __future__ import annotations

import re
import unicodedata

from cases.replies import InboundMeaning, Intent

#: opt-out words (accents, spaces and hyphens removed) -> the language they are in; None for the
#: English keywords, which every template invites ("Reply STOP...") whatever its language
OPT_OUT_LANGUAGES: dict[str, str | None] = {
    "stop": None, "quit": None, "end": None, "revoke": None, "optout": None, "cancel": None,
    "unsubscribe": None, "stopall": None,
    "alto": "es", "parar": "es", "basta": "es", "cancelar": "es", "detener": "es", "baja": "es",
    "nomas": "es",
    "koniec": "pl", "rezygnuje": "pl", "wypisz": "pl", "wypiszmnie": "pl", "anuluj": "pl",
    "退订": "zh", "td": "zh", "取消": "zh", "停止": "zh", "取消订阅": "zh", "退出": "zh",
    "توقف": "ar", "الغاء": "ar", "ايقاف": "ar", "اوقف": "ar", "الغاءالاشتراك": "ar",
}  # fmt: skip
OPT_OUT_WORDS = frozenset(OPT_OUT_LANGUAGES)
OPT_IN_WORDS = frozenset({"start", "unstop"})
#: what Twilio's default handling matches (a one-word message) and answers itself: it blocks the
#: number on an opt-out word and unblocks it on an opt-in word (YES too)
TWILIO_OPT_OUT_WORDS = frozenset(
    {"stop", "stopall", "unsubscribe", "cancel", "end", "quit", "revoke", "optout"}
)
TWILIO_OPT_IN_WORDS = frozenset({"start", "unstop", "yes"})
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

#: the words a reminder offers (1 / 2 and each language's word; YES also confirms a reminder).
#: Digits as a phone keyboard types them: ASCII, full-width (Chinese), Arabic-Indic.
CONFIRM_WORDS: dict[str, str | None] = {
    "1": None, "１": "zh", "١": "ar", "۱": "ar",
    "confirm": "en", "confirmed": "en", "i confirm": "en", "i will come": "en",
    "confirmo": "es", "confirmar": "es", "confirmado": "es",
    "potwierdzam": "pl", "potwierdzam obecnosc": "pl", "potwierdzam obecność": "pl",
    "确认": "zh", "确定": "zh",
    "تأكيد": "ar", "أؤكد": "ar", "اؤكد": "ar", "تاكيد": "ar",
}  # fmt: skip
CHANGE_WORDS: dict[str, str | None] = {
    "2": None, "２": "zh", "٢": "ar", "۲": "ar",
    "change": "en", "reschedule": "en", "another time": "en",
    "cambiar": "es", "cambio": "es", "otra fecha": "es", "otra hora": "es",
    "zmiana": "pl", "zmien": "pl", "zmień": "pl", "inny termin": "pl",
    "更改": "zh", "改期": "zh", "改时间": "zh", "换时间": "zh",
    "تغيير": "ar", "تغير": "ar", "موعد آخر": "ar", "موعد اخر": "ar",
}  # fmt: skip

_STRIP = " \t\r\n.!?,;:'\"()[]-*~。！？，、；：「」"
_REF = r"(?:cmp\s*-?\s*|#)?(\d{1,9})"
_REF_AFTER = re.compile(rf"(.+?)[\s,;:.\-]*{_REF}")
_REF_BEFORE = re.compile(rf"{_REF}[\s,;:.\-]*(.+)")
_SEPARATED = re.compile(r"[\s,;:.\-#]|cmp")


def normalize(body: str) -> str:
    """Casefold, NFC, collapse whitespace, strip punctuation around the words."""
    text = unicodedata.normalize("NFC", body).casefold()
    text = " ".join(text.split())
    return text.strip(_STRIP)


def _without_accents(text: str) -> str:
    decomposed = unicodedata.normalize("NFD", text)
    return unicodedata.normalize("NFC", "".join(ch for ch in decomposed if not unicodedata.combining(ch)))


def _keyword(plain: str) -> str:
    return "".join(ch for ch in plain if ch not in " -")


def interpret(body: str) -> InboundMeaning:
    text = normalize(body)
    plain = _without_accents(text)
    # Like Twilio's opt-out handling, a keyword counts only as the whole message.
    if _keyword(plain) in OPT_OUT_WORDS:
        return InboundMeaning(Intent.OPT_OUT, OPT_OUT_LANGUAGES[_keyword(plain)], text,
                              provider_handles=plain in TWILIO_OPT_OUT_WORDS)  # fmt: skip
    if plain in OPT_IN_WORDS:
        return InboundMeaning(Intent.OPT_IN, None, text, provider_handles=True)
    if text in HELP_WORDS or plain in HELP_WORDS:
        return InboundMeaning(Intent.HELP, None, text)
    answer = _answer(text)
    if answer is not None:
        return answer
    for pattern, ref_group, rest_group in ((_REF_AFTER, 2, 1), (_REF_BEFORE, 1, 2)):
        match = pattern.fullmatch(text)
        if match is None:
            continue
        rest = match.group(rest_group).strip(_STRIP)
        named = _answer(rest)
        if named is not None and rest.isdigit() and not _SEPARATED.search(text):
            named = None  # "12" is a number, not "1" about case 2
        if named is not None:
            return InboundMeaning(named.intent, named.language, text, int(match.group(ref_group)))
        if _keyword(_without_accents(rest)) in OPT_OUT_WORDS:  # "STOP CMP-12": still a revocation
            return InboundMeaning(Intent.OPT_OUT, OPT_OUT_LANGUAGES[_keyword(_without_accents(rest))],
                                  text)  # fmt: skip
    return InboundMeaning(Intent.UNKNOWN, None, text)


def _answer(text: str) -> InboundMeaning | None:
    for candidate in (text, _without_accents(text)):
        if candidate in YES_WORDS:
            return InboundMeaning(Intent.CONSENT_YES, YES_WORDS[candidate], text)
        if candidate in NO_WORDS:
            return InboundMeaning(Intent.CONSENT_NO, NO_WORDS[candidate], text)
        if candidate in CONFIRM_WORDS:
            return InboundMeaning(Intent.CONFIRM, CONFIRM_WORDS[candidate], text)
        if candidate in CHANGE_WORDS:
            return InboundMeaning(Intent.CHANGE, CHANGE_WORDS[candidate], text)
    return None
