"""The service's one settings object, read from ``CMP_*`` environment variables (and ``.env``).

Everything an operator may change lives here, validated at start so that a bad value stops the
service with a message naming the variable, instead of failing later in a job at 3 a.m.
"""

from __future__ import annotations

import logging
import os
import secrets
import socket
import stat
from pathlib import Path
from typing import Literal
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from pydantic import Field, SecretStr, ValidationError, field_validator, model_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

ENV_PREFIX = "CMP_"
MIN_SECRET_KEY_BYTES = 32
log = logging.getLogger(__name__)


class SettingsError(Exception):
    """Raised with one readable line per bad variable."""


class Settings(BaseSettings):
    model_config = SettingsConfigDict(
        env_prefix=ENV_PREFIX, env_file=".env", env_file_encoding="utf-8", extra="ignore"
    )

    # --- storage -------------------------------------------------------------------------------
    database_url: str = Field(
        "sqlite:///var/cmp.db",
        description="SQLAlchemy URL; sqlite:///path or postgresql+psycopg://user@host/db",
    )
    migrate_on_start: bool = Field(True, description="Run `db upgrade` when `serve` starts")
    policy_file: Path | None = Field(
        None, description="Eligibility policy (TOML); the built-in COPA defaults when unset"
    )

    # --- program identity ----------------------------------------------------------------------
    program_name: str = Field("Community Mediation Program", description="Name used in notices")
    program_phone: str = Field("+13127463594", description="Shown in HELP replies and notices")
    program_email: str = Field("mediation@example.org", description="Organizer of invites")
    time_zone: str = Field("America/Chicago", description="Program's display zone")
    public_base_url: str = Field(
        "", description="Base of links in notices and of webhook signatures; unset: where `serve` "
        "listens, http://CMP_HOST:CMP_PORT (127.0.0.1 for an all-interfaces host)"
    )
    secret_key: SecretStr | None = Field(
        None,
        description="Signs party links and session cookies, seals stored calendar credentials; at "
        "least 32 bytes. Unset: a random key is generated on first start and kept in "
        "CMP_SECRET_KEY_FILE",
    )
    secret_key_file: Path | None = Field(
        None,
        description="Where the generated key is kept (mode 0600) when CMP_SECRET_KEY is unset; "
        "unset: `secret_key` beside the SQLite database, or `var/secret_key` for PostgreSQL",
    )

    # --- HTTP ----------------------------------------------------------------------------------
    host: str = Field("127.0.0.1", description="Address `serve` listens on")
    port: int = Field(8000, description="Port `serve` listens on")
    max_body_bytes: int = Field(
        1024 * 1024, ge=1024, description="Largest request body accepted (413 beyond, counted while "
        "reading)")
    max_webhook_body_bytes: int = Field(
        64 * 1024, ge=1024, description="Largest body accepted on the provider webhooks (`/webhooks/`)")
    login_window_minutes: int = Field(
        15, ge=1, description="Sign-in attempts are counted over this many minutes")
    login_max_failures_per_account: int = Field(
        5, ge=1, description="Failed sign-ins to one account, from anywhere, before it is held")
    login_max_failures_per_address: int = Field(
        10, ge=1, description="Failed sign-ins from one address, to any accounts, before it is held")
    party_change_requests_per_day: int = Field(
        3, ge=1, description="Change requests one party can send staff from the booking page per 24 h")

    # --- notifications -------------------------------------------------------------------------
    outbox_dir: Path = Field(Path("var/outbox"), description="File outbox used without credentials")
    twilio_account_sid: str | None = Field(
        None, description="Twilio account; SMS goes to the file outbox when unset")
    twilio_auth_token: SecretStr | None = Field(
        None, description="Twilio auth token (also validates webhooks)")
    twilio_from_number: str | None = Field(None, description="Sending number, E.164")
    twilio_base_url: str | None = Field(
        None, description="Point the Twilio SDK elsewhere (the bundled emulator)"
    )
    line_lookup: bool = Field(
        True, description="Check each party's number with Twilio Lookup (line type) when Twilio is set")
    line_lookup_max_age_days: int = Field(
        180, ge=1, description="A number's line type is looked up again after this many days")
    line_lookup_interval_seconds: float = Field(
        60.0, gt=0, description="How often numbers not yet checked are looked up")
    line_lookup_timeout_seconds: float = Field(
        5.0, gt=0, description="A lookup without an answer by then is retried later")
    line_lookup_retry_minutes: float = Field(
        5.0, gt=0, description="First retry of a failed lookup (doubling, at most 12 hours)")
    sendgrid_api_key: SecretStr | None = Field(
        None, description="SendGrid key; email goes to the file outbox when unset")
    sendgrid_from_email: str | None = Field(None, description="Verified sender address")
    sendgrid_base_url: str | None = Field(
        None, description="Point the SendGrid SDK elsewhere (the bundled emulator)"
    )
    sendgrid_webhook_public_key: str | None = Field(
        None, description="Base64 ECDSA public key of the SendGrid Event Webhook"
    )
    quiet_hours_start: int = Field(21, ge=0, le=23, description="No SMS from this local hour")
    quiet_hours_end: int = Field(8, ge=0, le=23, description="…until this local hour")
    max_send_attempts: int = Field(6, ge=1, le=50, description="Attempts before a notice is dead-lettered")
    dispatch_batch_size: int = Field(50, ge=1, le=1000, description="Notices claimed per dispatcher round")
    dispatch_interval_seconds: float = Field(
        5.0, gt=0, description="Safety-net poll of the outbox (a new notice wakes the dispatcher at once)")
    dispatch_concurrency: int = Field(
        64, ge=1, le=256, description="Sends one dispatcher has in flight at once")
    twilio_sender_type: Literal["long_code", "toll_free", "short_code"] = Field(
        "long_code", description="What CMP_TWILIO_FROM_NUMBER is; sets its rate below")
    sms_rate_long_code: float = Field(1.0, gt=0, description="SMS per second a long code may send")
    sms_rate_toll_free: float = Field(3.0, gt=0, description="SMS per second a toll-free number may send")
    sms_rate_short_code: float = Field(100.0, gt=0, description="SMS per second a short code may send")
    email_rate_per_second: float = Field(100.0, gt=0, description="Emails per second per SendGrid key")

    # --- scheduling ----------------------------------------------------------------------------
    calendar_pull_minutes: int = Field(30, ge=1, description="How often mediators' calendars are read")
    calendar_allowed_hosts: list[str] = Field(
        default_factory=list, description="Calendar hosts (`host` or `host:port`, JSON list) read "
        "even on loopback or private addresses, e.g. an in-house CalDAV server; none by default")
    worker_id: str | None = Field(None, description="Name of this worker in leases and logs")

    @field_validator("time_zone")
    @classmethod
    def _known_zone(cls, value: str) -> str:
        try:
            ZoneInfo(value)
        except (ZoneInfoNotFoundError, ValueError) as exc:
            raise ValueError(f"unknown time zone {value!r} (use an IANA name)") from exc
        return value

    @field_validator("secret_key")
    @classmethod
    def _long_secret(cls, value: SecretStr | None) -> SecretStr | None:
        if value is not None:
            check_secret_key(value.get_secret_value(), "is")
        return value

    @field_validator("calendar_allowed_hosts")
    @classmethod
    def _allowed_hosts_parse(cls, value: list[str]) -> list[str]:
        from cases.calendar_urls import AllowedHosts

        AllowedHosts.parse(value)  # raises ValueError naming the bad entry
        return value

    @field_validator("database_url")
    @classmethod
    def _supported_database(cls, value: str) -> str:
        if not value.startswith(("sqlite", "postgresql")):
            raise ValueError("only sqlite:/// and postgresql+psycopg:// URLs are supported")
        return value

    @model_validator(mode="after")
    def _links_where_serve_listens(self) -> Settings:
        """Links in notices must reach this service: with no public URL set, they point where
        `serve` listens, so changing CMP_PORT (or CMP_HOST) moves them too."""
        if not self.public_base_url.strip():
            host = "127.0.0.1" if self.host in ("", "0.0.0.0", "::") else self.host
            host = f"[{host}]" if ":" in host else host
            self.public_base_url = f"http://{host}:{self.port}"
        return self

    @model_validator(mode="after")
    def _credentials_complete(self) -> Settings:
        twilio = [self.twilio_account_sid, self.twilio_auth_token, self.twilio_from_number]
        if any(twilio) and not all(twilio):
            raise ValueError(
                "Twilio needs CMP_TWILIO_ACCOUNT_SID, CMP_TWILIO_AUTH_TOKEN and "
                "CMP_TWILIO_FROM_NUMBER together"
            )
        if bool(self.sendgrid_api_key) != bool(self.sendgrid_from_email):
            raise ValueError("SendGrid needs CMP_SENDGRID_API_KEY and CMP_SENDGRID_FROM_EMAIL together")
        return self

    @property
    def signing_key(self) -> str:
        """The secret key; :raises SettingsError: neither set nor read yet (see ``with_secret_key``)."""
        if self.secret_key is None:
            raise SettingsError("no secret key: set CMP_SECRET_KEY, or start through main.py, which "
                                "reads or creates CMP_SECRET_KEY_FILE")
        return self.secret_key.get_secret_value()

    @property
    def worker_name(self) -> str:
        """This process in leases, heartbeats and logs: ``CMP_WORKER_ID``, or ``host:pid``."""
        return self.worker_id or f"{socket.gethostname()}:{os.getpid()}"

    @property
    def sms_rate_per_second(self) -> float:
        """The configured Twilio sender's rate: its type's rate (Twilio's published limits)."""
        rate: float = getattr(self, f"sms_rate_{self.twilio_sender_type}")
        return rate

    def describe(self) -> list[tuple[str, str]]:
        """(variable, value) pairs with secrets masked, for `main.py config` and start-up logs."""
        rows = []
        for name in type(self).model_fields:
            value = getattr(self, name)
            shown = "********" if isinstance(value, SecretStr) else str(value)
            if name == "secret_key" and value is None:
                shown = f"(kept in {secret_key_path(self)})"
            rows.append((f"{ENV_PREFIX}{name.upper()}", shown))
        return rows


