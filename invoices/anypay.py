"""Anypay's invoices: one fiat invoice payable in every coin the merchant accepts, and how Anypay's clients see it.

An Anypay invoice is created without a coin (`price_currency` is None) and quoted in each of the merchant's coins.
The first payment to one of its options commits the invoice to that coin, its amount and its quote, so that
accounting, confirmations and the state machine then treat it like any single-coin invoice. A later payment to
another option is recorded but cannot count towards the price: it puts the invoice in merchant review.
"""

from dataclasses import dataclass
from datetime import datetime, timedelta
from decimal import Decimal

from django.conf import settings
from django.db import transaction
from django.db.models import Count, QuerySet, Sum
from django.http import Http404
from django.utils import timezone
from django.utils.dateparse import parse_datetime

from chain.currencies import coin_get
from chain.selectors import wallet_currencies
from config.formats import iso_ms
from config.rows import RowsInsert
from invoices.errors import InvoiceInputError
from invoices.models import Flavour, Invoice, InvoiceType, PaymentOption, Status
from invoices.selectors import (
    SALES_POINT_FIELDS,
    SETTLED_STATUSES,
    amount_paid,
    counted_payments,
    invoice_options,
    invoice_totals_by,
    invoices_with_detail,
)
from invoices.services import address_take, addresses_given_back_on_failure, invoice_new_write, payment_option_create
from invoices.state import TRANSITIONS, invoice_record_opened, invoice_transition
from rates.errors import UnknownFiat
from rates.fiat import fiat_get
from rates.selectors import price_in_base_units, quote_get
from webhooks.safe_http import url_refusal

# Anypay's names for the platform's statuses; the others have no Anypay counterpart and keep their own name.
STATUS_NAMES = {
    Status.UNPAID: "unpaid",
    Status.UNDERPAID: "underpaid",
    Status.PAID: "paid",
    Status.READY_TO_SHIP: "paid",
    Status.FULFILLED: "paid",
}
# BSV wallets open `pay:` URIs with the payment protocol; the other coins keep their BIP21 scheme.
PAYMENT_PROTOCOL_SCHEMES = {"BSV": "pay"}
LIST_MAX_LIMIT = 1000


# Writes


@dataclass(frozen=True)
class AnypayInvoiceRequest:
    amount: Decimal
    amount_text: str
    currency: str | None = None
    redirect_url: str | None = None
    webhook_url: str | None = None
    external_id: str | None = None
    business_id: str | None = None
    location_id: str | None = None
    register_id: str | None = None
    memo: str | None = None
    email: str | None = None


def anypay_invoice_create(*, merchant, request: AnypayInvoiceRequest) -> Invoice:
    """Creates an invoice in fiat with one priced, addressed PaymentOption per coin the merchant has a wallet for,
    its timeline entry and its webhook event, all or nothing (raises RateUnavailable without fresh rates)."""
    fiat_code = request.currency or "USD"
    try:
        fiat = fiat_get(fiat_code)
    except UnknownFiat:
        raise InvoiceInputError("currency", f"is not a supported currency: {fiat_code}") from None
    if request.amount <= 0:
        raise InvoiceInputError("amount", "must be greater than zero")
    exponent = request.amount.normalize().as_tuple().exponent
    if isinstance(exponent, int) and -exponent > fiat.precision:
        raise InvoiceInputError("amount", f"has more decimal places than {fiat.code} allows ({fiat.precision})")
    if request.webhook_url:
        refusal = url_refusal(request.webhook_url)
        if refusal:
            raise InvoiceInputError("webhook_url", refusal)
    coins = [coin_get(code) for code in wallet_currencies(merchant=merchant)]
    if not coins:
        raise InvoiceInputError("currency", "this merchant has no wallet yet, so no coin could pay the invoice")
    quotes = {coin.code: quote_get(crypto=coin.code, fiat=fiat.code, spread_percent=merchant.rate_spread_percent)
              for coin in coins}
    due = {coin.code: price_in_base_units(amount=request.amount, rate=quotes[coin.code].rate, decimals=coin.decimals)
           for coin in coins}
    expiry = merchant.invoice_expiry_seconds or settings.INVOICE_EXPIRY_SECONDS

    invoice = Invoice(
        merchant=merchant,
        type=InvoiceType.INVOICE,
        status=Status.UNPAID,
        flavour=Flavour.ANYPAY,
        base_price=request.amount,
        base_price_text=request.amount_text,
        base_price_currency=fiat.code,
        service_fee_rate=merchant.service_fee_rate,
        crypto_payout_split=merchant.crypto_payout_split,
        callback_url=request.webhook_url or merchant.callback_url or None,
        redirect_url=request.redirect_url or merchant.redirect_url or None,
        customer_email=request.email,
        external_id=request.external_id,
        business_id=request.business_id,
        location_id=request.location_id,
        register_id=request.register_id,
        memo=request.memo,
        option_quotes={code: _quote_snapshot(quote, due[code]) for code, quote in quotes.items()},
        expires_at=timezone.now() + timedelta(seconds=expiry),
    )
    # One insert for every row, atomic by itself, as in invoice_create.
    insert = RowsInsert().add(invoice)
    offered = ", ".join(f"{coin.format(due[coin.code])} {coin.code}" for coin in coins)
    invoice_record_opened(invoice=invoice, reason=f"{request.amount_text} {fiat.code} payable as {offered}", insert=insert)
    with addresses_given_back_on_failure(merchant, insert) as taken:
        options = [
            payment_option_create(invoice=invoice, coin=coin, amount_due=due[coin.code], insert=insert,
                                  address=address_take(merchant=merchant, coin=coin, taken=taken))
            for coin in coins
        ]
        invoice_new_write(invoice, options=options, insert=insert)
    return invoice


