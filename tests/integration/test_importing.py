from __future__ import annotations

from pathlib import Path

import pytest
from sqlalchemy import select
from sqlalchemy.orm import Session

from cases.calendar_urls import AllowedHosts
from cases.clock import FixedClock
from cases.errors import InvalidInput
from cases.importing import import_csv
from cases.models import Case, Mediator, Venue
from tests.support import FIXTURES
from tests.support.factories import policy


def test_case_import_keeps_good_rows_and_names_each_bad_one(db: Session, clock: FixedClock) -> None:
    report = import_csv(db, FIXTURES / "cases.csv", "cases", policy=policy(), now=clock.now(),
                        actor="test")
    db.commit()
    assert report.imported == 3
    messages = [str(e) for e in report.errors]
    assert messages == [
        "line 4: parties[0].phone: '12345' is not a valid phone number",
        "line 5: parties[0].email: 'not-an-email' is not a valid email address: "
        "An email address must have an @-sign.",
        "line 6: parties[0].language: unsupported language 'tlh' (supported: en (English), "
        "es (Español), pl (Polski), zh (中文), ar (العربية))",
        "line 8: log_number: a case with this log number already exists",
        "line 9: incident_date: '2026-13-01' is not a date (YYYY-MM-DD)",
        "line 10: injury: 'maybe' is not yes/no",
    ]
    stored = {c.log_number: c for c in db.scalars(select(Case))}
    assert set(stored) == {"2026-1001", "2026-1002", "2026-1006"}
    assert stored["2026-1006"].recommendation == "ineligible"
    assert stored["2026-1002"].allegation_categories == ["unprofessionalism",
                                                         "failure_to_provide_service"]


def test_mediator_and_venue_imports(db: Session, clock: FixedClock) -> None:
    mediators = import_csv(db, FIXTURES / "mediators.csv", "mediators", policy=policy(),
                           now=clock.now(), actor="test")
    venues = import_csv(db, FIXTURES / "venues.csv", "venues", policy=policy(),
                        now=clock.now(), actor="test")
    db.commit()
    assert mediators.imported == 3
    assert [str(e) for e in mediators.errors] == [
        "line 5: general_hours: 'forty' is not a number",
        "line 6: languages: unsupported language 'vulcan' (supported: en (English), "
        "es (Español), pl (Polski), zh (中文), ar (العربية))",
    ]
    jan = db.scalars(select(Mediator).where(Mediator.full_name == "Jan Nowak")).one()
    assert [c.subject for c in jan.conflicts] == ["4411"]
    assert venues.imported == 3
    assert [str(e) for e in venues.errors] == [
        "line 5: opening_hours: 'weekdays nine to five' is not like 'mon-fri 09:00-17:00'",
        "line 6: neutral: is required (yes or no)"]  # never taken as neutral by default
    assert db.scalars(select(Venue).where(Venue.name == "Unsaid Community Centre")).all() == []
    station = db.scalars(select(Venue).where(Venue.name == "District 1 Station")).one()
    assert station.neutral is False
    library = db.scalars(select(Venue).where(Venue.name == "Harold Washington Library")).one()
    assert library.opening_hours["5"] == [["09:00", "20:00"]]
    assert "6" not in library.opening_hours


@pytest.mark.parametrize(("content", "message"), [
    ("log_number,incident_date\n1,2026-01-01\n", "missing column(s): categories, complainant_name"),
    ("full_name,email\n", "missing column(s): general_hours, specialized_hours"),
    ("name,kind,address\nLibrary,in_person,400 S State St\n", "missing column(s): neutral"),
])
def test_malformed_csv_is_refused_whole(db: Session, clock: FixedClock, tmp_path: Path,
                                        content: str, message: str) -> None:
    path = tmp_path / "bad.csv"
    path.write_text(content)
    kind = "cases" if content.startswith("log") else \
        "venues" if content.startswith("name") else "mediators"
    with pytest.raises(InvalidInput, match=message.replace("(", r"\(").replace(")", r"\)")):
        import_csv(db, path, kind, policy=policy(), now=clock.now(), actor="test")


def test_extra_values_and_binary_files_are_refused(db: Session, clock: FixedClock,
                                                   tmp_path: Path) -> None:
    extra = tmp_path / "extra.csv"
    extra.write_text("name,kind,neutral\nLibrary,in_person,yes,surplus\n")
    with pytest.raises(InvalidInput, match="line 2: more values than columns"):
        import_csv(db, extra, "venues", policy=policy(), now=clock.now(), actor="test")
    binary = tmp_path / "photo.csv"
    binary.write_bytes(b"\xff\xd8\xff\xe0\x00\x10JFIF")
    with pytest.raises(InvalidInput, match="is not UTF-8 text"):
        import_csv(db, binary, "venues", policy=policy(), now=clock.now(), actor="test")


def test_the_name_for_messages_is_a_csv_column(db: Session, clock: FixedClock,
                                               tmp_path: Path) -> None:
    from cases.models import Party

    path = tmp_path / "cases.csv"
    path.write_text(
        "log_number,incident_date,categories,complainant_name,complainant_message_name,"
        "complainant_phone,officer_name,officer_star,officer_email,officer_message_name\n"
        "2026-2001,2026-09-14,perceived_bias,عبد الرحمن محمود,عبد الرحمن,(312) 746-2001,"
        "P. Kowalski,4411,pk@example.org,\n", encoding="utf-8")
    report = import_csv(db, path, "cases", policy=policy(), now=clock.now(), actor="test")
    assert report.imported == 1, report.errors
    names = {p.role: p.message_name for p in db.scalars(select(Party))}
    assert names == {"complainant": "عبد الرحمن", "officer": None}


def test_a_mediator_row_with_a_calendar_inside_the_network_is_rejected(
        db: Session, clock: FixedClock, tmp_path: Path) -> None:
    csv_path = tmp_path / "mediators.csv"
    csv_path.write_text(
        "full_name,email,general_hours,specialized_hours,calendar_kind,calendar_url\n"
        "Rosa Alvarez,rosa@example.org,40,25,ics,https://calendar.example.org/rosa.ics\n"
        "Inside Job,inside@example.org,40,25,ics,http://169.254.169.254/latest/meta-data/\n"
        "No Host,nohost@example.org,40,25,caldav,https:///dav/\n"
        "Dav Local,dav@example.org,40,25,caldav,http://10.0.0.7:5232/dav/\n")
    report = import_csv(db, csv_path, "mediators", policy=policy(), now=clock.now(), actor="test")
    assert report.imported == 1
    assert [str(e) for e in report.errors] == [
        "line 3: calendar_url: 169.254.169.254 is a link-local address; calendars are read only "
        "from public addresses (or hosts in CMP_CALENDAR_ALLOWED_HOSTS)",
        "line 4: calendar_url: has no host name (like https://calendar.example.org/...)",
        "line 5: calendar_url: 10.0.0.7 is a private address; calendars are read only from "
        "public addresses (or hosts in CMP_CALENDAR_ALLOWED_HOSTS)",
    ]
    allowed = import_csv(db, csv_path, "mediators", policy=policy(), now=clock.now(),
                         actor="test", calendar_hosts=AllowedHosts.parse(["10.0.0.7:5232"]))
    assert [e.line for e in allowed.errors] == [3, 4]
