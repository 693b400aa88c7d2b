"""Writes of the problems domain: grouping reports, renaming, merging, splitting, links,
root causes, alerts and settings.

Grouping is done by :func:`do_assign_report` inside the job's short transaction, after the
job computed the embedding outside it. On PostgreSQL an advisory lock serialises grouping,
so two workers never both start a problem for the same complaint; SQLite serialises writes
already. A report is a derived fact (like an analysis) and gets no audit event of its own;
a problem the system starts and every manager change do.
"""

from __future__ import annotations

import threading
from dataclasses import dataclass
from datetime import date, datetime, timedelta

import numpy as np
from sqlalchemy import func, select, text, update
from sqlalchemy.orm import Session

from meaculpa.analysis import grouping
from meaculpa.core.audit import Actor, record, snapshot
from meaculpa.core.cache import database_key
from meaculpa.core.clock import as_utc, utcnow
from meaculpa.core.exceptions import Conflict, Invalid, NotFound
from meaculpa.core.permissions import require_role
from meaculpa.problems import queries
from meaculpa.problems.models import (
    Problem,
    ProblemAlert,
    ProblemErrorLink,
    ProblemReport,
    ProblemSettings,
    RootCause,
)

_GROUPING_LOCK = 0x6D635F70  # "mc_p": the PostgreSQL advisory lock of the grouping
EXCERPT_CHARS = 500
#: A problem is relabelled after this many new reports (or a quarter of its size).
RELABEL_EVERY = 10
ROOT_CAUSE_CATEGORIES = ("people", "process", "product", "partner", "policy", "system")
MAX_WHYS = 5
RELABEL_JOB = "problems.relabel"
PROBLEM_FIELDS = ("label", "label_locked", "status", "merged_into_id", "size")


@dataclass(frozen=True)
class ReportInput:
    """A complaint to group: where it came from and what it says."""

    source_type: str
    source_id: int
    text: str
    reported_at: datetime
    case_id: int | None = None
    customer_id: int | None = None
    language: str = "und"


@dataclass(frozen=True)
class Assignment:
    report: ProblemReport | None
    problem: Problem | None
    created: bool
    similarity: float


# Unit centroids of the open problems, per database and process, refreshed from each
# problem's (updated_at, size): a complaint reads a few bytes per problem, not 2 KB.
_centroids: dict[str, dict[int, tuple[tuple[datetime, int], np.ndarray]]] = {}
_centroids_lock = threading.Lock()
_CHUNK = 500


def _open_centroids(session: Session) -> tuple[list[int], np.ndarray]:
    """The open problems' ids and unit centroids (one row each), fresh as of this session."""
    key = database_key(session)
    rows = session.execute(
        select(Problem.id, Problem.updated_at, Problem.size).where(
            Problem.status == queries.OPEN, Problem.size > 0
        )
    ).all()
    with _centroids_lock:
        cache = _centroids.setdefault(key, {})
        stamps = {int(pid): (as_utc(at), int(size)) for pid, at, size in rows}
        stale = [pid for pid, stamp in stamps.items() if cache.get(pid, (None,))[0] != stamp]
        for start in range(0, len(stale), _CHUNK):
            chunk = stale[start : start + _CHUNK]
            for pid, at, size, blob in session.execute(
                select(Problem.id, Problem.updated_at, Problem.size, Problem.centroid_sum).where(
                    Problem.id.in_(chunk)
                )
            ):
                unit = grouping.normalise(grouping.from_bytes(blob)[None])[0]
                cache[int(pid)] = ((as_utc(at), int(size)), unit)
        for pid in [p for p in cache if p not in stamps]:
            del cache[pid]
        ids = sorted(stamps)
        if not ids:
            return [], np.zeros((0, grouping.EMBED_DIM), np.float32)
        return ids, np.stack([cache[pid][1] for pid in ids])


def _lock_grouping(session: Session) -> None:
    if session.get_bind().dialect.name == "postgresql":
        session.execute(text("SELECT pg_advisory_xact_lock(:key)"), {"key": _GROUPING_LOCK})


def excerpt_of(value: str) -> str:
    cleaned = grouping.clean_for_grouping(value)
    if len(cleaned) <= EXCERPT_CHARS:
        return cleaned
    return cleaned[: EXCERPT_CHARS - 1].rsplit(" ", 1)[0] + "…"


def _vector(problem: Problem) -> np.ndarray:
    return grouping.from_bytes(problem.centroid_sum)


