"""Payments: recording what the chain watcher sees, and the status moves that payments cause.

Every function here is idempotent: the watcher may report the same output, block or tip twice.
Amounts paid are always summed from Payment rows, never kept as a running total.
"""

from django.db import transaction
from django.db.models import F, Value
from django.db.models.functions import Coalesce
from django.utils import timezone

from chain.currencies import coin_get
from chain.listeners import SeenOutput
from invoices.anypay import anypay_payment_option_commit
from invoices.models import Flavour, Invoice, Payment, PaymentOption, PaymentState, Status
from invoices.selectors import COUNTED_PAYMENT_STATES as COUNTED
from invoices.selectors import invoices_with_detail, payment_totals
from invoices.state import invoice_transition
from webhooks.services import deliveries_queued_together

# Confirmations are tracked up to here; beyond it a payment is settled for every purpose.
CONFIRMATIONS_TRACKED = 1000
# Scripts per match query: a short IN list keeps PostgreSQL on the script index; thousands make it scan the table.
MATCH_BATCH = 500
WATCHING = (Status.UNPAID, Status.UNDERPAID, Status.PAID, Status.READY_TO_SHIP, Status.EXPIRED, Status.MERCHANT_REVIEW)


def outputs_record(*, currency: str, outputs: list[SeenOutput]) -> int:
    """Records the outputs that pay a watched payment option, with one indexed query for the batch."""
    if not outputs:
        return 0
    by_script: dict[str, list[SeenOutput]] = {}
    for output in outputs:
        by_script.setdefault(output.script_pubkey, []).append(output)
    scripts = list(by_script)
    now = timezone.now()
    options = [
        option
        for start in range(0, len(scripts), MATCH_BATCH)
        for option in PaymentOption.objects.filter(
            currency=currency, script_pubkey__in=scripts[start : start + MATCH_BATCH], watch_until__gt=now
        ).only("id", "invoice_id", "merchant_id", "currency", "script_pubkey")
    ]
    matches = [(option, output) for option in options for output in by_script[option.script_pubkey]]
    payments_record(matches=matches)
    return len(matches)


def payments_record(*, matches: list[tuple[PaymentOption, SeenOutput]]) -> list[Payment]:
    """Stores outputs paying options (each unique on txid and output index) and applies their effect, all in one
    transaction: a block's payments cost a few statements in all plus the status moves, not a transaction each.

    Locks every invoice concerned first, in id order, so two reports of one payment, or two watchers, or the expiry
    sweep, apply one after the other and never deadlock.
    """
    if not matches:
        return []
    with transaction.atomic():
        # With their merchant, which the callback of a status move renders; only the invoice rows are locked.
        invoices = list(
            Invoice.objects.select_for_update(of=("self",)).select_related("merchant")
            .filter(id__in={option.invoice_id for option, _output in matches}).order_by("id")
        )
        by_id = {invoice.id: invoice for invoice in invoices}
        for option, _output in matches:
            if by_id[option.invoice_id].flavour == Flavour.ANYPAY:
                anypay_payment_option_commit(invoice=by_id[option.invoice_id], option=option)
        recorded = _payments_store(matches, by_id)
        _payments_apply(invoices)
    return recorded


