"""How many SMS segments a body costs: GSM-7 (160 a message, 153 a segment when split) or, as soon
as one character is outside the GSM 03.38 alphabet, UCS-2 (70, or 67 when split, counted in UTF-16
code units so an emoji costs two)."""

from __future__ import annotations

import functools
import unicodedata
from dataclasses import dataclass

GSM7_BASIC = frozenset(
    "@£$¥èéùìòÇ\nØø\rÅåΔ_ΦΓΛΩΠΨΣΘΞÆæßÉ !\"#¤%&'()*+,-./0123456789:;<=>?"
    "¡ABCDEFGHIJKLMNOPQRSTUVWXYZÄÖÑÜ§¿abcdefghijklmnopqrstuvwxyzäöñüà"
)
#: characters sent as an escape plus one septet: they cost two
GSM7_EXTENDED = frozenset("^{}\\[~]|€\f")


@dataclass(frozen=True, slots=True)
class SegmentCount:
    encoding: str  # "GSM-7" | "UCS-2"
    units: int  # septets for GSM-7, UTF-16 code units for UCS-2
    segments: int


GSM7 = GSM7_BASIC | GSM7_EXTENDED


def is_gsm7(text: str) -> bool:
    return set(text) <= GSM7


def count_segments(text: str) -> SegmentCount:
    if is_gsm7(text):
        units = len(text) + sum(map(text.count, GSM7_EXTENDED))
        single, multi, encoding = 160, 153, "GSM-7"
    else:
        units = len(text.encode("utf-16-le")) // 2
        single, multi, encoding = 70, 67, "UCS-2"
    if units <= single:
        return SegmentCount(encoding, units, 1 if units else 0)
    return SegmentCount(encoding, units, -(-units // multi))


def fold_to_gsm7(text: str) -> str:
    """Latin letters with diacritics outside GSM-7 (ą, ł, á, ó…) replaced by their base letter,
    typographic quotes and dashes by ASCII — what Twilio's Smart Encoding does. Characters with no
    GSM-7 equivalent are left alone (the text then stays UCS-2)."""
    outside = set(text) - GSM7
    if not outside:
        return text
    return text.translate({ord(ch): _fold_char(ch) for ch in outside})


def fold_punctuation(text: str) -> str:
    """Only typographic quotes, dashes, ellipses and special spaces replaced by their GSM-7
    equivalents: nothing a reader could understand differently. Letters are left alone."""
    outside = set(text) - GSM7
    if not outside:
        return text
    return text.translate({ord(ch): _FOLD[ch] for ch in outside if ch in _PUNCTUATION})


@functools.lru_cache(maxsize=4096)
def _fold_char(ch: str) -> str:
    replacement = _FOLD.get(ch)
    if replacement is not None:
        return replacement
    base = unicodedata.normalize("NFD", ch)[0]
    return base if base in GSM7_BASIC else ch


_FOLD = {
    "ł": "l", "Ł": "L", "đ": "d", "Đ": "D",
    "\u2018": "'", "\u2019": "'", "\u201c": '"', "\u201d": '"', "\u201e": '"',
    "\u2013": "-", "\u2014": "-", "\u2026": "...", "\u00a0": " ", "\u2009": " ",
}  # fmt: skip
_PUNCTUATION = frozenset(ch for ch in _FOLD if not ch.isalpha())
