"""The project-written training corpus: well-formed, de-duplicated, bilingual."""

from __future__ import annotations

from collections import Counter

import numpy as np
import pytest

from meaculpa.analysis.model import LABELS
from meaculpa.analysis.training import (
    ANGER_THRESHOLDS,
    L2_GRID,
    _corpus_split,
    load_corpus,
    select_hyperparameters,
    source_group,
)


def test_corpus_rows_are_valid_and_unique() -> None:
    rows = load_corpus()
    assert len(rows) >= 1400
    assert rows[0]["id"] == "es-001"  # messages.jsonl is read first
    ids = [r["id"] for r in rows]
    texts = [r["text"].strip().casefold() for r in rows]
    assert len(set(ids)) == len(ids)
    assert len(set(texts)) == len(texts)
    for r in rows:
        assert r["lang"] in {"es", "en"}
        assert r["sentiment"] in LABELS
        assert r["anger"] in (0, 1)
        assert r["text"].strip()
        # anger is a kind of negative message in our labels
        assert not (r["anger"] and r["sentiment"] != "negative"), r["id"]


def test_corpus_is_balanced_by_language_and_label() -> None:
    rows = load_corpus()
    langs = Counter(r["lang"] for r in rows)
    assert abs(langs["es"] - langs["en"]) < 0.1 * len(rows)
    for lang in ("es", "en"):
        counts = Counter(r["sentiment"] for r in rows if r["lang"] == lang)
        assert min(counts.values()) > 0.2 * langs[lang]


def test_corpus_split_is_stratified_and_reproducible() -> None:
    rows = load_corpus()
    a = _corpus_split(rows, 0.2, 7)
    assert a == _corpus_split(rows, 0.2, 7)
    train, held = a
    assert not set(train) & set(held)
    assert len(train) + len(held) == len(rows)
    assert 0.15 < len(held) / len(rows) < 0.25


def test_every_corpus_row_has_a_source_group() -> None:
    groups = Counter(source_group(r) for r in load_corpus())
    assert set(groups) == {"messages", "social", "tweets", "reviews", "events"}
    assert source_group({"id": "es-hotel3-007"}) == "reviews"
    assert source_group({"id": "en-tweets2-012"}) == "tweets"
    assert source_group({"id": "es-001"}) == "messages"
    assert source_group({"id": "dev/abc/0", "group": "support"}) == "support"


def test_settings_are_chosen_on_held_out_source_groups() -> None:
    # Two groups of a toy task whose sentiment and anger follow the first two features:
    # each group is predicted by a model trained on the other one only.
    rng = np.random.default_rng(3)
    rows: list[dict[str, object]] = []
    xs = []
    for group in ("a", "b"):
        for i in range(60):
            label = LABELS[i % 3]
            angry = int(label == "negative" and i % 2 == 0)
            v = rng.normal(0, 0.3, 6)
            v[0] += {"negative": -2.0, "neutral": 0.0, "positive": 2.0}[label]
            v[1] += 2.0 * angry
            xs.append(v)
            rows.append(
                {
                    "id": f"{group}{i}",
                    "group": group,
                    "lang": "en" if i % 4 else "es",
                    "sentiment": label,
                    "anger": angry,
                }
            )
    x = np.asarray(xs, dtype=np.float32)
    chosen = select_hyperparameters(rows, x, steps=200)
    assert chosen["l2"] in L2_GRID and chosen["anger_l2"] in L2_GRID
    assert chosen["anger_cut"] in ANGER_THRESHOLDS
    assert chosen["heldout_macro_f1"] > 0.9 and chosen["heldout_anger_f1"] > 0.8
    assert chosen["heldout"] == "leave-one-source-group-out: a, b"
    # were a group's own rows in its model, swapping its labels would not hurt the score
    swap = {"negative": "positive", "positive": "negative", "neutral": "neutral"}
    flipped = [
        {**r, "sentiment": swap[str(r["sentiment"])], "anger": 0} if r["group"] == "b" else r
        for r in rows
    ]
    assert select_hyperparameters(flipped, x, steps=200)["heldout_macro_f1"] < 0.5
    with pytest.raises(ValueError, match="two source groups"):
        select_hyperparameters([{**r, "group": "a"} for r in rows], x, steps=10)
