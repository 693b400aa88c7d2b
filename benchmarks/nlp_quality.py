"""Quality of meaculpa.analysis on real, public data (measurement only) and on our own labels.

    PYTHONPATH=src python benchmarks/nlp_quality.py [--sample N] [--full]

Reads ../shared/data relative to the repository root. When it is absent, only the figures
that need no external data (commitments on the project-written set) are printed.
No data set read here is used to train the shipped model.
"""

from __future__ import annotations

import argparse
import csv
import json
import os
import platform
import random
import sys
import time
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "src"))

from meaculpa.analysis import BusinessCalendar, analyze_inbound, extract_commitments  # noqa: E402
from meaculpa.analysis.training import binary_f1, macro_f1, train_from_corrections  # noqa: E402

DATA = ROOT.parent / "shared" / "data"
LABELS = ROOT / "benchmarks" / "labels"
SEED = 13


def machine() -> str:
    return f"{os.cpu_count()} cores, Python {platform.python_version()}, {platform.machine()}"


def say(figure: str, dataset: str, extra: str = "") -> None:
    print(f"  {figure:<58} data: {dataset}{' | ' + extra if extra else ''}")


def sample(rows: list[Any], n: int | None, seed: int = SEED) -> list[Any]:
    if n is None or n >= len(rows):
        return rows
    return random.Random(seed).sample(rows, n)


def sentiment_airline(n: int | None) -> tuple[list[str], list[str]]:
    with open(DATA / "en_airline_tweets" / "tweets.csv", encoding="utf-8", newline="") as fh:
        rows = list(csv.DictReader(fh))
    rows = sample(rows, n)
    return [r["text"] for r in rows], [r["airline_sentiment"] for r in rows]


def stars(c: str) -> str:
    v = int(c)
    return "negative" if v <= 2 else "neutral" if v == 3 else "positive"


def sentiment_hotel(n: int | None) -> tuple[list[str], list[str]]:
    with open(DATA / "es_hotel_reviews" / "reviews.csv", encoding="utf-8", newline="") as fh:
        rows = list(csv.DictReader(fh))
    rows = sample(rows, n)
    return [f"{r['Title']}. {r['Opinion']}" for r in rows], [stars(r["Class"]) for r in rows]


def emoevent(lang: str) -> tuple[list[str], list[int]]:
    path = DATA / "es_en_emoevent" / "splits" / lang / "test.tsv"
    with open(path, encoding="utf-8", newline="") as fh:
        rows = list(csv.DictReader(fh, delimiter="\t", quoting=csv.QUOTE_NONE))
    return [r["tweet"] for r in rows], [1 if r["emotion"] == "anger" else 0 for r in rows]


def evaluate_sentiment(name: str, texts: list[str], gold: list[str]) -> None:
    t0 = time.perf_counter()
    res = analyze_inbound(texts)
    dt = time.perf_counter() - t0
    pred = [r.sentiment.label for r in res]
    f1 = macro_f1(gold, pred)
    dist = {k: gold.count(k) for k in ("negative", "neutral", "positive")}
    say(
        f"sentiment macro-F1 = {f1:.3f}",
        name,
        f"n={len(texts)} gold={dist} ({len(texts) / dt:.0f} msg/s)",
    )


def evaluate_anger(lang: str) -> None:
    texts, gold = emoevent(lang)
    res = analyze_inbound(texts)
    pred = [1 if r.anger.score >= 0.5 else 0 for r in res]
    f1 = binary_f1(gold, pred)
    say(
        f"anger F1 ({lang}, anger vs rest, threshold 0.5) = {f1:.3f}",
        f"es_en_emoevent splits/{lang}/test.tsv",
        f"n={len(texts)}, anger={sum(gold)}",
    )


def support_replies() -> dict[str, tuple[str, datetime]]:
    out: dict[str, tuple[str, datetime]] = {}
    for split in ("dev", "test"):
        with open(DATA / "en_support_conversations" / f"{split}.json", encoding="utf-8") as fh:
            conversations = json.load(fh)
        for conv in conversations:
            sid = conv["dialogHeader"]["sessionID"]
            for i, msg in enumerate(conv["dialogContent"]):
                if "agent" in msg:
                    sent = datetime.fromisoformat(msg["datetime"].replace("Z", "+00:00"))
                    out[f"{split}/{sid}/{i}"] = (msg["message"], sent)
            final = conv["agentURL"]
            # tweet ids are snowflakes: milliseconds since the Twitter epoch in the top bits
            ms = (int(final["tweet_ID"]) >> 22) + 1288834974657
            out[f"{split}/{sid}/final"] = (
                final["url_utterance"],
                datetime.fromtimestamp(ms / 1000, UTC),
            )
    return out


