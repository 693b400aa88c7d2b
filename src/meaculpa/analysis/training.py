"""Training: the shipped model from the project's own corpus, and an organisation's model
from its agents' corrections."""

from __future__ import annotations

import json
import random
import re
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from importlib import resources
from typing import Any

import numpy as np

from .model import LABELS, SentimentModel, features, load_shipped_model, train_model
from .text import prepare

CORPUS_FILE = "*.jsonl"
SEED = 20261122
# L2 strengths tried for each head and anger thresholds tried; the ones chosen are the best on
# held-out training rows (one source group at a time, see ``select_hyperparameters``), never
# on a measurement-only public data set.
L2_GRID = (1e-4, 3e-4, 1e-3, 3e-3, 1e-2, 3e-2)
ANGER_THRESHOLDS = tuple(round(0.1 + 0.05 * i, 2) for i in range(16))
STEPS = 300
_corpus_cache: tuple[list[dict[str, Any]], np.ndarray] | None = None


def load_corpus() -> list[dict[str, Any]]:
    """The project's own labelled bilingual corpus: every ``corpus/*.jsonl`` file, in name
    order (``messages.jsonl`` first-written set, then the topic files)."""
    folder = resources.files("meaculpa.analysis").joinpath("corpus")
    names = sorted(
        (f.name for f in folder.iterdir() if f.name.endswith(".jsonl")),
        key=lambda n: (n != "messages.jsonl", n),
    )
    rows = []
    for name in names:
        for line in folder.joinpath(name).read_text(encoding="utf-8").splitlines():
            if line.strip():
                rows.append(json.loads(line))
    return rows


def corpus_features() -> tuple[list[dict[str, Any]], np.ndarray]:
    """Corpus rows and their feature matrix (computed once per process)."""
    global _corpus_cache
    if _corpus_cache is None:
        rows = load_corpus()
        _corpus_cache = (rows, features([prepare(r["text"]) for r in rows]))
    return _corpus_cache


def _corpus_split(
    rows: list[dict[str, Any]], holdout: float, seed: int
) -> tuple[list[int], list[int]]:
    """Split stratified by (language, sentiment, anger), reproducibly."""
    rng = random.Random(seed)  # noqa: S311 (a reproducible split, not security)
    strata: dict[tuple[Any, ...], list[int]] = {}
    for i, r in enumerate(rows):
        strata.setdefault((r.get("lang"), r["sentiment"], r["anger"]), []).append(i)
    train: list[int] = []
    held: list[int] = []
    for key in sorted(strata, key=str):
        idx = strata[key]
        rng.shuffle(idx)
        k = round(len(idx) * holdout)
        held.extend(idx[:k])
        train.extend(idx[k:])
    return sorted(train), sorted(held)


def _per_language(
    langs: Sequence[Any],
    truth: Sequence[Any],
    pred: Sequence[Any],
    score: Callable[[list[Any], list[Any]], float],
) -> float:
    """Mean over languages of ``score(truth, pred)`` on each language's rows."""
    groups: dict[str, list[int]] = {}
    for j, lang in enumerate(langs):
        groups.setdefault(str(lang), []).append(j)
    return float(
        np.mean(
            [
                score([truth[j] for j in idx], [pred[j] for j in idx])
                for _, idx in sorted(groups.items())
            ]
        )
    )


#: Corpus file families (``corpus/<name><n>_<lang>.jsonl``, digits dropped) grouped by the
#: kind of text they hold; each group is held out in turn by ``select_hyperparameters``.
SOURCE_FAMILIES = {
    "social": "social",
    "tweets": "tweets",
    "short": "tweets",
    "reviews": "reviews",
    "hotel": "reviews",
    "events": "events",
    "news": "events",
    "emotions": "events",
}
_ID_FAMILY = re.compile(r"^(?:es|en)-([a-z]+)\d*-\d+$")


