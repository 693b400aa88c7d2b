"""The audit trail: one row for every change, written in the same transaction."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime
from enum import Enum
from typing import Any

from sqlalchemy import Index, String
from sqlalchemy.orm import Mapped, Session, mapped_column

from meaculpa.core.clock import utcnow
from meaculpa.core.db import Base


class AuditEvent(Base):
    __tablename__ = "audit_event"
    __table_args__ = (Index("ix_audit_object", "object_type", "object_id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    at: Mapped[datetime] = mapped_column(default=utcnow, index=True)
    actor_type: Mapped[str] = mapped_column(String(16))
    actor_id: Mapped[int | None]
    actor_label: Mapped[str] = mapped_column(String(254), default="")
    verb: Mapped[str] = mapped_column(String(64))
    object_type: Mapped[str] = mapped_column(String(32))
    object_id: Mapped[str] = mapped_column(String(64))
    before: Mapped[dict[str, Any] | None]
    after: Mapped[dict[str, Any] | None]


@dataclass(frozen=True)
class Actor:
    """Who is acting: a signed-in user, an API token's user, or the system itself."""

    kind: str  # "user", "token", "system"
    id: int | None
    label: str
    role: str = "admin"

    @classmethod
    def system(cls, label: str = "system") -> Actor:
        return cls(kind="system", id=None, label=label, role="admin")


def jsonable(value: Any) -> Any:
    if isinstance(value, datetime | date):
        return value.isoformat()
    if isinstance(value, Enum):
        return value.value
    if isinstance(value, dict):
        return {str(k): jsonable(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [jsonable(v) for v in value]
    return value


def snapshot(obj: Any, fields: tuple[str, ...] | list[str]) -> dict[str, Any]:
    return {name: jsonable(getattr(obj, name)) for name in fields}


def record(
    session: Session,
    actor: Actor,
    verb: str,
    object_type: str,
    object_id: Any,
    *,
    before: dict[str, Any] | None = None,
    after: dict[str, Any] | None = None,
) -> AuditEvent:
    """Add an audit event to ``session``; it commits (or not) with the change itself."""
    if before is not None and after is not None:
        changed = {k for k in after if before.get(k) != after.get(k)}
        before = {k: before[k] for k in changed if k in before}
        after = {k: after[k] for k in changed}
    event = AuditEvent(
        actor_type=actor.kind,
        actor_id=actor.id,
        actor_label=actor.label,
        verb=verb,
        object_type=object_type,
        object_id=str(object_id),
        before=before,
        after=after,
    )
    session.add(event)
    return event


# The keys of :func:`audit_row`, for statements that insert such rows.
AUDIT_ROW_KEYS = (
    "at",
    "actor_type",
    "actor_id",
    "actor_label",
    "verb",
    "object_type",
    "object_id",
    "before",
    "after",
)


def audit_row(
    actor: Actor,
    verb: str,
    object_type: str,
    object_id: Any,
    *,
    at: datetime,
    after: dict[str, Any] | None = None,
) -> dict[str, Any]:
    """An audit event as a plain row, for writers that insert many at once."""
    return {
        "at": at,
        "actor_type": actor.kind,
        "actor_id": actor.id,
        "actor_label": actor.label,
        "verb": verb,
        "object_type": object_type,
        "object_id": str(object_id),
        "before": None,
        "after": after,
    }
