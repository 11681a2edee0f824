"""The invoice state machine: one table of allowed moves and one function that applies them."""

from config.rows import RowsInsert, rows_insert
from invoices.callbacks import callback_for_status
from invoices.errors import IllegalTransition
from invoices.models import Invoice, InvoiceEvent, Status

TRANSITIONS: dict[str, frozenset[str]] = {
    Status.BILLED: frozenset({Status.UNPAID, Status.INVALID}),
    Status.UNPAID: frozenset({Status.PAID, Status.UNDERPAID, Status.EXPIRED, Status.MERCHANT_REVIEW, Status.INVALID}),
    Status.UNDERPAID: frozenset({Status.PAID, Status.MERCHANT_REVIEW, Status.INVALID}),
    Status.PAID: frozenset({Status.READY_TO_SHIP, Status.UNDERPAID, Status.MERCHANT_REVIEW, Status.INVALID}),
    Status.READY_TO_SHIP: frozenset({Status.FULFILLED, Status.PAID, Status.INVALID, Status.REFUNDED}),
    Status.FULFILLED: frozenset({Status.REFUNDED}),
    Status.MERCHANT_REVIEW: frozenset({Status.PAID, Status.READY_TO_SHIP, Status.INVALID, Status.REFUNDED}),
    Status.EXPIRED: frozenset({Status.MERCHANT_REVIEW, Status.INVALID}),
    Status.INVALID: frozenset({Status.REFUNDED}),
    Status.REFUNDED: frozenset(),
}


def invoice_transition(*, invoice: Invoice, to: str, reason: str = "") -> bool:
    """Moves the invoice to `to` and records it; the same state is a no-op (False), an illegal move raises.

    The caller holds the invoice row (select_for_update) inside its transaction.
    """
    if invoice.status == to:
        return False
    if to not in TRANSITIONS[invoice.status]:
        raise IllegalTransition(invoice.status, to)
    previous = invoice.status
    invoice.status = to
    invoice.save(update_fields=["status", "updated_at"])
    InvoiceEvent.objects.create(
        invoice=invoice, merchant_id=invoice.merchant_id, from_status=previous, to_status=to, reason=reason
    )
    callback_for_status(invoice=invoice, status=to)
    return True


def invoice_record_opened(*, invoice: Invoice, reason: str, insert: RowsInsert | None = None) -> None:
    entry = InvoiceEvent(invoice=invoice, merchant_id=invoice.merchant_id, from_status=None, to_status=invoice.status, reason=reason)
    rows_insert(entry, into=insert)
