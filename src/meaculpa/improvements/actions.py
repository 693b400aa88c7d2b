"""Writes of the improvements domain. Each ``do_*`` records its audit event in the caller's
transaction and queues its jobs and e-mails there too."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import delete, select
from sqlalchemy.orm import Session

from meaculpa.accounts.queries import get_user, organisation_or_default
from meaculpa.core.audit import Actor, jsonable, record, snapshot
from meaculpa.core.clock import utcnow
from meaculpa.core.enums import IdentityKind
from meaculpa.core.exceptions import Conflict, Forbidden, Invalid
from meaculpa.core.permissions import has_role, require_role
from meaculpa.customers.optout import opt_out_token, opt_out_url
from meaculpa.customers.queries import get_customer
from meaculpa.errors.models import Error
from meaculpa.improvements import queries, stats
from meaculpa.improvements.models import (
    OPEN_STATUSES,
    TRANSITIONS,
    ActionError,
    ActionEvaluation,
    ActionNotice,
    ActionProblem,
    CustomerNotice,
    ImprovementAction,
)
from meaculpa.improvements.schemas import ActionCreate, ActionUpdate
from meaculpa.improvements.texts import overdue_email, reminder_email, you_said_we_did_email
from meaculpa.jobs.queue import enqueue
from meaculpa.notifications.actions import Recipient, do_email_user, do_queue_email
from meaculpa.problems import queries as problem_queries

FIELDS = (
    "title",
    "description",
    "purpose",
    "kind",
    "owner_id",
    "due_at",
    "status",
    "customer_summary",
    "window_days",
)
TELL_CUSTOMERS = "improvements.tell_customers"


@dataclass(frozen=True)
class MailContext:
    """What the e-mails need from the worker's settings."""

    mail_domain: str
    base_url: str
    # Signs the customers' opt-out links.
    secret: str = ""

    def opt_out_link(self, customer_id: int) -> str:
        return opt_out_url(self.base_url, opt_out_token(self.secret, customer_id))

    def action_link(self, action_id: int) -> str:
        return f"{self.base_url.rstrip('/')}/improvements/{action_id}"


def _person(actor: Actor) -> int | None:
    return actor.id if actor.kind in ("user", "token") else None


def check_can_manage(actor: Actor) -> None:
    require_role(actor, "manager", "plan or change improvement actions")


def check_can_progress(actor: Actor, action: ImprovementAction) -> None:
    """The action's owner and managers move it along its lifecycle."""
    if has_role(actor, "manager") or (actor.id is not None and actor.id == action.owner_id):
        return
    raise Forbidden("only the action's owner or a manager may change its status")


def _check_owner(session: Session, owner_id: int | None) -> None:
    if owner_id is None:
        return
    owner = get_user(session, owner_id)
    if owner is None or not owner.is_active:
        raise Invalid(f"user {owner_id} is not an active user", field="owner_id")


def _check_due(due_at: datetime | None) -> None:
    if due_at is not None and due_at.tzinfo is None:
        raise Invalid("the due date needs its time zone offset", field="due_at")


def _set_links(
    session: Session,
    action: ImprovementAction,
    problem_ids: list[int] | None,
    error_ids: list[int] | None,
) -> None:
    if problem_ids is not None:
        resolved = []
        for pid in problem_ids:
            if problem_queries.get_problem(session, pid) is None:
                raise Invalid(f"problem {pid} does not exist", field="problem_ids")
            resolved.append(problem_queries.resolve_problem_id(session, pid))
        session.execute(delete(ActionProblem).where(ActionProblem.action_id == action.id))
        for pid in sorted(set(resolved)):
            session.add(ActionProblem(action_id=action.id, problem_id=pid))
    if error_ids is not None:
        for eid in error_ids:
            if session.get(Error, eid) is None:
                raise Invalid(f"error {eid} does not exist", field="error_ids")
        session.execute(delete(ActionError).where(ActionError.action_id == action.id))
        for eid in error_ids:
            session.add(ActionError(action_id=action.id, error_id=eid))
    session.flush()


def _links(session: Session, action: ImprovementAction) -> dict[str, Any]:
    return {
        "problem_ids": queries.problem_ids_of(session, [action.id])[action.id],
        "error_ids": queries.error_ids_of(session, [action.id])[action.id],
    }


