"""Words used the same way everywhere a party reads them: in notices and on the party pages.

One term per language for the agency, one way to name a time zone, one way to keep a phone
number, link or reference readable inside right-to-left text. Templates and pages read these;
no template or page string spells the agency's name itself (a test proves it).
"""

from __future__ import annotations

#: the agency's name, as COPA writes it in each language; the acronym travels with it
AGENCY: dict[str, str] = {
    "en": "Civilian Office of Police Accountability (COPA)",
    "es": "Oficina Civil de Rendición de Cuentas Policiales (COPA)",
    "pl": "Cywilne Biuro ds. Odpowiedzialności Policji (COPA)",
    "zh": "警察问责民事办公室（COPA）",
    "ar": "المكتب المدني لمساءلة الشرطة (COPA)",
}

#: a zone's city as each language writes it (zones not listed use the IANA city, in Latin)
_CITIES: dict[str, dict[str, str]] = {
    "America/Chicago": {"en": "Chicago", "es": "Chicago", "pl": "Chicago", "zh": "芝加哥",
                        "ar": "شيكاغو"},
    "America/New_York": {"en": "New York", "es": "Nueva York", "pl": "Nowy Jork", "zh": "纽约",
                         "ar": "نيويورك"},
    "America/Denver": {"en": "Denver", "es": "Denver", "pl": "Denver", "zh": "丹佛",
                       "ar": "دنفر"},
    "America/Phoenix": {"en": "Phoenix", "es": "Phoenix", "pl": "Phoenix", "zh": "凤凰城",
                        "ar": "فينيكس"},
    "America/Los_Angeles": {"en": "Los Angeles", "es": "Los Ángeles", "pl": "Los Angeles",
                            "zh": "洛杉矶", "ar": "لوس أنجلوس"},
    "America/Anchorage": {"en": "Anchorage", "es": "Anchorage", "pl": "Anchorage",
                          "zh": "安克雷奇", "ar": "أنكوريج"},
    "Pacific/Honolulu": {"en": "Honolulu", "es": "Honolulu", "pl": "Honolulu", "zh": "檀香山",
                         "ar": "هونولولو"},
}  # fmt: skip
_ZONE_PHRASE = {
    "en": "{city} time",
    "es": "hora de {city}",
    "pl": "czas w {city}",
    "zh": "{city}时间",
    "ar": "بتوقيت {city}",
}
#: Polish declines the city after "w": "czas w Chicago" (indeclinable), "w Nowym Jorku"
_PL_LOCATIVE = {"Nowy Jork": "Nowym Jorku"}

LRI, FSI, PDI = "\u2066", "\u2068", "\u2069"


def agency(language: str) -> str:
    return AGENCY.get(language, AGENCY["en"])


def zone_name(zone: str, language: str) -> str:
    """'Chicago time', 'hora de Chicago', '芝加哥时间': how a person names the zone of the times
    they are shown (never the IANA identifier)."""
    lang = language if language in _ZONE_PHRASE else "en"
    city = _CITIES.get(zone, {}).get(lang) or zone.rsplit("/", 1)[-1].replace("_", " ")
    if lang == "pl":
        city = _PL_LOCATIVE.get(city, city)
    return _ZONE_PHRASE[lang].format(city=city)


def ltr(value: object) -> str:
    """``value`` isolated as left-to-right text (LRI … PDI), so that a phone number, link or
    case reference inside Arabic text keeps its order: '+13127463594', not '13127463594+'."""
    text = str(value)
    return f"{LRI}{text}{PDI}" if text else text


def ltr_link(url: object) -> str:
    """A link isolated left-to-right like :func:`ltr`, with a space before the closing PDI. A
    phone's or mail app's linkifier (Android's Linkify, Gmail) takes every character up to the
    first whitespace into the link, the invisible PDI included, and the tapped link then fails:
    the space ends the link where the URL ends."""
    text = str(url)
    return f"{LRI}{text} {PDI}" if text else text
