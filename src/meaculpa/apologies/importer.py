"""Attaching the customers an error hurt from a CSV file, in set-based batches.

Columns (header on line 1, any order, case-insensitive):

- who: ``customer_id``, ``email``, ``phone`` or ``external`` (at least one per row; an id wins);
  an identity nobody has yet creates the customer (named ``name`` or after the identity,
  in ``language`` or the organisation's language);
- per-customer facts kept in the affected row's details: ``order_number``, ``amount``,
  ``currency``, ``product``, ``order_date``, ``note``, and any ``detail_<name>`` column.

Any other column refuses the file before anything is written, as does a header that is not
UTF-8. A row that cannot be used (no identity, a bad address, an unknown customer id, a line
that is not UTF-8, the same customer as an earlier line) is reported with its line number and
the good rows around it land. A customer already on the error's list is counted, not added.

Rows are processed in batches of :data:`BATCH_SIZE`: one query finds the known identities,
one multi-row insert creates the unknown customers and another their identities, one adds
the affected rows, one counts the failure on every customer and one writes the audit events.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import datetime
from typing import IO, Any, cast

from sqlalchemy import Table, func, insert, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from meaculpa.accounts.queries import organisation_or_default
from meaculpa.core.audit import Actor, AuditEvent
from meaculpa.core.clock import utcnow
from meaculpa.core.db import Database
from meaculpa.customers.identity import IdentityError, display_name_from, normalise_identity
from meaculpa.customers.models import Customer, CustomerIdentity
from meaculpa.errors.models import AffectedCustomer, Error
from meaculpa.messages.importer import (
    ImportRefused,
    RejectedRow,
    _LineSource,
    _read_csv,
    _Row,
)

__all__ = ["AffectedImportSummary", "ImportRefused", "RejectedRow", "import_affected"]

BATCH_SIZE = 1000
IDENTITY_COLUMNS = ("email", "phone", "external")
DETAIL_COLUMNS = ("order_number", "amount", "currency", "product", "order_date", "note")
DETAIL_PREFIX = "detail_"
COLUMNS = ("customer_id", *IDENTITY_COLUMNS, "name", "language", *DETAIL_COLUMNS)
MAX_DETAILS = 30
MAX_DETAIL_CHARS = 500
LANGUAGES = ("es", "en")

_AUDIT = insert(cast(Table, AuditEvent.__table__))
_AFFECTED = insert(cast(Table, AffectedCustomer.__table__))
_IDENTITY = insert(cast(Table, CustomerIdentity.__table__))


@dataclass
class AffectedImportSummary:
    rows: int = 0
    added: int = 0
    already: int = 0
    customers_created: int = 0
    rejected: list[RejectedRow] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return not self.rejected

    def to_dict(self) -> dict[str, Any]:
        return {
            "rows": self.rows,
            "added": self.added,
            "already": self.already,
            "customers_created": self.customers_created,
            "rejected": [
                {"line": r.line, "field": r.field, "reason": r.reason} for r in self.rejected
            ],
        }


@dataclass(frozen=True)
class _Candidate:
    line: int
    customer_id: int | None
    identity: tuple[str, str] | None
    name: str | None
    language: str | None
    details: dict[str, Any]


def check_header(columns: list[str]) -> None:
    if not any(columns):
        raise ImportRefused("line 1: the header is empty; the first line names the columns")
    unknown = [c for c in columns if c not in COLUMNS and not _detail_column(c)]
    if unknown:
        raise ImportRefused(
            f"line 1: unknown column{'s' if len(unknown) > 1 else ''} "
            f"{', '.join(map(repr, unknown))}; the columns are {', '.join(COLUMNS)} "
            f"and any {DETAIL_PREFIX}<name> for another per-customer field"
        )
    repeated = sorted({c for c in columns if columns.count(c) > 1})
    if repeated:
        raise ImportRefused(
            f"line 1: column {', '.join(map(repr, repeated))} appears more than once"
        )
    if not any(c in ("customer_id", *IDENTITY_COLUMNS) for c in columns):
        raise ImportRefused(
            "line 1: no column says who the customer is: give customer_id, email, phone "
            "or external"
        )
    if len([c for c in columns if c in DETAIL_COLUMNS or _detail_column(c)]) > MAX_DETAILS:
        raise ImportRefused(f"line 1: at most {MAX_DETAILS} per-customer fields")


def _detail_column(column: str) -> bool:
    name = column.removeprefix(DETAIL_PREFIX)
    return (
        column.startswith(DETAIL_PREFIX)
        and 0 < len(name) <= 60
        and name.replace("_", "").isalnum()
    )


def make_row(line: int, cells: dict[str, str]) -> _Row:
    values = {k: v.strip() for k, v in cells.items() if v.strip()}
    if any("\x00" in v for v in values.values()):
        return _Row(line, error=RejectedRow(line, "the row contains a NUL character"))
    return _Row(line, data=values)


def _candidate(row: _Row) -> _Candidate | RejectedRow:
    assert row.data is not None
    values: dict[str, str] = row.data
    line = row.line
    customer_id = None
    if "customer_id" in values:
        raw = values["customer_id"]
        if not raw.isdigit() or len(raw) > 18:
            return RejectedRow(line, f"{raw[:40]!r} is not a customer id", "customer_id")
        customer_id = int(raw)
    identity = None
    for kind in IDENTITY_COLUMNS:
        if kind in values:
            try:
                identity = normalise_identity(kind, values[kind])
            except IdentityError as exc:
                return RejectedRow(line, str(exc), kind)
            break
    if customer_id is None and identity is None:
        return RejectedRow(
            line, "no customer: fill customer_id, email, phone or external", "customer_id"
        )
    language = values.get("language", "").lower() or None
    if language is not None and language not in LANGUAGES:
        return RejectedRow(line, f"{language[:20]!r} is not a language; use es or en", "language")
    name = values.get("name")
    if name is not None and len(name) > 200:
        return RejectedRow(line, "the name has more than 200 characters", "name")
    details: dict[str, Any] = {}
    for column, value in values.items():
        if column in DETAIL_COLUMNS or _detail_column(column):
            if len(value) > MAX_DETAIL_CHARS:
                return RejectedRow(
                    line, f"more than {MAX_DETAIL_CHARS} characters", column
                )
            details[column.removeprefix(DETAIL_PREFIX)] = value
    return _Candidate(line, customer_id, identity, name, language, details)


def read_candidates(
    handle: IO[bytes],
) -> tuple[_LineSource, Iterator[_Row]]:
    source = _LineSource(handle)  # type: ignore[arg-type]
    return source, _read_csv(source, check_header, make_row)


def import_affected(
    db: Database,
    error_id: int,
    handle: IO[bytes],
    *,
    actor: Actor,
    batch_size: int = BATCH_SIZE,
    progress: Callable[[int], None] | None = None,
) -> AffectedImportSummary:
    """Attach the customers listed in the CSV ``handle`` to error ``error_id``.

    Raises :class:`ImportRefused` (nothing written) when the file cannot be used at all.
    ``progress`` is called with the bytes read so far after each batch.
    """
    summary = AffectedImportSummary()
    source, rows = read_candidates(handle)
    first = next(rows, None)  # a header problem refuses the file before any write
    if first is None:
        raise ImportRefused("the file holds no rows to import")
    seen: dict[int, int] = {}  # customer id -> the line that added it in this file
    batch: list[_Candidate] = []
    pending: Iterator[_Row] = _chain(first, rows)
    for row in pending:
        summary.rows += 1
        if row.error is not None:
            summary.rejected.append(row.error)
            continue
        found = _candidate(row)
        if isinstance(found, RejectedRow):
            summary.rejected.append(found)
            continue
        batch.append(found)
        if len(batch) >= batch_size:
            _store_batch(db, actor, error_id, batch, seen, summary)
            batch = []
            if progress is not None:
                progress(source.bytes_read)
    if batch:
        _store_batch(db, actor, error_id, batch, seen, summary)
    if progress is not None:
        progress(source.bytes_read)
    summary.rejected.sort(key=lambda r: r.line)
    return summary


def import_affected_file(
    db: Database,
    error_id: int,
    path: str | os.PathLike[str],
    *,
    actor: Actor,
    progress: Callable[[int], None] | None = None,
) -> AffectedImportSummary:
    with open(path, "rb") as handle:
        if os.fstat(handle.fileno()).st_size == 0:
            raise ImportRefused("the file is empty")
        return import_affected(db, error_id, handle, actor=actor, progress=progress)


def _chain(first: _Row, rest: Iterator[_Row]) -> Iterator[_Row]:
    yield first
    yield from rest


def _store_batch(
    db: Database,
    actor: Actor,
    error_id: int,
    batch: list[_Candidate],
    seen: dict[int, int],
    summary: AffectedImportSummary,
) -> None:
    # A concurrent writer may create one of the identities between the look-up and the
    # insert: the batch is then rolled back and done again, finding that customer.
    for attempt in range(3):
        outcome = AffectedImportSummary()
        seen_here: dict[int, int] = {}
        try:
            with db.transaction() as session:
                if session.get(Error, error_id) is None:
                    raise ImportRefused(f"error {error_id} does not exist")
                _store(session, actor, error_id, batch, seen, seen_here, outcome)
        except IntegrityError:
            if attempt == 2:
                raise
            continue
        seen.update(seen_here)
        summary.added += outcome.added
        summary.already += outcome.already
        summary.customers_created += outcome.customers_created
        summary.rejected.extend(outcome.rejected)
        return


def _store(
    session: Session,
    actor: Actor,
    error_id: int,
    batch: list[_Candidate],
    seen: dict[int, int],
    seen_here: dict[int, int],
    outcome: AffectedImportSummary,
) -> None:
    now = utcnow()
    ids = {c.customer_id for c in batch if c.customer_id is not None}
    known_ids = (
        set(session.scalars(select(Customer.id).where(Customer.id.in_(ids)))) if ids else set()
    )
    identities = {c.identity for c in batch if c.customer_id is None and c.identity}
    owners: dict[tuple[str, str], int] = {}
    if identities:
        rows = session.execute(
            select(CustomerIdentity.kind, CustomerIdentity.value, CustomerIdentity.customer_id)
            .where(CustomerIdentity.value.in_({v for _, v in identities}))
        )
        owners = {(k, v): cid for k, v, cid in rows if (k, v) in identities}
    # Customers to create: one per identity nobody has, in the order first met.
    new: dict[tuple[str, str], _Candidate] = {}
    for c in batch:
        if c.customer_id is None and c.identity and c.identity not in owners:
            new.setdefault(c.identity, c)
    if new:
        org = organisation_or_default(session)
        created = list(
            session.scalars(
                insert(Customer).returning(Customer.id, sort_by_parameter_order=True),
                [
                    {
                        "name": c.name or display_name_from(*key),
                        "language": c.language or org.default_language,
                        "timezone": org.timezone,
                        "created_at": now,
                        "updated_at": now,
                    }
                    for key, c in new.items()
                ],
            )
        )
        session.execute(
            _IDENTITY,
            [
                {"customer_id": cid, "kind": key[0], "value": key[1], "created_at": now}
                for key, cid in zip(new, created, strict=True)
            ],
        )
        owners.update(zip(new, created, strict=True))
        outcome.customers_created = len(created)
        _audit(
            session,
            actor,
            "customer.create",
            "customer",
            [(cid, {"identities": [f"{k}:{v}"], "source": "affected import"})
             for (k, v), cid in zip(new, created, strict=True)],
            now,
        )
    resolved: list[tuple[_Candidate, int]] = []
    for c in batch:
        if c.customer_id is not None:
            if c.customer_id not in known_ids:
                outcome.rejected.append(
                    RejectedRow(c.line, f"customer {c.customer_id} does not exist", "customer_id")
                )
                continue
            resolved.append((c, c.customer_id))
        else:
            assert c.identity is not None
            resolved.append((c, owners[c.identity]))
    candidates = {cid for _, cid in resolved}
    on_list = set(
        session.scalars(
            select(AffectedCustomer.customer_id).where(
                AffectedCustomer.error_id == error_id,
                AffectedCustomer.customer_id.in_(candidates),
            )
        )
    ) if candidates else set()
    adding: list[dict[str, Any]] = []
    for c, cid in resolved:
        earlier = seen.get(cid) or seen_here.get(cid)
        if earlier is not None:
            outcome.rejected.append(
                RejectedRow(c.line, f"the same customer as line {earlier}: a duplicate row")
            )
            continue
        seen_here[cid] = c.line
        if cid in on_list:
            outcome.already += 1
            continue
        adding.append(
            {
                "error_id": error_id,
                "customer_id": cid,
                "state": "identified",
                "details": c.details,
                "created_at": now,
                "updated_at": now,
            }
        )
    if not adding:
        return
    session.execute(_AFFECTED, adding)
    added_ids = [row["customer_id"] for row in adding]
    session.execute(
        update(Customer)
        .where(Customer.id.in_(added_ids))
        .values(failures_count=Customer.failures_count + 1)
        .execution_options(synchronize_session=False)
    )
    count = session.scalar(
        select(func.count(AffectedCustomer.id)).where(AffectedCustomer.error_id == error_id)
    )
    session.execute(
        update(Error)
        .where(Error.id == error_id)
        .values(affected_count=count or 0, updated_at=now)
        .execution_options(synchronize_session=False)
    )
    outcome.added = len(adding)
    _audit(
        session,
        actor,
        "error.affected.import",
        "error",
        [(error_id, {"added": len(adding), "customer_ids": added_ids})],
        now,
    )


def _audit(
    session: Session,
    actor: Actor,
    verb: str,
    object_type: str,
    rows: list[tuple[int, dict[str, Any]]],
    at: datetime,
) -> None:
    """Audit events for many objects in one multi-row insert."""
    session.execute(
        _AUDIT,
        [
            {
                "at": at,
                "actor_type": actor.kind,
                "actor_id": actor.id,
                "actor_label": actor.label[:254],
                "verb": verb,
                "object_type": object_type,
                "object_id": str(object_id),
                "before": None,
                "after": after,
            }
            for object_id, after in rows
        ],
    )