def do_create_action(session: Session, actor: Actor, data: ActionCreate) -> ImprovementAction:
    """Plan an improvement action. Managers only."""
    check_can_manage(actor)
    _check_owner(session, data.owner_id)
    _check_due(data.due_at)
    action = ImprovementAction(
        title=data.title.strip(),
        description=data.description.strip(),
        purpose=data.purpose,
        kind=data.kind,
        owner_id=data.owner_id,
        due_at=data.due_at,
        status="planned",
        customer_summary=dict(data.customer_summary),
        window_days=data.window_days,
        created_by_id=_person(actor),
        created_at=utcnow(),
    )
    session.add(action)
    session.flush()
    _set_links(session, action, data.problem_ids, data.error_ids)
    record(
        session,
        actor,
        "improvement.create",
        "improvement_action",
        action.id,
        after={**snapshot(action, FIELDS), **_links(session, action)},
    )
    return action


def _require_open(action: ImprovementAction) -> None:
    if action.status not in OPEN_STATUSES:
        raise Conflict(
            f"improvement action {action.id} is already {action.status}",
            current_status=action.status,
        )


def do_update_action(
    session: Session, actor: Actor, action: ImprovementAction, data: ActionUpdate
) -> ImprovementAction:
    """Change an open action (managers). Done and cancelled actions are history."""
    check_can_manage(actor)
    _require_open(action)
    changes = data.model_dump(exclude_unset=True)
    if "owner_id" in changes:
        _check_owner(session, changes["owner_id"])
    if "due_at" in changes:
        _check_due(changes["due_at"])
    before = {**snapshot(action, FIELDS), **_links(session, action)}
    for key in ("title", "description", "purpose", "kind", "window_days"):
        if key in changes:
            if changes[key] is None:
                raise Invalid(f"{key} cannot be empty", field=key)
            value = changes[key]
            setattr(action, key, value.strip() if isinstance(value, str) else value)
    if "owner_id" in changes:
        action.owner_id = changes["owner_id"]
    if "due_at" in changes:
        if action.due_at != changes["due_at"]:
            # A new due date earns its own reminders and alert.
            session.execute(delete(ActionNotice).where(ActionNotice.action_id == action.id))
        action.due_at = changes["due_at"]
    if "customer_summary" in changes and changes["customer_summary"] is not None:
        action.customer_summary = dict(changes["customer_summary"])
    _set_links(session, action, changes.get("problem_ids"), changes.get("error_ids"))
    session.flush()
    record(
        session,
        actor,
        "improvement.update",
        "improvement_action",
        action.id,
        before=before,
        after={**snapshot(action, FIELDS), **_links(session, action)},
    )
    return action


def _check_transition(action: ImprovementAction, status: str) -> None:
    if status not in TRANSITIONS.get(action.status, ()):
        raise Conflict(
            f"improvement action {action.id} is {action.status} and cannot become {status}",
            current_status=action.status,
        )


def do_start_action(session: Session, actor: Actor, action: ImprovementAction) -> ImprovementAction:
    check_can_progress(actor, action)
    _check_transition(action, "in_progress")
    action.status = "in_progress"
    action.started_at = utcnow()
    record(
        session,
        actor,
        "improvement.start",
        "improvement_action",
        action.id,
        before={"status": "planned"},
        after={"status": "in_progress"},
    )
    return action


def do_cancel_action(
    session: Session, actor: Actor, action: ImprovementAction, *, reason: str
) -> ImprovementAction:
    check_can_progress(actor, action)
    _check_transition(action, "cancelled")
    reason = (reason or "").strip()
    if not reason:
        raise Invalid("say why the action is cancelled", field="reason")
    before = {"status": action.status}
    action.status = "cancelled"
    action.cancelled_at = utcnow()
    action.cancel_reason = reason[:2000]
    record(
        session,
        actor,
        "improvement.cancel",
        "improvement_action",
        action.id,
        before=before,
        after={"status": "cancelled", "reason": action.cancel_reason},
    )
    return action


@dataclass(frozen=True)
class Reporter:
    customer_id: int
    problem_id: int


def reporters(session: Session, action: ImprovementAction) -> list[Reporter]:
    """Every customer who reported a problem the action is linked to, once each (with the
    first such problem)."""
    seen: dict[int, int] = {}
    for pid in queries.problem_ids_of(session, [action.id])[action.id]:
        for cid in problem_queries.reporter_customer_ids(session, pid):
            seen.setdefault(cid, pid)
    return [Reporter(cid, pid) for cid, pid in sorted(seen.items())]


