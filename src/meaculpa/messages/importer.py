"""Importing inbound messages in bulk from a CSV or JSON Lines file.

Every row is one inbound customer message, validated with the same schema as
``POST /api/v1/messages`` and ingested with :func:`do_ingest_message`, so a row imported
from a file and a message sent to the API end up exactly alike (customer matched or
created, case threaded or opened, audit events written).

Rows are committed in batches; each row runs inside a SAVEPOINT of its own, so a row that
fails leaves nothing of itself behind while the good rows around it land. Re-importing the
same file creates nothing new for rows that carry an ``external_id`` (the pair
``(channel, external_id)`` identifies a message).

A problem with the file as a whole (unknown or missing columns, an undecodable header, no
rows at all) raises :class:`ImportRefused` before anything is written. A problem with one row
is reported as a :class:`RejectedRow` naming its physical line in the file and the field.
"""

from __future__ import annotations

import csv
import json
import os
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, BinaryIO, Literal

from pydantic import ValidationError
from sqlalchemy.exc import DataError, IntegrityError
from sqlalchemy.orm import Session

from meaculpa.core.audit import Actor
from meaculpa.core.db import Database
from meaculpa.core.enums import IdentityKind
from meaculpa.core.exceptions import ProblemError
from meaculpa.messages.actions import do_ingest_message
from meaculpa.messages.schemas import InboundMessage

Format = Literal["csv", "jsonl"]

EXTENSIONS: dict[str, Format] = {".csv": "csv", ".jsonl": "jsonl", ".ndjson": "jsonl"}

# One CSV record or JSON line larger than this is refused without being parsed.
MAX_RECORD_BYTES = 1_048_576
# Rows committed together; each row still has a savepoint of its own.
BATCH_SIZE = 200

# CSV columns that map onto a field of the message (or of its customer).
MESSAGE_COLUMNS = ("channel", "external_id", "sent_at", "subject", "text", "html", "language")
CUSTOMER_COLUMNS = {
    "customer_name": "name",
    "customer_language": "language",
    "customer_timezone": "timezone",
}
# One column per identity kind: email, phone, twitter, facebook, instagram, whatsapp, external.
IDENTITY_COLUMNS = tuple(kind.value for kind in IdentityKind)
CSV_COLUMNS = (*MESSAGE_COLUMNS, *CUSTOMER_COLUMNS, *IDENTITY_COLUMNS)


class ImportRefused(Exception):
    """The file cannot be imported at all; nothing was written."""


@dataclass(frozen=True)
class RejectedRow:
    line: int
    reason: str
    field: str | None = None

    def __str__(self) -> str:
        where = f"{self.field}: " if self.field else ""
        return f"line {self.line}: {where}{self.reason}"


@dataclass
class ImportSummary:
    format: Format
    rows: int = 0
    imported: int = 0
    duplicates: int = 0
    customers_created: int = 0
    cases_created: int = 0
    rejected: list[RejectedRow] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return not self.rejected


@dataclass(frozen=True)
class _Row:
    """One record read from the file: its data, or why it could not be read."""

    line: int
    data: dict[str, Any] | None = None
    error: RejectedRow | None = None
    # For CSV: the column behind each position of customer.identities.
    identity_columns: tuple[str, ...] = ()


def detect_format(path: str | os.PathLike[str], explicit: str | None = None) -> Format:
    if explicit:
        if explicit not in ("csv", "jsonl"):
            raise ImportRefused(f"unknown format {explicit!r}; use csv or jsonl")
        return explicit  # type: ignore[return-value]
    suffix = Path(path).suffix.lower()
    if suffix not in EXTENSIONS:
        raise ImportRefused(
            f"cannot tell the format from the name {Path(path).name!r}: "
            "use a .csv, .jsonl or .ndjson file, or give --format csv|jsonl"
        )
    return EXTENSIONS[suffix]


