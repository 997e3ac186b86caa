"""Mediators and venues: who may mediate, and where sessions may take place."""

from __future__ import annotations

import secrets
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import date, datetime, time
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import delete, select
from sqlalchemy.orm import Session

from cases import audit
from cases.calendar_urls import NO_ALLOWED_HOSTS, AllowedHosts, UnsafeCalendarUrl, check_calendar_url
from cases.contacts import normalise_email, normalise_language, normalise_phone, normalise_zone
from cases.database import lock_calendar_pushes
from cases.errors import InvalidInput, NotFound
from cases.models import CalendarPush, Mediator, MediatorConflict, Venue
from cases.qualification import QualificationRules, Training
from cases.qualification import qualification_problems as qualification_problems_of
from cases.sealing import Sealer
from cases.session_needs import normalise_features

WEEKDAYS = ["mon", "tue", "wed", "thu", "fri", "sat", "sun"]


@dataclass(frozen=True)
class NewMediator:
    full_name: str
    email: str
    phone: str | None = None
    languages: list[str] = field(default_factory=lambda: ["en"])
    general_training_hours: float = 0
    general_training_on: date | None = None
    specialized_training_hours: float = 0
    specialized_training_on: date | None = None
    training_expires_on: date | None = None
    max_sessions_per_week: int = 3
    former_police: bool = False
    time_zone: str = "America/Chicago"
    calendar_kind: str = "none"
    calendar_url: str | None = None
    calendar_username: str | None = None
    calendar_secret: str | None = None
    conflict_officer_stars: list[str] = field(default_factory=list)
    conflict_people: list[str] = field(default_factory=list)


@dataclass(frozen=True)
class NewVenue:
    """``neutral`` must be said: neutral ground (a library, a community centre...) or not (a
    police facility), which is never offered or booked."""

    name: str
    neutral: bool
    address: str = ""
    kind: str = "in_person"
    accessible: bool = True
    #: access features besides step-free access (cases.session_needs.ACCESS_FEATURES)
    features: list[str] = field(default_factory=list)
    capacity: int = 6
    opening_hours: dict[str, list[list[str]]] = field(default_factory=dict)
    time_zone: str = "America/Chicago"
    latitude: float | None = None
    longitude: float | None = None
    video_url: str | None = None
    #: how to get there (transit, parking, which door), for parties' reminders
    directions: str = ""


def training_of(mediator: Mediator) -> Training:
    """The facts :mod:`cases.qualification` judges, read from the mediator's row."""
    return Training(mediation_hours=mediator.general_training_hours,
                    community_police_hours=mediator.specialized_training_hours,
                    expires_on=mediator.training_expires_on,
                    former_police=mediator.former_police)


def qualification_problems(mediator: Mediator, on: date, rules: QualificationRules) -> list[str]:
    """Why this mediator may not be assigned on the local day ``on`` (empty when they may):
    inactive, or not qualified by :func:`cases.qualification.qualification_problems`."""
    return (["inactive"] if not mediator.active else []) + \
        qualification_problems_of(training_of(mediator), rules, on)


@dataclass(frozen=True)
class CalendarSettings:
    """Where a mediator keeps their calendar: ``caldav`` (we read their busy times and write their
    sessions into it), ``ics`` (a read-only feed of busy times) or ``none``. ``secret`` is the
    CalDAV password (with ``username``) or bearer token (without), as typed; it is stored sealed."""

    kind: str = "none"
    url: str | None = None
    username: str | None = None
    secret: str | None = None


def _checked_calendar(settings: CalendarSettings, allowed: AllowedHosts) -> CalendarSettings:
    """The settings to store. The URL must be http(s) with a host that is not a loopback,
    private, link-local, unspecified, multicast or reserved address, unless ``allowed`` names it
    (:mod:`cases.calendar_urls`; names are checked again after DNS, when the calendar is read)."""
    if settings.kind not in ("none", "caldav", "ics"):
        raise InvalidInput("calendar_kind", "must be none, caldav or ics")
    if settings.kind == "none":
        return CalendarSettings()
    if not (settings.url or "").startswith(("http://", "https://")):
        raise InvalidInput("calendar_url", "an http(s) URL is required for a calendar source")
    try:
        url = check_calendar_url(settings.url or "", allowed)
    except UnsafeCalendarUrl as exc:
        raise InvalidInput("calendar_url", str(exc)) from None
    if settings.kind == "ics":  # a feed is read anonymously: keep no credentials for it
        return CalendarSettings("ics", url)
    return CalendarSettings("caldav", url, (settings.username or "").strip() or None,
                            settings.secret or None)


