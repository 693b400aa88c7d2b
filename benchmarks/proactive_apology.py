"""Proactive apologies at scale on PostgreSQL.

    .venv/bin/python benchmarks/proactive_apology.py --customers 1000000 \
        [--database-url postgresql://postgres@127.0.0.1:5432/test] [--deliver 20000]

Builds a fresh schema with N affected customers (set-based SQL, not timed), then measures:

1. enqueue: the "send" job walking every affected customer in chunks (``INSERT ... SELECT``
   of apology rows and one delivery job per chunk) — target: all enqueued within 60 s;
2. render: every apology personalised (streamed in chunks, as the delivery jobs do);
3. delivery: ``--deliver`` apologies sent by the real delivery jobs to a local SMTP sink
   (aiosmtpd in its own process), as e-mails per second;
4. peak memory (max RSS) after each phase, which must not grow with N.

The schema is dropped at the end. Prints the data set and the machine it ran on.
"""

from __future__ import annotations

import argparse
import os
import platform
import resource
import socket
import subprocess
import sys
import time
import uuid
from pathlib import Path
from urllib.parse import quote

sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "src"))

from sqlalchemy import create_engine, select, text

from meaculpa.apologies import actions, texts
from meaculpa.apologies.models import Apology, ApologyCampaign
from meaculpa.core.audit import Actor
from meaculpa.core.db import Database
from meaculpa.customers.models import Customer
from meaculpa.errors.actions import do_create_error
from meaculpa.errors.models import AffectedCustomer, Error
from meaculpa.errors.schemas import ErrorCreate
from meaculpa.jobs.registry import load_handlers
from meaculpa.jobs.runner import Runner
from meaculpa.models import metadata
from meaculpa.settings import Settings


def rss_mib() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def machine() -> str:
    cpu = platform.processor() or platform.machine()
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    load = ", ".join(f"{x:.1f}" for x in os.getloadavg())
    return (
        f"{os.cpu_count()} cores ({cpu}), Python {platform.python_version()}, "
        f"load average at start {load} (a machine shared with other engineers)"
    )


def with_schema(url: str, schema: str) -> str:
    if url.startswith("postgresql://"):
        url = "postgresql+psycopg://" + url.removeprefix("postgresql://")
    sep = "&" if "?" in url else "?"
    return f"{url}{sep}options={quote(f'-csearch_path={schema}')}"


def populate(db: Database, n: int) -> int:
    """N customers, one e-mail each (1 in 50 opted out, 1 in 100 without e-mail), all
    affected by one error with an order number and an amount."""
    actor = Actor.system("benchmark")
    with db.transaction() as session:
        error = do_create_error(
            session,
            actor,
            ErrorCreate(title="Cobro duplicado en pedidos de marzo", type="calculation"),
        )
        error_id = error.id
    with db.engine.begin() as conn:
        conn.execute(
            text(
                "INSERT INTO customer (id, name, language, timezone, failures_count, opt_out, "
                "created_at, updated_at) SELECT g, 'Cliente ' || g, "
                "CASE WHEN g % 3 = 0 THEN 'en' ELSE 'es' END, 'Europe/Madrid', 1, g % 50 = 0, "
                "now(), now() FROM generate_series(1, :n) g"
            ),
            {"n": n},
        )
        conn.execute(text("SELECT setval('customer_id_seq', :n)"), {"n": n})
        conn.execute(
            text(
                "INSERT INTO customer_identity (customer_id, kind, value, created_at) "
                "SELECT g, 'email', 'cliente' || g || '@example.es', now() "
                "FROM generate_series(1, :n) g WHERE g % 100 <> 7"
            ),
            {"n": n},
        )
        conn.execute(
            text(
                "INSERT INTO error_affected_customer (error_id, customer_id, state, details, "
                "created_at, updated_at) SELECT :e, g, 'identified', "
                "json_build_object('order_number', 'P-' || g, 'amount', (g % 200) || '.95'), "
                "now(), now() FROM generate_series(1, :n) g"
            ),
            {"n": n, "e": error_id},
        )
        conn.execute(
            text("UPDATE company_error SET affected_count = :n WHERE id = :e"),
            {"n": n, "e": error_id},
        )
        conn.execute(text("ANALYZE"))
    with db.transaction() as session:
        session.add(
            ApologyCampaign(
                error_id=error_id,
                status="sending",
                subject_es=texts.DEFAULTS["es"][0],
                body_es=texts.DEFAULTS["es"][1] + "\n\nPedido: {order_number} ({amount} €)",
                subject_en=texts.DEFAULTS["en"][0],
                body_en=texts.DEFAULTS["en"][1] + "\n\nOrder: {order_number} (€{amount})",
                remedy_kind="credit",
                remedy_amount_minor=1000,
                currency="EUR",
            )
        )
    return error_id


