"""JSON API of the surveys domain (mounted under /api/v1).

Everything needs an API token except ``POST /surveys/answers/{token}``, where the customer's
signed link is the credential (rate-limited per client address); that one is left out of the
OpenAPI document, which lists only operations that take a token.
"""

from __future__ import annotations

from datetime import date
from typing import Annotated, Any

from fastapi import APIRouter, Path, Query, Request, status
from pydantic import AwareDatetime

from meaculpa.analytics.api import period
from meaculpa.core.api import Cursor, Limit, awrite, paged
from meaculpa.core.deps import DB, ApiActor, AppSettings, ReadSession
from meaculpa.core.enums import Language
from meaculpa.core.exceptions import ProblemError
from meaculpa.core.i18n import LANGUAGES
from meaculpa.core.pagination import decode_cursor, encode_cursor
from meaculpa.core.permissions import require_role
from meaculpa.core.schemas import Page
from meaculpa.surveys import actions, queries
from meaculpa.surveys.links import read_survey_token
from meaculpa.surveys.schemas import (
    AnswerIn,
    AnswerRead,
    Audience,
    GroupBy,
    InviteRead,
    InviteStatus,
    Kind,
    QuestionTextRead,
    QuestionTextUpdate,
    RecipientsSummary,
    ResponseRead,
    ResultsRead,
    SendCreate,
    SendCreated,
    SendRead,
    Source,
    SurveySettingsRead,
    SurveySettingsUpdate,
)
from meaculpa.surveys.throttle import limited

router = APIRouter(prefix="/surveys", tags=["surveys"])
PathWord = Annotated[str, Path(max_length=16)]


class TooManyAnswers(ProblemError):
    status = 429
    title = "Too many requests"
    type_slug = "too-many-requests"


def _send_read(session: Any, send: Any) -> SendRead:
    counts = queries.send_counts(session, [send.id])[send.id]
    return SendRead.model_validate(
        {
            "id": send.id,
            "name": send.name,
            "kind": send.kind,
            "created_by_id": send.created_by_id,
            "created_at": send.created_at,
            "counts": counts,
        }
    )


# --- settings and questions -----------------------------------------------------------------


@router.get("/settings", response_model=SurveySettingsRead)
async def get_settings(actor: ApiActor, session: ReadSession) -> Any:
    """After-case surveys (on or off, kind, days after resolution), link days, the quiet
    period per customer and the thresholds of a low score."""
    return queries.survey_settings(session)


@router.put("/settings", response_model=SurveySettingsRead)
async def put_settings(data: SurveySettingsUpdate, actor: ApiActor, db: DB) -> Any:
    """Change the survey settings (managers)."""
    return await awrite(
        db,
        lambda s: SurveySettingsRead.model_validate(
            actions.do_update_survey_settings(s, actor, data)
        ),
    )


@router.get("/questions", response_model=list[QuestionTextRead])
async def get_questions(actor: ApiActor, session: ReadSession) -> Any:
    """The questions of each kind in each language (``customised`` when a manager wrote them)."""
    return queries.all_question_texts(session, LANGUAGES)


@router.put("/questions/{kind}/{language}", response_model=QuestionTextRead)
async def put_question(
    kind: PathWord, language: PathWord, data: QuestionTextUpdate, actor: ApiActor, db: DB
) -> Any:
    """Reword one kind's questions (``csat``, ``nps``, ``ces``) in one language (``es``,
    ``en``); managers. Another kind or language is 404."""
    return await awrite(db, lambda s: actions.do_set_question_text(s, actor, kind, language, data))


@router.delete("/questions/{kind}/{language}", response_model=QuestionTextRead)
async def reset_question(kind: PathWord, language: PathWord, actor: ApiActor, db: DB) -> Any:
    """Go back to the default wording (managers)."""
    return await awrite(db, lambda s: actions.do_reset_question_text(s, actor, kind, language))


# --- list sends -----------------------------------------------------------------------------


@router.post("/sends", response_model=SendCreated, status_code=status.HTTP_201_CREATED)
async def create_send(data: SendCreate, actor: ApiActor, db: DB) -> Any:
    """Survey a list of customers (managers): ``audience`` holds e-mail addresses of known
    customers or a filter over them. Each customer is surveyed once per send; opted-out
    customers are skipped."""

    def run(s: Any) -> Any:
        send, summary = actions.do_create_send(s, actor, data)
        return {"send": _send_read(s, send), "recipients": summary}

    return await awrite(db, run)


@router.get("/sends", response_model=Page[SendRead])
async def list_sends(
    actor: ApiActor, session: ReadSession, limit: int = Limit, cursor: str | None = Cursor
) -> Any:
    """List sends, newest first (managers)."""
    require_role(actor, "manager", "see survey sends")
    rows = queries.list_sends(session, after_id=decode_cursor(cursor), limit=limit)
    page = rows[:limit]
    counts = queries.send_counts(session, [r.id for r in page])
    items = [
        SendRead.model_validate(
            {
                **{k: getattr(r, k) for k in ("id", "name", "kind", "created_by_id", "created_at")},
                "counts": counts[r.id],
            }
        )
        for r in page
    ]
    return {
        "items": items,
        "next_cursor": encode_cursor(page[-1].id) if len(rows) > limit else None,
    }