class _LineSource:
    """Physical lines of a binary file, decoded as UTF-8 one by one.

    Lines that are not valid UTF-8 are decoded with replacement characters (so the CSV
    parser keeps its place) and their numbers remembered, so the record they belong to can
    be rejected. ``bytes_read`` feeds the progress bar.
    """

    def __init__(self, handle: BinaryIO) -> None:
        self.handle = handle
        self.bytes_read = 0
        self.line_no = 0
        self.bad_lines: set[int] = set()
        self.long_lines: set[int] = set()

    def __iter__(self) -> Iterator[str]:
        for raw in self.handle:
            self.line_no += 1
            self.bytes_read += len(raw)
            if self.line_no == 1 and raw.startswith(b"\xef\xbb\xbf"):
                raw = raw[3:]
            if len(raw) > MAX_RECORD_BYTES:
                self.long_lines.add(self.line_no)
            try:
                yield raw.decode("utf-8")
            except UnicodeDecodeError:
                self.bad_lines.add(self.line_no)
                yield raw.decode("utf-8", errors="replace")


def _undecodable(line: int, first: int) -> RejectedRow:
    if line == first:
        reason = "the line is not valid UTF-8 text (save the file as UTF-8)"
    else:
        reason = f"line {line} of this record is not valid UTF-8 text (save the file as UTF-8)"
    return RejectedRow(first, reason)


def _too_long(first: int) -> RejectedRow:
    return RejectedRow(first, f"the record is larger than {MAX_RECORD_BYTES // 1024} KiB")


def _has_nul(value: Any) -> bool:
    if isinstance(value, str):
        return "\x00" in value
    if isinstance(value, dict):
        return any(_has_nul(v) for v in value.values())
    if isinstance(value, list):
        return any(_has_nul(v) for v in value)
    return False


def _read_csv(
    source: _LineSource,
    check_header: Callable[[list[str]], None] | None = None,
    make_row: Callable[[int, dict[str, str]], _Row] | None = None,
) -> Iterator[_Row]:
    """CSV records as rows. Other importers pass their own header check and row builder."""
    check_header = check_header or _check_header
    make_row = make_row or _csv_row
    # Fields may be large (an HTML body); MAX_RECORD_BYTES bounds a record anyway.
    if csv.field_size_limit() < MAX_RECORD_BYTES + 1:
        csv.field_size_limit(MAX_RECORD_BYTES + 1)
    reader = csv.reader(source, strict=True)
    try:
        header = next(reader)
    except StopIteration:
        raise ImportRefused("the file is empty") from None
    except csv.Error as exc:
        raise ImportRefused(f"line 1: the header cannot be read: {exc}") from exc
    if source.bad_lines or source.long_lines:
        raise ImportRefused("line 1: the header is not valid UTF-8 text (save the file as UTF-8)")
    columns = [name.strip().lower() for name in header]
    check_header(columns)

    last_line = source.line_no
    while True:
        try:
            record = next(reader)
        except StopIteration:
            return
        except csv.Error as exc:
            first = last_line + 1
            last_line = source.line_no
            if "end of data" in str(exc) or "EOF" in str(exc):
                yield _Row(
                    first,
                    error=RejectedRow(
                        first,
                        'a quoted field is never closed: a " is missing before the end of '
                        "the file, so the rest of the file was read as one field",
                    ),
                )
                return
            if "field larger than field limit" in str(exc):
                yield _Row(first, error=_too_long(first))
                continue
            yield _Row(first, error=RejectedRow(first, f"the CSV record cannot be read: {exc}"))
            continue
        first, last_line = last_line + 1, source.line_no
        if not record or all(not cell.strip() for cell in record):
            continue  # blank lines are allowed
        span = range(first, last_line + 1)
        bad = next((n for n in span if n in source.bad_lines), None)
        if bad is not None:
            yield _Row(first, error=_undecodable(bad, first))
            continue
        if any(n in source.long_lines for n in span):
            yield _Row(first, error=_too_long(first))
            continue
        if sum(len(cell) for cell in record) > MAX_RECORD_BYTES:
            yield _Row(first, error=_too_long(first))
            continue
        if len(record) != len(columns):
            yield _Row(
                first,
                error=RejectedRow(
                    first, f"the row has {len(record)} fields but the header has {len(columns)}"
                ),
            )
            continue
        yield make_row(first, dict(zip(columns, record, strict=True)))


