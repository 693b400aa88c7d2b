"""How well and how fast meaculpa groups complaints into problems.

    PYTHONPATH=src python benchmarks/problem_quality.py [--skip-million] [--db-messages N]

Quality: the 1,532 narratives of ``../shared/data/en_cfpb_complaints/complaints_sample.csv``
(US CFPB complaints, public data), grouped in the order they were received by the same
incremental nearest-centroid rule the problems job uses, against the ``Issue`` column as the
truth: adjusted Rand index, normalised mutual information (arithmetic), problems found. The
figures are printed for several new-problem thresholds; the shipped default is marked.

Speed: assignment throughput on 100,000 and 1,000,000 synthetic complaints made by
resampling the real embeddings with a little noise (fine for speed, meaningless for
quality), in memory (one at a time and in batches), plus the job's own path (one
transaction per complaint on SQLite, the centroids read from the database each time), and
the encoder's throughput, which bounds the whole pipeline.
"""

from __future__ import annotations

import argparse
import csv
import os
import platform
import sys
import tempfile
import time
from collections import Counter
from datetime import UTC, datetime, timedelta
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "src"))

from meaculpa.analysis.grouping import (  # noqa: E402
    DEFAULT_THRESHOLD,
    Grouper,
    adjusted_rand_index,
    clean_for_grouping,
    embed_unit,
    normalise,
    normalized_mutual_info,
)

DATA = ROOT.parent / "shared" / "data" / "en_cfpb_complaints" / "complaints_sample.csv"
THRESHOLDS = (0.4, 0.45, 0.5, 0.55, 0.6, 0.65, 0.7)
SEED = 7


def machine() -> str:
    return f"{os.cpu_count()} cores, Python {platform.python_version()}, {platform.machine()}"


def load() -> list[dict[str, str]]:
    with open(DATA, encoding="utf-8", newline="") as fh:
        rows = [r for r in csv.DictReader(fh) if r["Consumer complaint narrative"].strip()]
    def received(r: dict[str, str]) -> tuple[int, ...]:
        month, day, year = (int(x) for x in r["Date received"].split("/"))
        return (year, month, day)

    rows.sort(key=received)
    return rows


def quality(vectors: np.ndarray, truth: list[str], products: list[str]) -> None:
    print(
        f"\nQuality | data: en_cfpb_complaints, {len(truth)} narratives, "
        f"{len(set(truth))} Issue values (truth), received order"
    )
    print(
        f"  {'threshold':>9}  {'ARI':>6}  {'NMI':>6}  {'problems':>8}  {'>=5 reports':>11}"
        f"  {'ARI/Product':>11}  {'NMI/Product':>11}"
    )
    for t in THRESHOLDS:
        g = Grouper(threshold=t)
        found = [g.add(v)[0] for v in vectors]
        sizes = Counter(found)
        mark = "  <- default" if abs(t - DEFAULT_THRESHOLD) < 1e-9 else ""
        print(
            f"  {t:>9.2f}  {adjusted_rand_index(truth, found):6.3f}  "
            f"{normalized_mutual_info(truth, found):6.3f}  {g.count:>8}  "
            f"{sum(1 for n in sizes.values() if n >= 5):>11}  "
            f"{adjusted_rand_index(products, found):>11.3f}  "
            f"{normalized_mutual_info(products, found):>11.3f}{mark}"
        )
    # A reference point: the best a batch method with the true number of groups does here.
    rng = np.random.default_rng(SEED)
    k = len(set(truth))
    centers = vectors[rng.choice(len(vectors), k, replace=False)]
    for _ in range(30):
        labels = np.argmax(vectors @ centers.T, axis=1)
        centers = normalise(
            np.stack(
                [
                    vectors[labels == j].sum(0) if (labels == j).any() else centers[j]
                    for j in range(k)
                ]
            )
        )
    print(
        f"  reference: spherical k-means with the true k={k} (batch, not incremental): "
        f"ARI {adjusted_rand_index(truth, labels):.3f}, "
        f"NMI {normalized_mutual_info(truth, labels):.3f}"
    )