@router.get("/sends/{send_id}", response_model=SendRead)
async def get_send(send_id: int, actor: ApiActor, session: ReadSession) -> Any:
    return _send_read(session, queries.access_send(session, actor, send_id))


@router.post("/sends/{send_id}/recipients", response_model=RecipientsSummary)
async def add_recipients(send_id: int, data: Audience, actor: ApiActor, db: DB) -> Any:
    """Add customers to a send; those already in it are counted, never surveyed twice."""

    def run(s: Any) -> Any:
        send = queries.access_send(s, actor, send_id)
        return actions.do_add_recipients(s, actor, send, data)

    return await awrite(db, run)


# --- answers and figures --------------------------------------------------------------------


@router.get("/responses", response_model=Page[ResponseRead])
async def list_responses(
    actor: ApiActor,
    session: ReadSession,
    kind: Kind | None = None,
    low: bool | None = Query(None, description="only low scores (true) or the others"),
    customer_id: int | None = None,
    case_id: int | None = None,
    send_id: int | None = None,
    team_id: int | None = None,
    language: Language | None = None,
    with_comment: bool | None = None,
    since: AwareDatetime | None = None,
    until: AwareDatetime | None = None,
    limit: int = Limit,
    cursor: str | None = Cursor,
) -> Any:
    """Answers, newest first."""
    rows = queries.list_responses(
        session,
        kind=kind,
        low=low,
        customer_id=customer_id,
        case_id=case_id,
        send_id=send_id,
        team_id=team_id,
        language=language.value if language else None,
        with_comment=with_comment,
        since=since,
        until=until,
        after_id=decode_cursor(cursor),
        limit=limit,
    )
    return paged(rows, limit, ResponseRead)


@router.get("/results", response_model=ResultsRead)
async def results(
    actor: ApiActor,
    session: ReadSession,
    since: date | None = Query(None, alias="from"),
    until: date | None = Query(None, alias="to"),
    group_by: GroupBy = "all",
    team_id: int | None = None,
    source: Source | None = None,
) -> Any:
    """Figures of the surveys sent in the period (whole UTC days, the last 30 by default):
    per kind sent, answered, response rate, average (CSAT, CES), NPS (% promoters 9-10
    minus % detractors 0-6) and low scores; overall or by team, month, week, source or
    language. Managers only."""
    require_role(actor, "manager", "see survey figures")
    start, end = period(since, until)
    groups = queries.results(session, start, end, group_by, team_id=team_id, source=source)
    return ResultsRead.build(start, end, group_by, groups)


# Public (the signed link is the credential), so it stays out of the OpenAPI document, where
# every operation needs a token; docs/surveys.md describes it.
@router.post(
    "/answers/{token}", response_model=AnswerRead, status_code=201, include_in_schema=False
)
async def answer(
    token: str, data: AnswerIn, request: Request, db: DB, settings: AppSettings
) -> Any:
    """The customer's answer through their signed link, without a login: 404 for a link
    meaculpa did not make, 410 once it expired, 422 for a score off the scale, 409 for a
    second answer."""
    if limited(request, post=True):
        raise TooManyAnswers("too many answers from this address; wait a few minutes")
    invite_id = read_survey_token(settings.secret_key, token)

    def run(s: Any) -> Any:
        response = actions.do_answer_survey(
            s,
            invite_id,
            data.score,
            data.comment,
            base_url=settings.base_url,
            mail_domain=settings.mail_domain,
        )
        return AnswerRead.model_validate(response)

    return await awrite(db, run)


# --- invitations ----------------------------------------------------------------------------


@router.get("", response_model=Page[InviteRead])
async def list_invites(
    actor: ApiActor,
    session: ReadSession,
    status: InviteStatus | None = None,
    kind: Kind | None = None,
    source: Source | None = None,
    customer_id: int | None = None,
    case_id: int | None = None,
    send_id: int | None = None,
    limit: int = Limit,
    cursor: str | None = Cursor,
) -> Any:
    """Surveys (one per customer asked), newest first."""
    rows = queries.list_invites(
        session,
        status=status,
        kind=kind,
        source=source,
        customer_id=customer_id,
        case_id=case_id,
        send_id=send_id,
        after_id=decode_cursor(cursor),
        limit=limit,
    )
    return paged(rows, limit, InviteRead)


@router.get("/{invite_id}", response_model=InviteRead)
async def get_invite(invite_id: int, actor: ApiActor, session: ReadSession) -> Any:
    return queries.access_invite(session, actor, invite_id)