def source_group(row: Mapping[str, Any]) -> str:
    """The kind of text a training row comes from: ``row["group"]`` when set, else the
    family of its corpus file read from its id (``messages`` for the first-written set)."""
    if row.get("group"):
        return str(row["group"])
    m = _ID_FAMILY.match(str(row.get("id", "")))
    return SOURCE_FAMILIES.get(m.group(1), m.group(1)) if m else "messages"


def select_hyperparameters(
    rows: list[dict[str, Any]],
    x: np.ndarray,
    steps: int = 300,
) -> dict[str, Any]:
    """Choose the L2 of each head and the anger decision threshold by holding out one
    source group at a time (``source_group``: the written tweets, the reviews, the event
    posts, the labelled support tweets...) and predicting it from all the others. Only the
    training rows are looked at.

    Every row is predicted once by a model that saw none of its group, which measures how
    the model does on a kind of text it was not trained on — the situation of a new
    customer's messages — rather than on near-copies of its training rows. L2: the best
    mean over groups of the group's macro-F1. Anger: the L2 and threshold with the best
    anger F1 over all the held-out rows, averaged over languages."""
    groups = [source_group(r) for r in rows]
    names = sorted(set(groups))
    if len(names) < 2:
        raise ValueError("need rows from at least two source groups to choose settings")
    sent = [r["sentiment"] for r in rows]
    anger = [int(r["anger"]) for r in rows]
    langs = [r.get("lang") for r in rows]
    probs = {l2: np.zeros((len(rows), len(LABELS))) for l2 in L2_GRID}
    scores = {l2: np.zeros(len(rows)) for l2 in L2_GRID}
    for name in names:
        held = [i for i, g in enumerate(groups) if g == name]
        train = [i for i, g in enumerate(groups) if g != name]
        for l2 in L2_GRID:
            model = train_model(
                x[train],
                [sent[i] for i in train],
                [anger[i] for i in train],
                l2=l2,
                steps=steps,
            )
            probs[l2][held], scores[l2][held] = model.predict(x[held])

    def sentiment_score(l2: float) -> float:
        pred = [LABELS[k] for k in probs[l2].argmax(1)]
        return float(
            np.mean(
                [
                    macro_f1(
                        [sent[i] for i, g in enumerate(groups) if g == name],
                        [pred[i] for i, g in enumerate(groups) if g == name],
                    )
                    for name in names
                ]
            )
        )

    best_s = max(L2_GRID, key=sentiment_score)
    best_a = (-1.0, L2_GRID[0], 0.5)
    for l2 in L2_GRID:
        for thr in ANGER_THRESHOLDS:
            flags = [int(v >= thr) for v in scores[l2]]
            fa = _per_language(langs, anger, flags, binary_f1)
            if fa > best_a[0]:
                best_a = (fa, l2, thr)
    return {
        "l2": best_s,
        "anger_l2": best_a[1],
        "anger_cut": best_a[2],
        "heldout_macro_f1": round(sentiment_score(best_s), 4),
        "heldout_anger_f1": round(best_a[0], 4),
        "heldout": "leave-one-source-group-out: " + ", ".join(names),
    }


def train_shipped(
    steps: int = STEPS,
    extra: Sequence[Mapping[str, Any]] = (),
    extra_name: str = "",
) -> SentimentModel:
    """Train the model that ships in the package (deterministic).

    Rows: the project's corpus plus ``extra`` labelled rows (``text``, ``sentiment``,
    ``anger``, ``lang``; the shipped build passes the customer tweets of
    ``en_support_conversations`` that we labelled, a set ``../shared/data/README.md`` allows
    for training).
    Hyper-parameters come from ``select_hyperparameters`` (each source group held out in
    turn; ``extra`` rows form their own group unless they name one); the chosen anger
    threshold is stored as ``meta["anger_cut"]`` so that it reads as 0.5."""
    rows, x = corpus_features()
    if extra:
        rows = rows + [{"group": "extra", **r} for r in extra]
        x = np.vstack([x, features([prepare(str(r["text"])) for r in extra])])
    chosen = select_hyperparameters(rows, x, steps=steps)
    trained_on = f"meaculpa corpus/{CORPUS_FILE} ({len(rows) - len(extra)} messages)"
    if extra:
        trained_on += f" + {len(extra)} {extra_name or 'extra labelled messages'}"
    return train_model(
        x,
        [r["sentiment"] for r in rows],
        [r["anger"] for r in rows],
        {"trained_on": trained_on, "steps": steps, **chosen},
        l2=chosen["l2"],
        anger_l2=chosen["anger_l2"],
        steps=steps,
    )


