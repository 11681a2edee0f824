"""A merchant's spread lowers the rate its quotes use, so the customer pays that much more crypto."""

import math
from decimal import Decimal
from fractions import Fraction

import pytest
from django.core.exceptions import ValidationError
from django.db import IntegrityError, transaction

from merchants.models import Merchant
from rates.selectors import price_in_base_units, quote_get
from rates.services import spot_rates_refresh
from tests.rates.helpers import exact_18

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def fixed_rates():
    spot_rates_refresh()


def test_the_spread_lowers_the_rate_by_its_percentage_exactly():
    market = quote_get(crypto="BTC", fiat="EUR")

    quote = quote_get(crypto="BTC", fiat="EUR", spread_percent=Decimal("1.5"))

    assert quote.market_rate == market.rate == exact_18(Fraction(65000) / Fraction("1.08"))
    assert quote.rate == exact_18(Fraction(market.rate) * Fraction("98.5") / 100)
    assert quote.spread_percent == Decimal("1.5")
    assert quote.spot_rate == exact_18(1 / Fraction(quote.rate))
    assert quote.usd_spot_rate == market.usd_spot_rate == Decimal("1.08")
    assert quote.sources == market.sources


def test_the_customer_pays_more_crypto_by_the_spread():
    market = quote_get(crypto="BTC", fiat="USD")
    spread = quote_get(crypto="BTC", fiat="USD", spread_percent=Decimal("2"))

    plain_units = price_in_base_units(amount=Decimal("134.00"), rate=market.rate, decimals=8)
    spread_units = price_in_base_units(amount=Decimal("134.00"), rate=spread.rate, decimals=8)

    assert spread.rate == Decimal("63700")
    assert plain_units == math.ceil(Fraction("134") * 10**8 / 65000) == 206154
    assert spread_units == math.ceil(Fraction("134") * 10**8 / 63700) == 210362


def test_no_spread_is_the_market_rate():
    quote = quote_get(crypto="DOGE", fiat="JPY", spread_percent=Decimal(0))

    assert quote.rate == quote.market_rate


@pytest.mark.parametrize("spread", [Decimal("-0.01"), Decimal("100"), Decimal("NaN")])
def test_a_spread_outside_0_to_100_is_refused(spread):
    with pytest.raises(ValueError, match="spread_percent must be at least 0 and below 100"):
        quote_get(crypto="BTC", fiat="USD", spread_percent=spread)


def test_a_float_spread_is_refused():
    with pytest.raises(TypeError):
        quote_get(crypto="BTC", fiat="USD", spread_percent=1.5)


def test_a_merchants_spread_defaults_to_zero_and_stays_below_100():
    merchant = Merchant.objects.create(name="Shop")
    assert merchant.rate_spread_percent == Decimal(0)

    merchant.rate_spread_percent = Decimal("100.00")
    with pytest.raises(ValidationError):
        merchant.full_clean()
    with pytest.raises(IntegrityError), transaction.atomic():
        merchant.save()

    merchant.rate_spread_percent = Decimal("99.99")
    merchant.full_clean()
    merchant.save()
    assert quote_get(crypto="BTC", fiat="USD", spread_percent=merchant.rate_spread_percent).rate == Decimal("6.5")


def test_the_spread_is_shown_in_the_merchant_admin(client, django_user_model):
    merchant = Merchant.objects.create(name="Shop", rate_spread_percent=Decimal("1.25"))
    client.force_login(django_user_model.objects.create_superuser(username="root", email="root@example.com", password="pw"))

    assert "1.25" in client.get("/admin/merchants/merchant/").content.decode()
    assert 'name="rate_spread_percent"' in client.get(f"/admin/merchants/merchant/{merchant.id}/change/").content.decode()
