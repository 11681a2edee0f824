import pytest

from rates.errors import UnknownFiat
from rates.fiat import FIATS, fiat_get, fiat_list


def test_fiat_get_is_case_insensitive():
    assert fiat_get("eur") is fiat_get("EUR")
    assert fiat_get(" Jpy ").code == "JPY"


def test_detail_has_gocoins_shape():
    assert fiat_get("EUR").detail() == {
        "id": "EUR",
        "name": "Euro",
        "symbol": "€",
        "is_crypto": False,
        "sort_order": 101,
        "precision": 2,
        "aliases": [],
    }


def test_zero_decimal_currencies_have_precision_zero():
    assert fiat_get("JPY").precision == 0
    assert fiat_get("KRW").precision == 0
    assert fiat_get("USD").precision == 2


def test_registry_covers_the_required_currencies_and_sorts_after_cryptos():
    required = (
        "USD EUR GBP CAD AUD CHF JPY CNY NZD SEK NOK DKK PLN CZK HUF MXN BRL INR KRW SGD HKD ZAR "
        "TRY ILS THB PHP IDR MYR AED"
    ).split()
    assert set(required) <= set(FIATS)
    orders = [fiat.sort_order for fiat in fiat_list()]
    assert min(orders) >= 100
    assert orders == sorted(set(orders))


@pytest.mark.parametrize("code", ["XYZ", "BTC", ""])
def test_unknown_code_raises_unknown_fiat(code):
    with pytest.raises(UnknownFiat) as caught:
        fiat_get(code)
    assert caught.value.message == f"unknown currency {code}"
    assert str(caught.value) == f"unknown currency {code}"
