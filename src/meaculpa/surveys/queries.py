"""Reads of the surveys domain: settings, question texts, invitations, answers and figures."""

from __future__ import annotations

from collections import defaultdict
from dataclasses import asdict, dataclass, field
from datetime import date, datetime
from typing import Any

from sqlalchemy import case, func, literal, select
from sqlalchemy.orm import Session

from meaculpa.accounts.queries import list_teams
from meaculpa.core.audit import Actor
from meaculpa.core.exceptions import Invalid, NotFound
from meaculpa.core.i18n import gettext_for
from meaculpa.core.permissions import require_role
from meaculpa.surveys.models import (
    DEFAULT_CES_HIGH,
    DEFAULT_CSAT_LOW,
    DEFAULT_DELAY_DAYS,
    DEFAULT_LINK_DAYS,
    DEFAULT_NPS_LOW,
    DEFAULT_QUIET_DAYS,
    KINDS,
    SurveyInvite,
    SurveyResponse,
    SurveySend,
    SurveySettings,
    SurveyText,
)
from meaculpa.surveys.texts import DEFAULT_QUESTIONS

GROUPS = ("all", "team", "month", "week", "source", "language")
NO_TEAM = "(no team)"


# --- settings and texts ---------------------------------------------------------------------


@dataclass(frozen=True)
class SettingsView:
    after_case: bool = True
    after_case_kind: str = "csat"
    delay_days: int = DEFAULT_DELAY_DAYS
    link_days: int = DEFAULT_LINK_DAYS
    quiet_days: int = DEFAULT_QUIET_DAYS
    csat_low: int = DEFAULT_CSAT_LOW
    nps_low: int = DEFAULT_NPS_LOW
    ces_high: int = DEFAULT_CES_HIGH

    def is_low(self, kind: str, score: int) -> bool:
        """Whether this score asks for someone to act (it opens a follow-up case)."""
        if kind == "csat":
            return score <= self.csat_low
        if kind == "nps":
            return score <= self.nps_low
        return score >= self.ces_high


SETTING_FIELDS = tuple(SettingsView.__dataclass_fields__)


def settings_row(session: Session) -> SurveySettings | None:
    return session.scalar(select(SurveySettings).order_by(SurveySettings.id).limit(1))


def survey_settings(session: Session) -> SettingsView:
    """The organisation's survey settings, or the defaults."""
    row = settings_row(session)
    if row is None:
        return SettingsView()
    return SettingsView(**{name: getattr(row, name) for name in SETTING_FIELDS})


@dataclass(frozen=True)
class QuestionText:
    kind: str
    language: str
    question: str
    comment_question: str
    customised: bool


def question_text(session: Session, kind: str, language: str) -> QuestionText:
    """The questions of ``kind`` in ``language``: the manager's wording, else the default."""
    row = session.scalar(
        select(SurveyText).where(SurveyText.kind == kind, SurveyText.language == language)
    )
    if row is not None:
        return QuestionText(kind, language, row.question, row.comment_question, True)
    _ = gettext_for(language)
    question, comment = DEFAULT_QUESTIONS[kind]
    return QuestionText(kind, language, _(question), _(comment), False)


def all_question_texts(session: Session, languages: tuple[str, ...]) -> list[QuestionText]:
    return [question_text(session, k, lang) for k in KINDS for lang in languages]


# --- invitations, sends and answers ---------------------------------------------------------


def get_invite(session: Session, invite_id: int) -> SurveyInvite | None:
    return session.get(SurveyInvite, invite_id)


def access_invite(session: Session, actor: Actor, invite_id: int) -> SurveyInvite:
    """Any signed-in user may read a survey invitation (as the case it follows)."""
    invite = session.get(SurveyInvite, invite_id)
    if invite is None:
        raise NotFound(f"survey {invite_id} does not exist")
    return invite


def response_for_invite(session: Session, invite_id: int) -> SurveyResponse | None:
    return session.scalar(select(SurveyResponse).where(SurveyResponse.invite_id == invite_id))


def get_send(session: Session, send_id: int) -> SurveySend | None:
    return session.get(SurveySend, send_id)


def access_send(session: Session, actor: Actor, send_id: int) -> SurveySend:
    """List sends are managers' work."""
    require_role(actor, "manager", "see survey sends")
    send = session.get(SurveySend, send_id)
    if send is None:
        raise NotFound(f"survey send {send_id} does not exist")
    return send


def send_counts(session: Session, send_ids: list[int]) -> dict[int, dict[str, int]]:
    """``{send_id: {status: count}}`` for these sends."""
    result: dict[int, dict[str, int]] = {sid: {} for sid in send_ids}
    if not send_ids:
        return result
    rows = session.execute(
        select(SurveyInvite.send_id, SurveyInvite.status, func.count())
        .where(SurveyInvite.send_id.in_(send_ids))
        .group_by(SurveyInvite.send_id, SurveyInvite.status)
    )
    for send_id, status, count in rows:
        if send_id is not None:
            result[send_id][status] = count
    return result


