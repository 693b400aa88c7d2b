"""Every write of the playbooks domain, each with its audit event in the caller's transaction."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from meaculpa.accounts.models import User
from meaculpa.cases.actions import check_can_change
from meaculpa.cases.models import Case
from meaculpa.core.audit import Actor, record
from meaculpa.core.clock import utcnow
from meaculpa.core.exceptions import Conflict, Invalid, NotFound
from meaculpa.core.i18n import N_, format_datetime, gettext_for, normalise_language
from meaculpa.core.permissions import require_role
from meaculpa.lessons.queries import get_lesson
from meaculpa.notifications.actions import do_email_user
from meaculpa.playbooks.defaults import all_defaults
from meaculpa.playbooks.models import CaseStep, Playbook, PlaybookRevision, StepAlert
from meaculpa.playbooks.queries import Checklist, ChecklistStep, case_checklist, count_playbooks
from meaculpa.playbooks.schemas import PlaybookUpdate, StepKey

DEFAULTS_REASON = N_("Default playbook shipped with meaculpa")

STEP_LABELS = {
    StepKey.acknowledge.value: N_("Acknowledge"),
    StepKey.apologise.value: N_("Apologise"),
    StepKey.empathise.value: N_("Empathise"),
    StepKey.explain.value: N_("Explain"),
    StepKey.remedy.value: N_("Remedy"),
    StepKey.give_date.value: N_("Give a date"),
    StepKey.follow_up.value: N_("Follow up"),
}


def check_can_edit_playbooks(actor: Actor) -> None:
    require_role(actor, "manager", "change playbooks")


def _snapshot(playbook: Playbook) -> dict[str, Any]:
    return {
        "error_type": playbook.error_type,
        "severity": playbook.severity,
        "steps": list(playbook.steps),
    }


def _revision(
    session: Session, actor: Actor, playbook: Playbook, reason: str, lesson_id: int | None = None
) -> None:
    session.add(
        PlaybookRevision(
            playbook_id=playbook.id,
            version=playbook.version,
            snapshot=_snapshot(playbook),
            reason=reason,
            lesson_id=lesson_id,
            author_id=actor.id,
            author_label=actor.label,
        )
    )


def do_install_default_playbooks(session: Session, actor: Actor) -> int:
    """Store every shipped playbook that is not stored yet; return how many were added.

    Each one gets revision 1 with the reason ``DEFAULTS_REASON``. Safe to run at the same
    time in two processes: a playbook the other one stored first is skipped.
    """
    if count_playbooks(session) >= len(all_defaults()):
        return 0
    stored = {(t, s) for t, s in session.execute(select(Playbook.error_type, Playbook.severity))}
    added = 0
    for error_type, severity, steps in all_defaults():
        if (error_type, severity) in stored:
            continue
        try:
            with session.begin_nested():
                playbook = Playbook(error_type=error_type, severity=severity, steps=steps)
                session.add(playbook)
                session.flush()
                _revision(session, actor, playbook, DEFAULTS_REASON)
                session.flush()
        except IntegrityError:
            continue
        added += 1
    if added:
        record(session, actor, "playbook.install_defaults", "playbook", "*", after={"added": added})
    return added


def do_update_playbook(
    session: Session, actor: Actor, playbook: Playbook, data: PlaybookUpdate
) -> Playbook:
    """Replace a playbook's steps; the new version is kept as a revision with the reason."""
    check_can_edit_playbooks(actor)
    if data.version is not None and data.version != playbook.version:
        raise Conflict(
            f"playbook {playbook.id} is at version {playbook.version}, not {data.version}; "
            "reload it and apply your change again",
            current_version=playbook.version,
        )
    if data.lesson_id is not None and get_lesson(session, data.lesson_id) is None:
        raise Invalid(f"lesson {data.lesson_id} does not exist", field="lesson_id")
    steps = [s.model_dump(mode="json") for s in data.steps]
    if steps == list(playbook.steps):
        raise Invalid("the steps are the same as the current version", field="steps")
    before = {"version": playbook.version, "steps": list(playbook.steps)}
    playbook.steps = steps
    playbook.version += 1
    playbook.updated_by_id = actor.id
    playbook.updated_at = utcnow()
    session.flush()
    _revision(session, actor, playbook, data.reason, data.lesson_id)
    record(
        session,
        actor,
        "playbook.update",
        "playbook",
        playbook.id,
        before=before,
        after={
            "version": playbook.version,
            "steps": steps,
            "reason": data.reason,
            "lesson_id": data.lesson_id,
        },
    )
    return playbook