def _quote_snapshot(quote, amount_due: int) -> dict:
    return {
        "amount_due": amount_due,
        "rate": str(quote.rate),
        "spot_rate": str(quote.spot_rate),
        "usd_spot_rate": str(quote.usd_spot_rate),
        "sources": list(quote.sources),
        "fetched_at": quote.fetched_at.isoformat(),
    }


def anypay_payment_option_commit(*, invoice: Invoice, option: PaymentOption) -> None:
    """A payment to `option` arrived: the first commits the invoice to its coin, amount and quote; one to
    another coin afterwards cannot count towards the price and sends the invoice to merchant review.

    The caller holds the invoice row lock; calling it again for the same payment changes nothing.
    """
    if invoice.price_currency is None:
        quote = (invoice.option_quotes or {})[option.currency]
        invoice.price_currency = option.currency
        invoice.price_base_units = option.amount_due
        invoice.inverse_spot_rate = Decimal(quote["rate"])
        invoice.spot_rate = Decimal(quote["spot_rate"])
        invoice.usd_spot_rate = Decimal(quote["usd_spot_rate"])
        invoice.rate_sources = quote["sources"]
        invoice.rate_fetched_at = parse_datetime(quote["fetched_at"])
        invoice.confirmations_required = coin_get(option.currency).default_confirmations
        invoice.save(update_fields=[
            "price_currency", "price_base_units", "inverse_spot_rate", "spot_rate", "usd_spot_rate",
            "rate_sources", "rate_fetched_at", "confirmations_required", "updated_at",
        ])
    elif option.currency != invoice.price_currency and Status.MERCHANT_REVIEW in TRANSITIONS[invoice.status]:
        why = f"paid in {option.currency} after a payment in {invoice.price_currency} chose that coin"
        invoice_transition(invoice=invoice, to=Status.MERCHANT_REVIEW, reason=why)
        invoice.merchant_review_reason = why
        invoice.save(update_fields=["merchant_review_reason", "updated_at"])


def anypay_invoice_cancel(*, merchant_id, uid: str) -> Invoice:
    """The merchant withdraws an invoice nobody has paid yet: it closes like an expired one, marked as cancelled,
    and stays watched, so a customer who pays it anyway sends it to merchant review instead of going unnoticed."""
    with transaction.atomic():
        invoice = _anypay_invoices().select_for_update(of=("self",)).filter(uid=uid, merchant_id=merchant_id).first()
        if invoice is None:
            raise Http404(f"Invoice {uid} Not Found")
        if invoice.status != Status.UNPAID or invoice.payments.exists():
            raise InvoiceInputError("status", f"can only cancel unpaid invoices, this one is {status_name(invoice)}")
        invoice.cancelled_at = timezone.now()
        invoice.save(update_fields=["cancelled_at", "updated_at"])
        invoice_transition(invoice=invoice, to=Status.EXPIRED, reason="cancelled by the merchant")
    return invoice