def _payments_store(matches: list[tuple[PaymentOption, SeenOutput]], invoices: dict) -> list[Payment]:
    """Inserts the outputs not stored yet; a stored one that is now in a block, or was counted out, is seen again."""
    known = {
        (payment.txid, payment.vout): payment
        for payment in Payment.objects.filter(txid__in={output.txid for _option, output in matches})
    }
    new, result = [], []
    for option, output in matches:
        payment = known.get((output.txid, output.vout))
        if payment is None:
            payment = Payment(
                invoice=invoices[option.invoice_id], payment_option=option, merchant_id=option.merchant_id,
                currency=option.currency, txid=output.txid, vout=output.vout, amount=output.amount,
                block_hash=output.block_hash, block_height=output.block_height,
                first_seen_at=output.seen_at or timezone.now(),
            )
            known[(output.txid, output.vout)] = payment
            new.append(payment)
        elif (payment.block_hash != output.block_hash and output.block_hash is not None) or payment.state not in COUNTED:
            payment.block_hash = output.block_hash or payment.block_hash
            payment.block_height = output.block_height if output.block_hash else payment.block_height
            payment.state = PaymentState.SEEN
            payment.save(update_fields=["block_hash", "block_height", "state", "updated_at"])
        result.append(payment)
    # The invoice locks keep our own watchers apart; a conflict here is another writer's identical row.
    Payment.objects.bulk_create(new, ignore_conflicts=True)
    return result


def _payments_apply(invoices: list[Invoice], reason: str = "") -> None:
    """Applies the payments of locked invoices, their options and payments read in two queries for all, and their
    callbacks queued together at commit."""
    invoices_with_detail(invoices)
    with deliveries_queued_together():
        for invoice in invoices:
            invoice_payments_apply(invoice=invoice, reason=reason, payments=invoice._prefetched_objects_cache["payments"])


def confirmations_update(*, currency: str, height: int) -> None:
    """Counts confirmations from the new tip and moves invoices whose payments are now confirmed.

    A count going up can move an invoice only when one of its payments reaches the invoice's confirmations_required
    (losing confirmations is blocks_disconnect's business): only those invoices are re-evaluated, once, not every
    `paid` invoice on every block until it is confirmed.
    """
    now = timezone.now()
    with transaction.atomic():
        Payment.objects.filter(
            currency=currency, block_height__isnull=False, block_height__lte=height, confirmations__lt=CONFIRMATIONS_TRACKED
        ).exclude(confirmations=height - F("block_height") + 1).update(
            confirmations=height - F("block_height") + 1, updated_at=now
        )
        reached = Payment.objects.filter(
            currency=currency, state=PaymentState.SEEN, block_height__isnull=False,
            confirmations__gte=Coalesce(F("invoice__confirmations_required"), Value(0)),
        )
        invoice_ids = set(reached.values_list("invoice_id", flat=True))
        reached.update(state=PaymentState.CONFIRMED, confirmed_at=now)
        _invoices_reevaluate(invoice_ids)


def _invoices_reevaluate(invoice_ids, reason: str = "") -> None:
    """Applies the payments of these invoices, locked in id order, reading their payments in one query."""
    if not invoice_ids:
        return
    invoices = list(
        Invoice.objects.select_for_update(of=("self",)).select_related("merchant").filter(id__in=invoice_ids).order_by("id")
    )
    _payments_apply(invoices, reason)


def blocks_disconnect(*, currency: str, block_hashes: list[str]) -> None:
    """Payments in blocks that left the chain go back to unconfirmed; their invoices are re-evaluated."""
    if not block_hashes:
        return
    with transaction.atomic():
        payments = Payment.objects.filter(currency=currency, block_hash__in=block_hashes)
        invoice_ids = set(payments.values_list("invoice_id", flat=True))
        payments.update(block_hash=None, block_height=None, confirmations=0, state=PaymentState.SEEN, updated_at=timezone.now())
        _invoices_reevaluate(invoice_ids, reason="a block with its payment left the chain in a reorganisation")


def unconfirmed_txids(*, currency: str) -> list[str]:
    return list(
        Payment.objects.filter(currency=currency, block_height__isnull=True, state__in=COUNTED)
        .values_list("txid", flat=True)
        .distinct()
    )


def transactions_gone(*, currency: str, txids: list[str]) -> None:
    """Unconfirmed payments whose transaction vanished (replaced or double spent) stop counting."""
    with transaction.atomic():
        payments = Payment.objects.filter(currency=currency, txid__in=txids, block_height__isnull=True)
        invoice_ids = set(payments.values_list("invoice_id", flat=True))
        payments.update(state=PaymentState.REPLACED, updated_at=timezone.now())
        _invoices_reevaluate(invoice_ids, reason="a payment's transaction was replaced or double spent")


