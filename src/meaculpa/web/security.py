"""Security headers for the pages and the in-memory throttle for failed logins."""

from __future__ import annotations

import threading
import time
from collections import deque
from collections.abc import Callable

from starlette.datastructures import MutableHeaders
from starlette.middleware.sessions import SessionMiddleware
from starlette.types import ASGIApp, Message, Receive, Scope, Send

CONTENT_SECURITY_POLICY = "; ".join(
    [
        "default-src 'self'",
        "script-src 'self'",
        "style-src 'self'",
        "img-src 'self' data:",
        "connect-src 'self'",
        "object-src 'none'",
        "base-uri 'self'",
        "form-action 'self'",
        "frame-ancestors 'none'",
    ]
)

PAGE_HEADERS = {
    "content-security-policy": CONTENT_SECURITY_POLICY,
    "x-frame-options": "DENY",
    "referrer-policy": "same-origin",
    "x-content-type-options": "nosniff",
}


class SecurityHeaders:
    """Add CSP, X-Frame-Options, Referrer-Policy and nosniff to every HTML response.

    The JSON API (``/api/``) is left alone: its interactive docs load their own assets.
    """

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or scope.get("path", "").startswith("/api/"):
            await self.app(scope, receive, send)
            return

        async def send_with_headers(message: Message) -> None:
            if message["type"] == "http.response.start":
                headers = MutableHeaders(scope=message)
                headers["x-content-type-options"] = "nosniff"
                if headers.get("content-type", "").startswith("text/html"):
                    for name, value in PAGE_HEADERS.items():
                        headers.setdefault(name, value)
                    headers.setdefault("cache-control", "no-store")
            await send(message)

        await self.app(scope, receive, send_with_headers)


class PageSessions(SessionMiddleware):
    """The signed session cookie, for the pages only.

    The JSON API (``/api/``) signs in with tokens and never reads the session; skipping it
    there saves the cookie parsing and a wrapper around every response of the API.
    """

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http" and scope.get("path", "").startswith("/api/"):
            await self.app(scope, receive, send)
            return
        await super().__call__(scope, receive, send)


class LoginThrottle:
    """Count failed logins per key (e-mail + client address) in a sliding window.

    In memory, so per process: enough to slow down guessing against one server; put a
    shared limit in the reverse proxy when several processes serve the pages.
    """

    def __init__(
        self,
        max_failures: int = 10,
        window_seconds: float = 15 * 60,
        clock: Callable[[], float] = time.monotonic,
        max_keys: int = 10_000,
    ) -> None:
        self.max_failures = max_failures
        self.window = window_seconds
        self.clock = clock
        self.max_keys = max_keys
        self._failures: dict[str, deque[float]] = {}
        self._lock = threading.Lock()

    def _recent(self, key: str, now: float) -> deque[float]:
        times = self._failures.get(key)
        if times is None:
            return deque()
        while times and now - times[0] >= self.window:
            times.popleft()
        if not times:
            self._failures.pop(key, None)
        return times

    def blocked(self, key: str) -> bool:
        with self._lock:
            return len(self._recent(key, self.clock())) >= self.max_failures

    def failed(self, key: str) -> None:
        with self._lock:
            now = self.clock()
            if len(self._failures) >= self.max_keys:
                for old in list(self._failures):
                    self._recent(old, now)
            times = self._failures.setdefault(key, deque())
            times.append(now)
            while len(times) > self.max_failures:
                times.popleft()

    def succeeded(self, key: str) -> None:
        with self._lock:
            self._failures.pop(key, None)
