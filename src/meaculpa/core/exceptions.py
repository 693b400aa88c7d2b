"""Errors that become RFC 9457 problem+json responses."""

from __future__ import annotations

from typing import Any


class ProblemError(Exception):
    status = 400
    title = "Bad request"
    type_slug = "bad-request"

    def __init__(
        self,
        detail: str,
        *,
        errors: list[dict[str, Any]] | None = None,
        **extra: Any,
    ) -> None:
        super().__init__(detail)
        self.detail = detail
        self.errors = errors
        self.extra = extra

    def to_problem(self, instance: str | None = None) -> dict[str, Any]:
        body: dict[str, Any] = {
            "type": f"https://meaculpa.dev/problems/{self.type_slug}",
            "title": self.title,
            "status": self.status,
            "detail": self.detail,
        }
        if instance:
            body["instance"] = instance
        if self.errors:
            body["errors"] = self.errors
        body.update(self.extra)
        return body


class NotFound(ProblemError):
    status = 404
    title = "Not found"
    type_slug = "not-found"


class Forbidden(ProblemError):
    status = 403
    title = "Forbidden"
    type_slug = "forbidden"


class Unauthorized(ProblemError):
    status = 401
    title = "Unauthorized"
    type_slug = "unauthorized"


class Conflict(ProblemError):
    status = 409
    title = "Conflict"
    type_slug = "conflict"


class Invalid(ProblemError):
    """A request that is well-formed but breaks a rule; name the field in ``errors``."""

    status = 422
    title = "Unprocessable content"
    type_slug = "validation"

    def __init__(self, detail: str, *, field: str | None = None, **extra: Any) -> None:
        errors = [{"field": field, "message": detail}] if field else None
        super().__init__(detail, errors=errors, **extra)


class PayloadTooLarge(ProblemError):
    status = 413
    title = "Payload too large"
    type_slug = "payload-too-large"
