"""Server-rendered pages (Jinja2 + htmx, no JavaScript build step)."""

from __future__ import annotations

from typing import Any

from fastapi import FastAPI

from meaculpa.settings import Settings


def install(app: FastAPI, settings: Settings) -> Any:
    """Mount the pages and static files; return the HTML error renderer (or None)."""
    return None
