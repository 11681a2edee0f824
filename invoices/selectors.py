import uuid
from dataclasses import dataclass
from datetime import date, datetime
from decimal import Decimal

from django.db.models import Count, F, Prefetch, Q, QuerySet, Sum
from django.db.models.functions import TruncDate
from django.http import Http404

from chain.currencies import coin_get
from invoices.models import Invoice, Payment, PaymentOption, PaymentState, Status
from rates.fiat import fiat_get

COUNTED_PAYMENT_STATES = (PaymentState.SEEN, PaymentState.CONFIRMED)


def _invoices_with_detail() -> QuerySet[Invoice]:
    return Invoice.objects.select_related("merchant").prefetch_related(
        Prefetch("payment_options", queryset=PaymentOption.objects.order_by("id")),
        Prefetch("payments", queryset=Payment.objects.order_by("first_seen_at", "id")),
    )


def invoices_with_detail(invoices: list[Invoice]) -> list[Invoice]:
    """Attaches the payment options and payments (each with its option) of many invoices in two queries.

    Django's prefetch_related clones a queryset per invoice, which dominates when thousands are rendered at once.
    The rows are kept as plain lists: readers take them through `invoice_options` and `invoice_payments`, never by chaining a
    query on `invoice.payments`.
    """
    options: dict = {invoice.pk: [] for invoice in invoices}
    payments: dict = {invoice.pk: [] for invoice in invoices}
    for option in PaymentOption.objects.filter(invoice_id__in=list(options)).order_by("id"):
        options[option.invoice_id].append(option)
    options_by_id = {option.id: option for listed in options.values() for option in listed}
    for payment in Payment.objects.filter(invoice_id__in=list(payments)).order_by("first_seen_at", "id"):
        payment.payment_option = options_by_id[payment.payment_option_id]
        payments[payment.invoice_id].append(payment)
    for invoice in invoices:
        invoice._prefetched_objects_cache = {"payment_options": options[invoice.pk], "payments": payments[invoice.pk]}
    return invoices


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
    page_invoices = list(query.select_related("merchant").order_by("-created_at", "-id")[offset : offset + per_page])
    return invoices_with_detail(page_invoices), total


def invoice_options(invoice: Invoice) -> list[PaymentOption]:
    """The invoice's payment options, oldest first: attached ones when present, else one query."""
    cache = getattr(invoice, "_prefetched_objects_cache", {})
    if "payment_options" in cache:
        return list(cache["payment_options"])
    return list(invoice.payment_options.order_by("id"))


def invoice_payments(invoice: Invoice) -> list[Payment]:
    """The invoice's payments with their options, oldest first: attached ones when present, else one query."""
    cache = getattr(invoice, "_prefetched_objects_cache", {})
    if "payments" in cache:
        return list(cache["payments"])
    return list(invoice.payments.select_related("payment_option").order_by("first_seen_at", "id"))


def counted_payments(invoice: Invoice) -> list[Payment]:
    """The payments that count toward the price (seen or confirmed, not reorged out or replaced)."""
    return [payment for payment in invoice_payments(invoice) if payment.state in COUNTED_PAYMENT_STATES]


def amount_paid(invoice: Invoice) -> int:
    """Base units paid toward the invoice's price: the counted payments to the option they pay."""
    totals = payment_totals(invoice)
    return totals.paid if totals else 0


def primary_option(invoice: Invoice) -> PaymentOption | None:
    if invoice.price_currency is None:
        return None
    code = coin_get(invoice.price_currency).code
    return next((option for option in invoice_options(invoice) if option.currency == code), None)


@dataclass(frozen=True)
class PaymentTotals:
    currency: str
    due: int
    paid: int
    confirmed: bool
    late: bool
    replaced: bool

    @property
    def overpaid(self) -> int:
        return max(self.paid - self.due, 0)


def payment_totals(invoice: Invoice, payments: list[Payment] | None = None) -> PaymentTotals | None:
    """What the invoice's payments add up to, for the option they pay (None before any payment).

    `payments`: the invoice's payments with their options, oldest first, when the caller has read them already.
    """
    if payments is None:
        payments = invoice_payments(invoice)
    if not payments:
        return None
    option = payments[0].payment_option
    mine = [p for p in payments if p.payment_option_id == option.id]
    counted = [p for p in mine if p.state in COUNTED_PAYMENT_STATES]
    required = invoice.confirmations_required or 0
    due = option.amount_due
    if invoice.merchant_review_accepted_amount is not None:
        due = min(due, invoice.merchant_review_accepted_amount)
    return PaymentTotals(
        currency=option.currency,
        due=due,
        paid=sum(p.amount for p in counted),
        confirmed=bool(counted) and all(p.block_height is not None and p.confirmations >= required for p in counted),
        late=invoice.expires_at is not None and any(p.first_seen_at > invoice.expires_at for p in counted),
        replaced=any(p.state == PaymentState.REPLACED for p in mine),
    )


