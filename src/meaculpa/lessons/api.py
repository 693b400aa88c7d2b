"""JSON API of the lessons domain (mounted under /api/v1; full paths here)."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Query, status

from meaculpa.core.api import Cursor, Limit, awrite
from meaculpa.core.deps import DB, ApiActor, ReadSession
from meaculpa.core.pagination import decode_cursor, page_of
from meaculpa.core.schemas import Page, ReadModel
from meaculpa.lessons import actions, queries
from meaculpa.lessons.schemas import AssignIn, LessonCreate, LessonRead

router = APIRouter(tags=["lessons"])


class AssignedRead(ReadModel):
    assigned: list[int]


class UnreadRead(ReadModel):
    unread: int


@router.post("/lessons", response_model=LessonRead, status_code=status.HTTP_201_CREATED)
async def create_lesson(data: LessonCreate, actor: ApiActor, db: DB) -> Any:
    """Write a lesson learned (what went wrong, what to do now, example cases) and assign it
    to agents. Managers only."""

    def run(s: Any) -> Any:
        return queries.to_reads(s, [actions.do_create_lesson(s, actor, data)], actor.id)[0]

    return await awrite(db, run)


@router.get("/lessons", response_model=Page[LessonRead])
async def list_lessons(
    actor: ApiActor,
    session: ReadSession,
    mine: bool = Query(False, description="only lessons assigned to the caller"),
    unread: bool = Query(False, description="with mine: only those not confirmed yet"),
    action_id: int | None = None,
    limit: int = Limit,
    cursor: str | None = Cursor,
) -> Any:
    """Lessons, newest first."""
    rows = queries.list_lessons(
        session,
        user_id=actor.id if mine or unread else None,
        unread=unread,
        action_id=action_id,
        after_id=decode_cursor(cursor),
        limit=limit,
    )
    items, next_cursor = page_of(rows, limit)
    return {"items": queries.to_reads(session, items, actor.id), "next_cursor": next_cursor}


@router.get("/lessons/unread-count", response_model=UnreadRead)
async def unread_count(actor: ApiActor, session: ReadSession) -> Any:
    """How many lessons assigned to the caller they have not confirmed reading."""
    return {"unread": queries.unread_count(session, actor.id) if actor.id else 0}


@router.get("/lessons/{lesson_id}", response_model=LessonRead)
async def get_lesson(lesson_id: int, actor: ApiActor, session: ReadSession) -> Any:
    lesson = queries.access_lesson(session, actor, lesson_id)
    return queries.to_reads(session, [lesson], actor.id)[0]


@router.post("/lessons/{lesson_id}/assign", response_model=AssignedRead)
async def assign_lesson(lesson_id: int, data: AssignIn, actor: ApiActor, db: DB) -> Any:
    """Give the lesson to more agents. Managers only."""

    def run(s: Any) -> Any:
        lesson = queries.access_lesson(s, actor, lesson_id)
        return {
            "assigned": actions.do_assign_lesson(
                s, actor, lesson, data.user_ids, all_agents=data.all_agents
            )
        }

    return await awrite(db, run)


@router.post("/lessons/{lesson_id}/read", response_model=LessonRead)
async def confirm_read(lesson_id: int, actor: ApiActor, db: DB) -> Any:
    """Confirm the caller read a lesson assigned to them."""

    def run(s: Any) -> Any:
        lesson = queries.access_lesson(s, actor, lesson_id)
        actions.do_confirm_read(s, actor, lesson)
        return queries.to_reads(s, [lesson], actor.id)[0]

    return await awrite(db, run)