def _check_header(columns: list[str]) -> None:
    if not any(columns) or columns == [""]:
        raise ImportRefused("line 1: the header is empty; the first line names the columns")
    unknown = [c for c in columns if c not in CSV_COLUMNS]
    if unknown:
        raise ImportRefused(
            f"unknown column{'s' if len(unknown) > 1 else ''} {', '.join(map(repr, unknown))}; "
            f"the columns are: {', '.join(CSV_COLUMNS)}"
        )
    repeated = sorted({c for c in columns if columns.count(c) > 1})
    if repeated:
        raise ImportRefused(f"column {', '.join(map(repr, repeated))} appears more than once")
    if "channel" not in columns:
        raise ImportRefused("the column 'channel' is missing")
    if not any(c in IDENTITY_COLUMNS for c in columns):
        raise ImportRefused(
            "no identity column: give at least one of " + ", ".join(IDENTITY_COLUMNS)
        )
    if "text" not in columns and "html" not in columns:
        raise ImportRefused("give a 'text' or an 'html' column")


def _csv_row(line: int, cells: dict[str, str]) -> _Row:
    values = {k: v.strip() for k, v in cells.items() if v.strip()}
    identity_columns = tuple(c for c in IDENTITY_COLUMNS if c in values)
    if not identity_columns:
        return _Row(
            line,
            error=RejectedRow(
                line, "no customer identity: fill at least one of " + ", ".join(IDENTITY_COLUMNS)
            ),
        )
    data: dict[str, Any] = {k: values[k] for k in MESSAGE_COLUMNS if k in values}
    # Keep the body exactly as written (only trailing blanks of a cell were dropped above).
    for body in ("text", "html"):
        if body in data:
            data[body] = cells[body]
    customer: dict[str, Any] = {
        target: values[column] for column, target in CUSTOMER_COLUMNS.items() if column in values
    }
    customer["identities"] = [{"kind": c, "value": values[c]} for c in identity_columns]
    data["customer"] = customer
    return _Row(line, data=data, identity_columns=identity_columns)


def _read_jsonl(source: _LineSource) -> Iterator[_Row]:
    for text in source:
        line = source.line_no
        if line in source.bad_lines:
            yield _Row(line, error=_undecodable(line, line))
            continue
        if line in source.long_lines:
            yield _Row(line, error=_too_long(line))
            continue
        if not text.strip():
            continue
        try:
            data = json.loads(text)
        except json.JSONDecodeError as exc:
            yield _Row(
                line, error=RejectedRow(line, f"not valid JSON: {exc.msg} (column {exc.colno})")
            )
            continue
        if not isinstance(data, dict):
            yield _Row(
                line,
                error=RejectedRow(
                    line, f"each line must be a JSON object, not {type(data).__name__}"
                ),
            )
            continue
        yield _Row(line, data=data)


def _field_name(loc: tuple[int | str, ...], row: _Row, fmt: Format) -> str:
    if not loc:
        return "text"
    if fmt == "csv":
        if loc[0] == "customer" and len(loc) >= 2:
            index = loc[2] if loc[1] == "identities" and len(loc) >= 3 else None
            if isinstance(index, int) and index < len(row.identity_columns):
                return row.identity_columns[index]
            inverse = {v: k for k, v in CUSTOMER_COLUMNS.items()}
            return inverse.get(str(loc[1]), ".".join(map(str, loc)))
        return str(loc[0])
    return ".".join(map(str, loc))


_HINTS = {
    "timezone_aware": "needs a time zone offset, e.g. 2026-03-02T10:15:00+01:00 or ...Z",
    "datetime_from_date_parsing": "is not a date and time; use ISO 8601, "
    "e.g. 2026-03-02T10:15:00+01:00",
    "datetime_parsing": "is not a date and time; use ISO 8601, e.g. 2026-03-02T10:15:00+01:00",
    "datetime_type": "is not a date and time; use ISO 8601, e.g. 2026-03-02T10:15:00+01:00",
    "extra_forbidden": "is not a field of a message",
}


