import math
from dataclasses import dataclass
from datetime import datetime, timedelta
from decimal import Decimal
from fractions import Fraction

from django.conf import settings
from django.utils import timezone

from rates.errors import RateUnavailable
from rates.models import SpotRate
from rates.precision import rate_divide


@dataclass(frozen=True)
class Quote:
    """A rate snapshot for pricing: `rate` is fiat per crypto (GoCoin's inverse_spot_rate),
    `spot_rate` crypto per fiat, `usd_spot_rate` USD per 1 unit of the fiat."""

    crypto: str
    fiat: str
    rate: Decimal
    spot_rate: Decimal
    usd_spot_rate: Decimal
    sources: list[str]
    fetched_at: datetime


def _fresh_since() -> datetime:
    return timezone.now() - timedelta(seconds=settings.RATES_MAX_AGE_SECONDS)


def _latest_fresh(*, crypto: str, fiat: str) -> SpotRate:
    row = (
        SpotRate.objects.filter(crypto=crypto, fiat=fiat, fetched_at__gte=_fresh_since())
        .order_by("-fetched_at", "-id")
        .first()
    )
    if row is None:
        raise RateUnavailable(crypto, fiat)
    return row


def quote_get(*, crypto: str, fiat: str) -> Quote:
    """The latest fresh rate for crypto/fiat; raises RateUnavailable when missing or stale.

    USD per fiat unit is crossed through the same crypto's USD rate, so pricing a non-USD
    invoice also needs a fresh crypto/USD rate.
    """
    crypto, fiat = crypto.upper(), fiat.upper()
    row = _latest_fresh(crypto=crypto, fiat=fiat)
    fetched_at = row.fetched_at
    if fiat == "USD":
        usd_spot_rate = Decimal(1)
    else:
        usd_row = _latest_fresh(crypto=crypto, fiat="USD")
        usd_spot_rate = rate_divide(usd_row.rate, row.rate)
        fetched_at = min(fetched_at, usd_row.fetched_at)
    return Quote(
        crypto=crypto,
        fiat=fiat,
        rate=row.rate,
        spot_rate=rate_divide(1, row.rate),
        usd_spot_rate=usd_spot_rate,
        sources=list(row.sources),
        fetched_at=fetched_at,
    )


def price_in_base_units(*, amount: Decimal, rate: Decimal, decimals: int) -> int:
    """`amount` of fiat at `rate` (fiat per crypto) in integer base units of the crypto, rounded up
    so the merchant never receives less than the price."""
    if isinstance(amount, float) or isinstance(rate, float):
        raise TypeError("amount and rate must be Decimal, not float")
    rate_exact = Fraction(rate)
    if rate_exact <= 0:
        raise ValueError(f"rate must be positive, got {rate}")
    if amount < 0:
        raise ValueError(f"amount must not be negative, got {amount}")
    if decimals < 0:
        raise ValueError(f"decimals must not be negative, got {decimals}")
    return math.ceil(Fraction(amount) * 10**decimals / rate_exact)


def latest_rates() -> dict[str, dict[str, Decimal]]:
    """The latest fresh rate per pair: {crypto: {fiat: fiat per crypto}}."""
    result: dict[str, dict[str, Decimal]] = {}
    rows = (
        SpotRate.objects.filter(fetched_at__gte=_fresh_since())
        .order_by("-fetched_at", "-id")
        .values_list("crypto", "fiat", "rate")
    )
    for crypto, fiat, rate in rows:
        result.setdefault(crypto, {}).setdefault(fiat, rate)
    return result
