"""Reactions of the followups domain to other domains' events (see meaculpa.core.events).

A resolution schedules its follow-up; a reopening before it was sent cancels it.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy.orm import Session

from meaculpa.cases.queries import get_case
from meaculpa.core.audit import Actor
from meaculpa.core.enums import OPEN_STATUSES, CaseStatus
from meaculpa.core.events import subscribe
from meaculpa.followups import actions

_OPEN = {s.value for s in OPEN_STATUSES}
_DONE = {CaseStatus.resolved.value, CaseStatus.closed.value}


@subscribe("case.status_changed")
def on_case_status_changed(
    session: Session, actor: Actor, case_id: int, old: Any, new: Any, **_: Any
) -> None:
    if new == CaseStatus.resolved.value and old in _OPEN:
        case = get_case(session, case_id)
        if case is not None:
            actions.do_schedule_followup(session, actor, case)
    elif old in _DONE and new in _OPEN:
        actions.do_cancel_followups(
            session, actor, case_id, reason="the case was reopened before the follow-up"
        )
