"""Money as integer minor units plus an ISO 4217 code: parse, check, show. No floats."""

from __future__ import annotations

from decimal import Decimal, InvalidOperation

from babel.numbers import format_currency, get_currency_precision, is_currency

# The largest amount stored: far above any remedy, well inside a 64-bit integer.
MAX_MINOR = 10**15


def check_currency(code: str) -> str:
    """The upper-case ISO 4217 code, or ``ValueError``."""
    value = (code or "").strip().upper()
    if len(value) != 3 or not value.isalpha() or not is_currency(value):
        raise ValueError(f"{code!r} is not an ISO 4217 currency code")
    return value


def precision(currency: str) -> int:
    """Digits after the decimal point of ``currency``: 2 for EUR, 0 for JPY, 3 for KWD."""
    return int(get_currency_precision(currency))


def to_minor(amount: Decimal | str | int, currency: str) -> int:
    """``Decimal("12.5")`` EUR -> ``1250``; more decimals than the currency has is an error."""
    try:
        value = Decimal(str(amount)) if not isinstance(amount, Decimal) else amount
    except InvalidOperation as exc:
        raise ValueError(f"{amount!r} is not an amount") from exc
    if not value.is_finite():
        raise ValueError("the amount must be a finite number")
    scaled = value.scaleb(precision(currency))
    if scaled != scaled.to_integral_value():
        raise ValueError(f"{currency} amounts have at most {precision(currency)} decimals")
    minor = int(scaled)
    if abs(minor) >= MAX_MINOR:
        raise ValueError("the amount is too large")
    return minor


def from_minor(minor: int, currency: str) -> Decimal:
    """``1250`` EUR -> ``Decimal("12.50")``."""
    digits = precision(currency)
    return Decimal(minor).scaleb(-digits).quantize(Decimal(1).scaleb(-digits))


def format_money(minor: int | None, currency: str | None, language: str) -> str:
    """``12,50 €`` in Spanish, ``€12.50`` in English; empty for a remedy without an amount."""
    if minor is None or not currency:
        return ""
    return str(format_currency(from_minor(minor, currency), currency, locale=language))
