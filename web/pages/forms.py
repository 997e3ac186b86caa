"""Staff forms: what was typed, and an error beside each field it concerns.

A form is checked by the same request models as the API (``web.api.schemas``) and then by the
same domain services; both kinds of refusal come back here as ``{field name: message}`` so the
page is drawn again with everything the user typed and each message beside its field.

Field names follow the domain's: ``parties[0].phone`` is the first party's phone in the form,
in a pydantic error location (``('parties', 0, 'phone')``) and in ``InvalidInput.field``.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Annotated, Any

from fastapi import Depends, Request
from pydantic import ValidationError
from starlette.datastructures import FormData

from cases.errors import InvalidInput

FRIENDLY = {
    "missing": "This is required.",
    "date_from_datetime_parsing": "Enter a date like 2026-10-03.",
    "date_parsing": "Enter a date like 2026-10-03.",
    "date_type": "Enter a date like 2026-10-03.",
    "float_parsing": "Enter a number.",
    "int_parsing": "Enter a whole number.",
    "literal_error": "Choose one of the options.",
    "bool_parsing": "Choose yes or no.",
    "datetime_parsing": "Enter a date and time.",
}


async def read_form(request: Request) -> FormData:
    """The posted fields (an async dependency, so handlers stay plain functions)."""
    return await request.form()


Posted = Annotated[FormData, Depends(read_form)]


def loc_name(loc: Iterable[str | int]) -> str:
    """('parties', 0, 'phone') -> 'parties[0].phone'."""
    out = ""
    for part in loc:
        if isinstance(part, int):
            out += f"[{part}]"
        else:
            out += f".{part}" if out else str(part)
    return out


def _message(error: Mapping[str, Any]) -> str:
    kind = str(error.get("type", ""))
    if kind == "string_too_short" and (error.get("ctx") or {}).get("min_length") == 1:
        return "This is required."
    if kind in FRIENDLY:
        return FRIENDLY[kind]
    text = str(error.get("msg", "is not valid"))
    return text.removeprefix("Value error, ")


@dataclass
class Form:
    """What the user typed (``values``), and what is wrong with it (``errors``)."""

    values: dict[str, Any] = field(default_factory=dict)
    errors: dict[str, str] = field(default_factory=dict)

    @classmethod
    def posted(cls, data: FormData, lists: Iterable[str] = ()) -> Form:
        many = set(lists)
        values: dict[str, Any] = {}
        for key in data:
            if key == "csrf_token":
                continue
            items = [str(v) for v in data.getlist(key) if isinstance(v, str)]
            values[key] = items if key in many else (items[-1].strip() if items else "")
        for key in many:
            values.setdefault(key, [])
        return cls(values)

    def get(self, name: str, default: str = "") -> str:
        value = self.values.get(name, default)
        return value if isinstance(value, str) else default

    def opt(self, name: str) -> str | None:
        """The field, or None when left empty."""
        return self.get(name) or None

    def many(self, name: str) -> list[str]:
        value = self.values.get(name, [])
        return list(value) if isinstance(value, list) else [value]

    def flag(self, name: str) -> bool:
        return self.get(name) in ("on", "yes", "true", "1")

    def has(self, name: str, value: str) -> bool:
        """Whether a checkbox or option ``value`` of ``name`` was chosen."""
        current = self.values.get(name)
        return value in current if isinstance(current, list) else current == value

    def error(self, name: str) -> str | None:
        return self.errors.get(name)

    def add(self, name: str, message: str) -> None:
        self.errors.setdefault(name, message)

    @property
    def ok(self) -> bool:
        return not self.errors

    def take_validation(self, exc: ValidationError, known: Iterable[str] = (),
                        prefix: str = "") -> None:
        """Each pydantic error beside its field. A model-level message that starts with one of
        the model's field names ('officer_star is required ...') goes beside that field."""
        names = set(known)
        for error in exc.errors():
            loc = [p for p in error.get("loc", ()) if p != "body"]
            name = loc_name([*([prefix] if prefix else []), *loc])
            message = _message(error)
            first = message.split(" ", 1)[0]
            if first in names:
                name = f"{name}.{first}" if name else first
            elif not loc:  # a model-level message: beside the field it names, if any
                named = [n for n in names if n in message.replace(",", " ").split()]
                name = named[0] if named else "_form"
            self.add(name, message)

    def take_invalid(self, exc: InvalidInput, rename: Mapping[str, str] | None = None) -> None:
        """A domain refusal beside the field it names (``rename`` maps domain to form names)."""
        name = (rename or {}).get(exc.field, exc.field)
        self.add(name, exc.message[:1].upper() + exc.message[1:])
