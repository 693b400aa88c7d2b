"""One source of time, always timezone-aware UTC.

Everything that stamps a time calls :func:`utcnow`. :func:`override` replaces the clock for the
current thread (or task) only, which is how the demo replays a story over past weeks and how
tests move time forward, without touching the rest of the process.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from datetime import UTC, datetime

_override: ContextVar[Callable[[], datetime] | None] = ContextVar("meaculpa_clock", default=None)


def utcnow() -> datetime:
    source = _override.get()
    return source() if source is not None else datetime.now(UTC)


@contextmanager
def override(source: Callable[[], datetime]) -> Iterator[None]:
    """Make ``source`` the clock of the current thread until the block ends."""
    token = _override.set(source)
    try:
        yield
    finally:
        _override.reset(token)


def as_utc(value: datetime) -> datetime:
    """Return ``value`` as aware UTC; naive values (as SQLite returns them) are taken as UTC."""
    if value.tzinfo is None:
        return value.replace(tzinfo=UTC)
    return value.astimezone(UTC)
