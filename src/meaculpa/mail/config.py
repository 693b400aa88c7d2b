"""Settings of the e-mail channel, read from ``MEACULPA_*`` environment variables.

They live here, beside the channel, rather than in :mod:`meaculpa.settings`: only the mail
domain reads them. Read them through :func:`mail_config` (each call reads the environment,
so a test or an operator's change is seen at once; it is called once per e-mail).
"""

from __future__ import annotations

from pathlib import Path

from pydantic import Field
from pydantic_settings import BaseSettings, SettingsConfigDict

MB = 1024 * 1024


class MailConfig(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="MEACULPA_", extra="ignore")

    # Where attachment bytes are kept, one file per SHA-256 (content-addressed).
    attachments_dir: Path = Path("./attachments")
    # An attachment above this is dropped (with a note in the message), never stored in part.
    mail_max_attachment_bytes: int = Field(default=10 * MB, ge=1)
    # The attachments of one e-mail together; the ones that do not fit are dropped.
    mail_max_attachments_total_bytes: int = Field(default=25 * MB, ge=1)
    # A raw e-mail above this is refused (413) before it is parsed.
    mail_max_raw_bytes: int = Field(default=40 * MB, ge=1024)
    # An HTML body above this many characters is refused (422): no one writes that much.
    mail_max_html_chars: int = Field(default=1_000_000, ge=1000)
    # A reply to a resolved or closed case within this many days reopens it; later, a new case.
    mail_reopen_days: int = Field(default=14, ge=0)


def mail_config() -> MailConfig:
    return MailConfig()
