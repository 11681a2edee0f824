"""The platform operator pins a rate for a pair in a crisis; it overrides the market until it expires or is ended."""

from datetime import timedelta
from decimal import Decimal

import pytest
from django.core.exceptions import ValidationError
from django.utils import timezone

from rates.errors import RateUnavailable
from rates.models import ManualRate, SpotRate
from rates.selectors import prices_get, quote_get
from rates.services import manual_rate_end, manual_rate_pin, spot_rates_refresh

pytestmark = pytest.mark.django_db

MARKET_BTC_USD = Decimal("64256.425")


@pytest.fixture
def operator(django_user_model):
    return django_user_model.objects.create_superuser(username="operator", email="ops@example.com", password="pw")


def pin(operator, **overrides) -> ManualRate:
    values = {
        "crypto": "BTC",
        "fiat": "USD",
        "rate": Decimal("60000"),
        "expires_at": timezone.now() + timedelta(hours=1),
        "reason": "exchange halted",
        "created_by": operator,
    }
    return manual_rate_pin(**{**values, **overrides})


def let_expire(manual: ManualRate) -> None:
    past = timezone.now() - timedelta(seconds=1)
    ManualRate.objects.filter(pk=manual.pk).update(expires_at=past)
    SpotRate.objects.filter(crypto=manual.crypto, fiat=manual.fiat, sources=["manual"]).update(expires_at=past)


def test_a_pin_takes_effect_at_once(recorded, operator):
    spot_rates_refresh()

    pin(operator)

    quote = quote_get(crypto="btc", fiat="usd")
    assert quote.rate == Decimal("60000")
    assert quote.sources == ["manual"]
    assert prices_get().rates["BTC"]["USD"] == Decimal("60000")


def test_a_pin_overrides_the_aggregate_on_every_refresh(recorded, operator):
    pin(operator)

    spot_rates_refresh()

    assert quote_get(crypto="BTC", fiat="USD").rate == Decimal("60000")
    latest_two = list(SpotRate.objects.filter(crypto="BTC", fiat="USD").order_by("-fetched_at", "-id")[:2])
    assert [row.sources for row in latest_two] == [["manual"], ["bitfinex", "bitstamp", "coinbase", "coingecko", "kraken"]]
    assert latest_two[1].rate == MARKET_BTC_USD  # the market is still recorded beside the pin
    assert quote_get(crypto="BTC", fiat="EUR").sources != ["manual"]  # a pin is for its pair only


def test_an_expired_pin_gives_way_to_the_market_rate(recorded, operator):
    manual = pin(operator)
    spot_rates_refresh()

    let_expire(manual)

    quote = quote_get(crypto="BTC", fiat="USD")
    assert quote.rate == MARKET_BTC_USD
    assert "manual" not in quote.sources
    spot_rates_refresh()
    assert SpotRate.objects.filter(sources=["manual"]).count() == 2  # no new pinned row after the expiry


def test_an_expired_pin_with_no_market_rate_leaves_no_rate(operator, settings):
    settings.RATES_PROVIDERS = ["tests.rates.test_refresh.FailingProvider"]
    manual = pin(operator)

    let_expire(manual)

    with pytest.raises(RateUnavailable, match="no fresh spot rate for BTC/USD"):
        quote_get(crypto="BTC", fiat="USD")


def test_ending_a_pin_returns_to_the_market_at_once(recorded, operator):
    manual = pin(operator)
    spot_rates_refresh()

    manual_rate_end(manual=manual)

    assert quote_get(crypto="BTC", fiat="USD").rate == MARKET_BTC_USD
    assert not ManualRate.objects.get(pk=manual.pk).is_active


@pytest.mark.parametrize(
    ("overrides", "field"),
    [
        ({"crypto": "EUR", "fiat": "GBP"}, "fiat"),
        ({"fiat": "XYZ"}, "fiat"),
        ({"rate": Decimal("0")}, "rate"),
        ({"expires_at": timezone.now() - timedelta(minutes=1)}, "expires_at"),
        ({"reason": ""}, "reason"),
    ],
)
def test_a_nonsense_pin_is_refused(operator, overrides, field):
    with pytest.raises(ValidationError) as caught:
        pin(operator, **overrides)

    assert field in caught.value.message_dict
    assert not SpotRate.objects.exists()


def test_a_second_pin_for_the_same_pair_is_refused_until_the_first_ends(operator):
    first = pin(operator)

    with pytest.raises(ValidationError, match="a pin for BTC/USD is active"):
        pin(operator, rate=Decimal("61000"))

    manual_rate_end(manual=first)
    assert pin(operator, rate=Decimal("61000")).rate == Decimal("61000")


def test_the_operator_pins_and_ends_a_rate_in_the_admin(client, operator, recorded):
    spot_rates_refresh()
    client.force_login(operator)
    expires = timezone.now() + timedelta(hours=2)

    response = client.post(
        "/admin/rates/manualrate/add/",
        {"crypto": "btc", "fiat": "eur", "rate": "55000.5", "expires_at_0": expires.strftime("%Y-%m-%d"),
         "expires_at_1": expires.strftime("%H:%M:%S"), "reason": "EUR books frozen"},
    )

    assert response.status_code == 302, response.content.decode()[:2000]
    manual = ManualRate.objects.get()
    assert (manual.crypto, manual.fiat, manual.rate, manual.created_by) == ("BTC", "EUR", Decimal("55000.5"), operator)
    assert quote_get(crypto="BTC", fiat="EUR").rate == Decimal("55000.5")
    assert "EUR books frozen" in client.get("/admin/rates/manualrate/").content.decode()

    client.post("/admin/rates/manualrate/", {"action": "end_now", "_selected_action": [manual.pk]})

    assert quote_get(crypto="BTC", fiat="EUR").sources != ["manual"]
    assert "manual" in client.get("/admin/rates/spotrate/").content.decode()
