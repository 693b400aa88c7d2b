"""Analysis of inbound customer messages: language, sentiment, anger, escalation, urgency."""

from __future__ import annotations

import threading
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

from . import language as language_mod
from . import model as model_mod
from . import signals as signals_mod
from .language import LanguageResult, detect_language
from .model import LABELS, SentimentModel, features, load_shipped_model
from .signals import Signal, escalation_signals, urgency_triggers
from .text import MAX_MODEL_CHARS, MAX_RULE_CHARS, prepare

URGENCY_NAME = "urgency"
URGENCY_VERSION = "1.0.0"

_LEGAL = {"cancel_or_leave", "regulator", "consumer_association", "lawyer", "press_or_social"}


@dataclass(slots=True)
class SentimentResult:
    label: str
    probabilities: dict[str, float]
    analyzer: str = model_mod.NAME
    version: str = model_mod.VERSION

    def to_dict(self) -> dict[str, Any]:
        return {
            "label": self.label,
            "probabilities": {k: round(v, 4) for k, v in self.probabilities.items()},
            "analyzer": self.analyzer,
            "version": self.version,
        }


@dataclass(slots=True)
class AngerResult:
    score: float
    analyzer: str = model_mod.ANGER_NAME
    version: str = model_mod.ANGER_VERSION

    @property
    def angry(self) -> bool:
        return self.score >= 0.5

    def to_dict(self) -> dict[str, Any]:
        return {
            "score": round(self.score, 4),
            "angry": self.angry,
            "analyzer": self.analyzer,
            "version": self.version,
        }


@dataclass(slots=True)
class UrgencyResult:
    score: float
    level: str
    triggers: list[Signal] = field(default_factory=list)
    analyzer: str = URGENCY_NAME
    version: str = URGENCY_VERSION

    def to_dict(self) -> dict[str, Any]:
        return {
            "score": round(self.score, 4),
            "level": self.level,
            "triggers": [t.to_dict() for t in self.triggers],
            "analyzer": self.analyzer,
            "version": self.version,
        }


@dataclass(slots=True)
class InboundAnalysis:
    """Everything meaculpa reads from one inbound message."""

    language: LanguageResult
    sentiment: SentimentResult
    anger: AngerResult
    escalation: list[Signal]
    urgency: UrgencyResult
    text_length: int
    truncated: bool
    notes: list[str] = field(default_factory=list)
    escalation_analyzer: str = signals_mod.NAME
    escalation_version: str = signals_mod.VERSION

    @property
    def escalation_kinds(self) -> list[str]:
        return sorted({s.kind for s in self.escalation})

    def to_dict(self) -> dict[str, Any]:
        return {
            "language": self.language.to_dict(),
            "sentiment": self.sentiment.to_dict(),
            "anger": self.anger.to_dict(),
            "escalation": {
                "kinds": self.escalation_kinds,
                "signals": [s.to_dict() for s in self.escalation],
                "analyzer": self.escalation_analyzer,
                "version": self.escalation_version,
            },
            "urgency": self.urgency.to_dict(),
            "text_length": self.text_length,
            "truncated": self.truncated,
            "notes": list(self.notes),
        }


def warm_up() -> None:
    """Load the language detector and the sentence encoder now, in parallel (about 2 s).

    Called by the first ``analyze_inbound``; services may call it at start-up instead."""
    if language_mod._detector is not None and model_mod._embedder is not None:
        return
    loader = threading.Thread(target=language_mod._get_detector, daemon=True)
    loader.start()
    model_mod.get_embedder()
    load_shipped_model()
    loader.join()


def _urgency(triggers: list[Signal], escalation: list[Signal], anger: float) -> UrgencyResult:
    kinds = {s.kind for s in escalation}
    score = 0.0
    if triggers:
        score += 0.45 + 0.1 * min(len(triggers) - 1, 2)
    if kinds & _LEGAL:
        score += 0.25
    if "repeat_contact" in kinds:
        score += 0.1
    if "shouting" in kinds:
        score += 0.05
    score += 0.2 * anger
    score = min(score, 1.0)
    level = (
        "low"
        if score < 0.25
        else "normal"
        if score < 0.5
        else "high"
        if score < 0.75
        else "critical"
    )
    return UrgencyResult(score=score, level=level, triggers=triggers)


def analyze_inbound(
    texts: Sequence[str],
    *,
    model: SentimentModel | None = None,
    progress: Callable[[int], None] | None = None,
) -> list[InboundAnalysis]:
    """Analyse a batch of inbound messages (one result per text, same order).

    Raises ``ValueError`` if an item is not a string. ``model`` replaces the shipped
    sentiment/anger model (e.g. an organisation's own, from ``train_from_corrections``).
    ``progress`` is called with the number of texts finished after each chunk.
    """
    if isinstance(texts, str):
        raise ValueError("analyze_inbound takes a list of texts, not one string")
    prepared = []
    for i, t in enumerate(texts):
        try:
            prepared.append(prepare(t))
        except ValueError as exc:
            raise ValueError(f"text {i}: {exc}") from exc
    warm_up()
    mdl = model or load_shipped_model()
    all_signals = [escalation_signals(p) for p in prepared]
    x = features(prepared, progress, all_signals)
    probs, anger = mdl.predict(x)
    results: list[InboundAnalysis] = []
    for i, p in enumerate(prepared):
        notes: list[str] = []
        escalation = all_signals[i]
        lang = detect_language(p.text)
        if not p.text.strip():
            notes.append("empty text")
            prob = {"negative": 0.0, "neutral": 1.0, "positive": 0.0}
            anger_score = 0.0
        else:
            prob = {label: float(probs[i, k]) for k, label in enumerate(LABELS)}
            anger_score = float(anger[i])
        if p.truncated:
            notes.append(f"text cut to {MAX_RULE_CHARS} characters for rules")
        if p.model_truncated:
            notes.append(f"text cut to {MAX_MODEL_CHARS} characters for the model")
        if p.replaced_invalid:
            notes.append(f"{p.replaced_invalid} invalid characters replaced")
        label = max(prob, key=lambda k: prob[k])
        results.append(
            InboundAnalysis(
                language=lang,
                sentiment=SentimentResult(label, prob, version=mdl.version),
                anger=AngerResult(anger_score, version=mdl.version),
                escalation=escalation,
                urgency=_urgency(urgency_triggers(p), escalation, anger_score),
                text_length=p.original_length,
                truncated=p.model_truncated,
                notes=notes,
            )
        )
    return results


def analyze_one(text: str, *, model: SentimentModel | None = None) -> InboundAnalysis:
    """Convenience wrapper for a single message."""
    return analyze_inbound([text], model=model)[0]


__all__ = [
    "AngerResult",
    "InboundAnalysis",
    "SentimentResult",
    "UrgencyResult",
    "analyze_inbound",
    "analyze_one",
    "warm_up",
]
