"""JSON API of the playbooks domain (mounted under /api/v1/playbooks)."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Query, status
from sqlalchemy.orm import Session

from meaculpa.accounts.queries import users_by_id
from meaculpa.cases.queries import access_case
from meaculpa.core.api import awrite
from meaculpa.core.audit import Actor
from meaculpa.core.deps import DB, ApiActor, ReadSession
from meaculpa.core.enums import Language
from meaculpa.core.exceptions import NotFound
from meaculpa.core.schemas import Page
from meaculpa.playbooks import actions, queries
from meaculpa.playbooks.defaults import all_defaults
from meaculpa.playbooks.schemas import (
    ChecklistRead,
    ChecklistStepRead,
    PlaybookRead,
    PlaybookRevisionRead,
    PlaybookUpdate,
    RenderedTemplate,
    StepAlertRead,
    StepKey,
)

# Importing the pages puts the domain's templates on the page loader before it is built.

router = APIRouter(prefix="/playbooks", tags=["playbooks"])


def checklist_read(checklist: queries.Checklist) -> ChecklistRead:
    playbook = checklist.playbook
    return ChecklistRead(
        case_id=checklist.case_id,
        playbook_id=playbook.playbook_id,
        error_type=playbook.error_type,  # type: ignore[arg-type]
        severity=playbook.severity,  # type: ignore[arg-type]
        error_id=playbook.error_id,
        language=checklist.language,
        steps=[
            ChecklistStepRead(
                key=StepKey(s.key),
                position=s.position,
                hours=s.hours,
                due_at=s.due_at,
                state=s.state,
                done_at=s.done_at,
                done_by_id=s.done_by_id,
                late=s.late,
                alerted_at=s.alerted_at,
            )
            for s in checklist.steps
        ],
    )


def step_key(step: str) -> str:
    """A step of the protocol (``acknowledge`` ... ``follow_up``), or a 404."""
    if step not in StepKey.__members__:
        raise NotFound(f"there is no playbook step {step!r}; steps: {', '.join(StepKey)}")
    return step


async def ensure_defaults(db: Any, session: Session, actor: Actor) -> None:
    """Store the shipped playbooks the first time anyone lists them."""
    if queries.count_playbooks(session) < len(all_defaults()):
        await awrite(db, lambda s: actions.do_install_default_playbooks(s, Actor.system()))
        session.rollback()  # end the read snapshot taken before the write


@router.get("", response_model=Page[PlaybookRead])
async def list_playbooks(actor: ApiActor, db: DB, session: ReadSession) -> Any:
    """Every playbook: one per error type and severity (36, stored on first use)."""
    await ensure_defaults(db, session, actor)
    rows = queries.list_playbooks(session)
    return {"items": [PlaybookRead.model_validate(r) for r in rows], "next_cursor": None}


@router.get("/alerts", response_model=Page[StepAlertRead])
async def my_alerts(
    actor: ApiActor,
    session: ReadSession,
    pending: bool = Query(True, description="only steps still not done on open cases"),
) -> Any:
    """The overdue steps the calling user was alerted about, newest first (at most 200)."""
    if actor.id is None:
        return {"items": [], "next_cursor": None}
    rows = queries.list_alerts_for_user(session, actor.id, pending_only=pending)
    return {"items": [StepAlertRead.model_validate(r.alert) for r in rows], "next_cursor": None}


@router.get("/cases/{case_id}", response_model=ChecklistRead)
async def case_checklist(case_id: int, actor: ApiActor, session: ReadSession) -> Any:
    """The case's playbook steps: deadline, and whether each is done, due or overdue."""
    case = access_case(session, actor, case_id)
    return checklist_read(queries.case_checklist(session, case))


@router.post(
    "/cases/{case_id}/steps/{step}/done",
    response_model=ChecklistRead,
    status_code=status.HTTP_201_CREATED,
)
async def mark_step_done(case_id: int, step: str, actor: ApiActor, db: DB) -> Any:
    """Mark a step done (409 when it already is)."""

    def run(s: Session) -> ChecklistRead:
        case = access_case(s, actor, case_id)
        actions.do_mark_step_done(s, actor, case, step_key(step))
        return checklist_read(queries.case_checklist(s, case))

    return await awrite(db, run)


@router.delete("/cases/{case_id}/steps/{step}/done", response_model=ChecklistRead)
async def undo_step(case_id: int, step: str, actor: ApiActor, db: DB) -> Any:
    """Take back a step marked done by mistake."""

    def run(s: Session) -> ChecklistRead:
        case = access_case(s, actor, case_id)
        actions.do_undo_step(s, actor, case, step_key(step))
        return checklist_read(queries.case_checklist(s, case))

    return await awrite(db, run)


@router.get("/cases/{case_id}/steps/{step}/text", response_model=RenderedTemplate)
async def step_text(
    case_id: int,
    step: str,
    actor: ApiActor,
    session: ReadSession,
    language: Language | None = None,
) -> Any:
    """The step's reply template filled in for this case (in the case's language unless
    ``language`` is given); variables without a value stay visible, e.g. ``{remedy}``."""
    case = access_case(session, actor, case_id)
    me = users_by_id(session, [actor.id]).get(actor.id) if actor.id is not None else None
    lang = language.value if language else queries.case_language(session, case)
    text = queries.rendered_step_text(
        session, case, step_key(step), agent_name=me.name if me else None, language=lang
    )
    return RenderedTemplate(case_id=case.id, step=StepKey(step), language=lang, text=text)


@router.get("/{playbook_id}", response_model=PlaybookRead)
async def get_playbook(playbook_id: int, actor: ApiActor, session: ReadSession) -> Any:
    return queries.access_playbook(session, actor, playbook_id)


@router.patch("/{playbook_id}", response_model=PlaybookRead)
async def update_playbook(playbook_id: int, data: PlaybookUpdate, actor: ApiActor, db: DB) -> Any:
    """Replace the steps (managers only); ``reason`` is kept with the new revision, and
    ``version`` (the one you edited) turns a concurrent change into a 409."""

    def run(s: Session) -> PlaybookRead:
        playbook = queries.access_playbook(s, actor, playbook_id)
        return PlaybookRead.model_validate(actions.do_update_playbook(s, actor, playbook, data))

    return await awrite(db, run)


@router.get("/{playbook_id}/revisions", response_model=list[PlaybookRevisionRead])
async def list_revisions(playbook_id: int, actor: ApiActor, session: ReadSession) -> Any:
    """Every version of the playbook, newest first, with who changed it and why."""
    queries.access_playbook(session, actor, playbook_id)
    return queries.list_revisions(session, playbook_id)
