"""Rebuild the sentiment/anger weights shipped in meaculpa.analysis.

Trains only on the project's own corpus (src/meaculpa/analysis/corpus/*.jsonl); L2 and the
anger threshold are chosen on a held-out fifth of that corpus.
Deterministic: zero-initialised weights, full-batch Adam, no random sampling.

    PYTHONPATH=src python scripts/train_shipped_model.py [--check]

--check rebuilds in memory and exits 1 if the result differs from the committed file.
"""

from __future__ import annotations

import argparse
import hashlib
import sys
from pathlib import Path

from meaculpa.analysis.model import SHIPPED_WEIGHTS, SentimentModel
from meaculpa.analysis.training import corpus_features, train_shipped

TARGET = (
    Path(__file__).resolve().parent.parent
    / "src"
    / "meaculpa"
    / "analysis"
    / "weights"
    / SHIPPED_WEIGHTS
)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--check", action="store_true", help="compare with the committed weights")
    args = parser.parse_args()
    rows, _ = corpus_features()
    model = train_shipped()
    data = model.to_bytes()
    if args.check:
        current = SentimentModel.from_bytes(TARGET.read_bytes())
        model = SentimentModel.from_bytes(data)  # compare after the same float16 rounding
        same = all(
            (abs(a - b) < 1e-3).all()
            for a, b in ((current.w_sent, model.w_sent), (current.w_anger, model.w_anger))
        )
        print("weights match" if same else "weights differ")
        return 0 if same else 1
    TARGET.parent.mkdir(parents=True, exist_ok=True)
    TARGET.write_bytes(data)
    print(
        f"trained on {len(rows)} corpus messages -> {TARGET} ({len(data)} bytes, "
        f"sha256 {hashlib.sha256(data).hexdigest()[:16]})"
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
