from celery import shared_task

from rates.services import spot_rates_prune, spot_rates_refresh


@shared_task(name="rates.tasks.spot_rates_refresh_task")
def spot_rates_refresh_task() -> int:
    return spot_rates_refresh()


@shared_task(name="rates.tasks.spot_rates_prune_task")
def spot_rates_prune_task() -> int:
    return spot_rates_prune()
