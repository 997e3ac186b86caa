"""How many SMS segments a body costs: GSM-7 (160 a message, 153 a segment when split) or, as soon
as one character is outside the GSM 03.38 alphabet, UCS-2 (70, or 67 when split, counted in UTF-16
code units so an emoji costs two)."""

from __future__ import annotations

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


def is_gsm7(text: str) -> bool:
    return all(ch in GSM7_BASIC or ch in GSM7_EXTENDED for ch in text)


def count_segments(text: str) -> SegmentCount:
    if is_gsm7(text):
        units = sum(2 if ch in GSM7_EXTENDED else 1 for ch in text)
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
    out = []
    for ch in text:
        if ch in GSM7_BASIC or ch in GSM7_EXTENDED:
            out.append(ch)
            continue
        replacement = _FOLD.get(ch)
        if replacement is None:
            base = unicodedata.normalize("NFD", ch)[0]
            replacement = base if base in GSM7_BASIC else ch
        out.append(replacement)
    return "".join(out)


_FOLD = {
    "ł": "l", "Ł": "L", "đ": "d", "Đ": "D",
    "\u2018": "'", "\u2019": "'", "\u201c": '"', "\u201d": '"', "\u201e": '"',
    "\u2013": "-", "\u2014": "-", "\u2026": "...", "\u00a0": " ", "\u2009": " ",
}  # fmt: skip