def _touch(problem: Problem, at: datetime) -> None:
    at = as_utc(at)
    if problem.first_reported_at is None or at < as_utc(problem.first_reported_at):
        problem.first_reported_at = at
    if problem.last_reported_at is None or at > as_utc(problem.last_reported_at):
        problem.last_reported_at = at


def _maybe_relabel(session: Session, problem: Problem) -> None:
    from meaculpa.jobs.queue import enqueue_once

    due = max(RELABEL_EVERY, problem.size // 4)
    if problem.changes_since_label >= due or problem.size in (2, 3, 5):
        enqueue_once(session, RELABEL_JOB, f"{RELABEL_JOB}")


def do_assign_report(
    session: Session, item: ReportInput, vector: np.ndarray, *, threshold: float | None = None
) -> Assignment:
    """Group one complaint: join the most similar open problem, or start a new one.

    ``vector`` is the complaint's unit embedding. Idempotent: a source already grouped is
    left alone. A second message of a case already counted in the chosen problem is not
    counted twice (one complaint per case and problem)."""
    if item.source_type not in queries.SOURCE_TYPES:
        raise Invalid(f"unknown source type {item.source_type!r}", field="source_type")
    _lock_grouping(session)
    if queries.get_report_for_source(session, item.source_type, item.source_id) is not None:
        return Assignment(None, None, False, 0.0)
    if threshold is None:
        threshold = queries.get_settings(session).new_problem_threshold
    ids, units = _open_centroids(session)
    best_id, best_sim = None, -1.0
    if ids:
        sims = units @ vector
        k = int(np.argmax(sims))
        best_id, best_sim = ids[k], float(sims[k])
    excerpt = excerpt_of(item.text)
    created = False
    if best_id is None or best_sim < threshold:
        terms = grouping.key_terms([[excerpt]], top=5)[0]
        problem = Problem(
            label=grouping.label_from_terms(terms, excerpt),
            key_terms=terms,
            representative_text=excerpt,
            status=queries.OPEN,
            centroid_sum=grouping.to_bytes(vector),
            size=0,
        )
        session.add(problem)
        session.flush()
        record(
            session,
            Actor.system("problems"),
            "problem.created",
            "problem",
            problem.id,
            after={"label": problem.label, "source_type": item.source_type},
        )
        created, similarity = True, 1.0
    else:
        problem = session.get(Problem, best_id, with_for_update=True) or _missing(best_id)
        if item.case_id is not None and session.scalar(
            select(ProblemReport.id).where(
                ProblemReport.problem_id == problem.id, ProblemReport.case_id == item.case_id
            )
        ):
            return Assignment(None, problem, False, best_sim)
        problem.centroid_sum = grouping.to_bytes(_vector(problem) + vector)
        similarity = best_sim
    problem.size += 1
    problem.changes_since_label += 1
    _touch(problem, item.reported_at)
    report = ProblemReport(
        problem_id=problem.id,
        source_type=item.source_type,
        source_id=item.source_id,
        case_id=item.case_id,
        customer_id=item.customer_id,
        language=(item.language or "und")[:8],
        excerpt=excerpt,
        embedding=grouping.to_bytes(vector, "float16"),
        similarity=round(similarity, 4),
        reported_at=as_utc(item.reported_at),
    )
    session.add(report)
    session.flush()
    if created:
        problem.representative_report_id = report.id
    _maybe_relabel(session, problem)
    return Assignment(report, problem, created, similarity)


def _missing(problem_id: int) -> Problem:
    raise NotFound(f"problem {problem_id} does not exist")


# --- labels ----------------------------------------------------------------------------------

LABEL_SAMPLE = 200
BACKGROUND_SAMPLE = 3000


def do_relabel(session: Session, problem_ids: list[int] | None = None) -> int:
    """Recompute key terms, the representative report and (unless a manager named it) the
    label of the problems that changed (or of ``problem_ids``). Returns how many."""
    stmt = select(Problem).where(Problem.status == queries.OPEN, Problem.size > 0)
    if problem_ids is None:
        stmt = stmt.where(Problem.changes_since_label > 0)
    else:
        stmt = stmt.where(Problem.id.in_(problem_ids))
    problems = list(session.scalars(stmt.order_by(Problem.id)))
    if not problems:
        return 0
    samples: list[list[tuple[int, str, bytes | None]]] = []
    for problem in problems:
        samples.append(
            [
                (r.id, r.excerpt, r.embedding)
                for r in session.execute(
                    select(ProblemReport.id, ProblemReport.excerpt, ProblemReport.embedding)
                    .where(ProblemReport.problem_id == problem.id)
                    .order_by(ProblemReport.id.desc())
                    .limit(LABEL_SAMPLE)
                )
            ]
        )
    # Everyone else's words, so a problem's terms are what sets it apart.
    changed = {p.id for p in problems}
    background = [
        t
        for (t,) in session.execute(
            select(ProblemReport.excerpt)
            .where(ProblemReport.problem_id.not_in(changed))
            .order_by(ProblemReport.id.desc())
            .limit(BACKGROUND_SAMPLE)
        )
    ]
    groups = [[s[1] for s in sample] for sample in samples]
    all_terms = grouping.key_terms([*groups, background], top=5)
    for problem, sample, terms in zip(problems, samples, all_terms, strict=False):
        vectors = np.stack([grouping.from_bytes(s[2], "float16") for s in sample])
        best = grouping.representative(vectors, grouping.normalise(_vector(problem)[None])[0])
        rep_id, rep_text, _ = sample[max(best, 0)]
        problem.key_terms = terms
        problem.representative_report_id = rep_id
        problem.representative_text = rep_text
        if not problem.label_locked:
            problem.label = grouping.label_from_terms(terms, rep_text)
        problem.changes_since_label = 0
    return len(problems)


# --- manager changes -------------------------------------------------------------------------


def _require_manager(actor: Actor, action: str) -> None:
    require_role(actor, "manager", action)


def _require_open(problem: Problem) -> None:
    if problem.status == queries.MERGED:
        raise Conflict(
            f"problem {problem.id} was merged into problem {problem.merged_into_id}",
            merged_into_id=problem.merged_into_id,
        )


def do_rename_problem(session: Session, actor: Actor, problem: Problem, label: str) -> Problem:
    """Name a problem; an empty name hands the label back to the automatic one."""
    _require_manager(actor, "rename a problem")
    _require_open(problem)
    before = snapshot(problem, PROBLEM_FIELDS)
    label = " ".join(label.split())
    if label:
        problem.label = label[:200]
        problem.label_locked = True
    else:
        problem.label_locked = False
        problem.label = grouping.label_from_terms(problem.key_terms, problem.representative_text)
    record(
        session, actor, "problem.renamed", "problem", problem.id,
        before=before, after=snapshot(problem, PROBLEM_FIELDS),
    )  # fmt: skip
    return problem


def do_set_status(session: Session, actor: Actor, problem: Problem, status: str) -> Problem:
    """Archive a problem (no new complaints join it) or open it again."""
    _require_manager(actor, "archive or reopen a problem")
    _require_open(problem)
    if status not in (queries.OPEN, queries.ARCHIVED):
        raise Invalid("a problem is open or archived", field="status", allowed=["open", "archived"])
    before = snapshot(problem, PROBLEM_FIELDS)
    problem.status = status
    record(
        session, actor, f"problem.{'archived' if status == 'archived' else 'reopened'}",
        "problem", problem.id, before=before, after=snapshot(problem, PROBLEM_FIELDS),
    )  # fmt: skip
    return problem


def do_merge_problems(session: Session, actor: Actor, source: Problem, target: Problem) -> Problem:
    """Merge ``source`` into ``target``: its reports, error links and root cause move over;
    ``source`` stays as a pointer (status ``merged``) so old links still lead somewhere."""
    _require_manager(actor, "merge problems")
    if source.id == target.id:
        raise Invalid("a problem cannot be merged into itself", field="into")
    _require_open(source)
    _require_open(target)
    moved = int(
        session.scalar(
            select(func.count(ProblemReport.id)).where(ProblemReport.problem_id == source.id)
        )
        or 0
    )
    session.execute(
        update(ProblemReport)
        .where(ProblemReport.problem_id == source.id)
        .values(problem_id=target.id)
    )
    for link in session.scalars(
        select(ProblemErrorLink).where(ProblemErrorLink.problem_id == source.id)
    ).all():
        if queries.get_error_link(session, target.id, link.error_id) is None:
            link.problem_id = target.id
        else:
            session.delete(link)
    cause = session.scalar(select(RootCause).where(RootCause.problem_id == source.id))
    if cause is not None:
        if session.scalar(select(RootCause.id).where(RootCause.problem_id == target.id)):
            session.delete(cause)
        else:
            cause.problem_id = target.id
    target.centroid_sum = grouping.to_bytes(_vector(target) + _vector(source))
    target.size += source.size
    target.changes_since_label += max(source.size, 1)
    for at in (source.first_reported_at, source.last_reported_at):
        if at is not None:
            _touch(target, at)
    before = snapshot(source, PROBLEM_FIELDS)
    source.status = queries.MERGED
    source.merged_into_id = target.id
    source.centroid_sum = None
    source.size = 0
    session.execute(
        update(Problem).where(Problem.merged_into_id == source.id).values(merged_into_id=target.id)
    )
    session.flush()
    record(
        session, actor, "problem.merged", "problem", source.id,
        before=before, after={**snapshot(source, PROBLEM_FIELDS), "reports_moved": moved},
    )  # fmt: skip
    record(
        session, actor, "problem.absorbed", "problem", target.id,
        after={"from_problem_id": source.id, "reports_moved": moved, "size": target.size},
    )  # fmt: skip
    do_relabel(session, [target.id])
    return target


MAX_SPLIT_REPORTS = 5000


def do_split_problem(
    session: Session,
    actor: Actor,
    problem: Problem,
    report_ids: list[int] | None = None,
    label: str = "",
) -> Problem:
    """Move some of a problem's reports to a new problem and return it.

    ``report_ids`` names the reports to move; without them the problem is cut in two by
    meaning (two-way k-means over its reports' embeddings) and the smaller half moves."""
    _require_manager(actor, "split a problem")
    _require_open(problem)
    reports = list(
        session.scalars(
            select(ProblemReport)
            .where(ProblemReport.problem_id == problem.id)
            .order_by(ProblemReport.id)
            .limit(MAX_SPLIT_REPORTS + 1)
        )
    )
    if len(reports) > MAX_SPLIT_REPORTS and not report_ids:
        raise Invalid(
            f"a problem of more than {MAX_SPLIT_REPORTS} reports is split by naming the reports",
            field="report_ids",
        )
    if report_ids:
        wanted = set(report_ids)
        moving = [r for r in reports if r.id in wanted]
        if len(moving) != len(wanted):
            raise Invalid("some reports are not in this problem", field="report_ids")
    else:
        if len(reports) < 2:
            raise Invalid("a problem with fewer than two reports cannot be split", field="id")
        vectors = np.stack([grouping.from_bytes(r.embedding, "float16") for r in reports])
        halves = grouping.split_in_two(grouping.normalise(vectors))
        small = 0 if (halves == 0).sum() <= (halves == 1).sum() else 1
        moving = [r for r, h in zip(reports, halves, strict=True) if h == small]
    if not moving or len(moving) == len(reports):
        raise Invalid("a split leaves reports on both sides", field="report_ids")
    moved_sum = np.zeros(grouping.EMBED_DIM, np.float32)
    for r in moving:
        moved_sum += grouping.from_bytes(r.embedding, "float16")
    new = Problem(
        label=" ".join(label.split())[:200] or problem.label,
        label_locked=bool(label.strip()),
        key_terms=[],
        representative_text=moving[0].excerpt,
        status=queries.OPEN,
        centroid_sum=grouping.to_bytes(moved_sum),
        size=len(moving),
        changes_since_label=len(moving),
    )
    session.add(new)
    session.flush()
    for r in moving:
        r.problem_id = new.id
        _touch(new, r.reported_at)
    keep = [r for r in reports if r.problem_id == problem.id]
    problem.centroid_sum = grouping.to_bytes(_vector(problem) - moved_sum)
    problem.size = max(problem.size - len(moving), 0)
    problem.changes_since_label += len(moving)
    problem.first_reported_at = min((as_utc(r.reported_at) for r in keep), default=None)
    problem.last_reported_at = max((as_utc(r.reported_at) for r in keep), default=None)
    session.flush()
    record(
        session, actor, "problem.split", "problem", problem.id,
        after={"new_problem_id": new.id, "reports_moved": len(moving), "size": problem.size},
    )  # fmt: skip
    record(
        session, actor, "problem.created", "problem", new.id,
        after={"label": new.label, "split_from": problem.id, "size": new.size},
    )  # fmt: skip
    do_relabel(session, [problem.id, new.id])
    return new


def do_link_error(session: Session, actor: Actor, problem: Problem, error_id: int) -> bool:
    """Link a problem to a company error; False when they were linked already."""
    from meaculpa.errors.queries import access_error

    _require_manager(actor, "link a problem to an error")
    _require_open(problem)
    error = access_error(session, actor, error_id)
    if queries.get_error_link(session, problem.id, error.id) is not None:
        return False
    session.add(
        ProblemErrorLink(
            problem_id=problem.id,
            error_id=error.id,
            created_by_id=actor.id if actor.kind != "system" else None,
        )
    )
    session.flush()
    record(
        session, actor, "problem.error_linked", "problem", problem.id,
        after={"error_id": error.id},
    )  # fmt: skip
    return True


def do_unlink_error(session: Session, actor: Actor, problem: Problem, error_id: int) -> None:
    _require_manager(actor, "unlink a problem from an error")
    link = queries.get_error_link(session, problem.id, error_id)
    if link is None:
        raise NotFound(f"problem {problem.id} is not linked to error {error_id}")
    session.delete(link)
    record(
        session, actor, "problem.error_unlinked", "problem", problem.id,
        before={"error_id": error_id},
    )  # fmt: skip


# --- root causes -----------------------------------------------------------------------------

ROOT_CAUSE_FIELDS = ("category", "whys", "notes")


def do_set_root_cause(
    session: Session,
    actor: Actor,
    *,
    category: str,
    whys: list[str],
    notes: str,
    error_id: int | None = None,
    problem_id: int | None = None,
) -> RootCause:
    """Write (or rewrite) the root cause of an error or of a problem. Managers and admins."""
    _require_manager(actor, "record a root cause")
    if (error_id is None) == (problem_id is None):
        raise Invalid("a root cause belongs to one error or one problem")
    if category not in ROOT_CAUSE_CATEGORIES:
        raise Invalid(
            "unknown cause category", field="category", allowed=list(ROOT_CAUSE_CATEGORIES)
        )
    cleaned = [" ".join(w.split()) for w in whys]
    while cleaned and not cleaned[-1]:
        cleaned.pop()
    if len(cleaned) > MAX_WHYS:
        raise Invalid(f"at most {MAX_WHYS} whys", field="whys")
    if any(not w for w in cleaned):
        raise Invalid("answer each why in order, without gaps", field="whys")
    if problem_id is not None:
        problem = queries.access_problem(session, actor, problem_id)
        _require_open(problem)
        cause = queries.get_root_cause(session, problem_id=problem.id)
        object_type, object_id = "problem", problem.id
    else:
        from meaculpa.errors.queries import access_error

        error = access_error(session, actor, error_id or 0)
        cause = queries.get_root_cause(session, error_id=error.id)
        object_type, object_id = "error", error.id
    before = snapshot(cause, ROOT_CAUSE_FIELDS) if cause is not None else None
    if cause is None:
        cause = RootCause(
            error_id=object_id if object_type == "error" else None,
            problem_id=object_id if object_type == "problem" else None,
            category=category,
        )
        session.add(cause)
    cause.category = category
    cause.whys = cleaned
    cause.notes = notes.strip()
    cause.updated_by_id = actor.id if actor.kind != "system" else None
    cause.updated_at = utcnow()
    session.flush()
    record(
        session, actor, "root_cause.set", object_type, object_id,
        before=before, after=snapshot(cause, ROOT_CAUSE_FIELDS),
    )  # fmt: skip
    return cause


def do_clear_root_cause(
    session: Session, actor: Actor, *, error_id: int | None = None, problem_id: int | None = None
) -> None:
    _require_manager(actor, "remove a root cause")
    cause = queries.get_root_cause(session, error_id=error_id, problem_id=problem_id)
    if cause is None:
        raise NotFound("there is no root cause recorded")
    object_type = "error" if cause.error_id is not None else "problem"
    object_id = cause.error_id if cause.error_id is not None else cause.problem_id
    before = snapshot(cause, ROOT_CAUSE_FIELDS)
    session.delete(cause)
    record(session, actor, "root_cause.removed", object_type, object_id, before=before)


# --- settings --------------------------------------------------------------------------------


def do_update_settings(
    session: Session,
    actor: Actor,
    *,
    new_problem_threshold: float | None = None,
    alert_min_count: int | None = None,
    alert_factor: float | None = None,
    alert_baseline_weeks: int | None = None,
) -> queries.Settings:
    """Change the grouping threshold and the alert rule. Admins only."""
    require_role(actor, "admin", "change the problem settings")
    row = session.scalar(select(ProblemSettings).order_by(ProblemSettings.id).limit(1))
    current = queries.get_settings(session)
    if row is None:
        row = ProblemSettings(
            new_problem_threshold=current.new_problem_threshold,
            alert_min_count=current.alert_min_count,
            alert_factor=current.alert_factor,
            alert_baseline_weeks=current.alert_baseline_weeks,
        )
        session.add(row)
    before = snapshot(row, _SETTING_FIELDS)
    if new_problem_threshold is not None:
        row.new_problem_threshold = new_problem_threshold
    if alert_min_count is not None:
        row.alert_min_count = alert_min_count
    if alert_factor is not None:
        row.alert_factor = alert_factor
    if alert_baseline_weeks is not None:
        row.alert_baseline_weeks = alert_baseline_weeks
    session.flush()
    record(
        session, actor, "problem_settings.updated", "problem_settings", row.id,
        before=before, after=snapshot(row, _SETTING_FIELDS),
    )  # fmt: skip
    return queries.get_settings(session)


_SETTING_FIELDS = (
    "new_problem_threshold",
    "alert_min_count",
    "alert_factor",
    "alert_baseline_weeks",
)


# --- alerts ----------------------------------------------------------------------------------


@dataclass(frozen=True)
class Jump:
    problem: Problem
    week_start: date
    count: int
    baseline: float


def find_jumps(session: Session, now: datetime) -> list[Jump]:
    """Open problems whose count this week jumped over the alert rule."""
    rules = queries.get_settings(session)
    monday = queries.week_start(now)
    first = monday - timedelta(days=7 * rules.alert_baseline_weeks)
    candidates = list(
        session.scalars(
            select(Problem).where(
                Problem.status == queries.OPEN,
                Problem.last_reported_at >= queries.week_bounds(monday)[0],
            )
        )
    )
    if not candidates:
        return []
    weeks = queries.weekly_counts_many(
        session, [p.id for p in candidates], first, queries.week_bounds(monday)[1]
    )
    jumps = []
    for problem in candidates:
        series = weeks[problem.id]
        count = series[-1][1]
        # Only weeks since the problem was first reported count in the baseline.
        since = queries.week_start(problem.first_reported_at or now)
        before = [n for w, n in series[:-1] if w >= since]
        baseline = sum(before) / len(before) if before else 0.0
        if count >= rules.alert_min_count and count >= rules.alert_factor * max(baseline, 1.0):
            jumps.append(Jump(problem, monday, count, round(baseline, 2)))
    return jumps


def do_send_alerts(session: Session, now: datetime, *, mail_domain: str, base_url: str) -> int:
    """Alert every active manager and admin, once per problem and week, by e-mail and on
    their alerts page. Returns how many alerts were recorded."""
    from meaculpa.accounts.queries import list_users
    from meaculpa.notifications.actions import do_email_user
    from meaculpa.problems.texts import jump_email

    jumps = find_jumps(session, now)
    if not jumps:
        return 0
    managers = [u for u in list_users(session, active_only=True) if u.role in ("manager", "admin")]
    sent = 0
    actor = Actor.system("problems")
    for jump in jumps:
        already = set(
            session.scalars(
                select(ProblemAlert.user_id).where(
                    ProblemAlert.problem_id == jump.problem.id,
                    ProblemAlert.week_start == jump.week_start,
                )
            )
        )
        for user in managers:
            if user.id in already:
                continue
            subject, body = jump_email(
                language=user.language,
                name=user.name,
                label=jump.problem.label,
                count=jump.count,
                baseline=jump.baseline,
                link=f"{base_url.rstrip('/')}/problems/{jump.problem.id}",
            )
            email = do_email_user(
                session, actor, user, subject=subject, text=body, kind="alert",
                mail_domain=mail_domain,
            )  # fmt: skip
            session.add(
                ProblemAlert(
                    problem_id=jump.problem.id,
                    week_start=jump.week_start,
                    count=jump.count,
                    baseline=jump.baseline,
                    user_id=user.id,
                    email_id=email.id,
                )
            )
            sent += 1
        if len(already) == 0 and managers:
            record(
                session, actor, "problem.alerted", "problem", jump.problem.id,
                after={
                    "week_start": jump.week_start.isoformat(),
                    "count": jump.count,
                    "baseline": jump.baseline,
                    "recipients": len(managers),
                },
            )  # fmt: skip
    session.flush()
    return sent
