"""API shapes of the lessons domain."""

from __future__ import annotations

from datetime import datetime
from typing import Literal

from pydantic import Field, field_validator

from meaculpa.core.schemas import ReadModel, StrictModel
from meaculpa.lessons.models import MAX_EXAMPLES

MAX_ASSIGNEES = 500


def _unique(value: list[int] | None) -> list[int] | None:
    return None if value is None else sorted(set(value))


class LessonCreate(StrictModel):
    """A lesson learned. ``assign_to`` lists agents; ``assign_all_agents`` gives it to every
    active agent."""

    title: str = Field(min_length=3, max_length=300)
    what_went_wrong: str = Field(min_length=3, max_length=10_000)
    what_to_do: str = Field(min_length=3, max_length=10_000)
    language: Literal["es", "en"] = "es"
    example_case_ids: list[int] = Field(default_factory=list, max_length=MAX_EXAMPLES)
    action_id: int | None = None
    error_id: int | None = None
    problem_id: int | None = None
    assign_to: list[int] = Field(default_factory=list, max_length=MAX_ASSIGNEES)
    assign_all_agents: bool = False

    _ids = field_validator("example_case_ids", "assign_to")(_unique)


class AssignIn(StrictModel):
    user_ids: list[int] = Field(default_factory=list, max_length=MAX_ASSIGNEES)
    all_agents: bool = False

    _ids = field_validator("user_ids")(_unique)


class AssignmentRead(ReadModel):
    user_id: int
    assigned_at: datetime
    read_at: datetime | None


class LessonRead(ReadModel):
    id: int
    title: str
    what_went_wrong: str
    what_to_do: str
    language: str
    action_id: int | None
    error_id: int | None
    problem_id: int | None
    created_by_id: int | None
    created_at: datetime
    example_case_ids: list[int] = Field(default_factory=list)
    assignments: list[AssignmentRead] = Field(default_factory=list)
    # For the caller: assigned to them, and when they confirmed reading it.
    assigned_to_me: bool = False
    read_at: datetime | None = None