# Reads


def _anypay_invoices() -> QuerySet[Invoice]:
    return Invoice.objects.filter(flavour=Flavour.ANYPAY).select_related("merchant")


def anypay_invoice_get_for_platform(*, uid: str) -> Invoice:
    """Any merchant's Anypay invoice: its short random uid is what lets a customer's wallet pay it."""
    invoice = _anypay_invoices().filter(uid=uid).first()
    if invoice is None:
        raise Http404(f"Invoice {uid} Not Found")
    return invoices_with_detail([invoice])[0]


@dataclass(frozen=True)
class AnypayFilters:
    merchant_id: object
    status: str | None = None
    start_date_created: datetime | None = None
    end_date_created: datetime | None = None
    business_id: str | None = None
    location_id: str | None = None
    register_id: str | None = None
    external_id: str | None = None


def _filtered(filters: AnypayFilters) -> QuerySet[Invoice]:
    query = Invoice.objects.filter(merchant_id=filters.merchant_id, flavour=Flavour.ANYPAY)
    if filters.start_date_created:
        query = query.filter(created_at__gte=filters.start_date_created)
    if filters.end_date_created:
        query = query.filter(created_at__lte=filters.end_date_created)
    for name in (*SALES_POINT_FIELDS, "external_id"):
        value = getattr(filters, name)
        if value is not None:
            query = query.filter(**{name: value})
    if filters.status:
        query = _status_filtered(query, filters.status)
    return query


def _status_filtered(query: QuerySet[Invoice], name: str) -> QuerySet[Invoice]:
    if name == "cancelled":
        return query.filter(cancelled_at__isnull=False)
    statuses = [status for status, anypay in STATUS_NAMES.items() if anypay == name] or [name]
    return query.filter(status__in=statuses, cancelled_at__isnull=True)


def anypay_invoice_list(*, filters: AnypayFilters, limit: int, offset: int) -> tuple[list[Invoice], dict]:
    """One page of the merchant's Anypay invoices, newest first, and the totals of every invoice that matches."""
    query = _filtered(filters)
    page = list(query.select_related("merchant").order_by("-created_at", "-id")[offset : offset + limit])
    return invoices_with_detail(page), _totals(query)


def anypay_invoice_totals_by(*, merchant_id, field: str) -> list[dict]:
    """The merchant's Anypay invoices totalled per business, location or register (`field`)."""
    totals: dict = {}
    anypay = Invoice.objects.filter(flavour=Flavour.ANYPAY)
    for row in invoice_totals_by(merchant_ids=[merchant_id], field=field, invoices=anypay):
        entry = totals.setdefault(row.value, {field: row.value, "count": 0, "amount": {}, "paid_count": 0, "paid_amount": {}})
        entry["count"] += row.count
        entry["amount"][row.currency] = _fiat_text(row.amount, row.currency)
        if row.paid_count:
            entry["paid_count"] += row.paid_count
            entry["paid_amount"][row.currency] = _fiat_text(row.paid_amount, row.currency)
    return list(totals.values())


def _totals(query: QuerySet[Invoice]) -> dict:
    rows = query.values("base_price_currency").annotate(count=Count("id"), amount=Sum("base_price")).order_by()
    paid_rows = (query.filter(status__in=SETTLED_STATUSES).values("base_price_currency")
                 .annotate(count=Count("id"), amount=Sum("base_price")).order_by())
    return {
        "count": sum(row["count"] for row in rows),
        "amount": {row["base_price_currency"]: _fiat_text(row["amount"], row["base_price_currency"]) for row in rows},
        "paid_count": sum(row["count"] for row in paid_rows),
        "paid_amount": {row["base_price_currency"]: _fiat_text(row["amount"], row["base_price_currency"])
                        for row in paid_rows},
    }


def _fiat_text(amount: Decimal, currency: str) -> str:
    return format(amount.quantize(Decimal(1).scaleb(-fiat_get(currency).precision)), "f")


# Output


def status_name(invoice: Invoice) -> str:
    if invoice.cancelled_at is not None:
        return "cancelled"
    return STATUS_NAMES.get(invoice.status, invoice.status)


def payment_request_url(invoice: Invoice) -> str:
    return f"{settings.PUBLIC_BASE_URL}/anypay/r/{invoice.uid}"