def _step_of(session: Session, case: Case, step: str) -> tuple[Checklist, ChecklistStep]:
    checklist = case_checklist(session, case)
    found = checklist.step(step)
    if found is None:
        raise NotFound(f"the playbook of case {case.reference} has no step {step!r}")
    return checklist, found


def do_mark_step_done(session: Session, actor: Actor, case: Case, step: str) -> CaseStep:
    """Record that a step of the case's playbook is done, by whom and when."""
    check_can_change(actor, case)
    _checklist, found = _step_of(session, case, step)
    if found.state == "done":
        raise Conflict(f"step {step!r} of case {case.reference} is already done", step=step)
    row = CaseStep(case_id=case.id, step=step, done_at=utcnow(), done_by_id=actor.id)
    session.add(row)
    session.flush()
    record(
        session,
        actor,
        "case.playbook_step.done",
        "case",
        case.id,
        after={
            "step": step,
            "due_at": found.due_at.isoformat(),
            "late": row.done_at > found.due_at,
        },
    )
    return row


def do_undo_step(session: Session, actor: Actor, case: Case, step: str) -> None:
    """Take back a step marked done by mistake (it becomes due or overdue again)."""
    check_can_change(actor, case)
    row = session.scalar(select(CaseStep).where(CaseStep.case_id == case.id, CaseStep.step == step))
    if row is None:
        raise Invalid(f"step {step!r} of case {case.reference} is not done", field="step")
    before = {"step": step, "done_at": row.done_at.isoformat(), "done_by_id": row.done_by_id}
    session.delete(row)
    session.flush()
    record(session, actor, "case.playbook_step.undone", "case", case.id, before=before)


# --- overdue alerts --------------------------------------------------------------------------


@dataclass(frozen=True)
class AlertContext:
    mail_domain: str
    base_url: str
    timezone: str


def _alert_email(
    owner: User, case: Case, steps: list[ChecklistStep], ctx: AlertContext
) -> tuple[str, str, str]:
    language = normalise_language(owner.language) or "es"
    _ = gettext_for(language)
    names = [_(STEP_LABELS.get(s.key, s.key)) for s in steps]
    subject = _(
        "Overdue on %(reference)s: %(steps)s", reference=case.reference, steps=", ".join(names)
    )
    lines = [
        _("Hello %(name)s,", name=owner.name),
        "",
        _(
            "These steps of the recovery playbook for case %(reference)s (%(subject)s) are "
            "past their deadline:",
            reference=case.reference,
            subject=case.subject or _("no subject"),
        ),
        "",
    ]
    for name, step in zip(names, steps, strict=True):
        due = format_datetime(step.due_at, language, ctx.timezone, "short")
        lines.append("- " + _("%(step)s, due %(due)s", step=name, due=due))
    lines += [
        "",
        _(
            "A customer who waits after our mistake waits twice. Please take care of it now, "
            "or hand the case to someone who can."
        ),
        "",
        f"{ctx.base_url.rstrip('/')}/cases/{case.id}",
    ]
    return language, subject, "\n".join(lines)


def do_alert_overdue(
    session: Session,
    actor: Actor,
    case: Case,
    owner: User,
    steps: list[ChecklistStep],
    ctx: AlertContext,
) -> list[StepAlert]:
    """Alert the case's owner about steps past their deadline: one row per (case, step),
    and one e-mail in the owner's language listing them. Steps already alerted are skipped,
    so running this twice alerts once."""
    now: datetime = utcnow()
    fresh = [s for s in steps if s.state == "overdue" and s.alerted_at is None]
    if not fresh:
        return []
    language, subject, text = _alert_email(owner, case, fresh, ctx)
    email = do_email_user(
        session,
        actor,
        owner,
        subject=subject,
        text=text,
        kind="alert",
        mail_domain=ctx.mail_domain,
        language=language,
        case_id=case.id,
    )
    alerts = []
    for step in fresh:
        alert = StepAlert(
            case_id=case.id,
            step=step.key,
            user_id=owner.id,
            due_at=step.due_at,
            email_id=email.id,
            created_at=now,
        )
        session.add(alert)
        alerts.append(alert)
        step.alerted_at = now
    session.flush()
    record(
        session,
        actor,
        "case.playbook_step.alert",
        "case",
        case.id,
        after={"steps": [s.key for s in fresh], "user_id": owner.id, "email_id": email.id},
    )
    return alerts
