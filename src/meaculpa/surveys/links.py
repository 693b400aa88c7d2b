"""The customer's signed survey link: it names one invitation (``i``) and carries its own
expiry (``exp``, seconds since the epoch) read against :func:`meaculpa.core.clock.utcnow`."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from meaculpa.core.clock import utcnow
from meaculpa.core.signing import LinkExpired, LinkInvalid, sign, unsign

PURPOSE = "survey"
# The signature's own age limit only backs up ``exp`` (the longest link a setting allows).
MAX_AGE_SECONDS = 366 * 24 * 3600


def survey_token(secret: str, invite_id: int, days: int) -> tuple[str, datetime]:
    expires = (utcnow() + timedelta(days=days)).replace(microsecond=0)
    return sign(secret, PURPOSE, {"i": invite_id, "exp": int(expires.timestamp())}), expires


def read_survey_token(secret: str, token: str) -> int:
    """The invitation's id, or :class:`LinkExpired` (410) / :class:`LinkInvalid` (404)."""
    data = unsign(secret, PURPOSE, token, max_age_seconds=MAX_AGE_SECONDS)
    exp, invite_id = data.get("exp"), data.get("i")
    for value in (exp, invite_id):
        if not isinstance(value, int) or isinstance(value, bool):
            raise LinkInvalid("this link is not one meaculpa made")
    assert isinstance(exp, int) and isinstance(invite_id, int)
    if utcnow() > datetime.fromtimestamp(exp, UTC):
        raise LinkExpired("this link has expired; ask us for a new one")
    return invite_id


def survey_url(base_url: str, token: str) -> str:
    return f"{base_url.rstrip('/')}/s/{token}"