def invoice_uri(invoice: Invoice) -> str:
    return f"pay:?r={payment_request_url(invoice)}"


def currency_logo_url(code: str) -> str:
    return f"{settings.PUBLIC_BASE_URL}/anypay/logos/{code.lower()}.svg"


def invoice_output(invoice: Invoice) -> dict:
    """The invoice object of Anypay's API: the fields every generation of its clients reads."""
    coin = coin_get(invoice.price_currency) if invoice.price_currency else None
    payments = counted_payments(invoice)
    mine = [p for p in payments if coin is None or p.currency == coin.code]
    paid = amount_paid(invoice) if coin else 0
    paid_at = next((p.first_seen_at for p in mine), None) if invoice.status in SETTLED_STATUSES else None
    # A Decimal: a JSON number in the API (as Anypay answers) and a decimal string in the webhook (as Anypay posts).
    amount = invoice.base_price.quantize(Decimal(1).scaleb(-fiat_get(invoice.base_price_currency).precision))
    return {
        "uid": invoice.uid,
        "status": status_name(invoice),
        "amount": amount,
        "currency": invoice.base_price_currency,
        "denomination_amount": amount,
        "denomination_currency": invoice.base_price_currency,
        "invoice_amount": coin.format(invoice.price_base_units) if coin else None,
        "invoice_currency": coin.code if coin else None,
        "invoice_amount_paid": coin.format(paid) if coin else None,
        "hash": mine[0].txid if mine else None,
        "output_hash": mine[0].txid if mine else None,
        "address": next((o.address for o in invoice_options(invoice) if coin and o.currency == coin.code), None),
        "account_id": str(invoice.merchant_id),
        "uri": invoice_uri(invoice),
        "redirect_url": invoice.redirect_url,
        "external_id": invoice.external_id,
        "business_id": invoice.business_id,
        "location_id": invoice.location_id,
        "register_id": invoice.register_id,
        "memo": invoice.memo,
        "email": invoice.customer_email,
        "complete": invoice.status in SETTLED_STATUSES,
        "completed_at": iso_ms(paid_at),
        "paidAt": iso_ms(paid_at),
        "cancelled": invoice.cancelled_at is not None,
        "expiry": iso_ms(invoice.expires_at),
        "expiresAt": iso_ms(invoice.expires_at),
        "createdAt": iso_ms(invoice.created_at),
        "updatedAt": iso_ms(invoice.updated_at),
    }


def payment_option_output(invoice: Invoice, option: PaymentOption) -> dict:
    coin = coin_get(option.currency)
    scheme = PAYMENT_PROTOCOL_SCHEMES.get(coin.code, coin.uri_scheme)
    return {
        "uri": f"{scheme}:?r={payment_request_url(invoice)}",
        "chain": coin.code,
        "currency": coin.code,
        "currency_name": coin.name,
        "currency_logo_url": currency_logo_url(coin.code),
        "amount": coin.format(option.amount_due),
        "address": option.address,
        "bip21_uri": option.uri,
    }


def _with_options(invoice: Invoice, **extra) -> dict:
    body = invoice_output(invoice)
    options = [payment_option_output(invoice, option) for option in invoice_options(invoice)]
    # Clients of 2021 read the invoice at the top level, today's ones under `invoice`.
    return {**body, "invoice": {**body, "payment_options": options}, "payment_options": options, **extra}


def create_output(invoice: Invoice) -> dict:
    return _with_options(invoice, success=True, uid=invoice.uid, invoice_uid=invoice.uid)


# What the shop knows of its customer and its own books: shown to the merchant, never on the public invoice.
MERCHANT_ONLY_FIELDS = ("email", "external_id", "business_id", "location_id", "register_id")


def show_output(invoice: Invoice, *, to_merchant: bool) -> dict:
    body = _with_options(invoice, notes=[])
    if not to_merchant:
        for shown in (body, body["invoice"]):
            shown.update(dict.fromkeys(MERCHANT_ONLY_FIELDS))
    return body


def cancel_output(invoice: Invoice) -> dict:
    return {"uid": invoice.uid, "account_id": str(invoice.merchant_id), "status": status_name(invoice), "success": True}


def webhook_body(invoice: Invoice) -> dict:
    """The flat body Anypay's plugins read: the invoice's own fields, no envelope."""
    body = invoice_output(invoice)
    body["webhook_url"] = invoice.callback_url
    return body