def render_all(db: Database, error_id: int) -> int:
    """Render every apology the way the delivery jobs do, streamed in chunks."""
    rendered = 0
    last = -1
    with db.reading() as session:
        error = session.get(Error, error_id)
        campaign = actions.get_campaign(session, error_id)
        assert error is not None and campaign is not None
    while True:
        with db.reading() as session:
            rows = session.execute(
                select(
                    Apology.customer_id,
                    Apology.language,
                    Customer.name,
                    Customer.timezone,
                    AffectedCustomer.details,
                )
                .join(Customer, Customer.id == Apology.customer_id)
                .join(
                    AffectedCustomer,
                    (AffectedCustomer.error_id == Apology.error_id)
                    & (AffectedCustomer.customer_id == Apology.customer_id),
                )
                .where(
                    Apology.error_id == error_id,
                    Apology.customer_id > last,
                    AffectedCustomer.error_id == error_id,
                    AffectedCustomer.customer_id > last,
                )
                .order_by(Apology.customer_id)
                .limit(actions.CHUNK * 4)
            ).all()
        if not rows:
            return rendered
        for row in rows:
            lang = texts.language_of(row.language)
            values = texts.apology_values(
                language=lang,
                customer_name=row.name,
                customer_timezone=row.timezone,
                error_title=error.title,
                error_summary=error.public_summary,
                remedy_kind=campaign.remedy_kind,
                remedy_amount_minor=campaign.remedy_amount_minor,
                currency=campaign.currency,
                promised_by=campaign.promised_by,
                details=row.details or {},
            )
            texts.render(getattr(campaign, f"subject_{lang}"), values)
            texts.tidy(texts.render(getattr(campaign, f"body_{lang}"), values))
            rendered += 1
        last = rows[-1].customer_id


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--customers", type=int, default=1_000_000)
    parser.add_argument("--deliver", type=int, default=20_000)
    parser.add_argument(
        "--database-url",
        default=os.environ.get(
            "MEACULPA_BENCH_DATABASE_URL", "postgresql://postgres@127.0.0.1:5432/test"
        ),
    )
    args = parser.parse_args()
    n = args.customers
    schema = "bench_apology_" + uuid.uuid4().hex[:8]
    admin = create_engine(with_schema(args.database_url, "public"))
    with admin.begin() as conn:
        conn.execute(text(f'CREATE SCHEMA "{schema}"'))
    db = Database(with_schema(args.database_url, schema), pool_size=4)
    sink = None
    try:
        metadata.create_all(db.engine)
        print(f"machine: {machine()}")
        print(f"data set: {n:,} affected customers of one error on PostgreSQL "
              f"(1 in 50 opted out, 1 in 100 without e-mail), synthetic")
        started = time.perf_counter()
        error_id = populate(db, n)
        print(f"set-up (not part of the target): {time.perf_counter() - started:.1f} s, "
              f"max RSS {rss_mib():.0f} MiB")

        settings = Settings(
            environment="test",
            database_url=db.url,
            outreach_rates={"email": 1_000_000.0},
        )
        started = time.perf_counter()
        queued = actions.enqueue_apologies(db, error_id, settings)
        enqueue_s = time.perf_counter() - started
        with db.reading() as session:
            rows = session.scalar(text("SELECT count(*) FROM apology"))
            jobs = session.scalar(
                text("SELECT count(*) FROM job WHERE kind = 'apologies.deliver'")
            )
        print(
            f"enqueue: {rows:,} apology rows ({queued:,} to send) and {jobs:,} delivery jobs "
            f"in {enqueue_s:.1f} s ({rows / enqueue_s:,.0f} rows/s; target 60 s) — "
            f"max RSS {rss_mib():.0f} MiB"
        )
        started = time.perf_counter()
        rendered = render_all(db, error_id)
        render_s = time.perf_counter() - started
        print(
            f"render: {rendered:,} apologies personalised in {render_s:.1f} s "
            f"({rendered / render_s:,.0f}/s, streamed in chunks) — max RSS {rss_mib():.0f} MiB"
        )

        port = free_port()
        sink = subprocess.Popen(
            [sys.executable, "-m", "aiosmtpd", "-n", "-l", f"127.0.0.1:{port}",
             "-c", "aiosmtpd.handlers.Sink"],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        time.sleep(1.5)
        send_settings = settings.model_copy(
            update={"smtp_host": "127.0.0.1", "smtp_port": port}
        )
        handlers = {k: v for k, v in load_handlers().items() if k == "apologies.deliver"}
        runner = Runner(db, name="bench", handlers=handlers, settings=send_settings)
        jobs_needed = max(1, args.deliver // actions.CHUNK)
        started = time.perf_counter()
        runner.run_pending(max_jobs=jobs_needed)
        deliver_s = time.perf_counter() - started
        with db.reading() as session:
            sent = session.scalar(select(text("count(*)")).select_from(Apology).where(
                Apology.state == "sent"))
        print(
            f"delivery: {sent:,} apologies sent to a local SMTP sink (aiosmtpd, its own "
            f"process) by {jobs_needed} delivery jobs in {deliver_s:.1f} s "
            f"({sent / deliver_s:,.0f} e-mails/s, one worker) — max RSS {rss_mib():.0f} MiB"
        )
        print(f"peak memory (max RSS of this process): {rss_mib():.0f} MiB")
    finally:
        if sink is not None:
            sink.terminate()
            sink.wait()
        db.dispose()
        with admin.begin() as conn:
            conn.execute(text(f'DROP SCHEMA "{schema}" CASCADE'))
        admin.dispose()


if __name__ == "__main__":
    main()
