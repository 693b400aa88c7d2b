"""How long the before/after evaluation of improvement actions takes on a large database.

Synthetic volume (no shared data set is needed: the evaluation only counts rows): a SQLite
file (or ``--database-url`` for PostgreSQL) with ``--cases`` cases spread over a year,
``--problems`` problems and ``--reports`` problem reports spread over the same year, and
``--actions`` done actions, each linked to one problem. Prints the time of one
``do_evaluate_action`` (median of all actions), of the whole hourly job, and of the
management-review query, with the machine it ran on.

    .venv/bin/python benchmarks/improvement_evaluation.py --cases 200000 --reports 50000
"""

from __future__ import annotations

import argparse
import os
import platform
import random
import statistics
import tempfile
import time
from datetime import UTC, datetime, timedelta

from sqlalchemy import insert

from meaculpa.cases.models import Case
from meaculpa.core.clock import override
from meaculpa.core.db import Database
from meaculpa.customers.models import Customer
from meaculpa.improvements import actions, queries
from meaculpa.improvements.models import ActionProblem, ImprovementAction
from meaculpa.models import metadata
from meaculpa.problems.models import Problem, ProblemReport

START = datetime(2026, 1, 1, tzinfo=UTC)
YEAR = timedelta(days=365)


def machine() -> str:
    cpus = os.cpu_count()
    name = platform.processor() or platform.machine()
    return f"{name}, {cpus} CPUs, Python {platform.python_version()}, {platform.system()}"


def seed(db: Database, args: argparse.Namespace) -> None:
    rng = random.Random(7)
    seconds = int(YEAR.total_seconds())
    with db.transaction() as s:
        s.execute(insert(Customer), [{"id": 1, "name": "Volumen", "language": "es"}])
        s.execute(
            insert(Problem), [{"id": i + 1, "label": f"problema {i}"} for i in range(args.problems)]
        )
    batch = 20_000
    for first in range(0, args.cases, batch):
        rows = []
        for _ in range(first, min(first + batch, args.cases)):
            at = START + timedelta(seconds=rng.randrange(seconds))
            rows.append(
                {
                    "customer_id": 1,
                    "channel": "web",
                    "language": "es",
                    "opened_at": at,
                    "last_message_at": at,
                }
            )
        with db.transaction() as s:
            s.execute(insert(Case), rows)
    for first in range(0, args.reports, batch):
        rows = []
        for i in range(first, min(first + batch, args.reports)):
            at = START + timedelta(seconds=rng.randrange(seconds))
            rows.append(
                {
                    "problem_id": rng.randrange(args.problems) + 1,
                    "source_type": "message",
                    "source_id": i + 1,
                    "customer_id": 1,
                    "language": "es",
                    "excerpt": "",
                    "reported_at": at,
                }
            )
        with db.transaction() as s:
            s.execute(insert(ProblemReport), rows)
    with db.transaction() as s:
        for i in range(args.actions):
            done = START + timedelta(days=60 + rng.randrange(240))
            action = ImprovementAction(
                title=f"acción {i}",
                kind="process_fix",
                status="done",
                done_at=done,
                verdict="pending",
                window_days=28,
                created_at=done - timedelta(days=10),
            )
            s.add(action)
            s.flush()
            s.add(ActionProblem(action_id=action.id, problem_id=rng.randrange(args.problems) + 1))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--cases", type=int, default=200_000)
    parser.add_argument("--reports", type=int, default=50_000)
    parser.add_argument("--problems", type=int, default=200)
    parser.add_argument("--actions", type=int, default=100)
    parser.add_argument("--database-url", default=None)
    args = parser.parse_args()
    folder = tempfile.mkdtemp(prefix="meaculpa-bench-")
    url = args.database_url or f"sqlite:///{folder}/bench.db"
    db = Database(url)
    metadata.create_all(db.engine)
    t = time.perf_counter()
    seed(db, args)
    print(f"seeded in {time.perf_counter() - t:.1f} s")
    now = START + YEAR + timedelta(days=30)  # every after-window has passed
    each = []
    with override(lambda: now), db.transaction() as s:
        for action in queries.unfinished_evaluations(s):
            t = time.perf_counter()
            actions.do_evaluate_action(s, action, now=now)
            each.append(time.perf_counter() - t)
        s.rollback()
    with override(lambda: now), db.transaction() as s:
        t = time.perf_counter()
        for action in queries.unfinished_evaluations(s):
            actions.do_evaluate_action(s, action, now=now)
        job = time.perf_counter() - t
    with db.reading() as s:
        t = time.perf_counter()
        rows = queries.list_actions_with_effectiveness(s, START, START + YEAR)
        review = time.perf_counter() - t
    print(f"machine: {machine()}")
    print(f"database: {db.engine.dialect.name}")
    print(
        f"data: {args.cases:,} cases, {args.reports:,} reports over {args.problems} problems, "
        f"{args.actions} done actions (synthetic, uniform over a year)"
    )
    print(
        f"one action evaluated: median {statistics.median(each) * 1000:.1f} ms, "
        f"max {max(each) * 1000:.1f} ms"
    )
    print(f"hourly job over {len(each)} actions: {job:.2f} s")
    print(f"management review query ({len(rows)} actions): {review * 1000:.1f} ms")
    db.dispose()


if __name__ == "__main__":
    main()
