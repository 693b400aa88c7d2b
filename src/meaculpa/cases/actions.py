from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.orm import Session

from meaculpa.accounts.models import Team, User
from meaculpa.accounts.queries import least_loaded_agent
from meaculpa.cases.models import Case, CaseTask
from meaculpa.core.audit import Actor, record, snapshot
from meaculpa.core.clock import utcnow
from meaculpa.core.enums import OPEN_STATUSES, CaseStatus
from meaculpa.core.events import publish
from meaculpa.core.exceptions import Forbidden, Invalid
from meaculpa.core.permissions import has_role
from meaculpa.customers.models import Customer

CASE_FIELDS = ("subject", "channel", "language", "severity", "status", "owner_id", "customer_id")

S = CaseStatus
# Where each status may go next. Reopening (resolved/closed -> in_progress) is its own action.
TRANSITIONS: dict[CaseStatus, set[CaseStatus]] = {
    S.new: {S.acknowledged, S.in_progress, S.waiting_on_customer, S.resolved},
    S.acknowledged: {S.in_progress, S.waiting_on_customer, S.resolved},
    S.in_progress: {S.waiting_on_customer, S.resolved},
    S.waiting_on_customer: {S.in_progress, S.resolved},
    S.resolved: {S.closed, S.in_progress},
    S.closed: {S.in_progress},
}


def check_can_change(actor: Actor, case: Case) -> None:
    """Agents change their own cases and unassigned ones; managers change any."""
    if has_role(actor, "manager"):
        return
    if case.owner_id is not None and case.owner_id != actor.id:
        raise Forbidden(f"case {case.reference} belongs to another agent; ask for a handover")


def _check_owner(session: Session, owner_id: int | None) -> None:
    if owner_id is None:
        return
    user = session.get(User, owner_id)
    if user is None or not user.is_active:
        raise Invalid(f"user {owner_id} does not exist or is inactive", field="owner_id")


def choose_owner(session: Session, customer: Customer) -> int | None:
    """One owner per customer: their owner if active, else the least-loaded agent."""
    if customer.owner_id is not None:
        owner = session.get(User, customer.owner_id)
        if owner is not None and owner.is_active:
            return owner.id
    chosen = least_loaded_agent(session)
    if chosen is not None:
        customer.owner_id = chosen
    return chosen


def do_open_case(
    session: Session,
    actor: Actor,
    customer: Customer,
    *,
    channel: str,
    language: str | None = None,
    subject: str = "",
    severity: str = "medium",
    owner_id: int | None = None,
) -> Case:
    if owner_id is not None:
        _check_owner(session, owner_id)
    else:
        owner_id = choose_owner(session, customer)
    now = utcnow()
    case = Case(
        customer_id=customer.id,
        owner_id=owner_id,
        subject=subject[:300],
        channel=channel,
        language=language or customer.language,
        severity=severity,
        status=CaseStatus.new.value,
        opened_at=now,
        last_message_at=now,
    )
    session.add(case)
    session.flush()
    record(session, actor, "case.create", "case", case.id, after=snapshot(case, CASE_FIELDS))
    publish("case.opened", session=session, actor=actor, case_id=case.id, new_customer=False)
    return case


def _apply_status(case: Case, new: CaseStatus) -> None:
    current = CaseStatus(case.status)
    if new == current:
        return
    if new not in TRANSITIONS[current]:
        raise Invalid(
            f"a case cannot go from {current.value} to {new.value}",
            field="status",
            allowed=sorted(s.value for s in TRANSITIONS[current]),
        )
    now = utcnow()
    if current in (S.resolved, S.closed) and new in OPEN_STATUSES:
        case.reopened_count += 1
        case.resolved_at = None
        case.closed_at = None
    if new is S.acknowledged or (current is S.new and case.acknowledged_at is None):
        case.acknowledged_at = case.acknowledged_at or now
    if new is S.resolved:
        case.resolved_at = now
    if new is S.closed:
        case.closed_at = now
    case.status = new.value


def do_update_case(
    session: Session,
    actor: Actor,
    case: Case,
    *,
    subject: str | None = None,
    severity: str | None = None,
    status: str | None = None,
    owner_id: int | None = None,
    owner_set: bool = False,
    language: str | None = None,
    handover_note: str | None = None,
) -> Case:
    check_can_change(actor, case)
    before = snapshot(case, CASE_FIELDS)
    if subject is not None:
        case.subject = subject
    if severity is not None:
        case.severity = severity
    if language is not None:
        case.language = language
    handover = owner_set and owner_id != case.owner_id
    if handover:
        if owner_id is None:
            raise Invalid("a case always has an owner; hand it to someone", field="owner_id")
        _check_owner(session, owner_id)
        if case.owner_id is not None and not (handover_note or "").strip():
            raise Invalid(
                "handing a customer to someone else needs a handover note for the new owner",
                field="handover_note",
            )
    if status is not None:
        _apply_status(case, CaseStatus(status))
    session.flush()
    if handover:
        assert owner_id is not None
        _hand_over(session, actor, case, owner_id, (handover_note or "").strip())
    after = snapshot(case, CASE_FIELDS)
    if after != before:
        record(session, actor, "case.update", "case", case.id, before=before, after=after)
    _publish_changes(session, actor, case, before, after, handover_note)
    return case


