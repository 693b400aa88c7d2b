"""Input hygiene shared by every analyzer.

Every analyzer receives text that went through :func:`prepare`: lone surrogates and other
unencodable code points are replaced, very long texts are cut, and a length-preserving
"folded" copy (lower case, accents removed) is built so rule patterns can be written once
without accents while their spans still point into the original text.
"""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass

#: Characters of a message the rule analyzers look at (about 20 pages of text).
MAX_RULE_CHARS = 20_000
#: Characters passed to the embedding model (a long e-mail; the rest is ignored).
MAX_MODEL_CHARS = 2_000

_SURROGATE = re.compile("[\ud800-\udfff]")
_WS = re.compile(r"\s+")


@dataclass(frozen=True, slots=True)
class PreparedText:
    """A sanitized, possibly truncated text plus its folded twin (same length)."""

    original_length: int
    text: str
    folded: str
    truncated: bool
    replaced_invalid: int

    @property
    def model_text(self) -> str:
        """The part given to the embedding model (whitespace collapsed, cut)."""
        return _WS.sub(" ", self.text[:MAX_MODEL_CHARS]).strip()

    @property
    def model_truncated(self) -> bool:
        return self.truncated or len(self.text) > MAX_MODEL_CHARS


def decode_bytes(data: bytes) -> str:
    """Decode UTF-8 strictly; raise ``ValueError`` with the byte offset on failure."""
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise ValueError(f"invalid UTF-8 at byte {exc.start}: {exc.reason}") from exc


def sanitize(text: str) -> tuple[str, int]:
    """Replace lone surrogates and NUL characters by U+FFFD; return text and count."""
    count = 0

    def _sub(_: re.Match[str]) -> str:
        nonlocal count
        count += 1
        return "\ufffd"

    cleaned = _SURROGATE.sub(_sub, text)
    if "\x00" in cleaned:
        count += cleaned.count("\x00")
        cleaned = cleaned.replace("\x00", "\ufffd")
    return cleaned, count


def fold(text: str) -> str:
    """Lower-case and strip accents, one output character per input character."""
    out = []
    for ch in text:
        low = ch.lower()
        if len(low) != 1:
            low = ch
        if ord(low) < 128:
            out.append(low)
            continue
        if low == "ñ":
            out.append("n")
            continue
        if low in "\u2019\u2018\u02bc\u00b4":
            out.append("'")
            continue
        base = unicodedata.normalize("NFD", low)[0]
        out.append(base if len(base) == 1 else low)
    return "".join(out)


def prepare(text: object) -> PreparedText:
    """Validate and prepare one input text.

    Raises ``ValueError`` for anything that is not ``str`` (``bytes`` are decoded as
    strict UTF-8 first, so invalid bytes give a ``ValueError`` naming the offset).
    """
    if isinstance(text, bytes | bytearray):
        text = decode_bytes(bytes(text))
    if not isinstance(text, str):
        raise ValueError(f"text must be a string, got {type(text).__name__}")
    cleaned, replaced = sanitize(text)
    truncated = len(cleaned) > MAX_RULE_CHARS
    if truncated:
        cleaned = cleaned[:MAX_RULE_CHARS]
    return PreparedText(
        original_length=len(text),
        text=cleaned,
        folded=fold(cleaned),
        truncated=truncated,
        replaced_invalid=replaced,
    )


def letters_ratio_upper(text: str) -> float:
    """Share of upper-case letters among cased letters (0 when there are none)."""
    upper = lower = 0
    for ch in text:
        if ch.isupper():
            upper += 1
        elif ch.islower():
            lower += 1
    total = upper + lower
    return upper / total if total else 0.0
