from celery import shared_task

from webhooks.services import deliveries_sweep, delivery_attempt


@shared_task(name="webhooks.tasks.delivery_attempt_task", ignore_result=True)
def delivery_attempt_task(delivery_id: int) -> None:
    # The claim inside is the guard: a delivery already done, not yet due or held by another worker is left alone.
    delivery_attempt(delivery_id=delivery_id)


@shared_task(name="webhooks.tasks.deliveries_sweep_task", ignore_result=True)
def deliveries_sweep_task() -> int:
    return deliveries_sweep()
