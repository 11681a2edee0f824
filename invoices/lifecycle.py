"""The invoice lifecycle after creation: expiry, a bill's currency choice, merchant review and closing moves."""

from datetime import datetime

from django.db import connection, transaction
from django.utils import timezone

from chain.currencies import coin_get
from chain.errors import UnknownCurrency
from invoices.callbacks import TEST, callback_emit, callbacks_for_status_many
from invoices.errors import InvoiceInputError
from invoices.models import Invoice, InvoiceEvent, Status
from invoices.payments import invoice_payments_apply
from invoices.selectors import invoice_get, invoices_with_detail, payment_totals
from invoices.services import invoice_price_set, payment_option_create
from invoices.state import invoice_transition
from rates.fiat import fiat_get
from rates.selectors import quote_get

EXPIRY_BATCH = 1000
EXPIRY_MOVES = {
    Status.UNPAID: (Status.EXPIRED, "the payment window closed without a payment"),
    Status.UNDERPAID: (Status.MERCHANT_REVIEW, "the payment window closed while underpaid"),
}


def invoices_expire(*, now: datetime | None = None, batch: int = EXPIRY_BATCH) -> int:
    """Closes every unpaid or underpaid invoice whose window has passed; returns how many moved.

    Each batch is one guarded UPDATE that skips rows a payment holds locked, so a payment racing the
    expiry wins or loses cleanly: the invoice moves once, and the late payment still finds it.
    """
    now = now or timezone.now()
    moved = 0
    for status, (target, reason) in EXPIRY_MOVES.items():
        while True:
            count = _expire_batch(status=status, target=target, reason=reason, now=now, batch=batch)
            moved += count
            if count < batch:
                break
    return moved


def _expire_batch(*, status: str, target: str, reason: str, now: datetime, batch: int) -> int:
    review_reason = reason if target == Status.MERCHANT_REVIEW else None
    with transaction.atomic():
        if connection.vendor == "postgresql":
            # The move, its timeline entries and the moved rows, in one statement.
            moved = list(Invoice.objects.raw(
                f"WITH moved AS ({_EXPIRY_UPDATE} FOR UPDATE SKIP LOCKED) AND status = %s RETURNING {_INVOICE_COLUMNS}), "
                f"entries AS (INSERT INTO {_TIMELINE} (invoice_id, merchant_id, from_status, to_status, reason, created_at) "
                f"SELECT id, merchant_id, %s, %s, %s, %s FROM moved) SELECT * FROM moved",
                [target, now, review_reason, status, now, batch, status, status, target, reason, timezone.now()],
            ))
        else:
            with connection.cursor() as cursor:
                cursor.execute(f"{_EXPIRY_UPDATE}) AND status = %s RETURNING id",
                               [target, now, review_reason, status, now, batch, status])
                ids = [row[0] for row in cursor.fetchall()]
            moved = list(Invoice.objects.filter(id__in=ids))
            InvoiceEvent.objects.bulk_create(
                [InvoiceEvent(invoice_id=invoice.id, merchant_id=invoice.merchant_id, from_status=status, to_status=target,
                              reason=reason) for invoice in moved]
            )
        if not moved:
            return 0
        callbacks_for_status_many(invoices=invoices_with_detail(moved), status=target)
    return len(moved)


_INVOICE = Invoice._meta.db_table
_TIMELINE = InvoiceEvent._meta.db_table
_INVOICE_COLUMNS = ", ".join(connection.ops.quote_name(field.column) for field in Invoice._meta.concrete_fields)
# Each batch skips the rows a payment holds locked (PostgreSQL), and the outer guard on the status makes a row that
# moved meanwhile stay as it is.
_EXPIRY_UPDATE = (
    f"UPDATE {_INVOICE} SET status = %s, updated_at = %s, merchant_review_reason = COALESCE(%s, merchant_review_reason) "
    f"WHERE id IN (SELECT id FROM {_INVOICE} WHERE status = %s AND expires_at < %s ORDER BY expires_at LIMIT %s"
)