def load_settings(**overrides: object) -> Settings:
    """Build settings from the environment, turning pydantic's errors into one line per variable."""
    try:
        return Settings(**overrides)  # type: ignore[arg-type]
    except ValidationError as exc:
        lines = []
        for err in exc.errors():
            where = ".".join(str(p) for p in err["loc"])
            name = f"{ENV_PREFIX}{where.upper()}" if where else "settings"
            lines.append(f"{name}: {err['msg']}")
        if len(lines) == 1:
            raise SettingsError(f"invalid configuration: {lines[0]}") from None
        raise SettingsError("invalid configuration:\n  " + "\n  ".join(lines)) from None


# --- the secret key ------------------------------------------------------------------------------

def check_secret_key(key: str, what: str) -> str:
    if len(key.encode()) < MIN_SECRET_KEY_BYTES:
        raise ValueError(f"{what} shorter than {MIN_SECRET_KEY_BYTES} bytes; generate one with "
                         "`python -c 'import secrets; print(secrets.token_urlsafe(48))'`")
    return key


def secret_key_path(settings: Settings) -> Path:
    """CMP_SECRET_KEY_FILE, else ``secret_key`` beside the SQLite database, else var/secret_key."""
    if settings.secret_key_file is not None:
        return settings.secret_key_file
    prefix = "sqlite:///"
    if settings.database_url.startswith(prefix):
        database = settings.database_url.removeprefix(prefix).split("?", 1)[0]
        if database and database != ":memory:":
            return Path(database).parent / "secret_key"
    return Path("var/secret_key")