def _missing_summaries(session: Session, action: ImprovementAction) -> list[str]:
    """Languages of customers to be told for which the action has no summary."""
    needed = set()
    for reporter in reporters(session, action):
        customer = get_customer(session, reporter.customer_id)
        if customer is not None and not customer.opt_out:
            needed.add(customer.language if customer.language in ("es", "en") else "es")
    have = {k for k, v in (action.customer_summary or {}).items() if str(v).strip()}
    return sorted(needed - have)


def do_complete_action(
    session: Session, actor: Actor, action: ImprovementAction, *, note: str | None = None
) -> ImprovementAction:
    """Mark the action done: its before/after evaluation starts, and the customers who
    reported its problems are told what changed (in a job, once each).

    Refused (422) while a customer to be told would get no text in their language.
    """
    check_can_progress(actor, action)
    _check_transition(action, "done")
    missing = _missing_summaries(session, action)
    if missing:
        raise Invalid(
            "write what changed for the customers in " + ", ".join(missing) + " before marking "
            "the action done",
            field="customer_summary",
            languages=missing,
        )
    before = {"status": action.status}
    now = utcnow()
    action.status = "done"
    action.done_at = now
    action.done_by_id = _person(actor)
    action.done_note = (note or "").strip()[:2000] or None
    action.verdict = "pending"
    action.evaluation_final = False
    session.flush()
    do_evaluate_action(session, action, now=now, quiet=True)
    enqueue(session, TELL_CUSTOMERS, {"action_id": action.id}, max_attempts=8)
    record(
        session,
        actor,
        "improvement.complete",
        "improvement_action",
        action.id,
        before=before,
        after={"status": "done", "done_at": jsonable(now), "note": action.done_note},
    )
    return action


# --- proof it worked ---------------------------------------------------------------------------


def do_evaluate_action(
    session: Session, action: ImprovementAction, *, now: datetime | None = None, quiet: bool = False
) -> str | None:
    """Compare each linked problem's report rate before and after the action was done.

    Rates are reports per 1,000 cases opened in the same window; ``window_days`` each side.
    Once every after-window has passed the verdict is final and the action is not evaluated
    again. Returns the action's verdict.
    """
    if action.status != "done" or action.done_at is None:
        return None
    now = now or utcnow()
    pivot = action.done_at
    window = timedelta(days=action.window_days)
    before_start, after_end = pivot - window, pivot + window
    observed = min(now, after_end)
    complete = now >= after_end
    stored = {e.problem_id: e for e in queries.evaluations_of(session, [action.id])[action.id]}
    problem_ids = queries.problem_ids_of(session, [action.id])[action.id]
    before_cases = queries.cases_opened(session, before_start, pivot)
    after_cases = queries.cases_opened(session, pivot, observed) if observed > pivot else 0
    verdicts = []
    for pid in problem_ids:
        before_reports = problem_queries.report_counts(session, pid, before_start, pivot)
        after_reports = (
            problem_queries.report_counts(session, pid, pivot, observed) if observed > pivot else 0
        )
        result = stats.compare(
            before_reports, before_cases, after_reports, after_cases, complete=complete
        )
        row = stored.get(pid)
        if row is None:
            row = ActionEvaluation(action_id=action.id, problem_id=pid)
            session.add(row)
        row.window_days = action.window_days
        row.before_start, row.pivot_at = before_start, pivot
        row.observed_until, row.after_end = observed, after_end
        row.before_reports, row.before_cases = before_reports, before_cases
        row.after_reports, row.after_cases = after_reports, after_cases
        row.before_rate, row.after_rate, row.p_value = (
            result.before_rate,
            result.after_rate,
            result.p_value,
        )
        row.verdict, row.final, row.evaluated_at = result.verdict, complete, now
        verdicts.append(result.verdict)
    verdict = stats.overall(verdicts) if complete or verdicts else "pending"
    if not problem_ids:
        verdict = "not_enough_data" if complete else "pending"
    changed = verdict != action.verdict or complete != action.evaluation_final
    action.verdict = verdict
    action.evaluation_final = complete
    session.flush()
    if changed and not quiet:
        record(
            session,
            Actor.system("improvements"),
            "improvement.evaluate",
            "improvement_action",
            action.id,
            after={"verdict": verdict, "final": complete},
        )
    return verdict


# --- reminders and the overdue alert ------------------------------------------------------------


def _notice(
    session: Session, action: ImprovementAction, kind: str, hours: int, email_id: int | None
) -> ActionNotice:
    notice = ActionNotice(
        action_id=action.id,
        kind=kind,
        hours_before=hours,
        user_id=action.owner_id,
        email_id=email_id,
        created_at=utcnow(),
    )
    session.add(notice)
    return notice