def review_gain_loss(invoice: Invoice) -> dict | None:
    """What accepting a reviewed invoice gains or loses: in the base currency at the review rate, and in the coin."""
    if invoice.merchant_review_spot_rate is None:
        return None
    totals = payment_totals(invoice)
    if totals is None:
        return None
    coin = coin_get(totals.currency)
    fiat = fiat_get(invoice.base_price_currency)
    value = coin.to_decimal(totals.paid) * invoice.merchant_review_spot_rate
    fiat_difference = (value - invoice.base_price).quantize(Decimal(1).scaleb(-fiat.precision))
    return {"payout_currency": format(fiat_difference, "f"), "price_currency": coin.format(totals.paid - totals.due)}


def invoice_get_for_gateway(*, invoice_id) -> Invoice:
    """Any merchant's invoice, for its public payment page: knowing its random id is what lets a customer see it."""
    try:
        invoice_uuid = uuid.UUID(str(invoice_id))
    except ValueError:
        raise Http404("invoice not found") from None
    invoice = _invoices_with_detail().filter(id=invoice_uuid).first()
    if invoice is None:
        raise Http404("invoice not found")
    return invoice


@dataclass(frozen=True)
class PaymentProgress:
    option: PaymentOption | None
    price: int | None
    paid: int
    due: int
    confirmations: int


def payment_progress(invoice: Invoice) -> PaymentProgress:
    """Where the customer stands: the option to pay, base units paid and still due, and the confirmations of the
    least confirmed payment (what a customer waits for)."""
    option = primary_option(invoice)
    counted = counted_payments(invoice)
    paid = amount_paid(invoice)
    price = option.amount_due if option is not None else None
    return PaymentProgress(
        option=option,
        price=price,
        paid=paid,
        due=max(price - paid, 0) if price is not None else 0,
        confirmations=min((payment.confirmations for payment in counted), default=0),
    )


@dataclass(frozen=True)
class DailyVolume:
    currency: str
    day: date
    received: int
    payments: int


def payment_volume_by_day(*, merchant_ids: list[uuid.UUID], since: datetime) -> list[DailyVolume]:
    """Base units received per currency and day (in the site's time zone) since `since`, from the counted payments
    (seen or confirmed) of the merchants' invoices, by currency then day."""
    rows = (
        Payment.objects.filter(merchant_id__in=merchant_ids, first_seen_at__gte=since, state__in=COUNTED_PAYMENT_STATES)
        .annotate(day=TruncDate("first_seen_at"))
        .values("currency", "day")
        .annotate(received=Sum("amount"), payments=Count("id"))
        .order_by("currency", "day")
    )
    return [DailyVolume(**row) for row in rows]


def invoice_status_counts(*, merchant_ids: list[uuid.UUID], since: datetime) -> dict[str, int]:
    """How many of the merchants' invoices created since `since` are in each status now."""
    rows = (
        Invoice.objects.filter(merchant_id__in=merchant_ids, created_at__gte=since)
        .values("status")
        .annotate(count=Count("id"))
        .order_by("status")
    )
    return {row["status"]: row["count"] for row in rows}


SALES_POINT_FIELDS = ("business_id", "location_id", "register_id")
SETTLED_STATUSES = (Status.PAID, Status.READY_TO_SHIP, Status.FULFILLED)


@dataclass(frozen=True)
class SalesPointTotal:
    value: str | None
    currency: str
    count: int
    amount: Decimal
    paid_count: int
    paid_amount: Decimal


def invoice_totals_by(
    *, merchant_ids: list[uuid.UUID], field: str, since: datetime | None = None, invoices: QuerySet[Invoice] | None = None
) -> list[SalesPointTotal]:
    """The merchants' invoices totalled per business, location or register (`field`) and fiat currency, in one
    grouped query: how many and how much was asked, and how many and how much was paid."""
    if field not in SALES_POINT_FIELDS:
        raise ValueError(f"invoices are totalled by one of {', '.join(SALES_POINT_FIELDS)}, not {field}")
    query = (invoices if invoices is not None else Invoice.objects).filter(merchant_id__in=merchant_ids)
    if since is not None:
        query = query.filter(created_at__gte=since)
    settled = Q(status__in=SETTLED_STATUSES)
    rows = (
        query.values(field, "base_price_currency")
        .annotate(count=Count("id"), amount=Sum("base_price"),
                  paid_count=Count("id", filter=settled), paid_amount=Sum("base_price", filter=settled))
        .order_by(F(field).asc(nulls_last=True), "base_price_currency")
    )
    return [
        SalesPointTotal(value=row[field], currency=row["base_price_currency"], count=row["count"], amount=row["amount"],
                        paid_count=row["paid_count"], paid_amount=row["paid_amount"] or Decimal(0))
        for row in rows
    ]
