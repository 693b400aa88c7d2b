"""API schemas of the insights domain."""

from __future__ import annotations

from datetime import datetime
from typing import Any, Literal

from pydantic import Field, model_validator

from meaculpa.core.schemas import ReadModel, StrictModel

MAX_TEXTS = 100
#: Characters per text; the rules read 20,000 and the model 2,000 of them anyway.
MAX_TEXT_CHARS = 100_000


class AnalyzeRequest(StrictModel):
    """Either ``texts`` (inbound messages, up to 100) or one ``text`` with its ``kind``."""

    texts: list[str] | None = Field(default=None, min_length=1, max_length=MAX_TEXTS)
    text: str | None = Field(default=None, max_length=MAX_TEXT_CHARS)
    kind: Literal["inbound", "reply"] = "inbound"
    language: Literal["es", "en", "pt", "fr", "ca"] | None = None

    @model_validator(mode="after")
    def _one_of(self) -> AnalyzeRequest:
        if (self.texts is None) == (self.text is None):
            raise ValueError("give either texts (a list) or text (one string)")
        if self.texts is not None:
            if self.kind != "inbound":
                raise ValueError("texts are inbound messages; coach a reply with text and kind")
            for i, t in enumerate(self.texts):
                if len(t) > MAX_TEXT_CHARS:
                    raise ValueError(f"texts[{i}] is longer than {MAX_TEXT_CHARS} characters")
                if "\x00" in t:
                    raise ValueError(f"texts[{i}] contains a NUL character")
        return self


class AnalyzeResponse(ReadModel):
    kind: Literal["inbound", "reply"]
    analyzer: str
    version: str
    analyzers: dict[str, str]
    results: list[dict[str, Any]]


class MessageAnalysisRead(ReadModel):
    message_id: int
    status: Literal["done", "error", "pending"]
    analyzer: str | None = None
    version: str | None = None
    language: str | None = None
    result: dict[str, Any] | None = None
    error: str | None = None
    created_at: datetime | None = None
