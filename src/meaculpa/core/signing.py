"""Signed, expiring links for customers who have no login (tracking pages, follow-ups)."""

from __future__ import annotations

from typing import Any

from itsdangerous import BadSignature, SignatureExpired, URLSafeTimedSerializer

from meaculpa.core.exceptions import ProblemError


class LinkExpired(ProblemError):
    status = 410
    title = "Link expired"
    type_slug = "link-expired"


class LinkInvalid(ProblemError):
    status = 404
    title = "Link not valid"
    type_slug = "link-invalid"


def _serializer(secret: str, purpose: str) -> URLSafeTimedSerializer:
    # The purpose is the salt: a follow-up token never opens a tracking page, and so on.
    return URLSafeTimedSerializer(secret, salt=f"meaculpa.{purpose}")


def sign(secret: str, purpose: str, data: dict[str, Any]) -> str:
    return _serializer(secret, purpose).dumps(data)


def unsign(secret: str, purpose: str, token: str, *, max_age_seconds: int) -> dict[str, Any]:
    """The signed data, or :class:`LinkExpired` / :class:`LinkInvalid`."""
    if len(token) > 2000:
        raise LinkInvalid("this link is not one meaculpa made")
    try:
        data = _serializer(secret, purpose).loads(token, max_age=max_age_seconds)
    except SignatureExpired as exc:
        raise LinkExpired("this link has expired; ask us for a new one") from exc
    except BadSignature as exc:
        raise LinkInvalid("this link is not one meaculpa made") from exc
    if not isinstance(data, dict):
        raise LinkInvalid("this link is not one meaculpa made")
    return data
