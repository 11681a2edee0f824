import logging
import re
from concurrent.futures import ThreadPoolExecutor
from decimal import Decimal
from fractions import Fraction

from django.db import transaction
from django.utils import timezone

from rates.fiat import is_fiat
from rates.models import SpotRate
from rates.precision import RATE_LIMIT, rate_round
from rates.providers import ProviderRate, RateProvider, providers_load

logger = logging.getLogger(__name__)

_CRYPTO_CODE = re.compile(r"[A-Z0-9]{2,10}")


def spot_rates_refresh() -> int:
    """Fetch every configured provider and store one SpotRate per pair; return the rows written.

    Each pair's rate is the median over the providers that reported it, and its `sources` name
    those providers. A provider that raises is logged and skipped; a reported rate that fails
    verification (unknown fiat, malformed code, non-positive or out-of-range value) is dropped.
    """
    providers = providers_load()
    # Fetch before opening the transaction: provider I/O must not hold a database transaction.
    with ThreadPoolExecutor(max_workers=max(len(providers), 1)) as pool:
        answers = list(zip(providers, pool.map(_provider_fetch, providers)))

    by_pair: dict[tuple[str, str], dict[str, Decimal]] = {}
    for provider, reported in answers:
        for item in reported:
            verified = _rate_verify(provider, item)
            if verified is not None:
                by_pair.setdefault((verified.crypto, verified.fiat), {})[provider.name] = verified.rate

    fetched_at = timezone.now()
    rows = [
        SpotRate(crypto=crypto, fiat=fiat, rate=_median(list(rates.values())), sources=sorted(rates), fetched_at=fetched_at)
        for (crypto, fiat), rates in sorted(by_pair.items())
    ]
    if not rows:
        logger.warning("rates refresh: no provider returned a usable rate")
    with transaction.atomic():
        SpotRate.objects.bulk_create(rows)
    return len(rows)


def _provider_fetch(provider: RateProvider) -> list[ProviderRate]:
    try:
        return list(provider.fetch())
    except Exception:
        logger.exception("rate provider %s failed; skipped", getattr(provider, "name", provider))
        return []


def _rate_verify(provider: RateProvider, item: ProviderRate) -> ProviderRate | None:
    crypto, fiat = str(item.crypto).upper(), str(item.fiat).upper()
    rate = item.rate
    if not (_CRYPTO_CODE.fullmatch(crypto) and is_fiat(fiat) and not is_fiat(crypto)):
        logger.warning("rate provider %s: dropped unknown pair %s/%s", provider.name, crypto, fiat)
        return None
    if not isinstance(rate, Decimal) or not rate.is_finite():
        logger.warning("rate provider %s: dropped %s/%s, rate %r is not a finite Decimal", provider.name, crypto, fiat, rate)
        return None
    rounded = rate_round(rate)
    if not Decimal(0) < rounded < RATE_LIMIT:
        logger.warning("rate provider %s: dropped %s/%s, rate %s out of range", provider.name, crypto, fiat, rate)
        return None
    return ProviderRate(crypto=crypto, fiat=fiat, rate=rounded)


def _median(values: list[Decimal]) -> Decimal:
    ordered = sorted(values)
    middle = len(ordered) // 2
    if len(ordered) % 2:
        return ordered[middle]
    return rate_round((Fraction(ordered[middle - 1]) + Fraction(ordered[middle])) / 2)
