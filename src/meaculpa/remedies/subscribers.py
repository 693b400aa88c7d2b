"""Reactions of the remedies domain to other domains' events (see meaculpa.core.events)."""

from __future__ import annotations

from typing import Any

from sqlalchemy.orm import Session

from meaculpa.cases.queries import get_case
from meaculpa.core.events import subscribe
from meaculpa.remedies.actions import do_flag_second_failure


@subscribe("case.opened")
def flag_second_failure(
    *, session: Session, case_id: int, new_customer: bool = False, **_: Any
) -> None:
    """A customer let down again within the window: flag the case and raise its severity.

    Two indexed counts per new case; the flag is written in the transaction that opened it.
    A customer created with this very case has no history, so nothing is looked up.
    """
    if new_customer:
        return
    case = get_case(session, case_id)
    if case is not None:
        do_flag_second_failure(session, case)
