"""The suggested remedy for a case: a pure function of its severity, the customer's recent
failures and the organisation's approval limits.

Levels (severity low=1, medium=2, high=3, critical=4; one more for a second failure, at most 5):

====== ============================= =========================================================
level  kind                          amount hint (in the policy's currency)
====== ============================= =========================================================
1      replacement_or_redo           none: apologise and do it again, right
2      gift_or_surprise              30 % of the agent's limit (15 EUR with the defaults)
3      credit                        the agent's limit (50 EUR): the agent can approve it alone
4      compensation                  30 % of the manager's limit (150 EUR)
5      upgrade_or_better_service     60 % of the manager's limit (300 EUR)
====== ============================= =========================================================

Hints follow the limits, so an organisation that changes its limits or its currency gets
hints in its own scale; a role without a limit in that currency gives no amount hint. Hints
are rounded down to whole units. It is a suggestion: the agent chooses what to propose.
"""

from __future__ import annotations

from dataclasses import dataclass
from decimal import ROUND_DOWN, Decimal
from typing import Any

from meaculpa.core.enums import SEVERITY_RANK, Severity
from meaculpa.core.i18n import N_
from meaculpa.remedies import money
from meaculpa.remedies.schemas import RemedyKind

MAX_LEVEL = 5


@dataclass(frozen=True)
class RepeatFailure:
    """The customer's other failures in the window: earlier cases and errors that hit them."""

    prior_cases: int
    prior_errors: int
    window_months: int

    @property
    def count(self) -> int:
        """Failures besides the one at hand. One error that hit the customer is taken to be
        what the new case is about (the usual path: we list the customers an error hurt, then
        they write to us), so errors count from the second on; earlier cases always count."""
        return self.prior_cases + max(self.prior_errors - 1, 0)

    @property
    def is_repeat(self) -> bool:
        return self.count > 0


@dataclass(frozen=True)
class Suggestion:
    kind: RemedyKind
    level: int
    amount_minor: int | None
    currency: str | None
    repeat: bool
    reason: str  # an English msgid, translated where it is shown

    @property
    def amount(self) -> Decimal | None:
        if self.amount_minor is None or self.currency is None:
            return None
        return money.from_minor(self.amount_minor, self.currency)


# level -> (kind, (role whose limit sets the hint, share of it) or None, reason)
LADDER: dict[int, tuple[RemedyKind, tuple[str, Decimal] | None, str]] = {
    1: (
        RemedyKind.replacement_or_redo,
        None,
        N_("Apologise and do it again, right. The fix is the remedy."),
    ),
    2: (
        RemedyKind.gift_or_surprise,
        ("agent", Decimal("0.3")),
        N_("Fix it and add a small, unexpected gesture."),
    ),
    3: (
        RemedyKind.credit,
        ("agent", Decimal(1)),
        N_("Fix it and give a credit the owner of the case can approve alone."),
    ),
    4: (
        RemedyKind.compensation,
        ("manager", Decimal("0.3")),
        N_("A serious failure: fix it and compensate the customer; a manager approves it."),
    ),
    5: (
        RemedyKind.upgrade_or_better_service,
        ("manager", Decimal("0.6")),
        N_("We failed this customer again: compensate generously and give them better service."),
    ),
}


def remedy_level(severity: str, history: RepeatFailure | None) -> int:
    rank = SEVERITY_RANK.get(Severity(severity), 2) if severity in Severity.__members__ else 2
    bump = 1 if history is not None and history.is_repeat else 0
    return min(rank + bump, MAX_LEVEL)


def suggest_remedy(
    case: Any, customer: Any, history: RepeatFailure | None, policy: Any
) -> Suggestion:
    """What to offer ``customer`` for ``case``: see the module's table.

    ``case`` needs ``severity``; ``policy`` is a :class:`meaculpa.remedies.queries.Policy`
    (its currency and limits scale the amount hint). ``customer`` is taken for the customer's
    recorded failures outside the window: a customer who has suffered three or more company
    errors in all gets at least level 3.
    """
    level = remedy_level(case.severity, history)
    if getattr(customer, "failures_count", 0) >= 3:
        level = max(level, 3)
    kind, scale, reason = LADDER[level]
    amount_minor: int | None = None
    currency: str | None = None
    if scale is not None:
        role, share = scale
        limit = policy.limit_for(role, policy.currency)
        if limit:
            unit = 10 ** money.precision(policy.currency)
            whole = (Decimal(limit) * share / unit).quantize(Decimal(1), rounding=ROUND_DOWN)
            if whole > 0:
                amount_minor = int(whole) * unit
                currency = policy.currency
    return Suggestion(
        kind=kind,
        level=level,
        amount_minor=amount_minor,
        currency=currency,
        repeat=bool(history and history.is_repeat),
        reason=reason,
    )
