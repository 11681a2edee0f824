"""Each provider's real code reads its recorded real-format response, served over HTTP from 127.0.0.1."""

import logging
from decimal import Decimal
from fractions import Fraction

import pytest
from django.utils.module_loading import import_string

from rates.errors import ProviderError
from rates.fiat import FIATS
from rates.providers import http
from tests.rates.helpers import exact_18
from tests.rates.recorded_server import PROVIDERS, REDIRECT, UNSIZED, recording

REGISTRY_BUT_USD = len(FIATS) - 1


def fetch(name: str) -> dict[tuple[str, str], Decimal]:
    rates = import_string(PROVIDERS[name])().fetch()
    as_dict = {(item.crypto, item.fiat): item.rate for item in rates}
    assert len(as_dict) == len(rates), "a pair reported twice"
    assert all(isinstance(rate, Decimal) for rate in as_dict.values())
    return as_dict


def test_coinbase_gives_fiat_per_coin_and_usd_per_fiat(recorded):
    rates = fetch("coinbase")

    assert rates[("BTC", "USD")] == Decimal("64262.85")
    assert rates[("BTC", "AED")] == Decimal("236005.32")
    assert rates[("BTC", "KRW")] == Decimal("89798174")
    assert rates[("DOGE", "EUR")] == Decimal("0.114039")
    # The USD table says 0.9241 EUR per USD; the reference rate is USD per EUR.
    assert rates[("EUR", "USD")] == exact_18(1 / Fraction("0.9241"))
    assert rates[("AED", "USD")] == exact_18(1 / Fraction("3.6729"))
    assert len(rates) == 4 * len(FIATS) + REGISTRY_BUT_USD
    assert not {pair for pair in rates if "AFN" in pair or "ETH" in pair or "XAU" in pair or "BSV" in pair}
    assert sorted(recorded.requests) == [f"/coinbase/v2/exchange-rates?currency={code}" for code in ("BCH", "BTC", "DOGE", "LTC", "USD")]


def test_kraken_maps_its_pair_names_to_ours(recorded):
    rates = fetch("kraken")

    assert rates[("BTC", "USD")] == Decimal("64256.42500")  # XXBTZUSD, last trade
    assert rates[("BTC", "JPY")] == Decimal("9715348")  # XXBTZJPY
    assert rates[("DOGE", "USD")] == Decimal("0.1234123")  # XDGUSD
    assert rates[("BCH", "GBP")] == Decimal("277.40")
    assert len(rates) == 15
    assert recorded.requests[0].startswith("/kraken/0/public/Ticker?pair=XBTUSD%2CXBTEUR%2C")


def test_kraken_answering_under_an_older_canonical_name_is_understood(recorded):
    recorded.bodies["kraken-ticker.json"] = recording("kraken-ticker.json").replace('"XDGUSD"', '"XXDGZUSD"')

    assert fetch("kraken")[("DOGE", "USD")] == Decimal("0.1234123")


def test_bitstamp_keeps_coin_markets_and_fiat_markets_against_usd(recorded):
    rates = fetch("bitstamp")

    assert rates[("BTC", "USD")] == Decimal("64244")
    assert rates[("DOGE", "EUR")] == Decimal("0.11401")
    assert rates[("EUR", "USD")] == Decimal("1.08235")
    assert rates[("GBP", "USD")] == Decimal("1.27058")
    assert len(rates) == 13
    assert not {pair for pair in rates if pair[0] in ("ETH", "XRP", "USDC")}


def test_bitfinex_reads_last_price_of_its_symbols(recorded):
    rates = fetch("bitfinex")

    assert rates[("BTC", "USD")] == Decimal("64269.3")
    assert rates[("BCH", "USD")] == Decimal("352.51")  # tBCHN:USD
    assert rates[("DOGE", "USD")] == Decimal("0.12344")  # tDOGE:USD
    assert rates[("BSV", "USD")] == Decimal("46.194")
    assert len(rates) == 8


def test_coingecko_numbers_are_exact_decimals_not_floats(recorded):
    rates = fetch("coingecko")

    assert rates[("BSV", "EUR")] == Decimal("42.67052480827867")
    assert rates[("DOGE", "USD")] == Decimal("0.12340617")
    assert len(rates) == 5 * len(FIATS)


def test_ecb_gives_usd_per_fiat_rounded_once(recorded):
    rates = fetch("ecb")

    assert rates[("EUR", "USD")] == Decimal("1.0823")
    assert rates[("INR", "USD")] == exact_18(Fraction("1.0823") / Fraction("91.3240"))
    assert rates[("GBP", "USD")] == exact_18(Fraction("1.0823") / Fraction("0.85186"))
    assert ("AED", "USD") not in rates  # the ECB does not publish it
    assert len(rates) == 27


