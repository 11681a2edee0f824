"""An outage of every provider: the last good rate serves inside the staleness window, and nothing after it."""

from datetime import timedelta
from decimal import Decimal

import pytest
from django.utils import timezone

from rates.errors import RateUnavailable
from rates.models import SpotRate
from rates.selectors import quote_get
from rates.services import spot_rates_refresh
from tests.rates.recorded_server import HTTP_500, PROVIDERS

pytestmark = pytest.mark.django_db


def age_everything(*, seconds: int) -> None:
    SpotRate.objects.update(fetched_at=timezone.now() - timedelta(seconds=seconds))


@pytest.fixture
def outage(recorded):
    """A good refresh, then every provider answers HTTP 500."""
    spot_rates_refresh()
    for name in PROVIDERS:
        recorded.faults[name] = HTTP_500
    return recorded


def test_the_last_good_rate_serves_through_an_outage(outage):
    before = quote_get(crypto="BTC", fiat="EUR")

    assert spot_rates_refresh() == 0
    during = quote_get(crypto="BTC", fiat="EUR")

    assert during == before
    assert during.sources == ["bitfinex", "bitstamp", "coinbase", "coingecko", "kraken"]


def test_the_last_good_rate_serves_until_the_staleness_limit(outage, settings):
    age_everything(seconds=settings.RATES_MAX_AGE_SECONDS - 5)
    spot_rates_refresh()

    quote = quote_get(crypto="BTC", fiat="USD")

    assert quote.rate == Decimal("64256.425")
    assert timezone.now() - quote.fetched_at > timedelta(seconds=settings.RATES_MAX_AGE_SECONDS - 6)


@pytest.mark.parametrize("fiat", ["USD", "EUR", "INR"])
def test_past_the_limit_the_quote_is_refused(outage, settings, fiat):
    age_everything(seconds=settings.RATES_MAX_AGE_SECONDS + 1)
    spot_rates_refresh()

    with pytest.raises(RateUnavailable) as caught:
        quote_get(crypto="BTC", fiat=fiat)

    assert caught.value.message == f"no fresh spot rate for BTC/{fiat}"


def test_rates_return_when_the_providers_do(outage, settings):
    age_everything(seconds=settings.RATES_MAX_AGE_SECONDS + 1)
    outage.reset()

    spot_rates_refresh()

    assert quote_get(crypto="BTC", fiat="USD").rate == Decimal("64256.425")
