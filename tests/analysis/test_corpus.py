"""The project-written training corpus: well-formed, de-duplicated, bilingual."""

from __future__ import annotations

from collections import Counter

from meaculpa.analysis.model import LABELS
from meaculpa.analysis.training import _corpus_split, load_corpus


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