def macro_f1(y_true: Sequence[str], y_pred: Sequence[str], labels: Sequence[str] = LABELS) -> float:
    """Macro-averaged F1 over ``labels`` (labels absent from both lists count as 0)."""
    scores = []
    for label in labels:
        tp = sum(1 for a, b in zip(y_true, y_pred, strict=True) if a == label and b == label)
        fp = sum(1 for a, b in zip(y_true, y_pred, strict=True) if a != label and b == label)
        fn = sum(1 for a, b in zip(y_true, y_pred, strict=True) if a == label and b != label)
        p = tp / (tp + fp) if tp + fp else 0.0
        r = tp / (tp + fn) if tp + fn else 0.0
        scores.append(2 * p * r / (p + r) if p + r else 0.0)
    return sum(scores) / len(scores)


def binary_f1(y_true: Sequence[int], y_pred: Sequence[int]) -> float:
    tp = sum(1 for a, b in zip(y_true, y_pred, strict=True) if a and b)
    fp = sum(1 for a, b in zip(y_true, y_pred, strict=True) if not a and b)
    fn = sum(1 for a, b in zip(y_true, y_pred, strict=True) if a and not b)
    return 2 * tp / (2 * tp + fp + fn) if tp else 0.0


@dataclass(slots=True)
class TrainingReport:
    """What training from corrections achieved, measured on a held-back part."""

    n_examples: int
    n_rejected: int
    n_train: int
    n_heldout: int
    class_counts: dict[str, int]
    macro_f1_before: float | None
    macro_f1_after: float | None
    anger_f1_before: float | None = None
    anger_f1_after: float | None = None
    improved: bool = False
    rejected: list[dict[str, Any]] = field(default_factory=list)

    def to_dict(self) -> dict[str, Any]:
        def r(v: float | None) -> float | None:
            return None if v is None else round(v, 4)

        return {
            "n_examples": self.n_examples,
            "n_rejected": self.n_rejected,
            "n_train": self.n_train,
            "n_heldout": self.n_heldout,
            "class_counts": dict(self.class_counts),
            "macro_f1_before": r(self.macro_f1_before),
            "macro_f1_after": r(self.macro_f1_after),
            "anger_f1_before": r(self.anger_f1_before),
            "anger_f1_after": r(self.anger_f1_after),
            "improved": self.improved,
            "rejected": self.rejected[:20],
        }


def _get(example: Any, key: str) -> Any:
    if isinstance(example, Mapping):
        return example.get(key)
    return getattr(example, key, None)


def _anger_value(value: Any) -> int | None:
    if value is None:
        return None
    if isinstance(value, bool):
        return int(value)
    if isinstance(value, int | float):
        return 1 if float(value) >= 0.5 else 0
    raise ValueError(f"anger must be a bool or a number, got {value!r}")


def _split(labels: list[str], holdout: float, seed: int) -> tuple[list[int], list[int]]:
    rng = random.Random(seed)  # noqa: S311 (a reproducible split, not security)
    train: list[int] = []
    held: list[int] = []
    for label in LABELS:
        idx = [i for i, lab in enumerate(labels) if lab == label]
        rng.shuffle(idx)
        k = round(len(idx) * holdout)
        if len(idx) >= 2:
            k = max(k, 1)
        held.extend(idx[:k])
        train.extend(idx[k:])
    return sorted(train), sorted(held)


