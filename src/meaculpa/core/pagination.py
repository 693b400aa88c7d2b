"""Keyset (cursor) pagination over ascending or descending integer ids."""

from __future__ import annotations

import base64
import json
from typing import Any

from meaculpa.core.exceptions import Invalid

MAX_LIMIT = 200
DEFAULT_LIMIT = 50


def encode_cursor(last_id: int) -> str:
    raw = json.dumps({"id": last_id}, separators=(",", ":")).encode()
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


def decode_cursor(cursor: str | None) -> int | None:
    if not cursor:
        return None
    try:
        padded = cursor + "=" * (-len(cursor) % 4)
        data: Any = json.loads(base64.urlsafe_b64decode(padded.encode()))
        value = data["id"]
        if not isinstance(value, int) or isinstance(value, bool):
            raise TypeError
        return value
    except (ValueError, KeyError, TypeError) as exc:
        raise Invalid("the cursor is not one this API gave out", field="cursor") from exc


def page_of(rows: list[Any], limit: int) -> tuple[list[Any], str | None]:
    """Given ``limit + 1`` rows, return the page and the cursor of the next one."""
    if len(rows) > limit:
        rows = rows[:limit]
        return rows, encode_cursor(rows[-1].id)
    return rows, None
