from __future__ import annotations

from datetime import datetime

from pydantic import AwareDatetime, Field, field_validator, model_validator

from meaculpa.core.enums import CaseStatus, Channel, Direction, Language
from meaculpa.core.schemas import ReadModel, StrictModel, TimeZoneName
from meaculpa.customers.schemas import IdentityIn

MAX_TEXT = 100_000


class AttachmentIn(StrictModel):
    filename: str = Field(min_length=1, max_length=255)
    content_type: str = Field(default="application/octet-stream", max_length=255)
    size: int = Field(ge=0, le=50 * 1024 * 1024)
    url: str | None = Field(default=None, max_length=2000)
    # SHA-256 of the stored bytes, when meaculpa keeps the file (e-mail attachments).
    sha256: str | None = Field(default=None, pattern=r"^[0-9a-f]{64}$")

    @field_validator("filename")
    @classmethod
    def _no_paths(cls, v: str) -> str:
        if "/" in v or "\\" in v or v in (".", ".."):
            raise ValueError("a file name, not a path")
        return v


class CustomerIn(StrictModel):
    name: str | None = Field(default=None, max_length=200)
    language: Language | None = None
    timezone: TimeZoneName | None = None
    identities: list[IdentityIn] = Field(min_length=1, max_length=20)


class InboundMessage(StrictModel):
    """A message from a customer, from any channel."""

    channel: Channel
    customer: CustomerIn
    text: str = Field(default="", max_length=MAX_TEXT)
    html: str | None = Field(default=None, max_length=MAX_TEXT * 5)
    subject: str = Field(default="", max_length=300)
    language: Language | None = None
    external_id: str | None = Field(default=None, min_length=1, max_length=255)
    sent_at: AwareDatetime | None = None
    attachments: list[AttachmentIn] = Field(default_factory=list, max_length=50)

    @model_validator(mode="after")
    def _has_content(self) -> InboundMessage:
        if not self.text.strip() and not (self.html or "").strip() and not self.attachments:
            raise ValueError("a message needs text, html or an attachment")
        return self


class ReplyIn(StrictModel):
    """An agent's reply to the customer, or an internal note."""

    direction: Direction = Direction.outbound
    text: str = Field(min_length=1, max_length=MAX_TEXT)
    subject: str = Field(default="", max_length=300)
    status: CaseStatus | None = None

    @field_validator("direction")
    @classmethod
    def _not_inbound(cls, v: Direction) -> Direction:
        if v is Direction.inbound:
            raise ValueError("inbound messages arrive through POST /api/v1/messages")
        return v


class AttachmentRead(ReadModel):
    filename: str
    content_type: str
    size: int
    url: str | None = None
    sha256: str | None = None


class MessageRead(ReadModel):
    id: int
    case_id: int
    customer_id: int
    direction: Direction
    channel: Channel
    author_id: int | None
    subject: str
    text: str
    html: str | None
    attachments: list[AttachmentRead]
    external_id: str | None
    sent_at: datetime
    created_at: datetime


class IngestResult(ReadModel):
    created: bool
    message: MessageRead
    case_id: int
    case_reference: str
    case_status: CaseStatus
    customer_id: int
    customer_created: bool
    case_created: bool
