"""Surveys at volume: a list send of 5,000 customers, its jobs, and the figures query.

Builds a fresh database (SQLite in a temporary folder, or a PostgreSQL schema), creates
``--customers`` customers with an e-mail each, then times:

1. ``do_create_send`` with every address (one transaction, as ``POST /api/v1/surveys/sends``);
2. the ``surveys.send`` jobs that queue the e-mails (no SMTP host: the e-mails stay held);
3. ``queries.results`` (overall and by team) over ``--rows`` synthetic sent surveys with
   answers on 40 % of them, inserted in bulk.

    python benchmarks/surveys.py
    python benchmarks/surveys.py --postgres postgresql://postgres@127.0.0.1:5432/test

Data set: synthetic customers and scores generated here (no external data).
"""

from __future__ import annotations

import argparse
import os
import platform
import random
import tempfile
import time
import uuid
from datetime import timedelta
from typing import Any

from sqlalchemy import create_engine, insert, text

from meaculpa.core.audit import Actor
from meaculpa.core.clock import utcnow
from meaculpa.core.db import Database
from meaculpa.customers.models import Customer, CustomerIdentity
from meaculpa.jobs.runner import Runner
from meaculpa.models import metadata
from meaculpa.settings import Settings
from meaculpa.surveys import queries
from meaculpa.surveys.actions import do_create_send
from meaculpa.surveys.models import SCALES, SurveyInvite, SurveyResponse
from meaculpa.surveys.schemas import SendCreate

MANAGER = Actor(kind="user", id=None, label="bench", role="manager")


def _database(pg: str | None) -> tuple[Database, Any]:
    if not pg:
        folder = tempfile.mkdtemp(prefix="mc-surveys-")
        url = f"sqlite:///{folder}/bench.db"
        return Database(url, pool_size=4), None
    base = pg.replace("postgresql://", "postgresql+psycopg://", 1)
    schema = "bench_" + uuid.uuid4().hex[:12]
    admin = create_engine(base)
    with admin.begin() as conn:
        conn.execute(text(f'CREATE SCHEMA "{schema}"'))
    sep = "&" if "?" in base else "?"
    return Database(f"{base}{sep}options=-csearch_path%3D{schema}", pool_size=4), (admin, schema)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--postgres", help="a PostgreSQL URL (a schema is created and dropped)")
    parser.add_argument("--customers", type=int, default=5000)
    parser.add_argument("--rows", type=int, default=100_000)
    args = parser.parse_args()
    db, cleanup = _database(args.postgres)
    metadata.create_all(db.engine)
    rng = random.Random(7)
    now = utcnow()
    try:
        with db.transaction() as s:
            s.execute(
                insert(Customer),
                [
                    {
                        "id": i,
                        "name": f"Cliente {i}",
                        "language": "es" if i % 3 else "en",
                        "timezone": "Europe/Madrid",
                        "failures_count": 0,
                        "contact_opt_out": i % 50 == 0,
                        "created_at": now,
                        "updated_at": now,
                    }
                    for i in range(1, args.customers + 1)
                ],
            )
            s.execute(
                insert(CustomerIdentity),
                [
                    {
                        "customer_id": i,
                        "kind": "email",
                        "value": f"c{i}@example.com",
                        "created_at": now,
                    }
                    for i in range(1, args.customers + 1)
                ],
            )
        emails = [f"c{i}@example.com" for i in range(1, args.customers + 1)]
        data = SendCreate.model_validate(
            {"name": "bench", "kind": "nps", "audience": {"emails": emails}}
        )
        started = time.perf_counter()
        with db.transaction() as s:
            _send, summary = do_create_send(s, MANAGER, data)
        create_s = time.perf_counter() - started
        assert summary is not None
        settings = Settings(database_url="sqlite://", secret_key="bench-" + "x" * 40)
        started = time.perf_counter()
        ran = Runner(db, settings=settings).run_pending()
        jobs_s = time.perf_counter() - started

        # Synthetic history for the figures: --rows surveys sent over 180 days, 40 % answered.
        kinds = ("csat", "nps", "ces")
        invites, answers = [], []
        base_id = 10_000_000
        for n in range(args.rows):
            kind = kinds[n % 3]
            sent = now - timedelta(days=rng.uniform(0, 180))
            invite_id = base_id + n
            invites.append(
                {
                    "id": invite_id,
                    "kind": kind,
                    "source": "case",
                    "customer_id": 1 + n % 1000,
                    "status": "sent",
                    "status_note": "",
                    "language": "es",
                    "due_at": sent,
                    "sent_at": sent,
                    "created_at": sent,
                    "updated_at": sent,
                    "team_id": None,
                }
            )
            if rng.random() < 0.4:
                low, high = SCALES[kind]
                answers.append(
                    {
                        "invite_id": invite_id,
                        "kind": kind,
                        "score": rng.randint(low, high),
                        "language": "es",
                        "customer_id": 1 + n % 1000,
                        "low": False,
                        "answered_at": sent,
                    }
                )
        with db.transaction() as s:
            for i in range(0, len(invites), 5000):
                s.execute(insert(SurveyInvite), invites[i : i + 5000])
            for i in range(0, len(answers), 5000):
                s.execute(insert(SurveyResponse), answers[i : i + 5000])
        timings = {}
        for group in ("all", "team", "month"):
            with db.reading() as s:
                started = time.perf_counter()
                queries.results(s, now - timedelta(days=181), now + timedelta(days=1), group)
                timings[group] = time.perf_counter() - started
            with db.reading() as s:
                started = time.perf_counter()
                queries.results(s, now - timedelta(days=30), now + timedelta(days=1), group)
                timings[group + " (30 days)"] = time.perf_counter() - started
    finally:
        db.dispose()
        if cleanup is not None:
            admin, schema = cleanup
            with admin.begin() as conn:
                conn.execute(text(f'DROP SCHEMA "{schema}" CASCADE'))
            admin.dispose()
    engine = "PostgreSQL" if args.postgres else "SQLite"
    print(f"engine: {engine}")
    print(
        f"machine: {platform.machine()} {os.cpu_count()} cores, Python "
        f"{platform.python_version()}, {platform.system()} {platform.release()}"
    )
    print(f"data set: synthetic, {args.customers} customers (2 % opted out), {args.rows} surveys")
    print(
        f"list send of {args.customers} addresses: {create_s:.2f} s "
        f"({summary.invited} surveyed, {summary.opted_out} opted out)"
    )
    print(
        f"{ran} send jobs (e-mails queued, held): {jobs_s:.2f} s "
        f"({jobs_s / max(ran, 1) * 1000:.1f} ms a survey)"
    )
    for name, seconds in timings.items():
        print(f"figures by {name} over {args.rows} surveys: {seconds * 1000:.0f} ms")


if __name__ == "__main__":
    main()
