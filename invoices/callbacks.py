"""Which callback each status change sends, and its body in the format of the API that made the invoice."""

import uuid

from invoices.gocoin import invoice_output
from invoices.models import Flavour, Invoice, Status
from webhooks.services import event_emit

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


def callback_emit(*, invoice: Invoice, name: str) -> uuid.UUID:
    """Writes the callback event in the caller's transaction (the outbox); delivery follows the commit."""
    event_id = uuid.uuid4()
    event_emit(
        merchant=invoice.merchant,
        url=invoice.callback_url or None,
        name=name,
        event_id=event_id,
        body=callback_body(invoice=invoice, name=name, event_id=event_id),
        invoice_id=invoice.id,
    )
    return event_id


def callback_body(*, invoice: Invoice, name: str, event_id: uuid.UUID) -> dict:
    if invoice.flavour == Flavour.GOCOIN:
        return {"id": str(event_id), "event": name, "payload": invoice_output(invoice)}
    raise ValueError(f"no callback format for {invoice.flavour} invoices")
