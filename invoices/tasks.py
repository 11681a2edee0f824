from celery import shared_task

from invoices.lifecycle import invoices_expire


@shared_task(name="invoices.tasks.invoices_expire_task", ignore_result=True)
def invoices_expire_task() -> int:
    return invoices_expire()
