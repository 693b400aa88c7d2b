"""Runtime settings, read from ``MEACULPA_*`` environment variables."""

from __future__ import annotations

from typing import Literal

from pydantic import Field, model_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

DEV_SECRET = "dev-only-secret-change-me"  # noqa: S105 - refused outside development


class Settings(BaseSettings):
    """Everything meaculpa reads from its environment.

    ``secret_key`` signs session cookies, CSRF tokens and customer links. Outside
    ``environment=development`` the development default is refused.
    """

    model_config = SettingsConfigDict(env_prefix="MEACULPA_", extra="ignore")

    environment: Literal["development", "test", "production"] = "development"
    database_url: str = "sqlite:///./meaculpa.db"
    secret_key: str = DEV_SECRET
    base_url: str = "http://127.0.0.1:8000"
    # Request bodies above this are refused with 413 before they are parsed.
    max_body_bytes: int = Field(default=1_048_576, ge=1024)
    # Text fields of a message above this many characters are refused with 422.
    max_message_chars: int = Field(default=100_000, ge=100)
    # Run a job worker thread inside the web process. Unset: yes on SQLite, no on PostgreSQL
    # (run ``meaculpa worker`` processes there instead).
    embedded_worker: bool | None = None
    worker_poll_seconds: float = Field(default=1.0, gt=0)
    session_max_age_seconds: int = Field(default=14 * 24 * 3600, ge=60)
    # Database connection pool size (PostgreSQL).
    pool_size: int = Field(default=10, ge=1)
    sql_echo: bool = False

    # Outbound e-mail. With no SMTP host, e-mails are kept as "held" (visible, not sent).
    smtp_host: str = ""
    smtp_port: int = Field(default=25, ge=1, le=65535)
    smtp_username: str = ""
    smtp_password: str = ""
    # "none", "starttls" (upgrade a plain connection) or "tls" (implicit TLS, port 465).
    smtp_security: Literal["none", "starttls", "tls"] = "none"
    smtp_timeout_seconds: float = Field(default=20.0, gt=0)
    mail_from: str = "meaculpa <no-reply@localhost>"
    # Domain used in the Message-ID of outgoing e-mails.
    mail_domain: str = "meaculpa.localhost"

    # Proactive messages (apologies, updates on an error): the most sent per second on each
    # channel, over all workers together, e.g. MEACULPA_OUTREACH_RATES='{"email": 20}'.
    outreach_rates: dict[str, float] = Field(default_factory=lambda: {"email": 20.0})

    @model_validator(mode="after")
    def _refuse_dev_secret(self) -> Settings:
        if self.environment == "production" and self.secret_key == DEV_SECRET:
            raise ValueError("MEACULPA_SECRET_KEY must be set to a long random value in production")
        if self.environment == "production" and len(self.secret_key) < 32:
            raise ValueError("MEACULPA_SECRET_KEY must be at least 32 characters in production")
        return self

    @property
    def is_sqlite(self) -> bool:
        return self.database_url.startswith("sqlite")
