"""Speed of the whole inbound pipeline (language, sentiment, anger, escalation, urgency).

    PYTHONPATH=src python benchmarks/nlp_speed.py [--n 2000]

Prints model load time (import + first message, in a fresh process), messages per second on
one core (one process, one BLAS thread) and on two cores (two processes, one thread each,
each analysing half), and peak resident memory of one process. The texts are the project's
own corpus repeated with a numeric suffix, so no external data is needed. Also prints
messages per CPU-second of the one-core run: on a shared machine wall time swings with the
other work, CPU time much less.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
SRC = ROOT / "src"

WORKER = r"""
import json, resource, sys, time
t0 = time.perf_counter()
from meaculpa.analysis import analyze_inbound
from meaculpa.analysis.training import load_corpus
analyze_inbound(["Es la tercera vez que escribo y nadie me responde."])
load_s = time.perf_counter() - t0
n, part, parts = int(sys.argv[1]), int(sys.argv[2]), int(sys.argv[3])
base = [r["text"] for r in load_corpus()]
texts = [f"{base[i % len(base)]} #{i}" for i in range(n)][part::parts]
t1 = time.perf_counter()
c1 = time.process_time()
analyze_inbound(texts)
run_s = time.perf_counter() - t1
cpu_s = time.process_time() - c1
rss = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
print(json.dumps({"load_s": load_s, "run_s": run_s, "cpu_s": cpu_s, "n": len(texts),
                  "rss_mb": rss, "t_start": t1}))
"""


def run(n: int, parts: int) -> list[dict[str, float]]:
    env = dict(
        os.environ,
        PYTHONPATH=str(SRC),
        MEACULPA_ANALYSIS_THREADS="1",
        OMP_NUM_THREADS="1",
        OPENBLAS_NUM_THREADS="1",
        MKL_NUM_THREADS="1",
    )
    procs = [
        subprocess.Popen(
            [sys.executable, "-c", WORKER, str(n), str(k), str(parts)],
            env=env,
            stdout=subprocess.PIPE,
            text=True,
        )
        for k in range(parts)
    ]
    out = []
    for p in procs:
        stdout, _ = p.communicate()
        if p.returncode != 0:
            raise SystemExit(f"worker failed with code {p.returncode}")
        out.append(json.loads(stdout.strip().splitlines()[-1]))
    return out


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("--n", type=int, default=2000, help="messages per measurement")
    args = parser.parse_args()
    print(
        f"meaculpa NLP speed | machine: {os.cpu_count()} cores, "
        f"Python {platform.python_version()} | "
        "data: project corpus (src/meaculpa/analysis/corpus/*.jsonl) "
        f"repeated to {args.n} messages"
    )
    one = run(args.n, 1)[0]
    print(f"  model load (import + first message, fresh process): {one['load_s']:.2f} s")
    print(
        f"  one core:  {one['n'] / one['run_s']:.0f} msg/s "
        f"({one['n']} messages in {one['run_s']:.2f} s; "
        f"{one['n'] / one['cpu_s']:.0f} msg per CPU-second, which other work on a shared "
        "machine disturbs less)"
    )
    print(f"  peak resident memory, one process: {one['rss_mb']:.0f} MB")
    if (os.cpu_count() or 1) >= 2:
        two = run(args.n, 2)
        wall = max(r["t_start"] + r["run_s"] for r in two) - min(r["t_start"] for r in two)
        total = sum(r["n"] for r in two)
        print(
            f"  two cores (2 processes): {total / wall:.0f} msg/s "
            f"({total} messages in {wall:.2f} s), "
            f"{max(r['rss_mb'] for r in two):.0f} MB per process"
        )
    return 0


if __name__ == "__main__":
    sys.exit(main())
