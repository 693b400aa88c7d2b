"""Reactions of the surveys domain to other domains' events (see meaculpa.core.events)."""

from __future__ import annotations

from typing import Any

from sqlalchemy.orm import Session

from meaculpa.cases.queries import get_case
from meaculpa.core.audit import Actor
from meaculpa.core.enums import CaseStatus
from meaculpa.core.events import subscribe
from meaculpa.surveys import actions

_OPEN = {
    CaseStatus.new.value,
    CaseStatus.acknowledged.value,
    CaseStatus.in_progress.value,
    CaseStatus.waiting_on_customer.value,
}
_DONE = {CaseStatus.resolved.value, CaseStatus.closed.value}


@subscribe("case.status_changed")
def on_case_status_changed(
    session: Session, actor: Actor, case_id: int, old: Any, new: Any, **_: Any
) -> None:
    """A resolution schedules the survey; a reopening cancels the one not sent yet."""
    if new == CaseStatus.resolved.value and old in _OPEN:
        case = get_case(session, case_id)
        if case is not None:
            actions.do_schedule_case_survey(session, actor, case)
    elif old in _DONE and new in _OPEN:
        actions.do_cancel_case_surveys(
            session, actor, case_id, reason="the case was reopened before the survey"
        )