def train_from_corrections(
    examples: Iterable[Any],
    *,
    holdout: float = 0.2,
    seed: int = SEED,
    correction_weight: int = 3,
    base_model: SentimentModel | None = None,
) -> tuple[SentimentModel, TrainingReport]:
    """Train an organisation's model from agents' corrections.

    ``examples`` are mappings or objects with ``text``, ``sentiment`` (negative / neutral /
    positive) and optionally ``anger`` (bool or 0..1). A stratified ``holdout`` share is held
    back (fixed ``seed``) to measure macro-F1 of the shipped model ("before") and of a model
    trained on the project corpus plus the rest of the corrections, each correction counted
    ``correction_weight`` times ("after"). The returned model is then refitted on all
    corrections. Invalid rows are skipped and listed in the report.
    """
    texts: list[str] = []
    labels: list[str] = []
    angers: list[int | None] = []
    rejected: list[dict[str, Any]] = []
    n_examples = 0
    for i, ex in enumerate(examples):
        n_examples += 1
        text, label = _get(ex, "text"), _get(ex, "sentiment")
        try:
            if not isinstance(text, str) or not text.strip():
                raise ValueError("text missing or empty")
            if label not in LABELS:
                raise ValueError(f"sentiment must be one of {', '.join(LABELS)}")
            anger = _anger_value(_get(ex, "anger"))
            prepare(text)
        except ValueError as exc:
            rejected.append({"index": i, "error": str(exc)})
            continue
        texts.append(text)
        labels.append(str(label))
        angers.append(anger)
    if len(texts) < 3:
        raise ValueError(f"need at least 3 valid corrections, got {len(texts)}")

    base = base_model or load_shipped_model()
    corpus_rows, corpus_x = corpus_features()
    x = features([prepare(t) for t in texts])
    train_idx, held_idx = _split(labels, holdout, seed)

    def fit(idx: list[int]) -> SentimentModel:
        rep = np.repeat(np.asarray(idx, dtype=np.int64), correction_weight)
        xx = np.vstack([corpus_x, x[rep]]) if len(rep) else corpus_x
        ys = [r["sentiment"] for r in corpus_rows] + [labels[i] for i in rep]
        ya = [r["anger"] for r in corpus_rows] + [angers[i] for i in rep]
        return train_model(
            xx,
            ys,
            ya,
            {
                "trained_on": "corpus + organisation corrections",
                "n_corrections": len(idx),
                # the anger decision threshold chosen for the shipped model carries over
                "anger_cut": base.meta.get("anger_cut"),
            },
            fallback=base,
        )

    before = after = anger_before = anger_after = None
    if held_idx:
        held_true = [labels[i] for i in held_idx]
        model_held = fit(train_idx)
        pb, ab = base.predict(x[held_idx])
        pa, aa = model_held.predict(x[held_idx])
        before = macro_f1(held_true, [LABELS[k] for k in pb.argmax(1)])
        after = macro_f1(held_true, [LABELS[k] for k in pa.argmax(1)])
        ha = [(j, angers[i]) for j, i in enumerate(held_idx) if angers[i] is not None]
        if ha and any(v for _, v in ha):
            truth = [int(v or 0) for _, v in ha]
            anger_before = binary_f1(truth, [int(ab[j] >= 0.5) for j, _ in ha])
            anger_after = binary_f1(truth, [int(aa[j] >= 0.5) for j, _ in ha])
    final = fit(list(range(len(texts))))
    report = TrainingReport(
        n_examples=n_examples,
        n_rejected=len(rejected),
        n_train=len(train_idx),
        n_heldout=len(held_idx),
        class_counts={label: labels.count(label) for label in LABELS},
        macro_f1_before=before,
        macro_f1_after=after,
        anger_f1_before=anger_before,
        anger_f1_after=anger_after,
        improved=before is not None and after is not None and after > before,
        rejected=rejected,
    )
    return final, report
