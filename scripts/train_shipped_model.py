"""Rebuild the sentiment/anger weights shipped in meaculpa.analysis.

Trains on the project's own corpus (src/meaculpa/analysis/corpus/*.jsonl) plus the customer
tweets of ../shared/data/en_support_conversations that we labelled by hand
(scripts/labels/support_customer_tweets.jsonl holds only their ids and our labels; the text
is read from ../shared/data, which ../shared/data/README.md allows for training a shipped
model). L2 and the anger threshold are chosen by holding out one source group at a time
(the support tweets are one group, see training.select_hyperparameters).
Deterministic: zero-initialised weights, full-batch Adam, no random sampling.

    PYTHONPATH=src python scripts/train_shipped_model.py [--check]

--check rebuilds in memory and exits 1 if the result differs from the committed file.
Without ../shared/data the labelled tweets cannot be read: the script says so and exits 2.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import sys
from pathlib import Path
from typing import Any

from meaculpa.analysis.model import SHIPPED_WEIGHTS, SentimentModel
from meaculpa.analysis.training import corpus_features, train_shipped

ROOT = Path(__file__).resolve().parent.parent
TARGET = ROOT / "src" / "meaculpa" / "analysis" / "weights" / SHIPPED_WEIGHTS
LABELS = ROOT / "scripts" / "labels" / "support_customer_tweets.jsonl"
SUPPORT = ROOT.parent / "shared" / "data" / "en_support_conversations"
EXTRA_NAME = "hand-labelled en_support_conversations customer tweets"
CHOSEN = ("l2", "anger_l2", "anger_cut", "anger_head", "trained_on", "version")


def customer_messages(folder: Path) -> dict[str, str]:
    """Every customer (non-agent) message, keyed ``split/sessionID/index``."""
    out: dict[str, str] = {}
    for split in ("dev", "test"):
        with open(folder / f"{split}.json", encoding="utf-8") as fh:
            conversations = json.load(fh)
        for conv in conversations:
            sid = conv["dialogHeader"]["sessionID"]
            for i, msg in enumerate(conv["dialogContent"]):
                if "agent" not in msg and str(msg.get("message", "")).strip():
                    out[f"{split}/{sid}/{i}"] = msg["message"]
    return out


def labelled_support_rows(labels: Path = LABELS, folder: Path = SUPPORT) -> list[dict[str, Any]]:
    """Our labels joined with the tweets' text, in the label file's order."""
    texts = customer_messages(folder)
    rows = []
    with open(labels, encoding="utf-8") as fh:
        for line in fh:
            if not line.strip():
                continue
            lab = json.loads(line)
            rows.append(
                {
                    "id": lab["ref"],
                    "lang": "en",
                    "text": texts[lab["ref"]],
                    "sentiment": lab["sentiment"],
                    "anger": lab["anger"],
                    "group": "support",
                }
            )
    return rows


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--check", action="store_true", help="compare with the committed weights")
    args = parser.parse_args()
    if not SUPPORT.is_dir():
        print(
            f"{SUPPORT} not found: the labelled support tweets cannot be read, so the "
            "shipped weights cannot be rebuilt here.",
            file=sys.stderr,
        )
        return 2
    extra = labelled_support_rows()
    rows, _ = corpus_features()
    model = train_shipped(extra=extra, extra_name=EXTRA_NAME)
    data = model.to_bytes()
    if args.check:
        current = SentimentModel.from_bytes(TARGET.read_bytes())
        model = SentimentModel.from_bytes(data)  # compare after the same float16 rounding
        same = all(
            (abs(a - b) < 1e-3).all()
            for a, b in ((current.w_sent, model.w_sent), (current.w_anger, model.w_anger))
        ) and all(current.meta.get(k) == model.meta.get(k) for k in CHOSEN)
        print("weights match" if same else "weights differ")
        return 0 if same else 1
    TARGET.parent.mkdir(parents=True, exist_ok=True)
    TARGET.write_bytes(data)
    print(
        f"trained on {len(rows)} corpus messages + {len(extra)} labelled support tweets -> "
        f"{TARGET} ({len(data)} bytes, sha256 {hashlib.sha256(data).hexdigest()[:16]})"
    )
    print(json.dumps(model.meta, sort_keys=True))
    return 0


if __name__ == "__main__":
    sys.exit(main())