def list_sends(
    session: Session, *, after_id: int | None = None, limit: int = 50
) -> list[SurveySend]:
    stmt = select(SurveySend)
    if after_id is not None:
        stmt = stmt.where(SurveySend.id < after_id)
    return list(session.scalars(stmt.order_by(SurveySend.id.desc()).limit(limit + 1)))


def list_invites(
    session: Session,
    *,
    status: str | None = None,
    kind: str | None = None,
    source: str | None = None,
    customer_id: int | None = None,
    case_id: int | None = None,
    send_id: int | None = None,
    after_id: int | None = None,
    limit: int = 50,
) -> list[SurveyInvite]:
    """Survey invitations, newest first (``limit + 1`` rows, for the cursor)."""
    stmt = select(SurveyInvite)
    for column, value in (
        (SurveyInvite.status, status),
        (SurveyInvite.kind, kind),
        (SurveyInvite.source, source),
        (SurveyInvite.customer_id, customer_id),
        (SurveyInvite.case_id, case_id),
        (SurveyInvite.send_id, send_id),
    ):
        if value is not None:
            stmt = stmt.where(column == value)
    if after_id is not None:
        stmt = stmt.where(SurveyInvite.id < after_id)
    return list(session.scalars(stmt.order_by(SurveyInvite.id.desc()).limit(limit + 1)))


def list_responses(
    session: Session,
    *,
    kind: str | None = None,
    low: bool | None = None,
    customer_id: int | None = None,
    case_id: int | None = None,
    send_id: int | None = None,
    team_id: int | None = None,
    language: str | None = None,
    with_comment: bool | None = None,
    since: datetime | None = None,
    until: datetime | None = None,
    after_id: int | None = None,
    limit: int = 50,
) -> list[SurveyResponse]:
    """Answers, newest first (``limit + 1`` rows, for the cursor)."""
    stmt = select(SurveyResponse)
    for column, value in (
        (SurveyResponse.kind, kind),
        (SurveyResponse.customer_id, customer_id),
        (SurveyResponse.case_id, case_id),
        (SurveyResponse.send_id, send_id),
        (SurveyResponse.team_id, team_id),
        (SurveyResponse.language, language),
    ):
        if value is not None:
            stmt = stmt.where(column == value)
    if low is not None:
        stmt = stmt.where(SurveyResponse.low.is_(low))
    if with_comment is True:
        stmt = stmt.where(SurveyResponse.comment.is_not(None))
    elif with_comment is False:
        stmt = stmt.where(SurveyResponse.comment.is_(None))
    if since is not None:
        stmt = stmt.where(SurveyResponse.answered_at >= since)
    if until is not None:
        stmt = stmt.where(SurveyResponse.answered_at < until)
    if after_id is not None:
        stmt = stmt.where(SurveyResponse.id < after_id)
    return list(session.scalars(stmt.order_by(SurveyResponse.id.desc()).limit(limit + 1)))


def case_surveys(session: Session, case_id: int) -> list[tuple[SurveyInvite, Any]]:
    """The surveys that followed this case, with their answers, latest first."""
    invites = list(
        session.scalars(
            select(SurveyInvite)
            .where(SurveyInvite.case_id == case_id)
            .order_by(SurveyInvite.id.desc())
        )
    )
    answers = (
        {
            r.invite_id: r
            for r in session.scalars(
                select(SurveyResponse).where(SurveyResponse.invite_id.in_([i.id for i in invites]))
            )
        }
        if invites
        else {}
    )
    return [(i, answers.get(i.id)) for i in invites]


def response_that_opened(session: Session, case_id: int) -> SurveyResponse | None:
    """The answer whose low score opened this case, if one did."""
    return session.scalar(
        select(SurveyResponse).where(SurveyResponse.followup_case_id == case_id).limit(1)
    )


def surveyed_since(
    session: Session, customer_id: int, since: datetime, *, exclude_id: int | None = None
) -> bool:
    """Whether a survey went to this customer at or after ``since``."""
    stmt = select(SurveyInvite.id).where(
        SurveyInvite.customer_id == customer_id,
        SurveyInvite.sent_at.is_not(None),
        SurveyInvite.sent_at >= since,
    )
    if exclude_id is not None:
        stmt = stmt.where(SurveyInvite.id != exclude_id)
    return session.scalar(stmt.limit(1)) is not None


# --- figures --------------------------------------------------------------------------------


@dataclass
class KindFigures:
    """The figures of one kind of survey in one group."""

    sent: int = 0
    answered: int = 0
    response_rate: float | None = None
    average: float | None = None
    low: int = 0
    # NPS only: 9-10 promoters, 7-8 passives, 0-6 detractors; score = %promoters - %detractors.
    promoters: int | None = None
    passives: int | None = None
    detractors: int | None = None
    nps: float | None = None
    scores: dict[str, int] = field(default_factory=dict)


