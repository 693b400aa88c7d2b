"""Job kinds and their handlers. Domains register handlers at import of their ``jobs`` module."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from sqlalchemy.orm import Session

Handler = Callable[[Session, dict[str, Any]], None]
HANDLERS: dict[str, Handler] = {}


def job_handler(kind: str) -> Callable[[Handler], Handler]:
    def register(fn: Handler) -> Handler:
        HANDLERS[kind] = fn
        return fn

    return register


def load_handlers() -> dict[str, Handler]:
    """Import every domain's jobs module so its handlers are registered."""
    import importlib

    for module in ("meaculpa.messages.jobs",):
        importlib.import_module(module)
    return HANDLERS
