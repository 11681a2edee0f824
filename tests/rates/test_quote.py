from datetime import timedelta
from decimal import Decimal
from fractions import Fraction

import pytest
from django.utils import timezone

from rates.errors import RateUnavailable
from rates.models import SpotRate
from rates.selectors import prices_get, quote_get
from rates.services import spot_rates_refresh
from tests.rates.helpers import exact_18

pytestmark = pytest.mark.django_db


def _age(*, seconds: int, **pair: str) -> None:
    SpotRate.objects.filter(**pair).update(fetched_at=timezone.now() - timedelta(seconds=seconds))


def test_quote_in_usd_is_the_direct_rate():
    spot_rates_refresh()

    quote = quote_get(crypto="btc", fiat="usd")

    assert (quote.crypto, quote.fiat) == ("BTC", "USD")
    assert quote.rate == Decimal("65000")
    assert quote.spot_rate == Decimal("0.000015384615384615")
    assert quote.usd_spot_rate == Decimal(1)
    assert quote.sources == ["fixed"]
    assert quote.fetched_at == SpotRate.objects.get(crypto="BTC", fiat="USD").fetched_at


def test_quote_crossed_through_usd_is_right_to_the_last_digit():
    spot_rates_refresh()

    quote = quote_get(crypto="BTC", fiat="EUR")

    rate = exact_18(Fraction(65000) / Fraction("1.08"))
    assert quote.rate == rate
    assert quote.spot_rate == exact_18(1 / Fraction(rate)) == Decimal("0.000016615384615385")
    assert quote.usd_spot_rate == exact_18(Fraction(65000) / Fraction(rate)) == Decimal("1.08")
    assert all(isinstance(v, Decimal) for v in (quote.rate, quote.spot_rate, quote.usd_spot_rate))


def test_quote_for_a_small_coin_in_a_zero_decimal_fiat():
    spot_rates_refresh()

    quote = quote_get(crypto="DOGE", fiat="JPY")

    rate = exact_18(Fraction("0.12") / Fraction("0.0067"))
    assert quote.rate == rate
    assert quote.spot_rate == exact_18(1 / Fraction(rate))
    assert quote.usd_spot_rate == exact_18(Fraction("0.12") / Fraction(rate))


def test_stale_rate_is_refused_with_a_clear_message(settings):
    spot_rates_refresh()
    _age(seconds=settings.RATES_MAX_AGE_SECONDS + 1, crypto="BTC", fiat="EUR")

    with pytest.raises(RateUnavailable) as caught:
        quote_get(crypto="BTC", fiat="EUR")

    assert caught.value.message == "no fresh spot rate for BTC/EUR"
    assert (caught.value.crypto, caught.value.fiat) == ("BTC", "EUR")


def test_stale_usd_leg_is_refused_too(settings):
    spot_rates_refresh()
    _age(seconds=settings.RATES_MAX_AGE_SECONDS + 1, crypto="BTC", fiat="USD")

    with pytest.raises(RateUnavailable) as caught:
        quote_get(crypto="BTC", fiat="EUR")

    assert caught.value.message == "no fresh spot rate for BTC/USD"


def test_a_rate_just_inside_the_limit_is_used(settings):
    spot_rates_refresh()
    _age(seconds=settings.RATES_MAX_AGE_SECONDS - 5, crypto="BTC")

    assert quote_get(crypto="BTC", fiat="EUR").rate == exact_18(Fraction(65000) / Fraction("1.08"))


@pytest.mark.parametrize("crypto,fiat", [("BTC", "NZD"), ("XMR", "USD")])
def test_missing_pair_is_refused(crypto, fiat):
    spot_rates_refresh()

    with pytest.raises(RateUnavailable) as caught:
        quote_get(crypto=crypto, fiat=fiat)

    assert caught.value.message == f"no fresh spot rate for {crypto}/{fiat}"


def test_no_rates_at_all_is_refused():
    with pytest.raises(RateUnavailable, match="^no fresh spot rate for BTC/USD$"):
        quote_get(crypto="BTC", fiat="USD")


def test_newest_rate_wins(settings):
    spot_rates_refresh()
    _age(seconds=60)
    settings.RATES_FIXED_USD = {**settings.RATES_FIXED_USD, "BTC": "70000"}
    spot_rates_refresh()

    assert quote_get(crypto="BTC", fiat="USD").rate == Decimal("70000")
    assert prices_get().rates["BTC"]["USD"] == Decimal("70000")


def test_prices_list_fresh_pairs_only(settings):
    spot_rates_refresh()
    _age(seconds=settings.RATES_MAX_AGE_SECONDS + 1, crypto="LTC")

    rates = prices_get().rates

    assert set(rates) == {"BTC", "BCH", "BSV", "DOGE"}
    assert set(rates["BTC"]) == {"USD", "EUR", "GBP", "CAD", "AUD", "CHF", "JPY"}
    assert rates["BTC"]["EUR"] == exact_18(Fraction(65000) / Fraction("1.08"))
    assert rates["DOGE"]["USD"] == Decimal("0.12")


def test_a_refresh_reaches_the_very_next_quote(settings):
    spot_rates_refresh()
    assert quote_get(crypto="BTC", fiat="USD").rate == Decimal("65000")
    settings.RATES_FIXED_USD = {**settings.RATES_FIXED_USD, "BTC": "70000"}

    spot_rates_refresh()

    assert quote_get(crypto="BTC", fiat="USD").rate == Decimal("70000")


def test_a_rate_reused_between_quotes_still_goes_stale_on_the_clock(settings, monkeypatch):
    settings.RATES_QUOTE_CACHE_SECONDS = 3600
    spot_rates_refresh()
    assert quote_get(crypto="BTC", fiat="USD").rate == Decimal("65000")
    later = timezone.now() + timedelta(seconds=settings.RATES_MAX_AGE_SECONDS + 1)

    monkeypatch.setattr(timezone, "now", lambda: later)

    with pytest.raises(RateUnavailable, match="^no fresh spot rate for BTC/USD$"):
        quote_get(crypto="BTC", fiat="USD")
