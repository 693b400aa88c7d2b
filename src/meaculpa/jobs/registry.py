"""Job kinds and their handlers. Domains register handlers at import of their ``jobs`` module.

A handler is ``fn(session, payload)`` and runs inside the transaction that also marks its job
done, so its writes and its completion commit together. A handler registered with
``own_transactions=True`` is ``fn(db, payload)`` instead: it opens its own (short)
transactions, for work that talks to the outside world (SMTP, IMAP) and must not hold a
database transaction, or SQLite's write lock, while it waits.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from dataclasses import dataclass
from typing import Any

from meaculpa.settings import Settings

HandlerFn = Callable[[Any, dict[str, Any]], None]


@dataclass(frozen=True)
class Handler:
    fn: HandlerFn
    own_transactions: bool = False

    def __call__(self, target: Any, payload: dict[str, Any]) -> None:
        self.fn(target, payload)


HANDLERS: dict[str, Handler] = {}
JOB_MODULES = (
    "meaculpa.messages.jobs",
    "meaculpa.notifications.jobs",
    "meaculpa.playbooks.jobs",
    "meaculpa.remedies.jobs",
    "meaculpa.commitments.jobs",
    "meaculpa.followups.jobs",
    "meaculpa.mail.jobs",
    "meaculpa.insights.jobs",
    "meaculpa.apologies.jobs",
    "meaculpa.surveys.jobs",
    "meaculpa.problems.jobs",
    "meaculpa.improvements.jobs",
)

_settings: ContextVar[Settings | None] = ContextVar("meaculpa_job_settings", default=None)


def job_handler(kind: str, *, own_transactions: bool = False) -> Callable[[HandlerFn], HandlerFn]:
    def register(fn: HandlerFn) -> HandlerFn:
        HANDLERS[kind] = Handler(fn, own_transactions)
        return fn

    return register


def load_handlers() -> dict[str, Handler]:
    """Import every domain's jobs module so its handlers are registered."""
    import importlib

    for module in JOB_MODULES:
        importlib.import_module(module)
    return HANDLERS


def job_settings() -> Settings:
    """The settings of the worker running the current job (the environment's otherwise)."""
    return _settings.get() or Settings()


@contextmanager
def running_with(settings: Settings | None) -> Iterator[None]:
    token = _settings.set(settings)
    try:
        yield
    finally:
        _settings.reset(token)
