"""Normalising customer identities so the same person matches across channels."""

from __future__ import annotations

import re

from meaculpa.core.enums import IdentityKind

_EMAIL = re.compile(
    r"^[^@\s]{1,64}@[A-Za-z0-9](?:[A-Za-z0-9-]{0,62}[A-Za-z0-9])?(?:\.[A-Za-z0-9](?:[A-Za-z0-9-]{0,62}[A-Za-z0-9])?)+$"
)
_HANDLE = re.compile(r"^[a-z0-9_.]{1,50}$")
_PHONE_JUNK = re.compile(r"[\s\-().]")


class IdentityError(ValueError):
    """An identity value that cannot be a real one of its kind."""


def normalise_identity(kind: str, value: str) -> tuple[str, str]:
    """Return ``(kind, value)`` in canonical form, or raise :class:`IdentityError`."""
    try:
        kind_enum = IdentityKind(kind)
    except ValueError as exc:
        allowed = ", ".join(k.value for k in IdentityKind)
        raise IdentityError(f"unknown identity kind {kind!r}; use one of {allowed}") from exc
    raw = (value or "").strip()
    if not raw:
        raise IdentityError(f"the {kind} identity is empty")
    if kind_enum is IdentityKind.email:
        email = raw.lower()
        if len(email) > 254 or not _EMAIL.match(email):
            raise IdentityError(f"{raw!r} is not an e-mail address")
        return kind_enum.value, email
    if kind_enum in (IdentityKind.phone, IdentityKind.whatsapp):
        phone = _PHONE_JUNK.sub("", raw)
        if phone.startswith("00"):
            phone = "+" + phone[2:]
        digits = phone[1:] if phone.startswith("+") else phone
        if not digits.isdigit() or not 6 <= len(digits) <= 15:
            raise IdentityError(f"{raw!r} is not a phone number")
        return kind_enum.value, phone
    if kind_enum in (IdentityKind.twitter, IdentityKind.instagram, IdentityKind.facebook):
        handle = raw.lstrip("@").lower()
        if not _HANDLE.match(handle):
            raise IdentityError(f"{raw!r} is not a {kind} handle")
        return kind_enum.value, handle
    if len(raw) > 200 or any(ch.isspace() for ch in raw):
        raise IdentityError("an external id has at most 200 characters and no spaces")
    return kind_enum.value, raw


def display_name_from(kind: str, value: str) -> str:
    if kind == "email":
        return value.split("@", 1)[0].replace(".", " ").replace("_", " ").title()
    if kind in ("twitter", "instagram"):
        return "@" + value
    return value
