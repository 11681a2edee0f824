from decimal import Decimal

import pytest

from chain.currencies import COINS, coin_codes, coin_get
from chain.errors import ChainError, UnknownCurrency


def test_codes_are_in_display_order():
    assert coin_codes() == ["BTC", "LTC", "DOGE", "BCH", "BSV"]


@pytest.mark.parametrize(
    "given, code", [("BTC", "BTC"), ("btc", "BTC"), ("XBT", "BTC"), ("xdg", "DOGE"), (" Doge ", "DOGE")]
)
def test_coins_are_found_by_code_or_alias_in_any_case(given, code):
    assert coin_get(given).code == code


@pytest.mark.parametrize("given", ["XYZ", "", "USD", None])
def test_unknown_currencies_are_refused(given):
    with pytest.raises(UnknownCurrency) as exc:
        coin_get(given)
    assert isinstance(exc.value, ChainError)
    assert "not a supported currency" in exc.value.message


def test_btc_detail_is_gocoins_currency_object():
    assert coin_get("BTC").detail() == {
        "id": "BTC",
        "name": "Bitcoin",
        "symbol": "Ƀ",
        "is_crypto": True,
        "sort_order": 1,
        "precision": 8,
        "aliases": ["XBT"],
    }


def test_every_coin_has_eight_decimals_and_all_three_networks():
    for coin in COINS.values():
        assert coin.decimals == 8
        assert set(coin.networks) == {"mainnet", "testnet", "regtest"}


@pytest.mark.parametrize(
    "code, scheme, uri_scheme", [
        ("BTC", "p2wpkh", "bitcoin"),
        ("LTC", "p2wpkh", "litecoin"),
        ("BCH", "cashaddr", "bitcoincash"),
        ("BSV", "p2pkh", "bitcoin"),
        ("DOGE", "p2pkh", "dogecoin"),
    ],
)
def test_address_and_uri_schemes(code, scheme, uri_scheme):
    coin = coin_get(code)
    assert (coin.scheme, coin.uri_scheme) == (scheme, uri_scheme)


def test_base_units_become_exact_decimals_with_full_precision():
    btc = coin_get("BTC")
    assert btc.to_decimal(100) == Decimal("0.00000100")
    assert str(btc.to_decimal(100)) == "0.00000100"
    assert str(btc.to_decimal(2_100_000_000_000_000)) == "21000000.00000000"
    assert btc.format(19195600) == "0.19195600"


@pytest.mark.parametrize(
    "amount, base_units",
    [(Decimal("0.191956"), 19195600), ("0.00000001", 1), ("21000000", 2_100_000_000_000_000), (3, 300_000_000)],
)
def test_amounts_become_exact_base_units(amount, base_units):
    assert coin_get("BTC").to_base_units(amount) == base_units


@pytest.mark.parametrize("amount", ["0.000000001", "NaN", "Infinity", "ten"])
def test_amounts_finer_than_a_satoshi_or_not_numbers_are_refused(amount):
    with pytest.raises(ValueError):
        coin_get("BTC").to_base_units(amount)


def test_floats_are_never_money():
    with pytest.raises(TypeError):
        coin_get("BTC").to_base_units(0.1)
    with pytest.raises(TypeError):
        coin_get("BTC").to_decimal(1.0)


def test_payment_uri_uses_the_coins_scheme_and_trims_the_amount():
    address = "bc1qcr8te4kr609gcawutmrza0j4xv80jy8z306fyu"
    uri = coin_get("BTC").uri(address, 19195600, label="Payment to Alice's Shop")
    assert uri == f"bitcoin:{address}?amount=0.191956&label=Payment%20to%20Alice%27s%20Shop"


@pytest.mark.parametrize("prefix", ["bitcoincash", "bchtest", "bchreg"])
def test_cashaddr_uris_keep_the_address_prefix_as_their_scheme(prefix):
    address = f"{prefix}:qqyx49mu0kkn9ftfj6hje6g2wfer34yfnq5tahq3q6"
    assert coin_get("BCH").uri(address, 100_000_000) == f"{address}?amount=1"


def test_uri_without_amount_is_the_bare_address():
    assert coin_get("DOGE").uri("DBus3bamQjgJULBJtYXpEzDWQRwF5iwxgC") == "dogecoin:DBus3bamQjgJULBJtYXpEzDWQRwF5iwxgC"
