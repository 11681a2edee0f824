import uuid
from dataclasses import dataclass
from datetime import datetime

from django.db.models import Prefetch, QuerySet, Sum
from django.http import Http404

from chain.currencies import coin_get
from invoices.models import Invoice, Payment, PaymentOption, PaymentState

COUNTED_PAYMENT_STATES = (PaymentState.SEEN, PaymentState.CONFIRMED)


def _invoices_with_detail() -> QuerySet[Invoice]:
    return Invoice.objects.select_related("merchant").prefetch_related(
        Prefetch("payment_options", queryset=PaymentOption.objects.order_by("id")),
        Prefetch("payments", queryset=Payment.objects.order_by("first_seen_at", "id")),
    )


def invoice_get(*, merchant_ids: list[uuid.UUID], invoice_id) -> Invoice:
    """An invoice of one of the given merchants; anything else, malformed ids included, is 404."""
    try:
        invoice_uuid = uuid.UUID(str(invoice_id))
    except ValueError:
        raise Http404("invoice not found") from None
    invoice = _invoices_with_detail().filter(id=invoice_uuid, merchant_id__in=merchant_ids).first()
    if invoice is None:
        raise Http404("invoice not found")
    return invoice


@dataclass(frozen=True)
class InvoiceFilters:
    merchant_ids: list[uuid.UUID]
    status: str | None = None
    start_time: datetime | None = None
    end_time: datetime | None = None
    updated_since: datetime | None = None
    order_id: str | None = None
    customer_email: str | None = None
    customer_name: str | None = None
    item_name: str | None = None
    item_sku: str | None = None


def invoice_search(*, filters: InvoiceFilters, page: int, per_page: int) -> tuple[list[Invoice], int]:
    """One page of the merchants' invoices, newest first, with the total count."""
    query = Invoice.objects.filter(merchant_id__in=filters.merchant_ids)
    if filters.status:
        query = query.filter(status=filters.status)
    if filters.start_time:
        query = query.filter(created_at__gte=filters.start_time)
    if filters.end_time:
        query = query.filter(created_at__lte=filters.end_time)
    if filters.updated_since:
        query = query.filter(updated_at__gte=filters.updated_since)
    for name in ("order_id", "customer_email", "customer_name", "item_name", "item_sku"):
        value = getattr(filters, name)
        if value is not None:
            query = query.filter(**{name: value})
    total = query.count()
    offset = (page - 1) * per_page
    ids = list(query.order_by("-created_at", "-id").values_list("id", flat=True)[offset : offset + per_page])
    by_id = {invoice.id: invoice for invoice in _invoices_with_detail().filter(id__in=ids)}
    return [by_id[invoice_id] for invoice_id in ids], total


def amount_paid(invoice: Invoice) -> int:
    """Base units paid, summed from the counted Payment rows (prefetched ones when present)."""
    cache = getattr(invoice, "_prefetched_objects_cache", {})
    if "payments" in cache:
        return sum(p.amount for p in cache["payments"] if p.state in COUNTED_PAYMENT_STATES)
    total = invoice.payments.filter(state__in=COUNTED_PAYMENT_STATES).aggregate(total=Sum("amount"))["total"]
    return total or 0


def primary_option(invoice: Invoice) -> PaymentOption | None:
    cache = getattr(invoice, "_prefetched_objects_cache", {})
    options = cache["payment_options"] if "payment_options" in cache else list(invoice.payment_options.order_by("id"))
    if invoice.price_currency is None:
        return None
    code = coin_get(invoice.price_currency).code
    return next((option for option in options if option.currency == code), None)