def _hand_over(session: Session, actor: Actor, case: Case, new_owner: int, note: str) -> None:
    """One owner per customer: the customer and all their open cases move together, and the
    note lands in the case's timeline as an internal note the new owner reads first."""
    from meaculpa.messages.models import Message  # messages depend on cases, not the reverse

    customer = session.get(Customer, case.customer_id)
    assert customer is not None
    previous = case.owner_id
    others = session.scalars(
        select(Case).where(
            Case.customer_id == case.customer_id,
            Case.status.in_(OPEN_STATUSES),
            Case.id != case.id,
        )
    )
    for other in [case, *others]:
        other.owner_id = new_owner
    customer.owner_id = new_owner
    if note:
        new_user = session.get(User, new_owner)
        now = utcnow()
        session.add(
            Message(
                case_id=case.id,
                customer_id=case.customer_id,
                direction="note",
                channel=case.channel,
                author_id=actor.id,
                subject="",
                text=f"[→ {new_user.name if new_user else new_owner}] {note}",
                sent_at=now,
                created_at=now,
            )
        )
        case.message_count += 1
    session.flush()
    record(
        session,
        actor,
        "case.handover",
        "case",
        case.id,
        before={"owner_id": previous},
        after={"owner_id": new_owner, "note": note},
    )


def _publish_changes(
    session: Session,
    actor: Actor,
    case: Case,
    before: dict[str, object],
    after: dict[str, object],
    note: str | None = None,
) -> None:
    if before["status"] != after["status"]:
        publish(
            "case.status_changed",
            session=session,
            actor=actor,
            case_id=case.id,
            old=before["status"],
            new=after["status"],
        )
    if before["owner_id"] != after["owner_id"]:
        publish(
            "case.owner_changed",
            session=session,
            actor=actor,
            case_id=case.id,
            old=before["owner_id"],
            new=after["owner_id"],
            note=note,
        )


def do_reopen_case(session: Session, actor: Actor, case: Case, *, reason: str) -> Case:
    if case.status in OPEN_STATUSES:
        raise Invalid(f"case {case.reference} is already open", field="status")
    before = snapshot(case, CASE_FIELDS)
    _apply_status(case, S.in_progress)
    session.flush()
    after = snapshot(case, CASE_FIELDS)
    record(
        session,
        actor,
        "case.reopen",
        "case",
        case.id,
        before=before,
        after={**after, "reason": reason},
    )
    _publish_changes(session, actor, case, before, after)
    return case


def note_inbound_activity(session: Session, actor: Actor, case: Case) -> None:
    """A customer wrote: count it, and wake a case that was waiting on them."""
    case.message_count += 1
    case.last_message_at = utcnow()
    if case.status == S.waiting_on_customer.value:
        before = {"status": case.status}
        case.status = S.in_progress.value
        record(
            session,
            actor,
            "case.update",
            "case",
            case.id,
            before=before,
            after={"status": case.status},
        )


def do_create_task(
    session: Session,
    actor: Actor,
    case: Case,
    *,
    title: str,
    team_id: int | None = None,
    assignee_id: int | None = None,
) -> CaseTask:
    """Ask a colleague or another team for something. The case owner does not change."""
    check_can_change(actor, case)
    title = " ".join(title.split())
    if not 1 <= len(title) <= 300:
        raise Invalid("a task needs a title of 1 to 300 characters", field="title")
    if team_id is not None and session.get(Team, team_id) is None:
        raise Invalid(f"team {team_id} does not exist", field="team_id")
    if assignee_id is not None:
        _check_owner(session, assignee_id)
    task = CaseTask(
        case_id=case.id,
        title=title,
        team_id=team_id,
        assignee_id=assignee_id,
        created_by_id=actor.id,
    )
    session.add(task)
    session.flush()
    record(
        session,
        actor,
        "case.task.create",
        "case",
        case.id,
        after={"task_id": task.id, "title": title, "team_id": team_id, "assignee_id": assignee_id},
    )
    return task


def do_complete_task(session: Session, actor: Actor, task: CaseTask) -> CaseTask:
    """The assignee, a member of the task's team, the case owner or a manager closes it."""
    case = session.get(Case, task.case_id)
    assert case is not None
    user = session.get(User, actor.id) if actor.id is not None else None
    allowed = (
        has_role(actor, "manager")
        or actor.id in (task.assignee_id, case.owner_id)
        or (task.team_id is not None and user is not None and user.team_id == task.team_id)
    )
    if not allowed:
        raise Forbidden("only the task's assignee, its team, the case owner or a manager")
    if task.status == "done":
        return task
    task.status = "done"
    task.done_at = utcnow()
    task.done_by_id = actor.id
    record(session, actor, "case.task.done", "case", task.case_id, after={"task_id": task.id})
    return task
