import uuid

from django.db.models import QuerySet

from webhooks.models import Delivery


def deliveries_for_invoice(*, merchant_id: uuid.UUID, invoice_id: uuid.UUID) -> QuerySet[Delivery]:
    """The merchant's deliveries of the invoice's events, oldest first, each with its event and attempts."""
    return (
        Delivery.objects.filter(merchant_id=merchant_id, event__invoice_id=invoice_id)
        .select_related("event")
        .prefetch_related("attempts")
        .order_by("created_at", "pk")
    )
