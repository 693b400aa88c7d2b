"""Who may do what. Every ``access_*`` and ``do_*`` function goes through these checks."""

from __future__ import annotations

from meaculpa.core.audit import Actor
from meaculpa.core.exceptions import Forbidden

ROLE_RANK = {"agent": 1, "manager": 2, "admin": 3}


def has_role(actor: Actor, minimum: str) -> bool:
    return ROLE_RANK.get(actor.role, 0) >= ROLE_RANK[minimum]


def require_role(actor: Actor, minimum: str, action: str) -> None:
    if not has_role(actor, minimum):
        raise Forbidden(f"only a {minimum} or above may {action}")
