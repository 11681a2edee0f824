"""Which callback each status change sends, and its body in the format of the API that made the invoice."""

import uuid

from config.rows import RowsInsert
from invoices.gocoin import invoice_output
from invoices.models import Flavour, Invoice, Status
from webhooks.services import EventToEmit, event_emit, events_emit_many

GOCOIN_EVENTS = {
    Status.PAID: "invoice_payment_received",
    Status.UNDERPAID: "invoice_payment_received",
    Status.READY_TO_SHIP: "invoice_ready_to_ship",
    Status.MERCHANT_REVIEW: "invoice_merchant_review",
    Status.INVALID: "invoice_invalid",
    Status.EXPIRED: "invoice_expired",
}
CREATED = "invoice_created"
TEST = "invoice_test_callback"


def callback_for_status(*, invoice: Invoice, status: str) -> None:
    name = GOCOIN_EVENTS.get(status)
    if name:
        callback_emit(invoice=invoice, name=name)


def callbacks_for_status_many(*, invoices: list[Invoice], status: str) -> None:
    """The callbacks of many invoices that made the same move, written in one batch."""
    name = GOCOIN_EVENTS.get(status)
    if not name:
        return
    events = []
    for invoice in invoices:
        event_id = uuid.uuid4()
        body = callback_body(invoice=invoice, name=name, event_id=event_id)
        events.append(EventToEmit(merchant_id=invoice.merchant_id, url=invoice.callback_url or None, name=name,
                                  event_id=event_id, body=body, invoice_id=invoice.id))
    events_emit_many(events)


def callback_emit(*, invoice: Invoice, name: str, insert: RowsInsert | None = None) -> uuid.UUID:
    """Writes the callback event in the caller's transaction (the outbox), or into its pending `insert`; delivery
    follows the commit."""
    event_id = uuid.uuid4()
    event_emit(
        merchant=invoice.merchant,
        url=invoice.callback_url or None,
        name=name,
        event_id=event_id,
        body=callback_body(invoice=invoice, name=name, event_id=event_id),
        invoice_id=invoice.id,
        insert=insert,
    )
    return event_id


def callback_body(*, invoice: Invoice, name: str, event_id: uuid.UUID) -> dict:
    if invoice.flavour == Flavour.GOCOIN:
        return {"id": str(event_id), "event": name, "payload": invoice_output(invoice)}
    if invoice.flavour == Flavour.ANYPAY:
        # Imported here: the Anypay module creates invoices, and so emits callbacks itself.
        from invoices.anypay import webhook_body

        return webhook_body(invoice)
    raise ValueError(f"no callback format for {invoice.flavour} invoices")