def bill_currency_choose(*, invoice_id, merchant_ids, currency: str) -> Invoice:
    """The customer (or merchant) picks the bill's currency: only now is it quoted, addressed and timed."""
    with transaction.atomic():
        invoice = _locked(invoice_id, merchant_ids)
        if invoice.status != Status.BILLED:
            raise InvoiceInputError("price_currency", "can only be chosen for a bill still waiting for its currency")
        try:
            coin = coin_get(currency)
        except UnknownCurrency:
            coin = None
        if coin is None or coin.code not in (invoice.valid_bill_payment_currencies or []):
            allowed = ", ".join(invoice.valid_bill_payment_currencies or [])
            raise InvoiceInputError("price_currency", f"must be one of this bill's currencies: {allowed}")
        invoice.price_currency = currency
        invoice_price_set(invoice, coin=coin, fiat=fiat_get(invoice.base_price_currency), confirmations_required=None)
        invoice.save()
        payment_option_create(invoice=invoice, coin=coin, amount_due=invoice.price_base_units)
        invoice_transition(invoice=invoice, to=Status.UNPAID, reason=f"customer chose {coin.code}; priced at {invoice.inverse_spot_rate}")
    return invoice


def review_accept(*, invoice_id, merchant_ids) -> Invoice:
    """The merchant accepts what was paid in review: it now counts as paid in full."""
    with transaction.atomic():
        invoice = _locked(invoice_id, merchant_ids)
        _require(invoice, Status.MERCHANT_REVIEW, "accept")
        totals = payment_totals(invoice)
        if totals is None or totals.paid == 0:
            raise InvoiceInputError("status", "an invoice without a payment cannot be accepted; cancel it instead")
        invoice.merchant_review_accepted_amount = totals.paid
        invoice.save(update_fields=["merchant_review_accepted_amount", "updated_at"])
        invoice_transition(invoice=invoice, to=Status.PAID, reason="accepted by the merchant in review")
        invoice_payments_apply(invoice=invoice)
    return invoice


def review_cancel(*, invoice_id, merchant_ids, refund_address: str | None) -> Invoice:
    """The merchant rejects the invoice in review; the customer is to be refunded to `refund_address`."""
    with transaction.atomic():
        invoice = _locked(invoice_id, merchant_ids)
        _require(invoice, Status.MERCHANT_REVIEW, "cancel")
        if refund_address:
            invoice.refund_address = refund_address
            invoice.save(update_fields=["refund_address", "updated_at"])
        target = invoice.refund_address or "the customer's refund address, once known"
        invoice_transition(invoice=invoice, to=Status.INVALID, reason=f"cancelled by the merchant in review; refund to {target}")
    return invoice


def review_rate_refresh(*, invoice_id, merchant_ids) -> Invoice:
    """Prices what was paid at today's rate, so the merchant sees the gain or loss of accepting it."""
    with transaction.atomic():
        invoice = _locked(invoice_id, merchant_ids)
        _require(invoice, Status.MERCHANT_REVIEW, "refresh its review rate")
        totals = payment_totals(invoice)
        if totals is None:
            raise InvoiceInputError("status", "has no payment to price at today's rate")
        coin = coin_get(totals.currency)
        quote = quote_get(crypto=coin.code, fiat=fiat_get(invoice.base_price_currency).code)
        invoice.merchant_review_spot_rate = quote.rate
        invoice.save(update_fields=["merchant_review_spot_rate", "updated_at"])
    return invoice


CLOSING_MOVES = {Status.FULFILLED: (Status.READY_TO_SHIP,), Status.REFUNDED: (Status.READY_TO_SHIP, Status.FULFILLED, Status.MERCHANT_REVIEW, Status.INVALID)}


def invoice_close(*, invoice_id, merchant_ids, status: str) -> Invoice:
    """The merchant's own bookkeeping moves: fulfilled after shipping, refunded after paying back."""
    with transaction.atomic():
        invoice = _locked(invoice_id, merchant_ids)
        allowed_from = CLOSING_MOVES[status]
        if invoice.status not in allowed_from:
            raise InvoiceInputError("status", f"can become {status} only from {' or '.join(allowed_from)}, not {invoice.status}")
        invoice_transition(invoice=invoice, to=status, reason=f"marked {status} by the merchant")
    return invoice


def test_callback_send(*, invoice_id, merchant_ids):
    """Sends a test event with the invoice as it is now to its callback URL."""
    with transaction.atomic():
        invoice = _locked(invoice_id, merchant_ids)
        if not invoice.callback_url:
            raise InvoiceInputError("callback_url", "this invoice has no callback URL to test")
        return callback_emit(invoice=invoice, name=TEST)


def _locked(invoice_id, merchant_ids) -> Invoice:
    invoice = invoice_get(merchant_ids=merchant_ids, invoice_id=invoice_id)
    return Invoice.objects.select_for_update().select_related("merchant").get(pk=invoice.pk)


def _require(invoice: Invoice, status: str, action: str) -> None:
    if invoice.status != status:
        raise InvoiceInputError("status", f"must be {status} to {action} it, but is {invoice.status}")
