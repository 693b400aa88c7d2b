"""Rate limits of the public survey pages and answer endpoint, per client address (as the
tracking page): 60 page views a minute, 10 answers or opt-outs in 10 minutes."""

from __future__ import annotations

from fastapi import Request

from meaculpa.web.security import LoginThrottle

VIEWS_PER_MINUTE = 60
POSTS_PER_WINDOW = 10
POST_WINDOW_SECONDS = 600


def _throttles(request: Request) -> tuple[LoginThrottle, LoginThrottle]:
    state = request.app.state
    pair: tuple[LoginThrottle, LoginThrottle] | None = getattr(state, "surveys_throttles", None)
    if pair is None:
        pair = (
            LoginThrottle(max_failures=VIEWS_PER_MINUTE, window_seconds=60),
            LoginThrottle(max_failures=POSTS_PER_WINDOW, window_seconds=POST_WINDOW_SECONDS),
        )
        state.surveys_throttles = pair
    return pair


def limited(request: Request, *, post: bool = False) -> bool:
    """Count this request; True once the client went over its limit."""
    views, posts = _throttles(request)
    key = request.client.host if request.client else "unknown"
    throttle = posts if post else views
    if throttle.blocked(key):
        return True
    throttle.failed(key)  # a "failure" here is simply one more request in the window
    return False