def synthetic(vectors: np.ndarray, n: int, rng: np.random.Generator) -> np.ndarray:
    """``n`` unit vectors, each a real complaint's embedding plus noise (cosine about 0.9)."""
    idx = rng.integers(0, len(vectors), n)
    out = vectors[idx] + rng.normal(0.0, 0.0214, (n, vectors.shape[1])).astype(np.float32)
    return normalise(out)


def speed_memory(vectors: np.ndarray, sizes: list[int], one_by_one_max: int) -> None:
    rng = np.random.default_rng(SEED)
    print(
        f"\nAssignment speed in memory | data: synthetic, resampled from the CFPB embeddings "
        f"| threshold {DEFAULT_THRESHOLD}"
    )
    for n in sizes:
        data = synthetic(vectors, n, rng)
        if n <= one_by_one_max:
            g = Grouper(threshold=DEFAULT_THRESHOLD)
            start = time.perf_counter()
            for v in data:
                g.add(v)
            secs = time.perf_counter() - start
            print(
                f"  {n:>9,} complaints one at a time: {n / secs:>10,.0f} /s "
                f"({secs:.1f} s, {g.count} problems)"
            )
        g = Grouper(threshold=DEFAULT_THRESHOLD)
        start = time.perf_counter()
        for i in range(0, n, 512):
            g.add_batch(data[i : i + 512])
        secs = time.perf_counter() - start
        print(
            f"  {n:>9,} complaints in batches of 512: {n / secs:>10,.0f} /s "
            f"({secs:.1f} s, {g.count} problems)"
        )


def speed_database(vectors: np.ndarray, n: int) -> None:
    """The job's path: one short transaction per complaint on SQLite, as the worker runs it."""
    from meaculpa.core.db import Database
    from meaculpa.models import metadata
    from meaculpa.problems.actions import ReportInput, do_assign_report

    rng = np.random.default_rng(SEED + 1)
    data = synthetic(vectors, n, rng)
    folder = tempfile.mkdtemp(prefix="meaculpa-problems-bench-")
    db = Database(f"sqlite:///{folder}/bench.db")
    metadata.create_all(db.engine)
    base = datetime(2026, 1, 5, tzinfo=UTC)
    start = time.perf_counter()
    for i, v in enumerate(data):
        item = ReportInput(
            source_type="survey", source_id=i, text=f"complaint {i}",
            reported_at=base + timedelta(minutes=i), language="en",
        )  # fmt: skip
        with db.transaction() as session:
            do_assign_report(session, item, v, threshold=DEFAULT_THRESHOLD)
    secs = time.perf_counter() - start
    with db.reading() as session:
        from sqlalchemy import func, select

        from meaculpa.problems.models import Problem

        problems = session.scalar(select(func.count(Problem.id)))
    db.dispose()
    print(
        f"\nAssignment in the job's transaction (SQLite file, one complaint per transaction) "
        f"| data: synthetic\n  {n:>9,} complaints: {n / secs:>8,.0f} /s ({secs:.1f} s, "
        f"{problems} problems at the end)"
    )


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--skip-million", action="store_true", help="stop at 100,000")
    parser.add_argument("--db-messages", type=int, default=3000)
    args = parser.parse_args()
    print(f"meaculpa problem grouping | machine: {machine()}")
    if not DATA.exists():
        print(f"{DATA} is absent: no figures")
        return 1
    rows = load()
    texts = [clean_for_grouping(r["Consumer complaint narrative"]) for r in rows]
    start = time.perf_counter()
    vectors = embed_unit(texts)
    secs = time.perf_counter() - start
    print(
        f"Encoder: {len(texts)} narratives (cut to 2,000 characters) in {secs:.1f} s, "
        f"{len(texts) / secs:.0f} /s | data: en_cfpb_complaints"
    )
    quality(vectors, [r["Issue"] for r in rows], [r["Product"] for r in rows])
    sizes = [100_000] if args.skip_million else [100_000, 1_000_000]
    speed_memory(vectors, sizes, one_by_one_max=100_000)
    if args.db_messages:
        speed_database(vectors, args.db_messages)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