def _read_key_file(path: Path) -> str:
    try:
        mode = path.stat().st_mode
        if mode & (stat.S_IRWXG | stat.S_IRWXO):
            raise SettingsError(f"CMP_SECRET_KEY_FILE: {path} is readable by others "
                                f"(mode {stat.S_IMODE(mode):04o}); run `chmod 600 {path}`")
        key = path.read_text(encoding="utf-8").strip()
    except (OSError, UnicodeError) as exc:
        raise SettingsError(f"CMP_SECRET_KEY_FILE: cannot read {path}: "
                            f"{getattr(exc, 'strerror', None) or exc}") from None
    try:
        return check_secret_key(key, f"the key in {path} is")
    except ValueError as exc:
        raise SettingsError(f"CMP_SECRET_KEY_FILE: {exc}") from None


def _create_key_file(path: Path) -> None:
    """Write a new random key so that it appears whole or not at all, and never over another
    process's: written to a private temporary file, then hard-linked into place."""
    path.parent.mkdir(parents=True, exist_ok=True)
    temporary = path.with_name(f".{path.name}.{secrets.token_hex(8)}")
    fd = os.open(temporary, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as out:
            out.write(secrets.token_urlsafe(48) + "\n")
        try:
            os.link(temporary, path)
            log.warning("generated a new secret key in %s (mode 0600); keep it with the database "
                        "backups", path)
        except FileExistsError:
            pass  # another process created it first: use theirs
    finally:
        temporary.unlink(missing_ok=True)


def resolve_secret_key(settings: Settings) -> str:
    """CMP_SECRET_KEY if set, else the key kept in the key file, created on first start.

    :raises SettingsError: the file cannot be written or read, is open to other users, or holds
        a key shorter than 32 bytes (one line, naming the variable).
    """
    if settings.secret_key is not None:
        return settings.secret_key.get_secret_value()
    path = secret_key_path(settings)
    if not path.exists():
        try:
            _create_key_file(path)
        except OSError as exc:
            raise SettingsError(f"CMP_SECRET_KEY_FILE: cannot create {path}: "
                                f"{exc.strerror or exc}; set CMP_SECRET_KEY or "
                                "CMP_SECRET_KEY_FILE") from None
    return _read_key_file(path)


def with_secret_key(settings: Settings) -> Settings:
    """The same settings with ``secret_key`` filled in (``resolve_secret_key``)."""
    if settings.secret_key is not None:
        return settings
    return settings.model_copy(update={"secret_key": SecretStr(resolve_secret_key(settings))})
