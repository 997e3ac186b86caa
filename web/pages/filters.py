"""Jinja filters registered once on the one template environment."""

from __future__ import annotations

import re
from datetime import datetime
from typing import Any
from zoneinfo import ZoneInfo

from jinja2 import Environment

from cases.privacy import mask_email, mask_phone
from cases.reference import case_ref


def local(value: datetime | None, zone: str = "America/Chicago", fmt: str = "%a %b %d, %Y %H:%M"
          ) -> str:
    if value is None:
        return "—"
    return value.astimezone(ZoneInfo(zone)).strftime(fmt)


def register(env: Environment) -> None:
    env.filters["local"] = local
    env.filters["mask_phone"] = mask_phone
    env.filters["mask_email"] = mask_email
    env.filters["label"] = lambda value: str(value).replace("_", " ")
    env.globals["zip"] = zip
    env.globals["case_ref"] = case_ref
    # a phone number or code inside right-to-left text keeps its order ("+1312...", not "...+")
    env.filters["ltr"] = lambda value: f"\u2066{value}\u2069"
    env.filters["fid"] = lambda name: "f-" + re.sub(r"[^A-Za-z0-9_-]+", "-", str(name)).strip("-")

    def _items(value: dict[str, Any]) -> list[tuple[str, Any]]:
        return sorted(value.items())

    env.filters["sorted_items"] = _items
