"""The analysis as the product runs it: versions, and analysis that never raises.

No database here: the job, the API and the CLI all call these functions.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from meaculpa.analysis import ANALYZER_VERSIONS, SentimentModel, analyze_inbound

#: The name stored on :class:`~meaculpa.insights.models.MessageAnalysis` rows.
INBOUND_ANALYZER = "inbound"
_PARTS = ("language", "sentiment", "anger", "signals", "urgency")
#: Texts given to the analyzers at once (the sentence encoder works in batches).
BATCH = 32


def inbound_version(model: SentimentModel | None = None) -> str:
    """The version of the whole inbound pipeline, e.g. ``language=1.0.0,sentiment=1.1.0,...``.

    An organisation's own model reports its own version, so its analyses are stored apart
    from the shipped model's."""
    versions = {name: ANALYZER_VERSIONS[name] for name in _PARTS}
    if model is not None:
        versions["sentiment"] = versions["anger"] = model.version
    return ",".join(f"{name}={versions[name]}" for name in _PARTS)


@dataclass(frozen=True)
class Outcome:
    """One text's analysis: ``result`` (``InboundAnalysis.to_dict()``) or ``error``."""

    result: dict[str, Any] | None
    error: str | None = None

    @property
    def language(self) -> str | None:
        return self.result["language"]["code"] if self.result else None


def _error(exc: BaseException) -> str:
    return f"{type(exc).__name__}: {exc}"[:2000]


def analyze_safely(texts: Sequence[Any], model: SentimentModel | None = None) -> list[Outcome]:
    """:func:`analyze_inbound` that never raises: a text it cannot read gets an error entry.

    Runs the batch at once; when that fails (a text that is not a string, bytes that are not
    UTF-8...), each text is analysed alone so only the bad ones get an error.
    """
    outcomes: list[Outcome] = []
    for start in range(0, len(texts), BATCH):
        chunk = list(texts[start : start + BATCH])
        try:
            results = analyze_inbound(chunk, model=model)
        except Exception:  # retried one by one below, so only the bad texts fail
            results = None
        if results is not None:
            outcomes.extend(Outcome(r.to_dict()) for r in results)
            continue
        for text in chunk:
            try:
                outcomes.append(Outcome(analyze_inbound([text], model=model)[0].to_dict()))
            except Exception as exc:  # a bad text is recorded, never fatal
                outcomes.append(Outcome(None, _error(exc)))
    return outcomes


def trigger_words(result: dict[str, Any]) -> list[str]:
    """The words that raised escalation signals, in order, without repeats."""
    signals = (result.get("escalation") or {}).get("signals") or []
    words = list(dict.fromkeys(str(s.get("trigger", "")) for s in signals if s.get("trigger")))
    # "TERCERA VEZ QUE ESCRIBO" adds nothing beside "es la tercera vez que escribo".
    folded = [w.casefold() for w in words]
    return [
        w
        for i, w in enumerate(words)
        if not any(
            i != j and folded[i] in other and folded[i] != other for j, other in enumerate(folded)
        )
    ]