def set_mediator_calendar(session: Session, mediator: Mediator, settings: CalendarSettings, *,
                          sealer: Sealer, now: datetime, actor: str,
                          allowed: AllowedHosts = NO_ALLOWED_HOSTS) -> int:
    """Point a mediator's calendar somewhere else (or change its credentials). Returns how many
    push records were dropped: they describe what the *old* calendar holds, so the next calendar
    sync writes every current session into the new one (events already in the old calendar stay
    there). The secret is never audited or echoed. ``allowed``: ``CMP_CALENDAR_ALLOWED_HOSTS``."""
    checked = _checked_calendar(settings, allowed)
    moved = (checked.kind, checked.url) != (mediator.calendar_kind, mediator.calendar_url)
    dropped = 0
    if moved:  # after any push run in progress, which may still be writing the old calendar
        lock_calendar_pushes(session, wait=True)
        result = session.execute(delete(CalendarPush).where(CalendarPush.mediator_id == mediator.id))
        dropped = int(result.rowcount)  # type: ignore[attr-defined]
    mediator.calendar_kind, mediator.calendar_url = checked.kind, checked.url
    mediator.calendar_username = checked.username
    mediator.calendar_secret = sealer.seal(checked.secret)
    audit.record(session, at=now, actor=actor, action="mediator.calendar_set",
                 subject_kind="mediator", subject_id=mediator.id, kind=checked.kind,
                 moved=moved, with_secret=checked.secret is not None, pushes_dropped=dropped)
    return dropped


def _qualified_today(mediator: Mediator, rules: QualificationRules, now: datetime) -> bool:
    """For the audit record: qualified on the mediator's own local day of ``now``."""
    return not qualification_problems(
        mediator, now.astimezone(ZoneInfo(mediator.time_zone)).date(), rules)


def add_mediator(session: Session, new: NewMediator, *, now: datetime, actor: str,
                 qualification: QualificationRules, sealer: Sealer | None = None,
                 allowed: AllowedHosts = NO_ALLOWED_HOSTS) -> Mediator:
    """:param qualification: the policy's rules, to record whether the mediator is qualified.
    :param sealer: required when ``new`` carries a calendar secret (it is stored sealed).
    :param allowed: calendar hosts allowed on non-public addresses (``CMP_CALENDAR_ALLOWED_HOSTS``).
    """
    name = new.full_name.strip()
    if not name:
        raise InvalidInput("full_name", "is required")
    for label, hours in (("general_training_hours", new.general_training_hours),
                         ("specialized_training_hours", new.specialized_training_hours)):
        if hours < 0 or hours > 10_000:
            raise InvalidInput(label, f"{hours} is not a plausible number of hours")
    if not 1 <= new.max_sessions_per_week <= 40:
        raise InvalidInput("max_sessions_per_week", "must be between 1 and 40")
    calendar = _checked_calendar(CalendarSettings(new.calendar_kind, new.calendar_url,
                                                  new.calendar_username, new.calendar_secret),
                                 allowed)
    if calendar.secret and sealer is None:
        raise ValueError("a calendar secret is stored sealed: pass the service's Sealer")
    languages = [normalise_language(lang, "languages") for lang in new.languages] or ["en"]
    mediator = Mediator(
        full_name=name,
        email=normalise_email(new.email),
        phone=normalise_phone(new.phone) if new.phone else None,
        languages=sorted(set(languages)),
        general_training_hours=new.general_training_hours,
        general_training_on=new.general_training_on,
        specialized_training_hours=new.specialized_training_hours,
        specialized_training_on=new.specialized_training_on,
        training_expires_on=new.training_expires_on,
        max_sessions_per_week=new.max_sessions_per_week,
        former_police=new.former_police,
        time_zone=normalise_zone(new.time_zone),
        calendar_kind=calendar.kind,
        calendar_url=calendar.url,
        calendar_username=calendar.username,
        calendar_secret=sealer.seal(calendar.secret) if sealer else None,
        feed_token=secrets.token_urlsafe(24),
        created_at=now,
    )
    for star in new.conflict_officer_stars:
        if star.strip():
            mediator.conflicts.append(MediatorConflict(kind="officer", subject=star.strip()))
    for person in new.conflict_people:
        if person.strip():
            mediator.conflicts.append(MediatorConflict(kind="person", subject=person.strip()))
    session.add(mediator)
    session.flush()
    audit.record(session, at=now, actor=actor, action="mediator.added",
                 subject_kind="mediator", subject_id=mediator.id,
                 qualified=_qualified_today(mediator, qualification, now))
    return mediator


