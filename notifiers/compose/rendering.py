"""Notice templates: one Jinja environment, one table from notice kind to template, every kind in
every language.

Layout: ``templates/notices/<kind>/<lang>.sms.j2`` (one SMS body), ``.short.sms.j2``,
``.subject.j2`` and ``.txt.j2`` (the email). The HTML part of every email is the text part laid
out by one shared, autoescaped ``notices/_email.html.j2`` (right-to-left for Arabic), so a
translator edits exactly four small files per notice and the HTML can never say something the
text does not.

Each kind has a second SMS form, ``<lang>.short.sms.j2`` (the venue's address instead of its
name, no greeting name), used when the full one does not fit the sending adapter's segment
budget (``Renderer.sms``). Arabic templates isolate phone numbers, links and references with
the ``ltr`` filter, and links with ``ltr_link``.

Templates see only non-personal values plus the name staff gave for greeting the recipient
(``recipient.name``, often empty), their role and the channels they get; they never see the
other party's name, phone or email. Undefined variables are errors (``StrictUndefined``).
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import date, datetime
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

from jinja2 import FileSystemLoader, StrictUndefined, Template, select_autoescape
from jinja2.sandbox import SandboxedEnvironment
from markupsafe import Markup, escape

from cases.contacts import RTL_LANGUAGES, SUPPORTED_LANGUAGES
from cases.links import DIRECTION_MARKS
from cases.outbox import Channel, NoticeKind
from notifiers.compose.segments import count_segments, fold_punctuation, fold_to_gsm7
from notifiers.compose.terms import ltr, ltr_link

TEMPLATE_DIR = Path(__file__).resolve().parents[2] / "templates"
#: the languages every notice is written in: the program's (``cases.contacts``)
LANGUAGES: tuple[str, ...] = tuple(SUPPORTED_LANGUAGES)
#: the SMS budget when the sending adapter declares none (``max_segments`` on the adapter class,
#: e.g. ``notifiers.channels.twilio_sms.TwilioSmsNotifier``): carriers deliver up to 3 segments reliably
SMS_SEGMENT_BUDGET = 3
#: How far an SMS may be folded towards GSM-7 (160 characters a segment instead of 70), measured
#: per language: a body is sent as written if it fits the budget, else with typographic
#: punctuation folded, else — only where dropping diacritics keeps the meaning — folded to
#: GSM-7 letters. Spanish accents carry meaning ("aceptó" is "you accepted", "acepto" is "I
#: accept"; "sí"/"si", "está"/"esta"), so Spanish is never folded: its short forms are written
#: to fit instead. Polish readers are used to texts without diacritics, and its minimal pairs do
#: not occur in our texts, so Polish is folded when the text with diacritics does not fit.
#: Chinese and Arabic are UCS-2 whatever happens.
FOLD_LETTERS = frozenset({"en", "pl"})
SMS_FORMS = ("sms", "short.sms")
TEMPLATES: dict[NoticeKind, str] = {kind: f"notices/{kind.value}" for kind in NoticeKind}
HTML_LAYOUT = "notices/_email.html.j2"
INBOUND_REPLY = "notices/inbound_reply"

_WEEKDAYS = {
    "en": ["Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday", "Sunday"],
    "es": ["lunes", "martes", "miércoles", "jueves", "viernes", "sábado", "domingo"],
    "pl": ["poniedziałek", "wtorek", "środa", "czwartek", "piątek", "sobota", "niedziela"],
    "zh": ["星期一", "星期二", "星期三", "星期四", "星期五", "星期六", "星期日"],
    "ar": ["الاثنين", "الثلاثاء", "الأربعاء", "الخميس", "الجمعة", "السبت", "الأحد"],
}
_MONTHS = {
    "en": ["January", "February", "March", "April", "May", "June", "July", "August",
           "September", "October", "November", "December"],
    "es": ["enero", "febrero", "marzo", "abril", "mayo", "junio", "julio", "agosto",
           "septiembre", "octubre", "noviembre", "diciembre"],
    "pl": ["stycznia", "lutego", "marca", "kwietnia", "maja", "czerwca", "lipca", "sierpnia",
           "września", "października", "listopada", "grudnia"],
    "ar": ["يناير", "فبراير", "مارس", "أبريل", "مايو", "يونيو", "يوليو", "أغسطس", "سبتمبر",
           "أكتوبر", "نوفمبر", "ديسمبر"],
}  # fmt: skip
_BLANK_LINE = re.compile(r"\n\s*\n")
#: a URL in a notice's text; it ends before whitespace and before the invisible direction marks
#: around it in right-to-left text (``terms.ltr_link``), which would break the link's address
_URL = re.compile(rf"https?://[^\s<>\"{DIRECTION_MARKS}]+[^\s<>\".,;:!?)\]）。，{DIRECTION_MARKS}]")


def language_of(code: str | None) -> str:
    """The template language for a party's language code; English when we have no templates."""
    return code if code in LANGUAGES else "en"


