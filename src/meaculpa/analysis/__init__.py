"""Text analysis for meaculpa: pure, versioned analyzers with batch interfaces.

No database or ORM imports here. Models load lazily, once per process. See
``docs/analysis.md`` for the public API and measured quality.
"""

from __future__ import annotations

from . import coach as _coach
from . import commitments as _commitments
from . import language as _language
from . import model as _model
from . import signals as _signals
from .calendar import DEFAULT_CALENDAR, BusinessCalendar
from .coach import AntiPattern, CoachReport, ElementResult, coach_reply
from .commitments import Commitment, extract_commitments
from .inbound import (
    URGENCY_NAME,
    URGENCY_VERSION,
    AngerResult,
    InboundAnalysis,
    SentimentResult,
    UrgencyResult,
    analyze_inbound,
    analyze_one,
    warm_up,
)
from .language import SUPPORTED_LANGUAGES, LanguageResult, detect_language, detect_languages
from .model import SentimentModel, load_shipped_model
from .signals import Signal
from .training import TrainingReport, train_from_corrections

#: analyzer name -> version; a result produced by an analyzer carries the same pair.
ANALYZER_VERSIONS: dict[str, str] = {
    _language.NAME: _language.VERSION,
    _model.NAME: _model.VERSION,
    _model.ANGER_NAME: _model.ANGER_VERSION,
    _signals.NAME: _signals.VERSION,
    URGENCY_NAME: URGENCY_VERSION,
    _coach.NAME: _coach.VERSION,
    _commitments.NAME: _commitments.VERSION,
}

__all__ = [
    "ANALYZER_VERSIONS",
    "DEFAULT_CALENDAR",
    "SUPPORTED_LANGUAGES",
    "AngerResult",
    "AntiPattern",
    "BusinessCalendar",
    "CoachReport",
    "Commitment",
    "ElementResult",
    "InboundAnalysis",
    "LanguageResult",
    "SentimentModel",
    "SentimentResult",
    "Signal",
    "TrainingReport",
    "UrgencyResult",
    "analyze_inbound",
    "analyze_one",
    "coach_reply",
    "detect_language",
    "detect_languages",
    "extract_commitments",
    "load_shipped_model",
    "train_from_corrections",
    "warm_up",
]