@dataclass
class GroupResult:
    key: str
    sent: int
    answered: int
    response_rate: float | None
    csat: KindFigures
    nps: KindFigures
    ces: KindFigures

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


def _kind_figures(kind: str, sent: int, counts: dict[int, int], low: int) -> KindFigures:
    answered = sum(counts.values())
    figures = KindFigures(sent=sent, answered=answered, low=low)
    if sent:
        figures.response_rate = round(answered / sent, 4)
    if answered:
        figures.average = round(sum(s * n for s, n in counts.items()) / answered, 2)
        figures.scores = {str(s): counts[s] for s in sorted(counts)}
    if kind == "nps":
        figures.promoters = sum(n for s, n in counts.items() if s >= 9)
        figures.passives = sum(n for s, n in counts.items() if 7 <= s <= 8)
        figures.detractors = sum(n for s, n in counts.items() if s <= 6)
        if answered:
            figures.nps = round(100 * (figures.promoters - figures.detractors) / answered, 1)
    return figures


def _day(session: Session, column: Any) -> Any:
    """The UTC calendar day of a timestamp column, in SQL (the figures group by it)."""
    if session.get_bind().dialect.name == "postgresql":
        return func.date(func.timezone("UTC", column))
    return func.date(column)


def _group_key(value: Any, group_by: str, teams: dict[int, str]) -> str:
    if group_by == "team":
        return teams.get(value, NO_TEAM) if value is not None else NO_TEAM
    if group_by in ("month", "week"):
        day = value if isinstance(value, date) else date.fromisoformat(str(value)[:10])
        if group_by == "month":
            return day.strftime("%Y-%m")
        year, week, _ = day.isocalendar()
        return f"{year}-W{week:02d}"
    if group_by in ("source", "language"):
        return str(value)
    return "all"


def results(
    session: Session,
    since: datetime,
    until: datetime,
    group_by: str = "all",
    *,
    team_id: int | None = None,
    source: str | None = None,
) -> list[GroupResult]:
    """Figures of the surveys sent in ``[since, until)``, overall or per group: per kind the
    number sent and answered, the response rate, the average score (CSAT 1-5, CES 1-7), the
    low scores and, for NPS, promoters, passives, detractors and the NPS itself.

    The database counts (one GROUP BY over group, kind and score); Python only folds the
    counts, so the cost does not grow with the rows read back.
    """
    if group_by not in GROUPS:
        raise Invalid(f"group_by must be one of {', '.join(GROUPS)}", field="group_by")
    group_column: Any = {
        "team": SurveyInvite.team_id,
        "source": SurveyInvite.source,
        "language": SurveyInvite.language,
        "month": _day(session, SurveyInvite.sent_at),
        "week": _day(session, SurveyInvite.sent_at),
    }.get(group_by, literal("all"))
    group = group_column.label("grp")
    stmt = (
        select(
            group,
            SurveyInvite.kind,
            SurveyResponse.score,
            func.count().label("n"),
            func.sum(case((SurveyResponse.low.is_(True), 1), else_=0)).label("low"),
        )
        .outerjoin(SurveyResponse, SurveyResponse.invite_id == SurveyInvite.id)
        .where(
            SurveyInvite.sent_at.is_not(None),
            SurveyInvite.sent_at >= since,
            SurveyInvite.sent_at < until,
        )
        .group_by(group_column, SurveyInvite.kind, SurveyResponse.score)
    )
    if team_id is not None:
        stmt = stmt.where(SurveyInvite.team_id == team_id)
    if source is not None:
        stmt = stmt.where(SurveyInvite.source == source)
    teams = {t.id: t.name for t in list_teams(session)} if group_by == "team" else {}

    # {group: {kind: (sent, {score: count}, low)}}
    def empty() -> dict[str, list[Any]]:
        return {k: [0, defaultdict(int), 0] for k in KINDS}

    buckets: dict[str, dict[str, list[Any]]] = defaultdict(empty)
    for row in session.execute(stmt):
        if row.kind not in KINDS:
            continue
        bucket = buckets[_group_key(row.grp, group_by, teams)][row.kind]
        bucket[0] += row.n
        if row.score is not None:
            bucket[1][row.score] += row.n
        bucket[2] += int(row.low or 0)
    if group_by == "all" and not buckets:
        buckets["all"] = empty()
    out = []
    for key in sorted(buckets):
        per_kind = {
            kind: _kind_figures(kind, sent, dict(counts), low)
            for kind, (sent, counts, low) in buckets[key].items()
        }
        sent = sum(f.sent for f in per_kind.values())
        answered = sum(f.answered for f in per_kind.values())
        out.append(
            GroupResult(
                key=key,
                sent=sent,
                answered=answered,
                response_rate=round(answered / sent, 4) if sent else None,
                csat=per_kind["csat"],
                nps=per_kind["nps"],
                ces=per_kind["ces"],
            )
        )
    return out