def clock_time(local: datetime, language: str) -> str:
    """A local time of day as that language writes it: 6:00 PM in English, 18:00 elsewhere."""
    if language_of(language) == "en":
        return local.strftime("%I:%M %p").lstrip("0")
    return f"{local:%H:%M}"


def format_when(at: datetime, zone: str, language: str, zone_label: str | None = None) -> str:
    """A session time as people write it in that language, in the given zone, with the zone's
    abbreviation so a reader elsewhere is not misled — or, given ``zone_label``, the zone's name
    in brackets ("6:00 PM (Chicago time)", ``notifiers.compose.terms.zone_name``)."""
    local = at.astimezone(ZoneInfo(zone))
    lang = language_of(language)
    weekday = _WEEKDAYS[lang][local.weekday()]
    tz = local.tzname() or ""
    if zone_label:
        tz = f"（{zone_label}）" if lang == "zh" else f"({zone_label})"
    if lang == "en":
        return f"{weekday}, {_MONTHS['en'][local.month - 1]} {local.day} at {clock_time(local, lang)} {tz}"
    clock = f"{clock_time(local, lang)}{'' if lang == 'zh' and zone_label else ' '}{tz}"
    if lang == "es":
        return f"{weekday} {local.day} de {_MONTHS['es'][local.month - 1]}, {clock}"
    if lang == "pl":
        return f"{weekday}, {local.day} {_MONTHS['pl'][local.month - 1]}, {clock}"
    if lang == "zh":
        return f"{local.month}月{local.day}日（{weekday}）{clock}"
    return f"{weekday} {local.day} {_MONTHS['ar'][local.month - 1]}، {clock}"


def format_date(at: datetime, zone: str, language: str) -> str:
    return format_day(at.astimezone(ZoneInfo(zone)).date(), language)


def format_day(local: date, language: str) -> str:
    """A calendar date as that language writes it: 'December 15', '15 de diciembre'."""
    lang = language_of(language)
    if lang == "en":
        return f"{_MONTHS['en'][local.month - 1]} {local.day}"
    if lang == "es":
        return f"{local.day} de {_MONTHS['es'][local.month - 1]}"
    if lang == "pl":
        return f"{local.day} {_MONTHS['pl'][local.month - 1]}"
    if lang == "zh":
        return f"{local.month}月{local.day}日"
    return f"{local.day} {_MONTHS['ar'][local.month - 1]}"


def _link(match: re.Match[str]) -> str:
    return f'<a href="{match.group(0)}">{match.group(0)}</a>'


def _paragraphs(text: str) -> Markup:
    """Plain text to HTML paragraphs: escaped, blank lines split paragraphs, URLs become links.

    Escaping and linking run once over the whole text (neither touches whitespace, and a URL
    never spans one), then the text is split into paragraphs and lines."""
    linked = _URL.sub(_link, str(escape(text.strip())))
    html = [
        '<p style="margin:0 0 16px 0;">' + "<br>\n".join(block.splitlines()) + "</p>"
        for block in _BLANK_LINE.split(linked)
        if block.strip()
    ]
    return Markup("\n".join(html))


@dataclass(frozen=True, slots=True)
class RenderedSms:
    body: str
    encoding: str
    segments: int
    #: which template gave the body: "sms", or "short.sms" when the full one did not fit
    form: str = "sms"


class SmsOverBudget(ValueError):
    """No form of the notice fits the SMS budget; nothing is sent (the dispatcher fails the
    notice and tells staff). Says which notice, never what it said."""

    def __init__(self, kind: NoticeKind, language: str, segments: int, budget: int) -> None:
        super().__init__(f"{kind.value}/{language} SMS needs {segments} segments, "
                         f"over the budget of {budget}")


@dataclass(frozen=True, slots=True)
class RenderedEmail:
    subject: str
    text: str
    html: str