def score_commitments(items: list[dict[str, Any]], name: str) -> None:
    tp = fp = fn = 0
    action_ok = depends_ok = due_ok = due_total = labelled_due_ok = labelled_due_total = 0
    for it in items:
        found = it["found"]
        gold = it["commitment"]
        if found and gold:
            tp += 1
            if set(it["actions"]) & {c.action for c in found}:
                action_ok += 1
            if any(c.depends_on_customer == it["depends_on_customer"] for c in found):
                depends_ok += 1
            due_total += 1
            pred_due = next((c.due_utc for c in found if c.due_utc is not None), None)
            gold_due = it["gold_due"]
            right = (pred_due is None and gold_due is None) or (
                pred_due is not None
                and gold_due is not None
                and abs((pred_due - gold_due).total_seconds()) < 60
            )
            due_ok += right
            if gold_due is not None:
                labelled_due_total += 1
                labelled_due_ok += right
        elif found:
            fp += 1
        elif gold:
            fn += 1
    p = tp / (tp + fp) if tp + fp else 0.0
    r = tp / (tp + fn) if tp + fn else 0.0
    f1 = 2 * p * r / (p + r) if p + r else 0.0
    say(
        f"commitment detection P={p:.3f} R={r:.3f} F1={f1:.3f}",
        name,
        f"n={len(items)} replies, {tp + fn} with a commitment",
    )
    if tp:
        say(
            f"due time right (incl. 'no due') = {due_ok / due_total:.3f}",
            name,
            f"on {due_total} detected",
        )
        if labelled_due_total:
            say(
                "due time right where one was promised = "
                f"{labelled_due_ok / labelled_due_total:.3f}",
                name,
                f"n={labelled_due_total}",
            )
        say(
            f"action right = {action_ok / tp:.3f}, "
            f"depends-on-customer right = {depends_ok / tp:.3f}",
            name,
        )


def commitments_support() -> None:
    replies = support_replies()
    items = []
    with open(LABELS / "commitments_en.jsonl", encoding="utf-8") as fh:
        for line in fh:
            lab = json.loads(line)
            text, sent = replies[lab["ref"]]
            lab["found"] = extract_commitments(text, sent, "UTC", language="en")
            lab["gold_due"] = datetime.fromisoformat(lab["due_utc"]) if lab["due_utc"] else None
            items.append(lab)
    for stratum in ("random", "time_words"):
        subset = [i for i in items if i["stratum"] == stratum]
        score_commitments(subset, f"en_support_conversations agent replies, stratum={stratum}")
    score_commitments(items, "en_support_conversations agent replies, all labelled")


def commitments_written() -> None:
    items = []
    with open(LABELS / "commitments_written.jsonl", encoding="utf-8") as fh:
        for line in fh:
            lab = json.loads(line)
            cal = BusinessCalendar.create(holidays=lab["holidays"])
            sent = datetime.fromisoformat(lab["sent_at"])
            lab["found"] = extract_commitments(
                lab["text"], sent, lab["tz"], cal, language=lab["lang"]
            )
            lab["gold_due"] = datetime.fromisoformat(lab["due_local"]) if lab["due_local"] else None
            items.append(lab)
    score_commitments(items, "benchmarks/labels/commitments_written.jsonl (project-written es+en)")


def learning_curve(sizes: list[int]) -> None:
    """Simulated corrections: airline tweets (measurement-only set; the organisation model
    trained here is never shipped). Evaluated on 1,000 other airline tweets."""
    with open(DATA / "en_airline_tweets" / "tweets.csv", encoding="utf-8", newline="") as fh:
        rows = list(csv.DictReader(fh))
    random.Random(SEED + 1).shuffle(rows)
    evaluation, pool = rows[:1000], rows[1000:]
    eval_texts = [r["text"] for r in evaluation]
    eval_gold = [r["airline_sentiment"] for r in evaluation]
    base = macro_f1(eval_gold, [r.sentiment.label for r in analyze_inbound(eval_texts)])
    say(
        f"shipped model macro-F1 on the fixed eval = {base:.3f}",
        "en_airline_tweets (1,000 fixed eval tweets)",
    )
    for n in sizes:
        corrections = [{"text": r["text"], "sentiment": r["airline_sentiment"]} for r in pool[:n]]
        t0 = time.perf_counter()
        model, report = train_from_corrections(corrections)
        dt = time.perf_counter() - t0
        after = macro_f1(
            eval_gold, [r.sentiment.label for r in analyze_inbound(eval_texts, model=model)]
        )
        say(
            f"{n:>5} corrections: eval macro-F1 {base:.3f} -> {after:.3f}",
            "en_airline_tweets (corrections simulated from airline tweets)",
            f"held-back {report.n_heldout}: "
            f"{report.macro_f1_before:.3f} -> {report.macro_f1_after:.3f}; "
            f"train {dt:.1f}s",
        )


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument(
        "--sample", type=int, default=3000, help="rows sampled from each sentiment set"
    )
    parser.add_argument("--full", action="store_true", help="use every row of the sentiment sets")
    parser.add_argument("--skip-curve", action="store_true")
    args = parser.parse_args()
    n = None if args.full else args.sample
    print(f"meaculpa NLP quality | machine: {machine()} | {datetime.now(UTC):%Y-%m-%d}")
    print("commitments (project-written set, no external data):")
    commitments_written()
    if not DATA.is_dir():
        print(f"../shared/data not found at {DATA}: skipping the figures on public data sets.")
        return 0
    print(f"sentiment (sample of {n if n else 'all'} rows per set, seed {SEED}):")
    evaluate_sentiment("en_airline_tweets/tweets.csv", *sentiment_airline(n))
    evaluate_sentiment(
        "es_hotel_reviews/reviews.csv (1-2 neg, 3 neu, 4-5 pos)", *sentiment_hotel(n)
    )
    print("anger:")
    evaluate_anger("es")
    evaluate_anger("en")
    print("commitments (our labels on real agent replies; rules were refined while labelling):")
    commitments_support()
    if not args.skip_curve:
        print("learning curve (train_from_corrections):")
        learning_curve([50, 200, 1000])
    return 0


if __name__ == "__main__":
    sys.exit(main())