def parse_opening_hours(text: str) -> dict[str, list[list[str]]]:
    """'mon-fri 09:00-17:00; sat 10:00-14:00' -> {"0": [["09:00","17:00"]], ...}."""
    hours: dict[str, list[list[str]]] = {}
    for part in filter(None, (p.strip() for p in text.split(";"))):
        try:
            days_text, span = part.split(None, 1)
            start_text, end_text = span.replace(" ", "").split("-", 1)
            start, end = time.fromisoformat(start_text), time.fromisoformat(end_text)
            if "-" in days_text:
                first, last = (WEEKDAYS.index(d[:3].lower()) for d in days_text.split("-", 1))
                days = list(range(first, last + 1))
            else:
                days = [WEEKDAYS.index(d[:3].lower()) for d in days_text.split(",")]
        except ValueError as exc:
            raise InvalidInput("opening_hours", f"{part!r} is not like 'mon-fri 09:00-17:00'") \
                from exc
        if start >= end or not days:
            raise InvalidInput("opening_hours", f"{part!r}: closes before it opens")
        for day in days:
            hours.setdefault(str(day), []).append([start.strftime("%H:%M"), end.strftime("%H:%M")])
    return hours


def add_venue(session: Session, new: NewVenue, *, now: datetime, actor: str) -> Venue:
    name = new.name.strip()
    if not name:
        raise InvalidInput("name", "is required")
    if not isinstance(new.neutral, bool):
        raise InvalidInput("neutral", "must be said: true (neutral ground) or false")
    if new.kind not in ("in_person", "video"):
        raise InvalidInput("kind", "must be in_person or video")
    if new.kind == "in_person" and not new.address.strip():
        raise InvalidInput("address", "an in-person venue needs an address")
    if new.kind == "video" and not (new.video_url or "").startswith("https://"):
        raise InvalidInput("video_url", "a video venue needs an https:// meeting link")
    if not 2 <= new.capacity <= 500:
        raise InvalidInput("capacity", "must be between 2 and 500")
    for day, spans in new.opening_hours.items():
        if day not in {str(i) for i in range(7)}:
            raise InvalidInput("opening_hours", f"unknown weekday {day!r}")
        for start, end in spans:
            if time.fromisoformat(start) >= time.fromisoformat(end):
                raise InvalidInput("opening_hours", f"{start}-{end} closes before it opens")
    venue = Venue(
        name=name, kind=new.kind, address=new.address.strip(), neutral=new.neutral,
        accessible=new.accessible, features=normalise_features(new.features, "features"),
        capacity=new.capacity, opening_hours=new.opening_hours,
        time_zone=normalise_zone(new.time_zone), latitude=new.latitude,
        longitude=new.longitude, video_url=new.video_url,
        directions=" ".join(new.directions.split()), created_at=now,
    )
    session.add(venue)
    session.flush()
    audit.record(session, at=now, actor=actor, action="venue.added", subject_kind="venue",
                 subject_id=venue.id, neutral=new.neutral, kind=new.kind)
    return venue


def get_mediator(session: Session, mediator_id: int) -> Mediator:
    mediator = session.get(Mediator, mediator_id)
    if mediator is None:
        raise NotFound("mediator", mediator_id)
    return mediator