def invoice_payments_apply(*, invoice: Invoice, reason: str = "", payments: list[Payment] | None = None) -> None:
    """Moves the invoice to the status its payments call for. The caller holds the invoice row lock.

    `payments`: the invoice's payments with their options, oldest first, when the caller has just read them.
    """
    if payments is None:
        payments = list(invoice.payments.select_related("payment_option").order_by("first_seen_at", "id"))
    totals = payment_totals(invoice, payments)
    if totals is None:
        return
    required = invoice.confirmations_required or 0
    _states_set(
        [p for p in payments if p.state == PaymentState.SEEN and p.block_height is not None and p.confirmations >= required],
        PaymentState.CONFIRMED, confirmed_at=timezone.now(),
    )
    _states_set([p for p in payments if p.state == PaymentState.CONFIRMED and p.block_height is None],
                PaymentState.SEEN, confirmed_at=None)
    # A status move's callback renders the invoice with its payments: hand them over rather than read them again.
    invoice._prefetched_objects_cache = {**getattr(invoice, "_prefetched_objects_cache", {}), "payments": payments}
    coin = coin_get(payments[0].payment_option.currency)
    amounts = f"{coin.to_decimal(totals.paid)} of {coin.to_decimal(totals.due)} {coin.code}"
    status = invoice.status

    if status in (Status.UNPAID, Status.UNDERPAID, Status.EXPIRED) and (totals.late or status == Status.EXPIRED):
        if totals.paid > 0:
            _review(invoice, f"payment received after the invoice expired at {invoice.expires_at:%Y-%m-%d %H:%M:%S} UTC: {amounts}")
        return
    if status in (Status.UNPAID, Status.UNDERPAID):
        if totals.paid >= totals.due:
            extra = f", overpaid by {coin.to_decimal(totals.overpaid)} {coin.code}" if totals.overpaid else ""
            invoice_transition(invoice=invoice, to=Status.PAID, reason=reason or f"paid {amounts}{extra}")
        elif totals.paid > 0 and status == Status.UNPAID:
            invoice_transition(invoice=invoice, to=Status.UNDERPAID, reason=reason or f"underpaid: {amounts}")
    if invoice.status == Status.READY_TO_SHIP and not totals.confirmed:
        invoice_transition(invoice=invoice, to=Status.PAID, reason=reason or "a payment lost its confirmations")
    if invoice.status == Status.PAID:
        if totals.paid < totals.due:
            target = Status.INVALID if totals.replaced else Status.UNDERPAID
            invoice_transition(invoice=invoice, to=target, reason=reason or f"{'double spent' if totals.replaced else 'no longer paid in full'}: {amounts}")
        elif totals.confirmed:
            invoice_transition(invoice=invoice, to=Status.READY_TO_SHIP, reason=f"payments confirmed: {amounts}")
    if invoice.status == Status.UNDERPAID and totals.paid == 0 and totals.replaced:
        invoice_transition(invoice=invoice, to=Status.INVALID, reason=reason or "the payment was double spent")


def _states_set(payments: list[Payment], state: str, *, confirmed_at) -> None:
    """One UPDATE for the payments that need it (usually none), and the same change on the rows in memory."""
    if payments:
        Payment.objects.filter(id__in=[p.id for p in payments]).update(state=state, confirmed_at=confirmed_at)
        for payment in payments:
            payment.state, payment.confirmed_at = state, confirmed_at


def _review(invoice: Invoice, why: str) -> None:
    if invoice_transition(invoice=invoice, to=Status.MERCHANT_REVIEW, reason=why):
        invoice.merchant_review_reason = why
        invoice.save(update_fields=["merchant_review_reason", "updated_at"])
