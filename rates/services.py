import logging
from concurrent.futures import ThreadPoolExecutor, wait
from datetime import datetime, timedelta
from decimal import Decimal

from django.conf import settings
from django.contrib.auth.base_user import AbstractBaseUser
from django.db import transaction
from django.db.models import OuterRef, Subquery
from django.utils import timezone

from rates.aggregation import Pair, crosses_via_usd, pairs_aggregate
from rates.errors import ProviderError
from rates.fiat import is_quotable_pair
from rates.models import ManualRate, SpotRate
from rates.precision import RATE_LIMIT, rate_round
from rates.providers import ProviderRate, RateProvider, providers_load
from rates.selectors import latest_rates_forget

logger = logging.getLogger(__name__)

MANUAL = "manual"


def spot_rates_refresh() -> int:
    """Fetch every configured provider at once and store one SpotRate per pair; return the rows written.

    A pair's rate is the median of the providers that reported it, less outliers (RATES_OUTLIER_PERCENT), if at least
    RATES_MIN_SOURCES remain; a coin/fiat pair nobody quoted is crossed through USD; `sources` names the providers.
    Fetching takes at most RATES_PROVIDER_TIMEOUT_SECONDS in all: a provider that fails, answers nonsense or has not
    answered by then is logged and skipped, and the others are stored as usual. Each active ManualRate is stored too,
    after its pair's market rate, so quotes take it.
    """
    reported = _reported_by_pair(_providers_fetch(providers_load()))
    direct = pairs_aggregate(
        reported, outlier_percent=settings.RATES_OUTLIER_PERCENT, min_sources=settings.RATES_MIN_SOURCES
    )
    market = {**direct, **crosses_via_usd(direct)}
    fetched_at = timezone.now()
    rows = [
        SpotRate(crypto=crypto, fiat=fiat, rate=aggregate.rate, sources=aggregate.sources, fetched_at=fetched_at)
        for (crypto, fiat), aggregate in sorted(market.items())
    ]
    pinned = [_pinned_row(manual, fetched_at) for manual in ManualRate.objects.filter(expires_at__gt=fetched_at)]
    if not rows:
        logger.warning("rates refresh: no provider returned a usable rate")
    with transaction.atomic():
        SpotRate.objects.bulk_create(rows)
        # A separate, later INSERT: pinned rows get the higher ids, which win the tie on fetched_at in quotes.
        SpotRate.objects.bulk_create(pinned)
    latest_rates_forget()
    return len(rows) + len(pinned)


def spot_rates_prune() -> int:
    """Delete spot rates older than RATES_HISTORY_DAYS and return how many went. The newest row of each pair stays
    however old it is, so the last known rate of a pair is never lost."""
    cutoff = timezone.now() - timedelta(days=settings.RATES_HISTORY_DAYS)
    newest = SpotRate.objects.filter(crypto=OuterRef("crypto"), fiat=OuterRef("fiat")).order_by("-fetched_at", "-id")
    deleted, _ = SpotRate.objects.filter(fetched_at__lt=cutoff).exclude(id=Subquery(newest.values("id")[:1])).delete()
    return deleted


def manual_rate_pin(
    *, crypto: str, fiat: str, rate: Decimal, expires_at: datetime, reason: str, created_by: AbstractBaseUser | None
) -> ManualRate:
    """Pin `rate` for crypto/fiat until `expires_at` and store it as the pair's spot rate at once, so quotes use it
    before the next refresh. Raises ValidationError for a pair the platform does not price, a past expiry, or a
    pair that already has an active pin."""
    manual = ManualRate(crypto=crypto, fiat=fiat, rate=rate, expires_at=expires_at, reason=reason, created_by=created_by)
    manual.full_clean()
    with transaction.atomic():
        manual.save()
        _pinned_row(manual, timezone.now()).save()
    latest_rates_forget()
    logger.info(
        "rates %s/%s: pinned at %s until %s by %s: %s", manual.crypto, manual.fiat, rate, expires_at, created_by, reason
    )
    return manual


def manual_rate_end(*, manual: ManualRate) -> None:
    """End an active pin now: quotes of its pair go back to the market rate."""
    now = timezone.now()
    with transaction.atomic():
        ManualRate.objects.filter(pk=manual.pk, expires_at__gt=now).update(expires_at=now)
        pinned = SpotRate.objects.filter(crypto=manual.crypto, fiat=manual.fiat, sources=[MANUAL], expires_at__gt=now)
        pinned.update(expires_at=now)
    latest_rates_forget()
    logger.info("rates %s/%s: pin ended", manual.crypto, manual.fiat)


def _pinned_row(manual: ManualRate, fetched_at: datetime) -> SpotRate:
    return SpotRate(
        crypto=manual.crypto,
        fiat=manual.fiat,
        rate=manual.rate,
        sources=[MANUAL],
        fetched_at=fetched_at,
        expires_at=manual.expires_at,
    )


def _providers_fetch(providers: list[RateProvider]) -> list[tuple[RateProvider, list[ProviderRate]]]:
    timeout = settings.RATES_PROVIDER_TIMEOUT_SECONDS
    pool = ThreadPoolExecutor(max_workers=max(len(providers), 1), thread_name_prefix="rates-fetch")
    futures = [pool.submit(_provider_fetch, provider) for provider in providers]
    # One wait over all providers bounds a refresh by one timeout, not by their sum; stragglers are abandoned.
    wait(futures, timeout=timeout)
    pool.shutdown(wait=False, cancel_futures=True)
    answers = []
    for provider, future in zip(providers, futures):
        if future.done():
            answers.append((provider, future.result()))
        else:
            logger.error("rate provider %s failed: no answer within %s s; skipped", provider.name, timeout)
    return answers


def _provider_fetch(provider: RateProvider) -> list[ProviderRate]:
    try:
        return list(provider.fetch())
    except ProviderError as exc:
        logger.error("rate provider %s failed: %s; skipped", provider.name, exc)
    except Exception as exc:
        logger.exception("rate provider %s failed: %r; skipped", getattr(provider, "name", provider), exc)
    return []


def _reported_by_pair(answers: list[tuple[RateProvider, list[ProviderRate]]]) -> dict[Pair, dict[str, Decimal]]:
    by_pair: dict[Pair, dict[str, Decimal]] = {}
    for provider, reported in answers:
        for item in reported:
            verified = _rate_verify(provider, item)
            if verified is not None:
                by_pair.setdefault((verified.crypto, verified.fiat), {})[provider.name] = verified.rate
    return by_pair


def _rate_verify(provider: RateProvider, item: ProviderRate) -> ProviderRate | None:
    crypto, fiat = str(item.crypto).upper(), str(item.fiat).upper()
    rate = item.rate
    if not is_quotable_pair(crypto, fiat):
        logger.warning("rate provider %s: dropped unknown pair %s/%s", provider.name, crypto, fiat)
        return None
    if not isinstance(rate, Decimal) or not rate.is_finite():
        logger.warning(
            "rate provider %s: dropped %s/%s, rate %r is not a finite Decimal", provider.name, crypto, fiat, rate
        )
        return None
    rounded = rate_round(rate)
    if not Decimal(0) < rounded < RATE_LIMIT:
        logger.warning("rate provider %s: dropped %s/%s, rate %s out of range", provider.name, crypto, fiat, rate)
        return None
    return ProviderRate(crypto=crypto, fiat=fiat, rate=rounded)
