"""The customer's two signed links: the follow-up question and the tracking page.

Each token names one follow-up (``f``) or one case and its customer (``c``, ``u``) and carries
its own expiry (``exp``, seconds since the epoch) read against :func:`meaculpa.core.clock.utcnow`,
so the expiry follows the organisation's setting at signing time and tests can move time.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

from meaculpa.core.clock import utcnow
from meaculpa.core.signing import LinkExpired, LinkInvalid, sign, unsign

FOLLOWUP = "followup"
TRACK = "track"
# The signature's own age limit only backs up ``exp`` (the longest link a setting allows).
MAX_AGE_SECONDS = 366 * 24 * 3600


def _expiry(days: int) -> datetime:
    return (utcnow() + timedelta(days=days)).replace(microsecond=0)


def _read(secret: str, purpose: str, token: str) -> dict[str, Any]:
    data = unsign(secret, purpose, token, max_age_seconds=MAX_AGE_SECONDS)
    exp = data.get("exp")
    if not isinstance(exp, int) or isinstance(exp, bool):
        raise LinkInvalid("this link is not one meaculpa made")
    if utcnow() > datetime.fromtimestamp(exp, UTC):
        raise LinkExpired("this link has expired; ask us for a new one")
    return data


def _int(data: dict[str, Any], key: str) -> int:
    value = data.get(key)
    if not isinstance(value, int) or isinstance(value, bool):
        raise LinkInvalid("this link is not one meaculpa made")
    return value


def followup_token(secret: str, followup_id: int, days: int) -> tuple[str, datetime]:
    expires = _expiry(days)
    return sign(secret, FOLLOWUP, {"f": followup_id, "exp": int(expires.timestamp())}), expires


def read_followup_token(secret: str, token: str) -> int:
    """The follow-up id, or :class:`LinkExpired` (410) / :class:`LinkInvalid` (404)."""
    return _int(_read(secret, FOLLOWUP, token), "f")


def tracking_token(secret: str, case_id: int, customer_id: int, days: int) -> tuple[str, datetime]:
    expires = _expiry(days)
    data = {"c": case_id, "u": customer_id, "exp": int(expires.timestamp())}
    return sign(secret, TRACK, data), expires


def read_tracking_token(secret: str, token: str) -> tuple[int, int]:
    """``(case_id, customer_id)``, or :class:`LinkExpired` / :class:`LinkInvalid`."""
    data = _read(secret, TRACK, token)
    return _int(data, "c"), _int(data, "u")


def followup_url(base_url: str, token: str) -> str:
    return f"{base_url.rstrip('/')}/f/{token}"


def tracking_url(base_url: str, token: str) -> str:
    return f"{base_url.rstrip('/')}/t/{token}"