def list_mediators(session: Session) -> list[Mediator]:
    return list(session.scalars(select(Mediator).order_by(Mediator.id)))


def list_venues(session: Session) -> list[Venue]:
    return list(session.scalars(select(Venue).order_by(Venue.id)))


MEDIATOR_FIELDS = frozenset({
    "full_name", "email", "phone", "languages", "general_training_hours", "general_training_on",
    "specialized_training_hours", "specialized_training_on", "training_expires_on",
    "max_sessions_per_week", "former_police", "time_zone", "active"})
VENUE_FIELDS = frozenset({"name", "kind", "address", "neutral", "accessible", "features",
                          "capacity",
                          "opening_hours", "time_zone", "video_url", "latitude", "longitude",
                          "active", "directions"})


def update_mediator(session: Session, mediator: Mediator, changes: Mapping[str, Any], *,
                    now: datetime, actor: str, qualification: QualificationRules) -> list[str]:
    """Change a mediator's record (the API's PATCH and the staff page). ``conflict_officer_stars``
    and ``conflict_people``, when given, replace the mediator's conflicts of interest."""
    changed = []
    for name, value in changes.items():
        if name in ("conflict_officer_stars", "conflict_people"):
            kind = "officer" if name == "conflict_officer_stars" else "person"
            wanted = sorted({str(v).strip() for v in value if str(v).strip()})
            current = sorted(c.subject for c in mediator.conflicts if c.kind == kind)
            if wanted != current:
                mediator.conflicts[:] = [c for c in mediator.conflicts if c.kind != kind] + [
                    MediatorConflict(kind=kind, subject=subject) for subject in wanted]
                changed.append(name)
            continue
        if name not in MEDIATOR_FIELDS:
            raise InvalidInput(name, "cannot be changed here")
        if name == "languages":
            value = sorted({normalise_language(v, "languages") for v in value}) or ["en"]
        elif name == "email":
            value = normalise_email(value)
        elif name == "phone" and value:
            value = normalise_phone(value)
        elif name == "time_zone":
            value = normalise_zone(value)
        elif name in ("general_training_hours", "specialized_training_hours") and \
                not 0 <= value <= 10_000:
            raise InvalidInput(name, f"{value} is not a plausible number of hours")
        elif name == "max_sessions_per_week" and not 1 <= value <= 40:
            raise InvalidInput(name, "must be between 1 and 40")
        if getattr(mediator, name) != value:
            setattr(mediator, name, value)
            changed.append(name)
    if changed:
        audit.record(session, at=now, actor=actor, action="mediator.updated",
                     subject_kind="mediator", subject_id=mediator.id, fields=sorted(changed),
                     qualified=_qualified_today(mediator, qualification, now))
    return changed


def update_venue(session: Session, venue: Venue, changes: Mapping[str, Any], *, now: datetime,
                 actor: str) -> list[str]:
    """Change a venue's record (the API's PATCH and the staff page), with intake's checks."""
    changed = []
    for name, value in changes.items():
        if name not in VENUE_FIELDS:
            raise InvalidInput(name, "cannot be changed here")
        if name == "time_zone":
            value = normalise_zone(value)
        if name == "features":
            value = normalise_features(value, "features")
        if name == "capacity" and not 2 <= value <= 500:
            raise InvalidInput("capacity", "must be between 2 and 500")
        if name == "directions":
            value = " ".join((value or "").split())
        if getattr(venue, name) != value:
            setattr(venue, name, value)
            changed.append(name)
    if venue.kind == "in_person" and not venue.address.strip():
        raise InvalidInput("address", "an in-person venue needs an address")
    if venue.kind == "video" and not (venue.video_url or "").startswith("https://"):
        raise InvalidInput("video_url", "a video venue needs an https:// meeting link")
    if changed:
        audit.record(session, at=now, actor=actor, action="venue.updated", subject_kind="venue",
                     subject_id=venue.id, fields=sorted(changed), neutral=venue.neutral)
    return changed


def get_venue(session: Session, venue_id: int) -> Venue:
    venue = session.get(Venue, venue_id)
    if venue is None:
        raise NotFound("venue", venue_id)
    return venue
