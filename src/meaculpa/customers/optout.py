"""The signed opt-out link at the foot of every message a customer did not ask for.

Proactive apologies, updates on an error and "you said, we did" e-mails all carry it; it sets
the one ``Customer.opt_out`` flag that every such message respects. The token names one
customer (``c``) and is valid for two years: a customer who finds an old e-mail can still say
they want no more of them.
"""

from __future__ import annotations

from typing import Any

from meaculpa.core.signing import LinkInvalid, sign, unsign

OPT_OUT = "optout"
MAX_AGE_SECONDS = 2 * 366 * 24 * 3600


def opt_out_token(secret: str, customer_id: int) -> str:
    return sign(secret, OPT_OUT, {"c": customer_id})


def read_opt_out_token(secret: str, token: str) -> int:
    """The customer id, or :class:`LinkExpired` (410) / :class:`LinkInvalid` (404)."""
    data: dict[str, Any] = unsign(secret, OPT_OUT, token, max_age_seconds=MAX_AGE_SECONDS)
    value = data.get("c")
    if not isinstance(value, int) or isinstance(value, bool):
        raise LinkInvalid("this link is not one meaculpa made")
    return value


def opt_out_url(base_url: str, token: str) -> str:
    return f"{base_url.rstrip('/')}/o/{token}"
