"""A provider that fails, whichever way, is logged and skipped; the others are stored as if nothing happened."""

import logging
import time

import pytest

from rates.models import SpotRate
from rates.services import spot_rates_refresh
from tests.rates.recorded_server import EMPTY, HTTP_500, MALFORMED, PROVIDERS, SLOW

pytestmark = pytest.mark.django_db

FAULTS = {HTTP_500: "HTTP 500", MALFORMED: "malformed", EMPTY: "empty response", SLOW: "no answer"}


def sources_stored() -> set[str]:
    return {source.removesuffix(" (cross via USD)") for row in SpotRate.objects.all() for source in row.sources}


@pytest.mark.parametrize("fault", FAULTS)
@pytest.mark.parametrize("name", PROVIDERS)
def test_one_provider_failing_leaves_the_others_unaffected(recorded, settings, caplog, name, fault):
    settings.RATES_PROVIDER_TIMEOUT_SECONDS = 0.5
    recorded.slow_seconds = 2
    recorded.faults[name] = fault

    started = time.monotonic()
    with caplog.at_level(logging.ERROR, logger="rates.services"):
        written = spot_rates_refresh()
    elapsed = time.monotonic() - started

    assert written > 100
    assert sources_stored() == set(PROVIDERS) - {name}
    failure = next(record.getMessage() for record in caplog.records if f"rate provider {name} failed" in record.getMessage())
    assert FAULTS[fault] in failure
    assert [record for record in caplog.records if "failed" in record.getMessage()] == [
        record for record in caplog.records if f"rate provider {name} failed" in record.getMessage()
    ]
    assert elapsed < 1.5


def test_every_provider_down_stores_nothing_and_says_why(recorded, caplog):
    for name in PROVIDERS:
        recorded.faults[name] = HTTP_500

    with caplog.at_level(logging.WARNING, logger="rates.services"):
        written = spot_rates_refresh()

    assert written == 0
    assert not SpotRate.objects.exists()
    for name in PROVIDERS:
        assert f"rate provider {name} failed" in caplog.text
    assert "no provider returned a usable rate" in caplog.text


def test_a_refresh_with_every_provider_hanging_takes_one_timeout_not_their_sum(recorded, settings, caplog):
    settings.RATES_PROVIDER_TIMEOUT_SECONDS = 0.5
    recorded.slow_seconds = 2
    for name in PROVIDERS:
        recorded.faults[name] = SLOW

    started = time.monotonic()
    with caplog.at_level(logging.ERROR, logger="rates.services"):
        written = spot_rates_refresh()
    elapsed = time.monotonic() - started

    assert written == 0
    assert 0.5 <= elapsed < 1.2
    for name in PROVIDERS:
        assert f"rate provider {name} failed" in caplog.text
