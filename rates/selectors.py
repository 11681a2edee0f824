import math
import time
from dataclasses import dataclass
from datetime import datetime, timedelta
from decimal import Decimal
from fractions import Fraction

from django.conf import settings
from django.db.models import Q, QuerySet
from django.utils import timezone

from rates.errors import RateUnavailable
from rates.fiat import FIATS
from rates.models import SpotRate
from rates.precision import rate_divide, rate_round


@dataclass(frozen=True)
class Quote:
    """A rate snapshot for pricing: `rate` is fiat per crypto (GoCoin's inverse_spot_rate), `spot_rate` crypto per
    fiat, `usd_spot_rate` USD per 1 unit of the fiat. `market_rate` is the rate before the merchant's spread."""

    crypto: str
    fiat: str
    rate: Decimal
    market_rate: Decimal
    spread_percent: Decimal
    spot_rate: Decimal
    usd_spot_rate: Decimal
    sources: list[str]
    fetched_at: datetime


@dataclass(frozen=True)
class Prices:
    """The latest fresh market rate per coin and fiat, and the fetch time of the oldest of them."""

    timestamp: datetime | None
    rates: dict[str, dict[str, Decimal]]


def _fresh() -> QuerySet[SpotRate]:
    now = timezone.now()
    return SpotRate.objects.filter(
        Q(expires_at__isnull=True) | Q(expires_at__gt=now),
        fetched_at__gte=now - timedelta(seconds=settings.RATES_MAX_AGE_SECONDS),
    )


# (crypto, fiat) -> (monotonic time until which it may be reused, the pair's newest fresh row or None)
_latest_by_pair: dict[tuple[str, str], tuple[float, SpotRate | None]] = {}


def latest_rates_forget() -> None:
    """Drops this process's reused rates, so the next quote reads the database (after a refresh or a pin)."""
    _latest_by_pair.clear()


def _latest_fresh(*, crypto: str, fiat: str) -> SpotRate | None:
    """The pair's newest fresh row. Every invoice asks for it, so a process reuses the answer for
    RATES_QUOTE_CACHE_SECONDS; a reused row is still checked for freshness against the clock, so a quote
    never uses a rate older than RATES_MAX_AGE_SECONDS or a pin past its expiry."""
    key = (crypto, fiat)
    reused = _latest_by_pair.get(key)
    if reused is not None and reused[0] > time.monotonic() and (reused[1] is None or _is_fresh(reused[1])):
        return reused[1]
    row = _fresh().filter(crypto=crypto, fiat=fiat).order_by("-fetched_at", "-id").first()
    if settings.RATES_QUOTE_CACHE_SECONDS:
        _latest_by_pair[key] = (time.monotonic() + settings.RATES_QUOTE_CACHE_SECONDS, row)
    return row


def _is_fresh(row: SpotRate) -> bool:
    now = timezone.now()
    return (row.expires_at is None or row.expires_at > now) and row.fetched_at >= now - timedelta(
        seconds=settings.RATES_MAX_AGE_SECONDS
    )


def quote_get(*, crypto: str, fiat: str, spread_percent: Decimal = Decimal(0)) -> Quote:
    """The latest fresh rate for crypto/fiat; raises RateUnavailable when missing or stale (older than
    RATES_MAX_AGE_SECONDS), so nothing is ever priced at a stale rate.

    `spread_percent` is the merchant's cushion against volatility: the rate is lowered by that percentage (fiat per
    crypto x (1 - spread/100), exact), so price_in_base_units asks the customer for that much more crypto. The
    unspread rate stays in `market_rate`; `spot_rate` is the inverse of the spread rate.

    USD per fiat unit comes from the fiat's reference rate (fiat/USD); without a fresh one it is crossed through
    the same crypto's USD rate, and without that either the quote is refused for crypto/USD.
    """
    if isinstance(spread_percent, float):
        raise TypeError("spread_percent must be Decimal, not float")
    spread_percent = Decimal(spread_percent)
    if not (spread_percent.is_finite() and 0 <= spread_percent < 100):
        raise ValueError(f"spread_percent must be at least 0 and below 100, got {spread_percent}")
    crypto, fiat = crypto.upper(), fiat.upper()
    row = _latest_fresh(crypto=crypto, fiat=fiat)
    if row is None:
        raise RateUnavailable(crypto, fiat)
    usd_spot_rate, usd_fetched_at = _usd_per_unit(fiat=fiat, crypto=crypto, row=row)
    rate = rate_round(Fraction(row.rate) * (100 - Fraction(spread_percent)) / 100)
    return Quote(
        crypto=crypto,
        fiat=fiat,
        rate=rate,
        market_rate=row.rate,
        spread_percent=spread_percent,
        spot_rate=rate_divide(1, rate),
        usd_spot_rate=usd_spot_rate,
        sources=list(row.sources),
        fetched_at=min(row.fetched_at, usd_fetched_at),
    )


def _usd_per_unit(*, fiat: str, crypto: str, row: SpotRate) -> tuple[Decimal, datetime]:
    if fiat == "USD":
        return Decimal(1), row.fetched_at
    reference = _latest_fresh(crypto=fiat, fiat="USD")
    if reference is not None:
        return reference.rate, reference.fetched_at
    usd_row = _latest_fresh(crypto=crypto, fiat="USD")
    if usd_row is None:
        raise RateUnavailable(crypto, "USD")
    return rate_divide(usd_row.rate, row.rate), usd_row.fetched_at


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


def prices_get() -> Prices:
    """The latest fresh rate of every coin against every fiat (fiat reference rates left out), as quotes see them."""
    rates: dict[str, dict[str, Decimal]] = {}
    fetched: dict[tuple[str, str], datetime] = {}
    rows = (
        _fresh()
        .exclude(crypto__in=list(FIATS))
        .order_by("-fetched_at", "-id")
        .values_list("crypto", "fiat", "rate", "fetched_at")
    )
    for crypto, fiat, rate, fetched_at in rows:
        if (crypto, fiat) not in fetched:
            rates.setdefault(crypto, {})[fiat] = rate
            fetched[(crypto, fiat)] = fetched_at
    return Prices(timestamp=min(fetched.values(), default=None), rates=rates)