def _email_owner(
    session: Session,
    actor: Actor,
    action: ImprovementAction,
    mail: MailContext,
    template: Callable[..., tuple[str, str]],
    kind: str,
) -> int | None:
    """E-mail the action's owner (when active) the ``template`` text; the e-mail's id."""
    owner = get_user(session, action.owner_id) if action.owner_id else None
    if owner is None or not owner.is_active or action.due_at is None:
        return None
    subject, text = template(
        language=owner.language,
        owner_name=owner.name,
        title=action.title,
        due_at=action.due_at,
        timezone=organisation_or_default(session).timezone,
        link=mail.action_link(action.id),
    )
    email = do_email_user(
        session, actor, owner, subject=subject, text=text, kind=kind, mail_domain=mail.mail_domain
    )
    return int(email.id)


def do_send_reminder(
    session: Session, action: ImprovementAction, hours: list[int], mail: MailContext
) -> ActionNotice | None:
    """Remind the owner once for the offsets in ``hours`` (one e-mail for all of them)."""
    if not hours or action.due_at is None:
        return None
    actor = Actor.system("improvements")
    email_id = _email_owner(session, actor, action, mail, reminder_email, "reminder")
    notices = [_notice(session, action, "reminder", h, email_id) for h in sorted(hours)]
    record(
        session,
        actor,
        "improvement.remind",
        "improvement_action",
        action.id,
        after={"hours_before": sorted(hours), "email_id": email_id},
    )
    return notices[0]


def do_alert_overdue(
    session: Session, action: ImprovementAction, mail: MailContext
) -> ActionNotice | None:
    """The due date passed and the action is not done: alert its owner, once."""
    if action.due_at is None or action.status not in OPEN_STATUSES:
        return None
    actor = Actor.system("improvements")
    email_id = _email_owner(session, actor, action, mail, overdue_email, "alert")
    notice = _notice(session, action, "alert", 0, email_id)
    record(
        session,
        actor,
        "improvement.alert_overdue",
        "improvement_action",
        action.id,
        after={"due_at": jsonable(action.due_at), "email_id": email_id},
    )
    return notice


# --- you said, we did ----------------------------------------------------------------------------


def _email_address(customer: Any) -> str | None:
    for identity in customer.identities:
        if identity.kind == IdentityKind.email.value:
            return str(identity.value)
    return None


def do_tell_customer(
    session: Session, action: ImprovementAction, reporter: Reporter, mail: MailContext
) -> CustomerNotice | None:
    """Tell one customer who reported a linked problem what changed, in their language.

    Once per customer and action (a unique row); a customer who opted out of such e-mails or
    has no address is recorded as such and not written to.
    """
    exists = session.scalar(
        select(CustomerNotice.id).where(
            CustomerNotice.action_id == action.id,
            CustomerNotice.customer_id == reporter.customer_id,
        )
    )
    if exists is not None:
        return None
    customer = get_customer(session, reporter.customer_id)
    if customer is None:
        return None
    language = customer.language if customer.language in ("es", "en") else "es"
    address = _email_address(customer)
    summary = str((action.customer_summary or {}).get(language) or "").strip()
    email_id = None
    if customer.opt_out:
        outcome = "opted_out"
    elif address is None:
        outcome = "no_address"
    elif not summary:
        # the customer's language changed after the action was done
        outcome = "no_text"
    else:
        subject, text = you_said_we_did_email(
            language=language,
            customer_name=customer.name,
            summary=summary,
            company=organisation_or_default(session).name,
            opt_out_link=mail.opt_out_link(customer.id),
        )
        email_id = do_queue_email(
            session,
            Actor.system("improvements"),
            to=Recipient(address, customer.name),
            subject=subject,
            text=text,
            kind="notice",
            mail_domain=mail.mail_domain,
            language=language,
            customer_id=customer.id,
        ).id
        outcome = "sent"
    notice = CustomerNotice(
        action_id=action.id,
        customer_id=customer.id,
        problem_id=reporter.problem_id,
        outcome=outcome,
        language=language,
        email_id=email_id,
        created_at=utcnow(),
    )
    session.add(notice)
    session.flush()
    record(
        session,
        Actor.system("improvements"),
        "improvement.tell_customer",
        "improvement_action",
        action.id,
        after={"customer_id": customer.id, "outcome": outcome, "email_id": email_id},
    )
    return notice
