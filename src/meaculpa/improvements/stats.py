"""The before/after test of an improvement action: pure functions, no database.

A problem's reports in a window are taken as a Poisson count whose mean is its rate times the
exposure (the cases opened in that window). To ask "did the rate fall?" we condition on the
total: if the rate did not change, the after-window's share of the ``n = x_before + x_after``
reports is Binomial(n, p0) with ``p0 = e_after / (e_before + e_after)``. The one-sided p-value
is P(X ≤ x_after) under that binomial, computed exactly (the conditional test of two Poisson
rates, Przyborowski and Wilenski, 1940). It needs no large-sample approximation, so it stays
honest for the small counts a young problem has.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

ALPHA = 0.05
# Fewer reports than this in both windows together cannot show a change either way.
MIN_REPORTS = 10
PER = 1000.0


def binomial_cdf(k: int, n: int, p: float) -> float:
    """P(X ≤ k) for X ~ Binomial(n, p), summed in log space (exact up to rounding)."""
    if k < 0:
        return 0.0
    if k >= n or p <= 0.0:
        return 1.0
    if p >= 1.0:
        return 0.0
    log_p, log_q = math.log(p), math.log1p(-p)
    base = math.lgamma(n + 1)
    terms = [
        base - math.lgamma(i + 1) - math.lgamma(n - i + 1) + i * log_p + (n - i) * log_q
        for i in range(k + 1)
    ]
    top = max(terms)
    total = top + math.log(sum(math.exp(t - top) for t in terms))
    return min(1.0, math.exp(total))


def rate_fell_p_value(
    before_count: int, before_exposure: float, after_count: int, after_exposure: float
) -> float | None:
    """One-sided p-value of "the after rate is lower than the before rate" (None: no test)."""
    if min(before_count, after_count) < 0:
        raise ValueError("counts cannot be negative")
    if before_exposure <= 0 or after_exposure <= 0:
        return None
    n = before_count + after_count
    if n == 0:
        return None
    p0 = after_exposure / (before_exposure + after_exposure)
    return binomial_cdf(after_count, n, p0)


@dataclass(frozen=True)
class Comparison:
    before_rate: float | None
    after_rate: float | None
    p_value: float | None
    verdict: str  # pending | effective | not_effective | not_enough_data


def compare(
    before_count: int,
    before_exposure: int,
    after_count: int,
    after_exposure: int,
    *,
    complete: bool,
    alpha: float = ALPHA,
    min_reports: int = MIN_REPORTS,
) -> Comparison:
    """Rates per 1,000 cases and the verdict.

    Until the after-window is ``complete`` the verdict is "pending" (the figures so far are
    shown, but a verdict on a partial window would peek). Then: "not_enough_data" when there
    were no cases in a window or fewer than ``min_reports`` reports in both together;
    "effective" when the rate fell with p < ``alpha``; "not_effective" otherwise.
    """
    before_rate = PER * before_count / before_exposure if before_exposure > 0 else None
    after_rate = PER * after_count / after_exposure if after_exposure > 0 else None
    p_value = rate_fell_p_value(before_count, before_exposure, after_count, after_exposure)
    if not complete:
        verdict = "pending"
    elif p_value is None or before_count + after_count < min_reports:
        verdict = "not_enough_data"
    elif (
        p_value < alpha
        and before_rate is not None
        and after_rate is not None
        and after_rate < before_rate
    ):
        verdict = "effective"
    else:
        verdict = "not_effective"
    return Comparison(before_rate, after_rate, p_value, verdict)


def overall(verdicts: list[str]) -> str:
    """An action's verdict over its problems: any still pending keeps it pending; any problem
    that did not improve makes it not effective; effective needs at least one effective."""
    if not verdicts:
        return "not_enough_data"
    if "pending" in verdicts:
        return "pending"
    if "not_effective" in verdicts:
        return "not_effective"
    if "effective" in verdicts:
        return "effective"
    return "not_enough_data"
