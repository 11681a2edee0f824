import logging
from decimal import Decimal
from fractions import Fraction
from io import StringIO

import pytest
from django.core.management import call_command

from rates.models import SpotRate
from rates.providers.base import ProviderRate, RateProvider
from rates.services import spot_rates_refresh
from rates.tasks import spot_rates_refresh_task
from tests.rates.helpers import exact_18

pytestmark = pytest.mark.django_db

FIXED = "rates.providers.fixed.FixedRateProvider"
CRYPTOS = {"BTC", "LTC", "BCH", "BSV", "DOGE"}
FIATS = {"USD", "EUR", "GBP", "CAD", "AUD", "CHF", "JPY"}


class FailingProvider(RateProvider):
    name = "failing"

    def fetch(self) -> list[ProviderRate]:
        raise ConnectionError("exchange is down")


class HighProvider(RateProvider):
    name = "high"

    def fetch(self) -> list[ProviderRate]:
        return [ProviderRate(crypto="BTC", fiat="USD", rate=Decimal("66000"))]


class HigherProvider(RateProvider):
    name = "higher"

    def fetch(self) -> list[ProviderRate]:
        return [ProviderRate(crypto="BTC", fiat="USD", rate=Decimal("70000.5"))]


class JunkProvider(RateProvider):
    name = "junk"

    def fetch(self) -> list[ProviderRate]:
        return [
            ProviderRate(crypto="BTC", fiat="XYZ", rate=Decimal("1")),
            ProviderRate(crypto="BTC", fiat="EUR", rate=Decimal("-5")),
            ProviderRate(crypto="BTC", fiat="GBP", rate=Decimal("NaN")),
            ProviderRate(crypto="BTC", fiat="CAD", rate=Decimal("1E+30")),
            ProviderRate(crypto="btc", fiat="chf", rate=Decimal("1")),
        ]


def test_refresh_stores_every_crypto_against_every_fiat_with_its_source():
    written = spot_rates_refresh()

    assert written == len(CRYPTOS) * len(FIATS)
    rows = list(SpotRate.objects.all())
    assert {(row.crypto, row.fiat) for row in rows} == {(c, f) for c in CRYPTOS for f in FIATS}
    assert all(row.sources == ["fixed"] for row in rows)
    assert len({row.fetched_at for row in rows}) == 1


def test_refresh_crosses_the_fixed_table_through_usd_exactly():
    spot_rates_refresh()

    btc_eur = SpotRate.objects.get(crypto="BTC", fiat="EUR").rate
    doge_jpy = SpotRate.objects.get(crypto="DOGE", fiat="JPY").rate
    assert btc_eur == exact_18(Fraction(65000) / Fraction("1.08")) == Decimal("60185.185185185185185185")
    assert doge_jpy == exact_18(Fraction("0.12") / Fraction("0.0067"))
    assert SpotRate.objects.get(crypto="BTC", fiat="USD").rate == Decimal("65000")


def test_a_failing_provider_does_not_stop_the_others(settings, caplog):
    settings.RATES_PROVIDERS = ["tests.rates.test_refresh.FailingProvider", FIXED]

    with caplog.at_level(logging.ERROR, logger="rates.services"):
        written = spot_rates_refresh()

    assert written == len(CRYPTOS) * len(FIATS)
    assert SpotRate.objects.exclude(sources=["fixed"]).count() == 0
    assert "rate provider failing failed" in caplog.text


def test_only_failing_providers_store_nothing(settings):
    settings.RATES_PROVIDERS = ["tests.rates.test_refresh.FailingProvider"]

    assert spot_rates_refresh() == 0
    assert not SpotRate.objects.exists()


def test_two_providers_give_the_mean_of_the_middle_pair(settings):
    settings.RATES_PROVIDERS = [FIXED, "tests.rates.test_refresh.HighProvider"]

    spot_rates_refresh()

    btc_usd = SpotRate.objects.get(crypto="BTC", fiat="USD")
    assert btc_usd.rate == Decimal("65500")
    assert btc_usd.sources == ["fixed", "high"]
    assert SpotRate.objects.get(crypto="LTC", fiat="USD").sources == ["fixed"]


def test_three_providers_give_the_middle_value(settings):
    settings.RATES_OUTLIER_PERCENT = Decimal("10")
    settings.RATES_PROVIDERS = [
        "tests.rates.test_refresh.HigherProvider",
        FIXED,
        "tests.rates.test_refresh.HighProvider",
    ]

    spot_rates_refresh()

    btc_usd = SpotRate.objects.get(crypto="BTC", fiat="USD")
    assert btc_usd.rate == Decimal("66000")
    assert btc_usd.sources == ["fixed", "high", "higher"]


def test_rates_that_fail_verification_are_dropped(settings):
    settings.RATES_PROVIDERS = ["tests.rates.test_refresh.JunkProvider"]

    assert spot_rates_refresh() == 1
    row = SpotRate.objects.get()
    assert (row.crypto, row.fiat, row.rate) == ("BTC", "CHF", Decimal("1"))


def test_task_runs_the_refresh():
    assert spot_rates_refresh_task.name == "rates.tasks.spot_rates_refresh_task"
    assert spot_rates_refresh_task.apply().get() == len(CRYPTOS) * len(FIATS)
    assert SpotRate.objects.count() == len(CRYPTOS) * len(FIATS)


def test_command_reports_count_and_the_offline_table():
    out = StringIO()

    call_command("refresh_rates", stdout=out)

    assert "Stored 35 spot rates." in out.getvalue()
    assert "fixed offline table" in out.getvalue()


def test_command_does_not_claim_offline_table_with_other_providers(settings):
    settings.RATES_PROVIDERS = [FIXED, "tests.rates.test_refresh.HighProvider"]
    out = StringIO()

    call_command("refresh_rates", stdout=out)

    assert "Stored 35 spot rates." in out.getvalue()
    assert "fixed offline table" not in out.getvalue()
