"""Language identification restricted to the languages meaculpa's customers write in."""

from __future__ import annotations

import re
import threading
from dataclasses import dataclass, field
from typing import Any

NAME = "language"
VERSION = "1.0.0"

#: ISO 639-1 codes this detector can return, besides ``"und"`` (undetermined).
SUPPORTED_LANGUAGES = ("es", "en", "pt", "fr", "ca")
_MAX_CHARS = 400
_MIN_LETTERS = 2
_MIXED_SECOND = 0.35

_LETTERS = re.compile(r"[^\W\d_]", re.UNICODE)
_detector: Any = None
_lock = threading.Lock()


@dataclass(slots=True)
class LanguageResult:
    """Detected language with confidence; ``mixed`` when a second language is strong."""

    code: str
    confidence: float
    mixed: bool = False
    candidates: dict[str, float] = field(default_factory=dict)
    analyzer: str = NAME
    version: str = VERSION

    def to_dict(self) -> dict[str, Any]:
        return {
            "code": self.code,
            "confidence": round(self.confidence, 4),
            "mixed": self.mixed,
            "candidates": {k: round(v, 4) for k, v in self.candidates.items()},
            "analyzer": self.analyzer,
            "version": self.version,
        }


def _get_detector() -> Any:
    global _detector
    if _detector is None:
        with _lock:
            if _detector is None:
                from lingua import Language, LanguageDetectorBuilder

                _detector = LanguageDetectorBuilder.from_languages(
                    Language.SPANISH,
                    Language.ENGLISH,
                    Language.PORTUGUESE,
                    Language.FRENCH,
                    Language.CATALAN,
                ).build()
    return _detector


def detect_language(text: str) -> LanguageResult:
    """Detect the language of one text (``"und"`` when there is too little text)."""
    if not isinstance(text, str):
        raise ValueError(f"text must be a string, got {type(text).__name__}")
    sample = text[:_MAX_CHARS]
    if len(_LETTERS.findall(sample)) < _MIN_LETTERS:
        return LanguageResult(code="und", confidence=0.0)
    values = _get_detector().compute_language_confidence_values(sample)
    candidates = {v.language.iso_code_639_1.name.lower(): float(v.value) for v in values}
    ranked = sorted(candidates.items(), key=lambda kv: kv[1], reverse=True)
    if not ranked or ranked[0][1] <= 0.0:
        return LanguageResult(code="und", confidence=0.0, candidates=candidates)
    top_code, top_value = ranked[0]
    second = ranked[1][1] if len(ranked) > 1 else 0.0
    mixed = second >= _MIXED_SECOND and len(sample.split()) >= 6
    top3 = dict(ranked[:3])
    return LanguageResult(code=top_code, confidence=top_value, mixed=mixed, candidates=top3)


def detect_languages(texts: list[str]) -> list[LanguageResult]:
    """Batch form of :func:`detect_language`."""
    return [detect_language(t) for t in texts]


def rule_language(lang: str | None) -> str:
    """Map any detected code to the rule set to use (Spanish rules also cover ca/pt)."""
    if lang in ("es", "ca", "pt"):
        return "es"
    return "en"
