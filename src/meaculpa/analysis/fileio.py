"""Batch analysis of files: CSV or JSON Lines with ``id`` and ``text`` -> JSON Lines.

Used by ``meaculpa analyze FILE [--output OUT]``. Every input row gives exactly one output
object, in order: the analysis, or ``{"id": ..., "line": n, "error": "..."}`` for a bad row
(missing id or text, invalid JSON, invalid UTF-8). A bad row never stops the file.
"""

from __future__ import annotations

import csv
import io
import json
import sys
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import IO, Any

from .inbound import analyze_inbound
from .model import SentimentModel

BATCH_SIZE = 256
ProgressCallback = Callable[[int, int], None]


@dataclass(slots=True)
class FileSummary:
    rows: int
    analyzed: int
    errors: int
    output: str

    def to_dict(self) -> dict[str, Any]:
        return {
            "rows": self.rows,
            "analyzed": self.analyzed,
            "errors": self.errors,
            "output": self.output,
        }


@dataclass(slots=True)
class _Row:
    line: int
    id: Any
    text: str | None
    error: str | None


def detect_format(path: Path, head: bytes) -> str:
    suffix = path.suffix.lower()
    if suffix == ".csv":
        return "csv"
    if suffix in (".jsonl", ".ndjson", ".json"):
        return "jsonl"
    return "jsonl" if head.lstrip()[:1] == b"{" else "csv"


def _has_escapes(value: str) -> bool:
    return any("\udc80" <= ch <= "\udcff" for ch in value)


def _jsonl_rows(data: bytes) -> Iterator[_Row]:
    for n, raw in enumerate(data.split(b"\n"), start=1):
        raw = raw.rstrip(b"\r")
        if not raw.strip():
            if n == data.count(b"\n") + 1:
                return  # the empty tail after the last newline is not a row
            yield _Row(n, None, None, "empty line")
            continue
        try:
            line = raw.decode("utf-8")
        except UnicodeDecodeError as exc:
            yield _Row(n, None, None, f"invalid UTF-8 at byte {exc.start} of the line")
            continue
        try:
            obj = json.loads(line)
        except json.JSONDecodeError as exc:
            yield _Row(n, None, None, f"invalid JSON: {exc.msg} at column {exc.colno}")
            continue
        if not isinstance(obj, dict):
            yield _Row(n, None, None, "line is not a JSON object")
            continue
        yield _validated(n, obj.get("id"), obj.get("text"))


def _validated(n: int, row_id: Any, text: Any) -> _Row:
    if row_id is None or (isinstance(row_id, str) and not row_id.strip()):
        return _Row(n, None, None, "missing id")
    if isinstance(row_id, str) and _has_escapes(row_id):
        return _Row(n, None, None, "invalid UTF-8 in id")
    if not isinstance(row_id, str | int | float) or isinstance(row_id, bool):
        return _Row(n, None, None, "id must be a string or a number")
    if text is None:
        return _Row(n, row_id, None, "missing text")
    if not isinstance(text, str):
        return _Row(n, row_id, None, "text must be a string")
    if _has_escapes(text):
        return _Row(n, row_id, None, "invalid UTF-8 in text")
    return _Row(n, row_id, text, None)


def _csv_rows(data: bytes) -> Iterator[_Row]:
    text = data.decode("utf-8", errors="surrogateescape")
    if text.startswith("\ufeff"):
        text = text[1:]
    reader = csv.DictReader(io.StringIO(text, newline=""))
    fields = [f.strip().lower() for f in (reader.fieldnames or [])]
    if "id" not in fields or "text" not in fields:
        yield _Row(1, None, None, "CSV header must have 'id' and 'text' columns")
        return
    reader.fieldnames = fields
    for n, rec in enumerate(reader, start=2):
        if None in rec:
            yield _Row(n, rec.get("id"), None, "row has more fields than the header")
            continue
        yield _validated(n, rec.get("id"), rec.get("text"))


def read_rows(path: Path, fmt: str | None = None) -> tuple[list[_Row], str]:
    data = path.read_bytes()
    kind = fmt or detect_format(path, data[:64])
    if kind not in ("csv", "jsonl"):
        raise ValueError(f"unknown format {kind!r}; use csv or jsonl")
    rows = list(_csv_rows(data) if kind == "csv" else _jsonl_rows(data))
    return rows, kind


def _write(out: IO[str], obj: dict[str, Any]) -> None:
    out.write(json.dumps(obj, ensure_ascii=False) + "\n")


def analyze_file(
    in_path: str | Path,
    out_path: str | Path | None = None,
    progress: ProgressCallback | None = None,
    *,
    fmt: str | None = None,
    model: SentimentModel | None = None,
    batch_size: int = BATCH_SIZE,
) -> FileSummary:
    """Analyse every row of ``in_path`` and write JSON Lines to ``out_path`` (stdout if None
    or ``"-"``). ``progress(done, total)`` is called after each batch."""
    src = Path(in_path)
    rows, _ = read_rows(src, fmt)
    total = len(rows)
    to_stdout = out_path is None or str(out_path) == "-"
    handle: IO[str] = (
        sys.stdout if out_path is None or to_stdout else open(out_path, "w", encoding="utf-8")  # noqa: SIM115
    )
    analyzed = errors = done = 0
    try:
        for start in range(0, total, batch_size):
            batch = rows[start : start + batch_size]
            good = [r for r in batch if r.error is None and r.text is not None]
            results = (
                analyze_inbound([r.text for r in good if r.text is not None], model=model)
                if good
                else []
            )
            by_line = {r.line: res for r, res in zip(good, results, strict=True)}
            for r in batch:
                if r.line in by_line:
                    _write(handle, {"id": r.id, "line": r.line, **by_line[r.line].to_dict()})
                    analyzed += 1
                else:
                    _write(handle, {"id": r.id, "line": r.line, "error": r.error})
                    errors += 1
            done += len(batch)
            if progress is not None:
                progress(done, total)
    finally:
        if not to_stdout:
            handle.close()
        else:
            handle.flush()
    return FileSummary(
        rows=total, analyzed=analyzed, errors=errors, output="-" if to_stdout else str(out_path)
    )
