"""The service's one settings object, read from ``CMP_*`` environment variables (and ``.env``).

Everything an operator may change lives here, validated at start so that a bad value stops the
service with a message naming the variable, instead of failing later in a job at 3 a.m.
"""

from __future__ import annotations

from pathlib import Path
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from pydantic import Field, SecretStr, ValidationError, field_validator, model_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

ENV_PREFIX = "CMP_"


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
        "http://127.0.0.1:8000", description="Base of links in notices and of webhook signatures"
    )
    secret_key: SecretStr = Field(
        SecretStr("dev-only-change-me-0123456789abcdef"),
        description="Signs party links and session cookies, seals stored calendar credentials; set a "
        "long random value in production (changing it means entering calendar secrets again)",
    )

    # --- HTTP ----------------------------------------------------------------------------------
    host: str = Field("127.0.0.1", description="Address `serve` listens on")
    port: int = Field(8000, description="Port `serve` listens on")

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
    dispatch_interval_seconds: float = Field(5.0, gt=0, description="How often the outbox is polled")

    # --- scheduling ----------------------------------------------------------------------------
    reminder_offsets_hours: list[int] = Field(
        default_factory=lambda: [72, 24], description="Reminders to parties, hours before"
    )
    mediator_reminder_offsets_hours: list[int] = Field(
        default_factory=lambda: [48], description="Reminders to mediators, hours before")
    sms_reminder_offset_hours: int | None = Field(2, description="Last-minute SMS reminder")
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
    def sms_configured(self) -> bool:
        return self.twilio_account_sid is not None

    @property
    def email_configured(self) -> bool:
        return self.sendgrid_api_key is not None

    def describe(self) -> list[tuple[str, str]]:
        """(variable, value) pairs with secrets masked, for `main.py config` and start-up logs."""
        rows = []
        for name in type(self).model_fields:
            value = getattr(self, name)
            shown = "********" if isinstance(value, SecretStr) else str(value)
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
        raise SettingsError("invalid configuration:\n  " + "\n  ".join(lines)) from None
