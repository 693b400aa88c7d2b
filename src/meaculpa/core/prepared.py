"""Hot-path statements compiled once per dialect and run on the driver's cursor.

SQLAlchemy spends about 150,000 CPU instructions on the way to the driver for every statement
it executes (execution context, events, result metadata), some fifteen times what the driver
itself needs for a short indexed statement. Ingestion runs about ten statements a message, so
that overhead was most of a message's cost. A :class:`Prepared` statement stays a Core
construct, written once for SQLite and PostgreSQL, with its parameters converted by the column
types exactly as SQLAlchemy converts them (UTC timestamps, JSON); only the per-execution
machinery is skipped:

- it runs on the connection's current transaction (beginning it if needed, as SQLAlchemy's
  autobegin does);
- driver errors are raised as SQLAlchemy's own exceptions (:class:`~sqlalchemy.exc.IntegrityError`
  and the rest), so retry logic written for them still works;
- when anything listens to the cursor (``echo``, a test counting statements), the statement is
  executed by SQLAlchemy as usual, so nothing is hidden from them.

Limits, checked when a statement is first compiled for a dialect: no expanding ``IN``
parameters, selected columns whose types need no conversion of results, and Python-side column
defaults only when they are constants (a callable default such as ``utcnow`` must be passed).
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from contextlib import contextmanager, suppress
from dataclasses import dataclass
from typing import Any, cast

from sqlalchemy import Connection, DateTime
from sqlalchemy.engine import Dialect
from sqlalchemy.exc import DBAPIError, InvalidRequestError
from sqlalchemy.sql.base import Executable
from sqlalchemy.sql.elements import ClauseElement

Params = Mapping[str, Any]


@dataclass(frozen=True)
class _Plan:
    sql: str
    positional: bool
    # One slot per parameter, in the order the driver takes them: its name, the conversion of
    # a given value, and the converted value the statement carries itself (LIMIT 1, constant
    # column defaults), _REQUIRED where the caller must give one.
    slots: tuple[tuple[str, Callable[[Any], Any] | None, Any], ...]


_REQUIRED = object()


def _slot_values(slots: Iterable[tuple[str, Any, Any]], params: Params) -> list[Any]:
    """The driver's values for ``slots``: each given parameter converted, or the value the
    statement carries itself."""
    values = []
    for name, process, carried in slots:
        if name in params:
            value = params[name]
            if process is not None:
                value = process(value)
        elif carried is _REQUIRED:
            raise InvalidRequestError(f"A value is required for bind parameter {name!r}")
        else:
            value = carried
        values.append(value)
    return values


class Prepared:
    """A Core statement run on the DBAPI cursor. ``keys``: the columns an INSERT or UPDATE
    without ``.values()`` is given (as for :meth:`Insert.compile`'s ``column_keys``)."""

    def __init__(self, statement: Executable, keys: Iterable[str] | None = None) -> None:
        self.statement = statement
        self.keys = list(keys) if keys is not None else None
        self._plans: dict[tuple[str, str, str], _Plan] = {}
        self._last: tuple[Any, _Plan | None] = (None, None)  # (dialect, plan) used last
        self._multi: dict[str, _MultiRow] = {}  # insert_rows' plans, by single-row SQL

    # -- running -----------------------------------------------------------------------------

    def first(self, conn: Connection, params: Params) -> tuple[Any, ...] | None:
        """The first row as a tuple, or None."""
        cursor = self._cursor(conn, params)
        if cursor is None:
            row = conn.execute(self.statement, dict(params)).first()
            return tuple(row) if row is not None else None
        try:
            found: tuple[Any, ...] | None = cursor.fetchone()  # rows are tuples on both drivers
        finally:
            cursor.close()
        return found

    def scalar(self, conn: Connection, params: Params) -> Any:
        """The first column of the first row, or None."""
        row = self.first(conn, params)
        return row[0] if row is not None else None

    def all(self, conn: Connection, params: Params) -> list[tuple[Any, ...]]:
        cursor = self._cursor(conn, params)
        if cursor is None:
            return [tuple(r) for r in conn.execute(self.statement, dict(params))]
        try:
            return list(cursor.fetchall())
        finally:
            cursor.close()

    def run(self, conn: Connection, params: Params) -> None:
        """Execute, for statements that return nothing."""
        cursor = self._cursor(conn, params)
        if cursor is None:
            conn.execute(self.statement, dict(params))
        else:
            cursor.close()

    def run_many(self, conn: Connection, rows: Sequence[Params]) -> None:
        """Execute once per row (the driver's ``executemany``)."""
        if not rows:
            return
        if self._observed(conn):
            conn.execute(self.statement, [dict(r) for r in rows])
            return
        plan, dbapi_conn = self._prepare(conn)
        args = [self._args(plan, r) for r in rows]
        cursor = dbapi_conn.cursor()
        try:
            cursor.executemany(plan.sql, args)
        except conn.dialect.loaded_dbapi.Error as exc:
            raise _driver_error(conn, plan.sql, args, exc, dbapi_conn, cursor) from exc
        finally:
            cursor.close()

    def insert_rows(
        self, conn: Connection, rows: Sequence[Params], *, returning: bool = False
    ) -> list[Any]:
        """One multi-row ``INSERT`` for all ``rows`` (an INSERT statement only).

        With ``returning``, the first ``RETURNING`` column of each row (its integer primary
        key), in the order of ``rows``: both databases hand out such keys in increasing order
        within one statement, so the returned keys are sorted rather than trusted to come back
        in order. Without it, any ``RETURNING`` the statement carries is left out.
        """
        if not rows:
            return []
        if self._observed(conn):
            statement = cast(Any, self.statement)
            result = conn.execute(statement.values([dict(r) for r in rows]))
            return sorted(r[0] for r in result) if returning else []
        plan, dbapi_conn = self._prepare(conn)
        multi = self._multi.get(plan.sql)
        if multi is None:
            multi = self._multi[plan.sql] = _MultiRow.of(plan, conn.dialect)
        if multi.unnest is not None and len(rows) * multi.width > _FEW_PARAMETERS:
            multi = multi.unnest
        found: list[Any] = []
        for start in range(0, len(rows), multi.rows_per_statement):
            chunk = rows[start : start + multi.rows_per_statement]
            sql = multi.sql(len(chunk), returning)
            args = multi.chunk_args(chunk)
            cursor = dbapi_conn.cursor()
            try:
                cursor.execute(sql, args)
                if returning:
                    found.extend(sorted(r[0] for r in cursor.fetchall()))
            except conn.dialect.loaded_dbapi.Error as exc:
                raise _driver_error(conn, plan.sql, args, exc, dbapi_conn, cursor) from exc
            finally:
                cursor.close()
        return found

    # -- internals ---------------------------------------------------------------------------

    @staticmethod
    def _observed(conn: Connection) -> bool:
        # SQLAlchemy's own flags first (it reads them the same way before each statement):
        # looking into the listener collections costs more than the rest of a statement.
        if getattr(conn, "_has_events", True) or getattr(conn.engine, "_has_events", True):
            dispatch = conn.dispatch
            if dispatch.before_cursor_execute or dispatch.after_cursor_execute:
                return True
        return bool(getattr(conn, "_echo", True))

    def _prepare(self, conn: Connection) -> tuple[_Plan, Any]:
        dialect = conn.dialect
        last_dialect, plan = self._last
        if dialect is not last_dialect or plan is None:
            key = (dialect.name, dialect.driver, str(dialect.paramstyle))
            plan = self._plans.get(key)
            if plan is None:
                plan = self._plans[key] = self._compile(dialect)
            self._last = (dialect, plan)
        if not conn.in_transaction():
            conn.begin()
        return plan, conn.connection.dbapi_connection

    def _cursor(self, conn: Connection, params: Params) -> Any:
        if self._observed(conn):
            return None
        plan, dbapi_conn = self._prepare(conn)
        args = self._args(plan, params)
        cursor = dbapi_conn.cursor()
        try:
            cursor.execute(plan.sql, args)
        except conn.dialect.loaded_dbapi.Error as exc:
            cursor.close()
            raise _driver_error(conn, plan.sql, args, exc, dbapi_conn, cursor) from exc
        return cursor

    @staticmethod
    def _args(plan: _Plan, params: Params) -> Any:
        values = _slot_values(plan.slots, params)
        if plan.positional:
            return tuple(values)
        return {slot[0]: value for slot, value in zip(plan.slots, values, strict=True)}

    def _compile(self, dialect: Dialect) -> _Plan:
        statement = cast(ClauseElement, self.statement)
        compiled: Any = statement.compile(dialect=dialect, column_keys=self.keys)
        if "POSTCOMPILE" in compiled.string:
            raise ValueError("Prepared statements take no expanding IN parameters")
        fixed: dict[str, Any] = {}
        for column in [*compiled.insert_prefetch, *compiled.update_prefetch]:
            default = column.default if column in compiled.insert_prefetch else column.onupdate
            if default is None or not default.is_scalar:
                raise ValueError(f"pass a value for {column}: its default is computed in Python")
            fixed[column.key] = default.arg
        processors: dict[str, Callable[[Any], Any] | None] = {}
        for bind, name in compiled.bind_names.items():
            if name in processors:  # one name used twice (the same timestamp in two columns)
                continue
            if name not in fixed and not bind.required:
                fixed[name] = bind.effective_value
            process = bind.type.dialect_impl(dialect).bind_processor(dialect)
            if process is not None and _is_timestamp(bind.type):
                process = _shared_timestamp_processor(dialect, bind.type, process)
            processors[name] = process
            if process is not None and name in fixed:
                fixed[name] = process(fixed[name])  # converted once here
        for column in getattr(self.statement, "exported_columns", ()):
            if column.type.dialect_impl(dialect).result_processor(dialect, None) is not None:
                raise ValueError(f"{column} needs its results converted: run it through SQLAlchemy")
        positional = bool(dialect.positional)
        names = list(compiled.positiontup) if positional else list(dict.fromkeys(processors))
        slots = tuple((name, processors[name], fixed.get(name, _REQUIRED)) for name in names)
        return _Plan(compiled.string, positional, slots)


@contextmanager
def sent_together(conn: Connection) -> Iterator[None]:
    """Statements of :class:`Prepared` run in the block, none of them read back, are sent to
    the server together and answered together when the block ends.

    On PostgreSQL (psycopg) the block is a pipeline: a statement is sent without waiting for
    the answer to the one before, so six inserts cost one round trip instead of six. An error
    is raised when the block ends, as SQLAlchemy's exception (an
    :class:`~sqlalchemy.exc.IntegrityError` stays one, for the retries written for it), and
    the statements after the failed one are not run. Elsewhere, and while anything listens
    to the cursor, the statements run one by one as usual.
    """
    dialect = conn.dialect
    if dialect.driver != "psycopg" or Prepared._observed(conn):
        yield
        return
    if not conn.in_transaction():
        conn.begin()
    dbapi_conn = conn.connection.dbapi_connection
    assert dbapi_conn is not None
    try:
        with cast(Any, dbapi_conn).pipeline() as pipeline:
            try:
                yield
            except BaseException:
                # Collect the server's answers to the statements still queued (skipped after
                # the failed one), so the error raised is the first one and the pipeline ends
                # without another.
                with suppress(dialect.loaded_dbapi.Error):
                    pipeline.sync()
                raise
    except dialect.loaded_dbapi.Error as exc:
        raise _driver_error(conn, None, None, exc, dbapi_conn, None) from exc


def _driver_error(
    conn: Connection,
    statement: str | None,
    args: Any,
    exc: Exception,
    dbapi_conn: Any,
    cursor: Any,
) -> Exception:
    """A driver's error as SQLAlchemy's exception, the connection invalidated if it was lost
    (as SQLAlchemy does for the statements it runs)."""
    dialect = conn.dialect
    lost = dialect.is_disconnect(cast(Any, exc), dbapi_conn, cursor)
    if lost:
        conn.invalidate(exc)
    return DBAPIError.instance(
        statement,
        args,
        exc,
        dialect.loaded_dbapi.Error,
        connection_invalidated=lost,
        dialect=dialect,
    )


_NAMED_PARAM = re.compile(r"%\((\w+)\)s")
# psycopg remembers the conversion of statements with at most 50 parameters and converts
# longer ones again at every execution; up to that many, a VALUES list is the cheaper form.
_FEW_PARAMETERS = 50


class _MultiRow:
    """A single-row INSERT plan turned into multi-row ``VALUES`` lists (positional parameters
    on both drivers: ``?`` for sqlite3, ``%s`` for psycopg)."""

    def __init__(
        self, head: str, group: str, tail: str, slots: tuple[Any, ...], names: list[str]
    ) -> None:
        self.head, self.group, self.tail = head, group, tail
        by_name = {slot[0]: slot for slot in slots}
        self._order = [by_name[name] for name in names]
        self.width = len(names)
        # Both drivers take tens of thousands of parameters; stay well below.
        self.rows_per_statement = max(1, 2000 // max(len(names), 1))
        self._sql: dict[tuple[int, bool], str] = {}
        # PostgreSQL: the unnest form, for more rows than a short VALUES list holds well.
        self.unnest: _MultiRow | None = None

    @classmethod
    def of(cls, plan: _Plan, dialect: Dialect) -> _MultiRow:
        sql = plan.sql
        if plan.positional:
            names = [slot[0] for slot in plan.slots]
        else:
            names = _NAMED_PARAM.findall(sql)
            sql = _NAMED_PARAM.sub("%s", sql)
        if not sql.startswith("INSERT") or " VALUES (" not in sql:
            raise ValueError("insert_rows takes an INSERT ... VALUES statement")
        start = sql.index(" VALUES (") + len(" VALUES ")
        depth = 0
        for end in range(start, len(sql)):
            depth += {"(": 1, ")": -1}.get(sql[end], 0)
            if depth == 0:
                break
        head, group, tail = sql[:start], sql[start : end + 1], sql[end + 1 :]
        multi = cls(head, group, tail, plan.slots, names)
        if dialect.name == "postgresql" and not plan.positional:
            casts = [part.strip() for part in group[1:-1].split(", ")]
            if len(casts) == len(names) and all(c.startswith("%s::") for c in casts):
                multi.unnest = _Unnest(head, casts, tail, plan.slots, names)
        return multi

    def sql(self, rows: int, returning: bool) -> str:
        text = self._sql.get((rows, returning))
        if text is None:
            tail = self.tail if returning else self.tail.split(" RETURNING ", 1)[0]
            if returning and " RETURNING " not in tail:
                raise ValueError("the statement returns nothing")
            text = self._sql[(rows, returning)] = self.head + ", ".join([self.group] * rows) + tail
        return text

    def chunk_args(self, rows: Sequence[Params]) -> list[Any]:
        return [value for row in rows for value in self.args(row)]

    def args(self, row: Params) -> list[Any]:
        return _slot_values(self._order, row)


class _Unnest(_MultiRow):
    """PostgreSQL: ``INSERT ... SELECT * FROM unnest(%s::INTEGER[], ...)``, one array a column.

    The text is the same whatever the number of rows, so psycopg converts it once and the
    server prepares it once; a ``VALUES`` list of many rows would be a new text each time, and
    psycopg parses texts with more than 50 parameters again at every execution.
    """

    def __init__(
        self, head: str, casts: list[str], tail: str, slots: tuple[Any, ...], names: list[str]
    ) -> None:
        # %b: arrays in binary, which psycopg writes without escaping every element.
        arrays = ", ".join(f"%b{cast[2:]}[]" for cast in casts)
        super().__init__(
            head[: -len(" VALUES ")],
            f" SELECT * FROM unnest({arrays})",  # noqa: S608 - casts compiled by SQLAlchemy
            tail,
            slots,
            names,
        )
        self.rows_per_statement = 10_000

    def sql(self, rows: int, returning: bool) -> str:
        return super().sql(1, returning)

    def chunk_args(self, rows: Sequence[Params]) -> list[Any]:
        columns: list[list[Any]] = [[] for _ in self._order]
        for row in rows:
            for column, value in zip(columns, self.args(row), strict=True):
                column.append(value)
        return columns


def _is_timestamp(type_: Any) -> bool:
    return isinstance(type_, DateTime) or isinstance(
        getattr(type_, "impl_instance", None), DateTime
    )


# One converter per dialect and timestamp type, shared by every prepared statement, remembering
# the last value it converted: a message stores one timestamp in a dozen columns of five
# statements, and on SQLite each conversion formats a string.
_timestamp_processors: dict[tuple[str, str, type, str], Callable[[Any], Any]] = {}


def _shared_timestamp_processor(
    dialect: Dialect, type_: Any, process: Callable[[Any], Any]
) -> Callable[[Any], Any]:
    key = (dialect.name, dialect.driver, type(type_), repr(getattr(type_, "impl", type_)))
    shared = _timestamp_processors.get(key)
    if shared is None:
        shared = _timestamp_processors.setdefault(key, _remember_last(process))
    return shared


def _remember_last(process: Callable[[Any], Any]) -> Callable[[Any], Any]:
    """``process`` answering at once for the value it was last given (the same object).

    Only for immutable values such as timestamps. The last pair is one tuple, so threads
    sharing the converter never see a half-updated pair.
    """
    last: tuple[Any, Any] = (object(), None)

    def run(value: Any) -> Any:
        nonlocal last
        given, result = last
        if value is given:
            return result
        result = process(value)
        last = (value, result)
        return result

    return run
