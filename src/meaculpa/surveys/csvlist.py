"""E-mail addresses out of a manager's list: a CSV file (any column) or pasted text."""

from __future__ import annotations

import contextlib
import csv
import io
import re

from meaculpa.core.exceptions import Invalid
from meaculpa.surveys.schemas import MAX_RECIPIENTS

_LOOKS_LIKE_EMAIL = re.compile(r"[^\s,;<>\"']+@[^\s,;<>\"']+")


def emails_from_text(text: str) -> list[str]:
    """Every cell that holds an e-mail address, in order, each once (a header row or other
    columns are ignored). Raises :class:`Invalid` past ``MAX_RECIPIENTS`` addresses."""
    found: dict[str, None] = {}
    dialect: type[csv.Dialect] | csv.Dialect = csv.excel
    with contextlib.suppress(csv.Error):
        dialect = csv.Sniffer().sniff(text[:4096], delimiters=",;\t")
    for row in csv.reader(io.StringIO(text), dialect):
        for cell in row:
            for match in _LOOKS_LIKE_EMAIL.findall(cell):
                found[match.strip().lower()] = None
                if len(found) > MAX_RECIPIENTS:
                    raise Invalid(f"a list has at most {MAX_RECIPIENTS} addresses", field="emails")
    return list(found)


def decode_upload(data: bytes) -> str:
    """A CSV file's text (UTF-8 with or without BOM, else Latin-1 as spreadsheets save it)."""
    try:
        return data.decode("utf-8-sig")
    except UnicodeDecodeError:
        return data.decode("latin-1")
