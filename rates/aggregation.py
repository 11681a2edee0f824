"""From what the providers reported to one rate per pair: medians, outliers, a minimum of sources, crosses via USD.

Pure functions on exact Decimals; every drop is logged with its reason.
"""

import logging
from dataclasses import dataclass
from decimal import Decimal
from fractions import Fraction

from rates.fiat import is_fiat
from rates.precision import RATE_LIMIT, rate_divide, rate_round

logger = logging.getLogger(__name__)

Pair = tuple[str, str]


@dataclass(frozen=True)
class Aggregate:
    rate: Decimal
    sources: list[str]


def pairs_aggregate(
    reported: dict[Pair, dict[str, Decimal]], *, outlier_percent: Decimal, min_sources: int
) -> dict[Pair, Aggregate]:
    """Per pair, the median of its sources' rates after dropping every source more than `outlier_percent` away
    from the median of all of them. A pair left with fewer than `min_sources` sources is skipped."""
    result = {}
    for (base, quote), by_source in sorted(reported.items()):
        first = Fraction(median(list(by_source.values())))
        limit = Fraction(outlier_percent) / 100
        kept = {source: rate for source, rate in by_source.items() if abs(Fraction(rate) - first) <= limit * first}
        for source in sorted(set(by_source) - set(kept)):
            logger.warning(
                "rates %s/%s: dropped %s at %s, over %s%% from the median %s",
                base, quote, source, _plain(by_source[source]), outlier_percent, _plain(rate_round(first)),
            )
        if len(kept) < min_sources:
            logger.warning(
                "rates %s/%s: skipped, %d source(s) %s where %d are required",
                base, quote, len(kept), sorted(kept), min_sources,
            )
            continue
        result[(base, quote)] = Aggregate(rate=median(list(kept.values())), sources=sorted(kept))
    return result


def crosses_via_usd(direct: dict[Pair, Aggregate]) -> dict[Pair, Aggregate]:
    """Coin/fiat pairs with no direct aggregate, crossed as coin/USD ÷ fiat/USD (a fiat reference rate), exact to
    the last place. Their sources name the coin's sources, then the fiat's marked "(cross via USD)"."""
    usd_per_fiat = {base: leg for (base, quote), leg in direct.items() if quote == "USD" and is_fiat(base)}
    crosses = {}
    for (coin, quote), coin_leg in sorted(direct.items()):
        if quote != "USD" or is_fiat(coin):
            continue
        for fiat, fiat_leg in sorted(usd_per_fiat.items()):
            if (coin, fiat) in direct:
                continue
            rate = rate_divide(coin_leg.rate, fiat_leg.rate)
            if not Decimal(0) < rate < RATE_LIMIT:
                logger.warning("rates %s/%s: cross rate %s out of range; skipped", coin, fiat, rate)
                continue
            sources = coin_leg.sources + [f"{source} (cross via USD)" for source in fiat_leg.sources]
            crosses[(coin, fiat)] = Aggregate(rate=rate, sources=sources)
    return crosses


def median(values: list[Decimal]) -> Decimal:
    ordered = sorted(values)
    middle = len(ordered) // 2
    if len(ordered) % 2:
        return ordered[middle]
    return rate_round((Fraction(ordered[middle - 1]) + Fraction(ordered[middle])) / 2)


def _plain(value: Decimal) -> str:
    return f"{value.normalize():f}"
