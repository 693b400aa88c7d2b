"""JSON API of the problems domain (mounted under /api/v1)."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from fastapi import APIRouter, Query, Response, status
from sqlalchemy.orm import Session

from meaculpa.core.api import Cursor, Limit, awrite, paged
from meaculpa.core.audit import Actor
from meaculpa.core.clock import utcnow
from meaculpa.core.deps import DB, ApiActor, ReadSession
from meaculpa.core.exceptions import NotFound
from meaculpa.core.pagination import decode_cursor
from meaculpa.core.schemas import Page
from meaculpa.errors.queries import access_error
from meaculpa.problems import actions, queries
from meaculpa.problems.models import Problem
from meaculpa.problems.schemas import (
    ErrorLinkIn,
    MergeIn,
    ProblemDetail,
    ProblemRead,
    ProblemUpdate,
    ReportRead,
    RootCauseIn,
    RootCauseRead,
    SettingsRead,
    SettingsUpdate,
    SplitIn,
    WeekCount,
)

router = APIRouter(tags=["problems"])

DEFAULT_WEEKS = 12


def detail(session: Session, problem: Problem, weeks: int = DEFAULT_WEEKS) -> ProblemDetail:
    now = utcnow()
    monday = queries.week_start(now)
    series = queries.weekly_counts(
        session, problem.id, monday - timedelta(days=7 * (weeks - 1)), now + timedelta(seconds=1)
    )
    base = ProblemRead.model_validate(problem).model_dump()
    return ProblemDetail(
        **base,
        weekly_counts=[WeekCount(week_start=w, count=n) for w, n in series],
        trend=queries.trend_of(series).direction,
        language_mix=queries.language_mix(session, problem.id),
        error_ids=queries.linked_error_ids(session, problem.id),
        customers=len(queries.reporter_customer_ids(session, problem.id)),
    )


@router.get("/problems", response_model=Page[ProblemRead])
async def list_problems(
    actor: ApiActor,
    session: ReadSession,
    status_: str | None = Query(
        "open", alias="status", pattern="^(open|merged|archived|all)$", description="or all"
    ),
    q: str | None = Query(None, max_length=200, description="words in the label"),
    limit: int = Limit,
    cursor: str | None = Cursor,
) -> Any:
    """Problems, newest first."""
    rows = queries.list_problems(
        session,
        status=None if status_ == "all" else status_,
        after_id=decode_cursor(cursor),
        limit=limit,
        query=q,
    )
    return paged(rows, limit, ProblemRead)


@router.get("/problems/{problem_id}", response_model=ProblemDetail)
async def get_problem(
    problem_id: int,
    actor: ApiActor,
    session: ReadSession,
    weeks: int = Query(DEFAULT_WEEKS, ge=1, le=104, description="weekly counts to return"),
) -> Any:
    """A problem with its weekly counts, trend, language mix and linked errors.

    A merged problem answers with ``status: merged`` and ``merged_into_id``."""
    return detail(session, queries.access_problem(session, actor, problem_id), weeks)


@router.patch("/problems/{problem_id}", response_model=ProblemDetail)
async def update_problem(problem_id: int, data: ProblemUpdate, actor: ApiActor, db: DB) -> Any:
    """Rename (``label``; an empty one brings back the automatic label) or archive/reopen."""

    def run(s: Session) -> Any:
        problem = queries.access_problem(s, actor, problem_id, for_update=True)
        if data.label is not None:
            actions.do_rename_problem(s, actor, problem, data.label)
        if data.status is not None and data.status.value != problem.status:
            actions.do_set_status(s, actor, problem, data.status.value)
        s.flush()
        return detail(s, problem)

    return await awrite(db, run)


@router.get("/problems/{problem_id}/reports", response_model=Page[ReportRead])
async def list_reports(
    problem_id: int,
    actor: ApiActor,
    session: ReadSession,
    limit: int = Limit,
    cursor: str | None = Cursor,
) -> Any:
    """The complaints grouped in the problem, newest first."""
    queries.access_problem(session, actor, problem_id)
    rows = queries.list_reports(session, problem_id, after_id=decode_cursor(cursor), limit=limit)
    return paged(rows, limit, ReportRead)


@router.post("/problems/{problem_id}/merge", response_model=ProblemDetail)
async def merge_problem(problem_id: int, data: MergeIn, actor: ApiActor, db: DB) -> Any:
    """Merge this problem into ``into``; answers with the problem that absorbed it."""

    def run(s: Session) -> Any:
        source = queries.access_problem(s, actor, problem_id, for_update=True)
        target = queries.access_problem(s, actor, data.into, for_update=True)
        return detail(s, actions.do_merge_problems(s, actor, source, target))

    return await awrite(db, run)


@router.post(
    "/problems/{problem_id}/split",
    response_model=ProblemDetail,
    status_code=status.HTTP_201_CREATED,
)
async def split_problem(problem_id: int, data: SplitIn, actor: ApiActor, db: DB) -> Any:
    """Move the named reports (or, with none named, the smaller half by meaning) to a new
    problem; answers with the new problem."""

    def run(s: Session) -> Any:
        problem = queries.access_problem(s, actor, problem_id, for_update=True)
        new = actions.do_split_problem(s, actor, problem, data.report_ids or None, data.label)
        return detail(s, new)

    return await awrite(db, run)


@router.post("/problems/{problem_id}/errors", response_model=ProblemDetail)
async def link_error(
    problem_id: int, data: ErrorLinkIn, actor: ApiActor, db: DB, response: Response
) -> Any:
    """Link the problem to a company error (201 when new, 200 when it was linked already)."""

    def run(s: Session) -> tuple[bool, Any]:
        problem = queries.access_problem(s, actor, problem_id, for_update=True)
        created = actions.do_link_error(s, actor, problem, data.error_id)
        return created, detail(s, problem)

    created, body = await awrite(db, run)
    response.status_code = status.HTTP_201_CREATED if created else status.HTTP_200_OK
    return body


@router.delete("/problems/{problem_id}/errors/{error_id}", status_code=204)
async def unlink_error(problem_id: int, error_id: int, actor: ApiActor, db: DB) -> Response:
    def run(s: Session) -> None:
        problem = queries.access_problem(s, actor, problem_id, for_update=True)
        actions.do_unlink_error(s, actor, problem, error_id)

    await awrite(db, run)
    return Response(status_code=204)


@router.get("/errors/{error_id}/problems", response_model=list[ProblemRead])
async def error_problems(error_id: int, actor: ApiActor, session: ReadSession) -> Any:
    """The problems linked to a company error."""
    access_error(session, actor, error_id)
    return queries.problems_for_error(session, error_id)


# --- root causes -----------------------------------------------------------------------------


def _cause(session: Session, actor: Actor, kind: str, object_id: int) -> Any:
    if kind == "problem":
        queries.access_problem(session, actor, object_id)
        cause = queries.get_root_cause(session, problem_id=object_id)
    else:
        access_error(session, actor, object_id)
        cause = queries.get_root_cause(session, error_id=object_id)
    if cause is None:
        raise NotFound(f"no root cause is recorded for {kind} {object_id}")
    return cause


def _set_cause(actor: Actor, kind: str, object_id: int, data: RootCauseIn) -> Any:
    def run(s: Session) -> Any:
        target = {"problem_id": object_id} if kind == "problem" else {"error_id": object_id}
        cause = actions.do_set_root_cause(
            s, actor, category=data.category.value, whys=list(data.whys), notes=data.notes,
            **target,
        )  # fmt: skip
        return RootCauseRead.model_validate(cause)

    return run


@router.get("/problems/{problem_id}/root-cause", response_model=RootCauseRead)
async def get_problem_cause(problem_id: int, actor: ApiActor, session: ReadSession) -> Any:
    return _cause(session, actor, "problem", problem_id)


@router.put("/problems/{problem_id}/root-cause", response_model=RootCauseRead)
async def put_problem_cause(problem_id: int, data: RootCauseIn, actor: ApiActor, db: DB) -> Any:
    """Record why the problem keeps happening: category, up to five whys, notes. Managers."""
    return await awrite(db, _set_cause(actor, "problem", problem_id, data))


@router.delete("/problems/{problem_id}/root-cause", status_code=204)
async def delete_problem_cause(problem_id: int, actor: ApiActor, db: DB) -> Response:
    await awrite(db, lambda s: actions.do_clear_root_cause(s, actor, problem_id=problem_id))
    return Response(status_code=204)


@router.get("/errors/{error_id}/root-cause", response_model=RootCauseRead)
async def get_error_cause(error_id: int, actor: ApiActor, session: ReadSession) -> Any:
    return _cause(session, actor, "error", error_id)


@router.put("/errors/{error_id}/root-cause", response_model=RootCauseRead)
async def put_error_cause(error_id: int, data: RootCauseIn, actor: ApiActor, db: DB) -> Any:
    """Record why the error happened: category, up to five whys, notes. Managers."""
    return await awrite(db, _set_cause(actor, "error", error_id, data))


@router.delete("/errors/{error_id}/root-cause", status_code=204)
async def delete_error_cause(error_id: int, actor: ApiActor, db: DB) -> Response:
    await awrite(db, lambda s: actions.do_clear_root_cause(s, actor, error_id=error_id))
    return Response(status_code=204)


# --- settings --------------------------------------------------------------------------------


@router.get("/problem-settings", response_model=SettingsRead)
async def get_settings(actor: ApiActor, session: ReadSession) -> Any:
    """The grouping threshold and the rule that raises an alert."""
    return SettingsRead.model_validate(queries.get_settings(session))


@router.put("/problem-settings", response_model=SettingsRead)
async def put_settings(data: SettingsUpdate, actor: ApiActor, db: DB) -> Any:
    """Admins only."""

    def run(s: Session) -> Any:
        result = actions.do_update_settings(s, actor, **data.model_dump(exclude_none=True))
        return SettingsRead.model_validate(result)

    return await awrite(db, run)


# --- the monthly management review -----------------------------------------------------------


@router.get("/review")
async def monthly_review(
    actor: ApiActor,
    session: ReadSession,
    month: str | None = Query(None, max_length=7, description="YYYY-MM; the last complete one"),
) -> Any:
    """The management review of a month: top problems against the month before, improvement
    actions with their verdicts, recovery figures. Managers and admins."""
    from meaculpa.core.exceptions import Invalid
    from meaculpa.core.permissions import require_role
    from meaculpa.problems.review import build_review, parse_month

    require_role(actor, "manager", "read the management review")
    try:
        chosen = parse_month(month, utcnow().date())
    except ValueError as exc:
        raise Invalid(str(exc), field="month") from exc
    return build_review(session, chosen).to_dict()