@pytest.mark.parametrize(
    ("name", "file", "recorded_value", "bad_value", "pair", "logged"),
    [
        ("kraken", "kraken-ticker.json", '"64256.42500",', '"-64256.42500",', ("BTC", "USD"), "BTC/USD: '-64256.42500'"),
        ("bitstamp", "bitstamp-ticker.json", '"last": "64244"', '"last": "n/a"', ("BTC", "USD"), "BTC/USD: 'n/a'"),
        ("bitfinex", "bitfinex-tickers.json", "64269.3,1834.0921", "0,1834.0921", ("BTC", "USD"), "BTC/USD: 0 is not"),
        ("coingecko", "coingecko-simple-price.json", '"usd":0.12340617', '"usd":"lots"', ("DOGE", "USD"), "DOGE/USD: 'lots'"),
        ("coinbase", "coinbase-exchange-rates-BTC.json", '"USD":"64262.85"', '"USD":"6.4E+4"', ("BTC", "USD"), "BTC/USD: '6.4E+4'"),
        ("ecb", "ecb-eurofxref-daily.xml", "rate='91.3240'", "rate='NaN'", ("INR", "USD"), "EUR/INR: 'NaN'"),
    ],
)
def test_a_bad_value_drops_only_its_pair_with_a_logged_reason(recorded, caplog, name, file, recorded_value, bad_value, pair, logged):
    original = recording(file)
    assert original.count(recorded_value) == 1
    recorded.bodies[file] = original.replace(recorded_value, bad_value)

    with caplog.at_level(logging.WARNING, logger="rates.providers"):
        rates = fetch(name)

    assert pair not in rates
    assert len(rates) > 5
    assert f"rate provider {name}: dropped {logged}" in caplog.text


def test_a_missing_field_drops_the_pair(recorded, caplog):
    recorded.bodies["kraken-ticker.json"] = recording("kraken-ticker.json").replace('"c": [\n        "64256.42500",', '"x": [\n        "64256.42500",')

    with caplog.at_level(logging.WARNING, logger="rates.providers"):
        rates = fetch("kraken")

    assert ("BTC", "USD") not in rates
    assert ("BTC", "EUR") in rates
    assert "rate provider kraken: dropped BTC/USD: missing" in caplog.text


def test_kraken_error_array_fails_the_fetch(recorded):
    recorded.bodies["kraken-ticker.json"] = '{"error": ["EQuery:Unknown asset pair"]}'

    with pytest.raises(ProviderError, match="EQuery:Unknown asset pair"):
        fetch("kraken")


def test_bitfinex_error_answer_fails_the_fetch(recorded):
    recorded.bodies["bitfinex-tickers.json"] = '["error", 10020, "symbol: invalid"]'

    with pytest.raises(ProviderError, match="symbol: invalid"):
        fetch("bitfinex")


def test_coinbase_table_for_the_wrong_currency_is_refused(recorded, caplog):
    recorded.bodies["coinbase-exchange-rates-LTC.json"] = recording("coinbase-exchange-rates-BTC.json")

    with caplog.at_level(logging.WARNING, logger="rates.providers"):
        rates = fetch("coinbase")

    assert "LTC" not in {crypto for crypto, _ in rates}
    assert rates[("BTC", "USD")] == Decimal("64262.85")
    assert "rate provider coinbase: LTC rates skipped: asked for LTC rates, got 'BTC'" in caplog.text


def test_a_response_of_the_wrong_shape_fails_the_fetch(recorded):
    recorded.bodies["coingecko-simple-price.json"] = "[1, 2, 3]"

    with pytest.raises(ProviderError, match="expected the response to be an object, got list"):
        fetch("coingecko")


def test_ecb_xml_with_a_dtd_is_refused(recorded):
    recorded.bodies["ecb-eurofxref-daily.xml"] = '<?xml version="1.0"?><!DOCTYPE x [<!ENTITY a "aaaa">]>' + recording("ecb-eurofxref-daily.xml").split("?>", 1)[1]

    with pytest.raises(ProviderError, match="DTD"):
        fetch("ecb")


def test_json_constants_that_are_not_numbers_are_refused(recorded):
    recorded.bodies["bitfinex-tickers.json"] = '[["tBTCUSD",1,1,1,1,1,1,NaN,1,1,1]]'

    with pytest.raises(ProviderError, match="malformed JSON.*NaN is not a number"):
        fetch("bitfinex")


@pytest.mark.parametrize("sized", [True, False])
def test_a_response_over_the_size_cap_is_refused(recorded, monkeypatch, sized):
    monkeypatch.setattr(http, "MAX_RESPONSE_BYTES", 1000)
    if not sized:
        recorded.faults["kraken"] = UNSIZED

    with pytest.raises(ProviderError, match="over 1000 bytes"):
        fetch("kraken")


def test_a_response_without_a_declared_size_is_read_to_the_end(recorded):
    recorded.faults["kraken"] = UNSIZED

    assert fetch("kraken")[("BTC", "USD")] == Decimal("64256.42500")


def test_redirects_are_not_followed(recorded):
    recorded.faults["kraken"] = REDIRECT

    with pytest.raises(ProviderError, match="HTTP 302"):
        fetch("kraken")

    assert len(recorded.requests) == 1
