"""History is pruned after RATES_HISTORY_DAYS, but the newest rate of a pair is never deleted."""

from datetime import timedelta
from decimal import Decimal

import pytest
from django.conf import settings
from django.utils import timezone

from rates.models import SpotRate
from rates.services import spot_rates_prune
from rates.tasks import spot_rates_prune_task

pytestmark = pytest.mark.django_db


def rate(crypto: str, *, days: float) -> SpotRate:
    return SpotRate.objects.create(
        crypto=crypto, fiat="USD", rate=Decimal("1"), sources=["fixed"], fetched_at=timezone.now() - timedelta(days=days)
    )


def test_old_rows_go_and_the_newest_of_each_pair_stays():
    btc_old, btc_older, btc_recent = rate("BTC", days=8), rate("BTC", days=10), rate("BTC", days=1)
    ltc_only = rate("LTC", days=30)
    doge_newest, doge_old = rate("DOGE", days=8), rate("DOGE", days=8.5)

    deleted = spot_rates_prune()

    assert deleted == 3
    assert set(SpotRate.objects.values_list("id", flat=True)) == {btc_recent.id, ltc_only.id, doge_newest.id}
    assert not SpotRate.objects.filter(id__in=[btc_old.id, btc_older.id, doge_old.id]).exists()


def test_the_history_window_is_a_setting(settings):
    settings.RATES_HISTORY_DAYS = 2
    rate("BTC", days=3)
    rate("BTC", days=1)

    assert spot_rates_prune() == 1


def test_the_prune_task_runs_hourly_from_beat():
    rate("BTC", days=9)
    rate("BTC", days=0)

    assert spot_rates_prune_task.apply().get() == 1
    assert settings.CELERY_BEAT_SCHEDULE["rates-prune"] == {"task": "rates.tasks.spot_rates_prune_task", "schedule": 3600}
