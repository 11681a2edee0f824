"""Every live provider's recorded answer goes through the real refresh: medians, outliers, crosses, fiat references."""

import logging
from decimal import Decimal
from fractions import Fraction

import pytest

from rates.fiat import FIATS
from rates.models import SpotRate
from rates.selectors import quote_get
from rates.services import spot_rates_refresh
from tests.rates.helpers import exact_18
from tests.rates.recorded_server import PROVIDERS, recording

pytestmark = pytest.mark.django_db

COIN_SOURCES = ["bitfinex", "bitstamp", "coinbase", "coingecko", "kraken"]
ECB_USD_PER = {"EUR": Fraction("1.0823"), "GBP": Fraction("1.0823") / Fraction("0.85186"),
               "INR": Fraction("1.0823") / Fraction("91.3240")}


def stored(crypto: str, fiat: str) -> SpotRate:
    return SpotRate.objects.get(crypto=crypto, fiat=fiat)


def only(settings, *names: str) -> None:
    settings.RATES_PROVIDERS = [PROVIDERS[name] for name in names]


def test_each_pair_is_the_median_of_every_source_that_quotes_it(recorded):
    spot_rates_refresh()

    btc_usd = stored("BTC", "USD")
    # bitstamp 64244, coingecko 64253.2125, kraken 64256.425, coinbase 64262.85, bitfinex 64269.3
    assert btc_usd.rate == Decimal("64256.425")
    assert btc_usd.sources == COIN_SOURCES
    eur_usd = stored("EUR", "USD")
    # coinbase 1/0.9241 = 1.08213..., ecb 1.0823, bitstamp 1.08235
    assert eur_usd.rate == Decimal("1.0823")
    assert eur_usd.sources == ["bitstamp", "coinbase", "ecb"]
    assert stored("BSV", "USD").sources == ["bitfinex", "coingecko"]
    assert stored("BTC", "INR").sources == ["coinbase", "coingecko"]


def test_every_coin_is_priced_in_every_fiat_of_the_registry(recorded):
    spot_rates_refresh()

    pairs = set(SpotRate.objects.values_list("crypto", "fiat"))
    assert {(coin, fiat) for coin in ("BTC", "LTC", "BCH", "BSV", "DOGE") for fiat in FIATS} <= pairs
    assert {(fiat, "USD") for fiat in FIATS if fiat != "USD"} <= pairs


def test_usd_spot_rate_comes_from_the_fiat_reference_for_every_fiat_a_provider_covers(recorded):
    spot_rates_refresh()

    for fiat in FIATS:
        quote = quote_get(crypto="BTC", fiat=fiat)
        expected = Decimal(1) if fiat == "USD" else stored(fiat, "USD").rate
        assert quote.usd_spot_rate == expected, fiat
    assert stored("AED", "USD").sources == ["coinbase"]  # the ECB does not publish AED
    assert stored("AED", "USD").rate == exact_18(1 / Fraction("3.6729"))


def test_a_source_far_from_the_median_is_dropped_and_the_median_recomputed(recorded, caplog):
    recorded.bodies["kraken-ticker.json"] = recording("kraken-ticker.json").replace('"64256.42500",', '"70000.00000",')

    with caplog.at_level(logging.WARNING, logger="rates.aggregation"):
        spot_rates_refresh()

    btc_usd = stored("BTC", "USD")
    assert btc_usd.sources == ["bitfinex", "bitstamp", "coinbase", "coingecko"]
    assert btc_usd.rate == exact_18((Fraction("64253.2125") + Fraction("64262.85")) / 2) == Decimal("64258.03125")
    assert "rates BTC/USD: dropped kraken at 70000, over 5% from the median 64262.85" in caplog.text
    assert stored("BTC", "EUR").sources == COIN_SOURCES


def test_a_source_within_the_limit_stays(recorded, settings):
    settings.RATES_OUTLIER_PERCENT = Decimal("10")
    recorded.bodies["kraken-ticker.json"] = recording("kraken-ticker.json").replace('"64256.42500",', '"70000.00000",')

    spot_rates_refresh()

    assert stored("BTC", "USD").sources == COIN_SOURCES
    assert stored("BTC", "USD").rate == Decimal("64262.85")


def test_a_pair_with_too_few_sources_is_skipped_and_logged(recorded, settings, caplog):
    settings.RATES_MIN_SOURCES = 3

    with caplog.at_level(logging.WARNING, logger="rates.aggregation"):
        spot_rates_refresh()

    assert not SpotRate.objects.filter(crypto="BSV").exists()
    assert "rates BSV/USD: skipped, 2 source(s) ['bitfinex', 'coingecko'] where 3 are required" in caplog.text
    assert stored("BTC", "USD").sources == COIN_SOURCES


def test_a_pair_no_source_quotes_is_crossed_through_usd_to_the_last_digit(recorded, settings):
    only(settings, "kraken", "ecb")

    spot_rates_refresh()

    doge_inr = stored("DOGE", "INR")
    doge_usd = stored("DOGE", "USD").rate
    inr_usd = stored("INR", "USD").rate
    assert doge_usd == Decimal("0.1234123")
    assert inr_usd == exact_18(ECB_USD_PER["INR"])
    assert doge_inr.rate == exact_18(Fraction(doge_usd) / Fraction(inr_usd))
    assert doge_inr.sources == ["kraken", "ecb (cross via USD)"]
    assert stored("DOGE", "EUR").sources == ["kraken"]  # quoted directly (XDGEUR): not crossed


@pytest.mark.parametrize(("coin", "fiat", "coin_usd"), [("DOGE", "EUR", "0.12344"), ("BSV", "GBP", "46.194")])
def test_the_issues_examples_cross_exactly(recorded, settings, coin, fiat, coin_usd):
    only(settings, "bitfinex", "ecb")

    spot_rates_refresh()

    crossed = stored(coin, fiat)
    assert crossed.rate == exact_18(Fraction(coin_usd) / Fraction(exact_18(ECB_USD_PER[fiat])))
    assert crossed.sources == ["bitfinex", "ecb (cross via USD)"]
    quote = quote_get(crypto=coin, fiat=fiat)
    assert quote.rate == crossed.rate
    assert quote.usd_spot_rate == exact_18(ECB_USD_PER[fiat])


def test_a_cross_names_every_source_of_both_legs(recorded, settings):
    only(settings, "kraken", "bitfinex", "bitstamp", "coinbase", "ecb")
    recorded.bodies["coinbase-exchange-rates-BTC.json"] = '{"data": {"currency": "BTC", "rates": {}}}'

    spot_rates_refresh()

    btc_inr = stored("BTC", "INR")
    inr_usd = stored("INR", "USD")
    assert inr_usd.sources == ["coinbase", "ecb"]
    assert btc_inr.sources == ["bitfinex", "bitstamp", "kraken", "coinbase (cross via USD)", "ecb (cross via USD)"]
    assert btc_inr.rate == exact_18(Fraction(stored("BTC", "USD").rate) / Fraction(inr_usd.rate))