def _rejection(exc: ValidationError, row: _Row, fmt: Format) -> RejectedRow:
    problems = []
    fields = []
    for err in exc.errors():
        name = _field_name(tuple(err["loc"]), row, fmt)
        message = _HINTS.get(err["type"]) or str(err["msg"]).removeprefix("Value error, ")
        if err["type"] in ("enum", "literal_error") and isinstance(err.get("input"), str):
            message += f" (got {err['input'][:40]!r})"
        fields.append(name)
        problems.append(f"{name}: {message}")
    # The first field is named in `field`; every problem goes in the reason.
    reason = "; ".join(problems)
    first = fields[0] if fields else None
    if first and reason.startswith(f"{first}: "):
        reason = reason[len(first) + 2 :]
    return RejectedRow(row.line, reason, first)


def read_rows(handle: BinaryIO, fmt: Format) -> tuple[_LineSource, Iterator[_Row]]:
    source = _LineSource(handle)
    return source, (_read_csv(source) if fmt == "csv" else _read_jsonl(source))


def import_messages(
    db: Database,
    path: str | os.PathLike[str],
    *,
    actor: Actor | None = None,
    fmt: str | None = None,
    batch_size: int = BATCH_SIZE,
    progress: Callable[[int], None] | None = None,
) -> ImportSummary:
    """Import the messages in ``path``; see the module docstring for the guarantees.

    ``progress`` is called with the number of bytes read so far after each row.
    Raises :class:`ImportRefused` when the file cannot be imported at all.
    """
    actor = actor or Actor.system("import")
    chosen = detect_format(path, fmt)
    summary = ImportSummary(format=chosen)
    with open(path, "rb") as handle:
        if os.fstat(handle.fileno()).st_size == 0:
            raise ImportRefused("the file is empty")
        source, rows = read_rows(handle, chosen)
        # Read ahead to the first row before opening a transaction: a header problem refuses
        # the file with nothing written, and a file without rows is refused too.
        first = next(rows, None)
        if first is None:
            raise ImportRefused("the file holds no rows to import")
        pending: Iterator[_Row] = _chain(first, rows)
        while True:
            batch_done = _import_batch(
                db, actor, pending, chosen, summary, batch_size, source, progress
            )
            if batch_done:
                break
    return summary


def _chain(first: _Row, rest: Iterator[_Row]) -> Iterator[_Row]:
    yield first
    yield from rest


def _import_batch(
    db: Database,
    actor: Actor,
    rows: Iterator[_Row],
    fmt: Format,
    summary: ImportSummary,
    batch_size: int,
    source: _LineSource,
    progress: Callable[[int], None] | None,
) -> bool:
    """Import up to ``batch_size`` rows in one transaction; True when the file is finished."""
    count = 0
    with db.transaction() as session:
        for row in rows:
            summary.rows += 1
            _import_row(session, actor, row, fmt, summary)
            if progress is not None:
                progress(source.bytes_read)
            count += 1
            if count >= batch_size:
                return False
    return True


def _import_row(
    session: Session, actor: Actor, row: _Row, fmt: Format, summary: ImportSummary
) -> None:
    if row.error is not None:
        summary.rejected.append(row.error)
        return
    assert row.data is not None
    if _has_nul(row.data):
        summary.rejected.append(RejectedRow(row.line, "the row contains a NUL character"))
        return
    try:
        message = InboundMessage.model_validate(row.data)
    except ValidationError as exc:
        summary.rejected.append(_rejection(exc, row, fmt))
        return
    try:
        with session.begin_nested():
            outcome = do_ingest_message(session, actor, message)
    except ProblemError as exc:
        field_name = None
        if exc.errors:
            field_name = exc.errors[0].get("field")
        summary.rejected.append(RejectedRow(row.line, exc.detail, field_name))
        return
    except (IntegrityError, DataError) as exc:
        reason = str(exc.orig).strip().splitlines()[0] if exc.orig else str(exc)
        summary.rejected.append(RejectedRow(row.line, f"the database refused the row: {reason}"))
        return
    if not outcome.created:
        summary.duplicates += 1
        return
    summary.imported += 1
    summary.customers_created += int(outcome.customer_created)
    summary.cases_created += int(outcome.case_created)
