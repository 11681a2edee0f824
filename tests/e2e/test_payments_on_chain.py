"""Invoices paid on a real regtest node: the watcher sees, counts and confirms every satoshi."""

import random
from datetime import timedelta
from decimal import Decimal

import pytest
from django.utils import timezone

from chain.errors import NodeUnavailable
from chain.models import ChainCursor
from chain.watcher import chain_sync
from invoices.models import Invoice, InvoiceEvent, Payment, PaymentOption
from tests.e2e.wallet import send_to_scripts
from tests.factories import make_tenant

pytestmark = pytest.mark.django_db


@pytest.fixture
def shop(bsv_regtest, rates):
    """A merchant with a fresh BSV regtest wallet (its own account, so no address was ever paid before)."""
    tenant = make_tenant("Chain Shop", "chain@example.com", account=random.randrange(2**30), wallets=("BSV",), network="regtest")
    chain_sync(currency="BSV")
    return tenant


def new_invoice(tenant, base_price="9.00", **fields) -> dict:
    body = {"price_currency": "BSV", "base_price": base_price, "base_price_currency": "USD", "confirmations_required": 2, **fields}
    return tenant.invoice_create(body)


def read(tenant, invoice: dict) -> dict:
    return tenant.client().get(f"/api/v1/invoices/{invoice['id']}").json()


def pay(node, invoice: dict, amount: Decimal | str) -> str:
    return node.send(invoice["payment_address"], Decimal(amount))


def timeline(invoice: dict) -> list[str]:
    return list(InvoiceEvent.objects.filter(invoice_id=invoice["id"]).values_list("to_status", flat=True))


def test_a_full_payment_is_seen_then_confirmed_to_ready_to_ship(shop, bsv_regtest):
    invoice = new_invoice(shop)
    txid = pay(bsv_regtest, invoice, invoice["price"])

    chain_sync(currency="BSV")
    seen = read(shop, invoice)
    bsv_regtest.mine(1)
    chain_sync(currency="BSV")
    one_block = read(shop, invoice)
    bsv_regtest.mine(1)
    chain_sync(currency="BSV")
    confirmed = read(shop, invoice)

    assert seen["status"] == "paid"
    assert seen["crypto_balance_due"] == "0.00000000"
    assert seen["payments"][0]["txid"] == txid
    assert seen["payments"][0]["amount"] == invoice["price"]
    assert seen["payments"][0]["confirmations"] == 0
    assert one_block["status"] == "paid"
    assert one_block["payments"][0]["confirmations"] == 1
    assert confirmed["status"] == "ready_to_ship"
    assert confirmed["payments"][0]["confirmations"] == 2
    assert confirmed["payments"][0]["state"] == "confirmed"
    assert confirmed["payments"][0]["confirmed_at"] is not None
    assert one_block["payments"][0]["confirmed_at"] is None
    assert timeline(invoice) == ["unpaid", "paid", "ready_to_ship"]


def test_a_partial_payment_is_underpaid_until_the_remainder_arrives(shop, bsv_regtest):
    invoice = new_invoice(shop)
    price = Decimal(invoice["price"])

    pay(bsv_regtest, invoice, Decimal("0.05"))
    chain_sync(currency="BSV")
    partial = read(shop, invoice)
    pay(bsv_regtest, invoice, price - Decimal("0.05"))
    chain_sync(currency="BSV")
    full = read(shop, invoice)

    assert partial["status"] == "underpaid"
    assert Decimal(partial["crypto_balance_due"]) == price - Decimal("0.05")
    assert full["status"] == "paid"
    assert full["crypto_balance_due"] == "0.00000000"
    assert len(full["payments"]) == 2
    assert timeline(invoice) == ["unpaid", "underpaid", "paid"]


def test_an_overpayment_counts_as_paid_and_is_recorded(shop, bsv_regtest):
    invoice = new_invoice(shop)
    price = Decimal(invoice["price"])

    pay(bsv_regtest, invoice, price + Decimal("0.12345678"))
    chain_sync(currency="BSV")

    body = read(shop, invoice)
    assert body["status"] == "paid"
    assert body["crypto_balance_due"] == "0.00000000"
    assert Decimal(body["payments"][0]["amount"]) == price + Decimal("0.12345678")
    reason = InvoiceEvent.objects.get(invoice_id=invoice["id"], to_status="paid").reason
    assert "overpaid by 0.12345678 BSV" in reason


