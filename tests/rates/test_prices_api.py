"""GET /api/v1/prices: public, cacheable spot rates in GoCoin's shape."""

import re
from datetime import timedelta
from decimal import Decimal

import pytest
from django.utils import timezone

from rates.models import SpotRate
from rates.services import spot_rates_refresh

pytestmark = pytest.mark.django_db


def test_anyone_gets_the_prices_without_a_token(client):
    spot_rates_refresh()

    response = client.get("/api/v1/prices")

    assert response.status_code == 200
    assert response["Cache-Control"] == "public, max-age=60"
    body = response.json()
    assert set(body) == {"timestamp", "prices"}
    assert re.fullmatch(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z", body["timestamp"])
    assert set(body["prices"]) == {"BTC", "LTC", "BCH", "BSV", "DOGE"}
    assert set(body["prices"]["BTC"]) == {"USD", "EUR", "GBP", "CAD", "AUD", "CHF", "JPY"}
    assert body["prices"]["BTC"]["USD"] == "65000.0"
    assert body["prices"]["BTC"]["EUR"] == "60185.185185185185185185"
    assert body["prices"]["DOGE"]["USD"] == "0.12"


def test_rates_are_exact_strings_and_fiat_references_are_not_listed(client, recorded):
    spot_rates_refresh()

    prices = client.get("/api/v1/prices").json()["prices"]

    assert prices["BTC"]["USD"] == "64256.425"
    assert Decimal(prices["DOGE"]["INR"]) == SpotRate.objects.get(crypto="DOGE", fiat="INR").rate
    assert "EUR" not in prices and "GBP" not in prices


def test_the_timestamp_is_when_the_oldest_listed_rate_was_fetched(client):
    spot_rates_refresh()
    fetched = timezone.now() - timedelta(seconds=30)
    SpotRate.objects.filter(crypto="LTC").update(fetched_at=fetched)

    body = client.get("/api/v1/prices").json()

    assert body["timestamp"] == fetched.strftime("%Y-%m-%dT%H:%M:%S.") + f"{fetched.microsecond // 1000:03d}Z"


def test_stale_rates_are_not_listed(client, settings):
    spot_rates_refresh()
    SpotRate.objects.filter(crypto="BSV").update(fetched_at=timezone.now() - timedelta(seconds=settings.RATES_MAX_AGE_SECONDS + 1))

    assert "BSV" not in client.get("/api/v1/prices").json()["prices"]


def test_with_no_fresh_rate_the_list_is_empty(client):
    body = client.get("/api/v1/prices").json()

    assert body["prices"] == {}
    assert body["timestamp"].endswith("Z")


def test_a_bad_token_does_not_matter_on_a_public_endpoint(client):
    spot_rates_refresh()

    response = client.get("/api/v1/prices", HTTP_AUTHORIZATION="Bearer not-a-token")

    assert response.status_code == 200
    assert response.json()["prices"]["BTC"]["USD"] == "65000.0"


def test_the_cache_lifetime_follows_the_refresh_interval(client, settings):
    settings.RATES_REFRESH_SECONDS = 300

    assert client.get("/api/v1/prices")["Cache-Control"] == "public, max-age=300"


def test_the_openapi_document_describes_the_prices(client):
    text = client.get("/api/schema", HTTP_ACCEPT="application/json").content.decode()

    assert "/api/v1/prices" in text
    assert "prices_get" in text