class Renderer:
    """Renders notices. Build one per process (the composition root does) and share it."""

    def __init__(self, template_dir: Path = TEMPLATE_DIR) -> None:
        self.env = SandboxedEnvironment(
            loader=FileSystemLoader(str(template_dir)),
            undefined=StrictUndefined,
            autoescape=select_autoescape(enabled_extensions=("html.j2",), default=False),
            trim_blocks=True,
            lstrip_blocks=True,
            auto_reload=False,
        )
        self.env.filters["paragraphs"] = _paragraphs
        self.env.filters["ltr"] = ltr
        self.env.filters["ltr_link"] = ltr_link
        #: name -> (template, its globals as one dict); templates never reload (``auto_reload``
        #: is off), so this is pure
        self._templates: dict[str, tuple[Template, dict[str, Any]]] = {}

    def _fill(self, name: str, variables: Mapping[str, Any]) -> str:
        """``get_template(name).render(variables)`` without its per-call costs, through Jinja's
        documented API only: ``render`` copies the template's globals (a ``ChainMap``) into every
        context, a third of a small template's time; here they are merged into one dict once per
        template and passed with the variables as a shared context (``Template.make_module``, whose
        text is the rendered template; same output as ``render``)."""
        found = self._templates.get(name)
        if found is None:
            template = self.env.get_template(name)
            found = self._templates[name] = (template, dict(template.globals))
        template, globals_ = found
        return str(template.make_module({**globals_, **variables}, shared=True))

    def template_name(self, kind: NoticeKind, language: str, part: str) -> str:
        return f"{TEMPLATES[kind]}/{language_of(language)}.{part}.j2"

    def _render(self, kind: NoticeKind, language: str, part: str, variables: Mapping[str, Any]) -> str:
        name = self.template_name(kind, language, part)
        return self._fill(name, {**variables, "language": language_of(language)}).strip()

    def sms(self, kind: NoticeKind, language: str, variables: Mapping[str, Any],
            max_segments: int | None = None) -> RenderedSms:
        """The first body that fits ``max_segments`` (the sending adapter's budget; default
        ``SMS_SEGMENT_BUDGET``): the full template, then its short form, each as written and
        then folded as far as the language allows (``FOLD_LETTERS``). Raises
        :class:`SmsOverBudget` when none fits."""
        budget = max_segments or SMS_SEGMENT_BUDGET
        lang = language_of(language)
        smallest = None
        for form in SMS_FORMS:
            written = " ".join(self._render(kind, lang, form, variables).split())
            for body in _foldings(written, lang):
                counted = count_segments(body)
                if counted.segments <= budget:
                    return RenderedSms(body, counted.encoding, counted.segments, form)
                smallest = min(smallest or counted.segments, counted.segments)
        raise SmsOverBudget(kind, lang, smallest or 0, budget)

    def email(self, kind: NoticeKind, language: str, variables: Mapping[str, Any]) -> RenderedEmail:
        lang = language_of(language)
        subject = " ".join(self._render(kind, lang, "subject", variables).split())
        text = self._render(kind, lang, "txt", variables)
        html = self._fill(
            HTML_LAYOUT,
            {
                "subject": subject,
                "text": text,
                "language": lang,
                "direction": "rtl" if lang in RTL_LANGUAGES else "ltr",
            },
        )
        return RenderedEmail(subject, text + "\n", html)

    def reply(
        self, language: str, intent: str, program: Mapping[str, Any], cases: Sequence[str] = (),
        when: str = "",
    ) -> str:
        """The SMS answer to an inbound message (HELP, a consent answer, a reminder's
        confirmation or change request with the session's ``when``, the one opt-out
        confirmation, "which case?" with the ``cases`` it could be about, anything else)."""
        template = self.env.get_template(f"{INBOUND_REPLY}/{language_of(language)}.sms.j2")
        return " ".join(template.render(intent=intent, program=program, cases=list(cases),
                                        when=when).split())

    def render(
        self, kind: NoticeKind, language: str, channel: Channel, variables: Mapping[str, Any],
        max_segments: int | None = None,
    ) -> RenderedSms | RenderedEmail:
        if channel is Channel.SMS:
            return self.sms(kind, language, variables, max_segments)
        return self.email(kind, language, variables)


def _foldings(body: str, language: str) -> list[str]:
    """``body`` as written, then with punctuation folded, then (if the language allows it) with
    letters folded to GSM-7; each only if it differs from the one before."""
    bodies = [body]
    for folded in (fold_punctuation(body), fold_to_gsm7(body) if language in FOLD_LETTERS else body):
        if folded != bodies[-1]:
            bodies.append(folded)
    return bodies


def segment_budget(notifier: object) -> int | None:
    """The SMS budget an adapter declares (``max_segments`` class attribute), if any."""
    budget = getattr(notifier, "max_segments", None)
    return budget if isinstance(budget, int) else None