def test_two_outputs_to_one_invoice_in_one_transaction(shop, bsv_regtest):
    invoice = new_invoice(shop)
    half = (Decimal(invoice["price"]) / 2).quantize(Decimal("0.00000001"))
    script = PaymentOption.objects.get(invoice_id=invoice["id"]).script_pubkey

    txid = send_to_scripts(bsv_regtest, [(script, half), (script, Decimal(invoice["price"]) - half)])
    chain_sync(currency="BSV")

    body = read(shop, invoice)
    assert body["status"] == "paid"
    assert sorted((p["txid"], p["output_index"]) for p in body["payments"]) == sorted(
        (txid, vout) for vout in Payment.objects.filter(txid=txid).values_list("vout", flat=True)
    )
    assert len(body["payments"]) == 2
    assert sum(Decimal(p["amount"]) for p in body["payments"]) == Decimal(invoice["price"])


def test_a_payment_after_the_window_goes_to_merchant_review(shop, bsv_regtest):
    invoice = new_invoice(shop)
    Invoice.objects.filter(id=invoice["id"]).update(expires_at=timezone.now() - timedelta(minutes=1))

    pay(bsv_regtest, invoice, invoice["price"])
    chain_sync(currency="BSV")

    body = read(shop, invoice)
    assert body["status"] == "merchant_review"
    assert body["merchant_review_reason"].startswith("payment received after the invoice expired")
    assert len(body["payments"]) == 1


def test_a_late_payment_is_still_recorded_inside_the_monitoring_window_but_not_after(shop, bsv_regtest, settings):
    inside = new_invoice(shop)
    outside = new_invoice(shop)
    Invoice.objects.filter(id__in=[inside["id"], outside["id"]]).update(expires_at=timezone.now() - timedelta(hours=2))
    PaymentOption.objects.filter(invoice_id=outside["id"]).update(watch_until=timezone.now() - timedelta(seconds=1))

    pay(bsv_regtest, inside, inside["price"])
    pay(bsv_regtest, outside, outside["price"])
    chain_sync(currency="BSV")

    assert read(shop, inside)["status"] == "merchant_review"
    assert read(shop, outside)["status"] == "unpaid"
    assert read(shop, outside)["payments"] == []


def test_a_reorg_unconfirms_a_payment_and_reconsidering_restores_it(shop, bsv_regtest):
    invoice = new_invoice(shop)
    pay(bsv_regtest, invoice, invoice["price"])
    first_block, _second = bsv_regtest.mine(2)
    chain_sync(currency="BSV")
    assert read(shop, invoice)["status"] == "ready_to_ship"

    bsv_regtest.rpc.call("invalidateblock", first_block)
    chain_sync(currency="BSV")
    reorged = read(shop, invoice)
    bsv_regtest.rpc.call("reconsiderblock", first_block)
    chain_sync(currency="BSV")
    restored = read(shop, invoice)

    assert reorged["status"] == "paid"
    assert reorged["payments"][0]["confirmations"] == 0
    assert reorged["payments"][0]["block_hash"] is None
    assert restored["status"] == "ready_to_ship"
    assert restored["payments"][0]["block_hash"] == first_block
    assert timeline(invoice) == ["unpaid", "paid", "ready_to_ship", "paid", "ready_to_ship"]
    reorg_event = InvoiceEvent.objects.filter(invoice_id=invoice["id"], to_status="paid").order_by("created_at", "id").last()
    assert "reorganisation" in reorg_event.reason


def test_a_stopped_watcher_catches_up_on_every_payment_exactly_once(shop, bsv_regtest):
    invoices = [new_invoice(shop, base_price=f"{n + 1}.00") for n in range(20)]

    for invoice in invoices:
        pay(bsv_regtest, invoice, invoice["price"])
    bsv_regtest.mine(3)
    chain_sync(currency="BSV")
    chain_sync(currency="BSV")

    assert [read(shop, invoice)["status"] for invoice in invoices] == ["ready_to_ship"] * 20
    assert Payment.objects.filter(invoice__merchant=shop.merchant).count() == 20
    for invoice in invoices:
        assert timeline(invoice) == ["unpaid", "paid", "ready_to_ship"]


def test_the_node_going_down_and_up_loses_no_payment(shop, bsv_regtest):
    invoice = new_invoice(shop)
    pay(bsv_regtest, invoice, invoice["price"])
    bsv_regtest.mine(2)
    height_before = ChainCursor.objects.get(currency="BSV").height

    bsv_regtest.stop()
    try:
        with pytest.raises(NodeUnavailable):
            chain_sync(currency="BSV")
        assert ChainCursor.objects.get(currency="BSV").height == height_before
    finally:
        bsv_regtest.start()
    chain_sync(currency="BSV")

    body = read(shop, invoice)
    assert body["status"] == "ready_to_ship"
    assert len(body["payments"]) == 1


def test_outputs_to_other_addresses_are_ignored(shop, bsv_regtest):
    invoice = new_invoice(shop)
    bsv_regtest.send(bsv_regtest.rpc.call("getnewaddress"), Decimal("1"))
    bsv_regtest.mine(1)

    chain_sync(currency="BSV")

    assert read(shop, invoice)["status"] == "unpaid"
    assert not Payment.objects.exists()
