"""Replay the negative airline tweets through ingestion and print the problems found.

    PYTHONPATH=src python benchmarks/replay_airline.py [--limit N] [--database URL]

Each negative tweet of ``../shared/data/en_airline_tweets/tweets.csv`` (CrowdFlower "Twitter
US Airline Sentiment", measurement only) is ingested as a Twitter message from its own
customer, in the order it was sent, through ``messages.actions.do_ingest_message`` (the
path every channel takes); then the job runner runs the queued jobs (the problems job groups
each message, the insights job analyses it) exactly as ``meaculpa worker`` would. The top ten
problems are printed with their labels, counts, trend and one example.

Note: this snapshot of the data set replaced "cancelled" by "Cancelled Flightled" and "late"
by "Late Flight" in many tweets; the labels show those words as the customers' text has them.
"""

from __future__ import annotations

import argparse
import csv
import os
import platform
import sys
import tempfile
import time
from datetime import datetime
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "src"))

from meaculpa.core.audit import Actor  # noqa: E402
from meaculpa.core.db import Database  # noqa: E402
from meaculpa.jobs.runner import Runner  # noqa: E402
from meaculpa.messages.actions import do_ingest_message  # noqa: E402
from meaculpa.messages.schemas import InboundMessage  # noqa: E402
from meaculpa.models import metadata  # noqa: E402
from meaculpa.problems import queries  # noqa: E402
from meaculpa.problems.actions import do_relabel  # noqa: E402
from meaculpa.settings import Settings  # noqa: E402

DATA = ROOT.parent / "shared" / "data" / "en_airline_tweets" / "tweets.csv"


def load(limit: int | None) -> list[dict[str, str]]:
    with open(DATA, encoding="utf-8", newline="") as fh:
        rows = [r for r in csv.DictReader(fh) if r["airline_sentiment"] == "negative"]
    rows.sort(key=lambda r: datetime.strptime(r["tweet_created"], "%Y-%m-%d %H:%M:%S %z"))
    return rows[:limit] if limit else rows


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--limit", type=int, default=None, help="only the first N tweets")
    parser.add_argument("--database", default=None, help="a database URL (a temporary SQLite)")
    parser.add_argument("--top", type=int, default=10)
    args = parser.parse_args()
    if not DATA.exists():
        print(f"{DATA} is absent: nothing to replay")
        return 1
    rows = load(args.limit)
    tmp = tempfile.mkdtemp(prefix="meaculpa-replay-")
    url = args.database or f"sqlite:///{tmp}/replay.db"
    db = Database(url)
    metadata.create_all(db.engine)
    actor = Actor.system("replay")
    started = time.perf_counter()
    for r in rows:
        data = InboundMessage.model_validate(
            {
                "channel": "twitter",
                "customer": {
                    "name": f"Tweet {r['tweet_id']}",
                    "language": "en",
                    "identities": [{"kind": "external", "value": f"tweet-{r['tweet_id']}"}],
                },
                "text": r["text"],
                "external_id": r["tweet_id"],
                "sent_at": datetime.strptime(r["tweet_created"], "%Y-%m-%d %H:%M:%S %z"),
            }
        )
        with db.transaction() as session:
            do_ingest_message(session, actor, data)
    ingested = time.perf_counter()
    settings = Settings(environment="test", database_url=url, secret_key="r" * 48)
    runner = Runner(db, name="replay", settings=settings)
    jobs = runner.run_pending(batch=50)
    finished = time.perf_counter()
    # What the hourly problems.relabel job does, once more, so every label is current.
    with db.transaction() as session:
        do_relabel(session)
    with db.reading() as session:
        problems = [p for p in queries.open_problems(session) if p.size > 0]
        problems.sort(key=lambda p: (-p.size, p.id))
        grouped = sum(p.size for p in problems)
        print(
            f"meaculpa problems replay | data: en_airline_tweets (negative, {len(rows)} tweets) "
            f"| machine: {os.cpu_count()} cores, Python {platform.python_version()}"
        )
        print(
            f"ingested in {ingested - started:.1f} s, {jobs} jobs in {finished - ingested:.1f} s "
            f"({len(rows) / (finished - ingested):.0f} messages/s through the jobs)"
        )
        print(
            f"{grouped} complaints grouped into {len(problems)} problems "
            f"({sum(1 for p in problems if p.size >= 5)} with 5 reports or more); "
            f"threshold {queries.get_settings(session).new_problem_threshold}"
        )
        print()
        print(f"{'#':>2}  {'count':>5}  label")
        for i, p in enumerate(problems[: args.top], 1):
            langs = queries.language_mix(session, p.id)
            print(f"{i:>2}  {p.size:>5}  {p.label}   [{', '.join(p.key_terms)}] {langs}")
            print(f"{'':>10}e.g. {p.representative_text[:110]!r}")
    db.dispose()
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
