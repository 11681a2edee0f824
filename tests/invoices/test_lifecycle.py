"""After creation: expiry, a bill's currency, merchant review, closing moves and the callbacks they write."""

import json
import threading
from datetime import timedelta
from decimal import Decimal

import pytest
from django.db import connection
from django.utils import timezone

from chain.listeners import SeenOutput
from invoices.lifecycle import invoices_expire
from invoices.models import Invoice, InvoiceEvent, PaymentOption
from invoices.payments import outputs_record
from webhooks.models import Delivery, Event


def create(tenant, **fields):
    body = {"price_currency": "BTC", "base_price": "10.00", "base_price_currency": "USD", **fields}
    return tenant.invoice_create(body)


def pay(invoice: dict, amount: int, txid: str = "aa" * 32) -> None:
    option = PaymentOption.objects.get(invoice_id=invoice["id"])
    outputs_record(currency=option.currency, outputs=[SeenOutput(txid=txid, vout=0, script_pubkey=option.script_pubkey, amount=amount)])


def due(invoice: dict) -> int:
    return PaymentOption.objects.get(invoice_id=invoice["id"]).amount_due


def statuses(invoice: dict) -> list[str]:
    return list(InvoiceEvent.objects.filter(invoice_id=invoice["id"]).values_list("to_status", flat=True))


def events(invoice: dict) -> list[str]:
    return list(Event.objects.filter(invoice_id=invoice["id"]).order_by("created_at").values_list("name", flat=True))


def past(invoice: dict, seconds: int = 60) -> None:
    Invoice.objects.filter(id=invoice["id"]).update(expires_at=timezone.now() - timedelta(seconds=seconds))


def test_an_unpaid_invoice_past_its_window_expires_once(alice, rates):
    late, fresh = create(alice), create(alice)
    past(late)

    assert invoices_expire() == 1
    assert invoices_expire() == 0

    assert alice.client().get(f"/api/v1/invoices/{late['id']}").json()["status"] == "expired"
    assert Invoice.objects.get(id=fresh["id"]).status == "unpaid"
    assert statuses(late) == ["unpaid", "expired"]
    assert events(late) == ["invoice_created", "invoice_expired"]


def test_an_expiry_callback_carries_the_expired_invoice_under_its_own_event_id(alice, rates):
    late = create(alice, callback_url="https://shop.example.com/cb")
    past(late)

    invoices_expire()

    event = Event.objects.get(invoice_id=late["id"], name="invoice_expired")
    body = json.loads(event.body)
    shown = alice.client().get(f"/api/v1/invoices/{late['id']}").json()
    assert (body["id"], body["event"]) == (str(event.id), "invoice_expired")
    assert body["payload"]["status"] == "expired"
    assert body["payload"]["merchant_id"] == str(alice.merchant.id)
    assert {k: v for k, v in body["payload"].items() if k != "server_time"} == {
        k: v for k, v in shown.items() if k != "server_time"}


def test_an_expiry_callback_is_counted_against_its_own_endpoint(alice, rates):
    late = create(alice, callback_url="https://shop.example.com:8443/cb")
    past(late)

    invoices_expire()

    expiry = Delivery.objects.get(event__invoice_id=late["id"], event__name="invoice_expired")
    # The endpoint's in-flight limit groups deliveries by origin: one dead endpoint holds back only its own.
    assert expiry.origin == "https://shop.example.com:8443"


def test_an_underpaid_invoice_past_its_window_goes_to_merchant_review(alice, rates):
    invoice = create(alice)
    pay(invoice, due(invoice) // 2)
    past(invoice)

    invoices_expire()

    body = alice.client().get(f"/api/v1/invoices/{invoice['id']}").json()
    assert body["status"] == "merchant_review"
    assert body["merchant_review_reason"] == "the payment window closed while underpaid"
    assert events(invoice)[-1] == "invoice_merchant_review"


def test_a_payment_after_expiry_is_recorded_and_sent_to_review(alice, rates):
    invoice = create(alice)
    past(invoice)
    invoices_expire()

    pay(invoice, due(invoice))

    assert Invoice.objects.get(id=invoice["id"]).status == "merchant_review"
    assert statuses(invoice) == ["unpaid", "expired", "merchant_review"]


def test_a_payment_handed_over_in_time_is_on_time_however_late_it_is_recorded(alice, rates):
    invoice = create(alice)
    option = PaymentOption.objects.get(invoice_id=invoice["id"])
    handed_over = timezone.now() - timedelta(seconds=2)
    Invoice.objects.filter(id=invoice["id"]).update(expires_at=handed_over + timedelta(seconds=1))
    output = SeenOutput(txid="ac" * 32, vout=0, script_pubkey=option.script_pubkey, amount=option.amount_due,
                        seen_at=handed_over)

    outputs_record(currency="BTC", outputs=[output])

    assert Invoice.objects.get(id=invoice["id"]).status == "paid"
    assert Invoice.objects.get(id=invoice["id"]).payments.get().first_seen_at == handed_over


def test_the_merchant_expiry_setting_sets_the_window(alice, rates):
    alice.merchant.invoice_expiry_seconds = 3600
    alice.merchant.save()

    invoice = Invoice.objects.get(id=create(alice)["id"])

    assert (invoice.expires_at - invoice.created_at).total_seconds() == pytest.approx(3600, abs=2)


@pytest.mark.django_db(transaction=True)
def test_payments_racing_the_expiry_are_never_lost(alice, rates):
    invoices = [create(alice, base_price=f"{n % 50 + 1}.00") for n in range(1000)]
    Invoice.objects.update(expires_at=timezone.now() - timedelta(seconds=1))
    options = {o.invoice_id: o for o in PaymentOption.objects.all()}
    start = threading.Barrier(3)

    def expire():
        try:
            start.wait()
            while invoices_expire(batch=25):
                pass
        finally:
            connection.close()

    def pay_half(offset: int):
        try:
            start.wait()
            for invoice in invoices[offset::2]:
                option = options[invoice_uuid(invoice)]
                outputs_record(currency="BTC", outputs=[SeenOutput(txid=f"{option.id:064x}", vout=0,
                                                                   script_pubkey=option.script_pubkey, amount=option.amount_due)])
        finally:
            connection.close()

    threads = [threading.Thread(target=expire), threading.Thread(target=pay_half, args=(0,)), threading.Thread(target=pay_half, args=(1,))]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    invoices_expire()

    for invoice in Invoice.objects.prefetch_related("payments", "events"):
        moves = [event.to_status for event in invoice.events.all()]
        assert invoice.payments.count() == 1, invoice.id
        assert invoice.status == "merchant_review", (invoice.id, moves)
        assert moves.count("expired") <= 1 and moves.count("merchant_review") == 1, moves
        assert moves[-1] == invoice.status


def invoice_uuid(invoice: dict):
    import uuid

    return uuid.UUID(invoice["id"])


def test_a_bill_is_quoted_addressed_and_timed_only_when_its_currency_is_chosen(alice, rates):
    bill = create(alice, type="bill", price_currency=None)
    Invoice.objects.filter(id=bill["id"]).update(created_at=timezone.now() - timedelta(hours=3))

    response = alice.client().patch(f"/api/v1/invoices/{bill['id']}", {"price_currency": "DOGE"}, format="json")

    assert response.status_code == 200
    body = response.json()
    assert body["status"] == "unpaid"
    assert body["price_currency"] == "DOGE"
    assert body["payment_address"].startswith("D")
    assert body["spot_rate"] is not None
    invoice = Invoice.objects.get(id=bill["id"])
    assert (invoice.expires_at - timezone.now()).total_seconds() == pytest.approx(900, abs=5)
    assert statuses(bill) == ["billed", "unpaid"]


@pytest.mark.parametrize(("currency", "message"), [("LTC", "must be one of this bill's currencies: BTC, DOGE"),
                                                   ("ZZZ", "must be one of this bill's currencies: BTC, DOGE")])
def test_a_bill_currency_outside_its_list_is_422(alice, rates, currency, message):
    bill = create(alice, type="bill", price_currency=None)

    response = alice.client().patch(f"/api/v1/invoices/{bill['id']}", {"price_currency": currency}, format="json")

    assert response.status_code == 422
    assert response.json()["errors"] == {"price_currency": [message]}
    assert Invoice.objects.get(id=bill["id"]).status == "billed"
    assert not PaymentOption.objects.filter(invoice_id=bill["id"]).exists()


def test_a_currency_cannot_be_chosen_twice_or_for_an_invoice(alice, rates):
    invoice = create(alice)

    response = alice.client().patch(f"/api/v1/invoices/{invoice['id']}", {"price_currency": "BTC"}, format="json")

    assert response.status_code == 422
    assert "price_currency" in response.json()["errors"]


def test_another_merchant_cannot_touch_an_invoice(alice, bob, rates):
    invoice = create(alice, type="bill", price_currency=None)

    for method, path, body in [
        ("patch", "", {"price_currency": "BTC"}), ("put", "/accept", {}), ("put", "/cancel", {}),
        ("put", "/refresh_merchant_review_spot_rate", {}), ("post", "/test_callback", {}),
    ]:
        response = getattr(bob.client(), method)(f"/api/v1/invoices/{invoice['id']}{path}", body, format="json")
        assert response.status_code == 404, (method, path)
    assert Invoice.objects.get(id=invoice["id"]).status == "billed"


def review(alice) -> dict:
    invoice = create(alice)
    pay(invoice, due(invoice) - 1000)
    past(invoice)
    invoices_expire()
    return invoice


def test_refreshing_the_review_rate_shows_the_gain_or_loss(alice, rates):
    invoice = review(alice)

    body = alice.client().put(f"/api/v1/invoices/{invoice['id']}/refresh_merchant_review_spot_rate").json()

    assert body["status"] == "merchant_review"
    assert body["merchant_review_spot_rate"] == body["inverse_spot_rate"]
    paid_sats = due(invoice) - 1000
    value = Decimal(paid_sats) / 10**8 * Decimal(body["merchant_review_spot_rate"]) - Decimal("10.00")
    assert body["merchant_review_gain_loss"] == {
        "payout_currency": str(value.quantize(Decimal("0.01"))),
        "price_currency": "-0.00001000",
    }


def test_accepting_a_review_counts_what_was_paid_as_paid_in_full(alice, rates):
    invoice = review(alice)

    body = alice.client().put(f"/api/v1/invoices/{invoice['id']}/accept").json()

    assert body["status"] == "paid"
    assert statuses(invoice)[-2:] == ["merchant_review", "paid"]
    assert events(invoice)[-1] == "invoice_payment_received"


def test_cancelling_a_review_records_the_refund_address(alice, rates):
    invoice = review(alice)

    body = alice.client().put(f"/api/v1/invoices/{invoice['id']}/cancel", {"refund_address": "bc1qrefund"}, format="json").json()

    assert body["status"] == "invalid"
    assert body["refund_address"] == "bc1qrefund"
    assert "refund to bc1qrefund" in InvoiceEvent.objects.filter(invoice_id=invoice["id"]).last().reason
    assert events(invoice)[-1] == "invoice_invalid"


def test_review_actions_need_an_invoice_in_review(alice, rates):
    invoice = create(alice)

    response = alice.client().put(f"/api/v1/invoices/{invoice['id']}/accept")

    assert response.status_code == 422
    assert response.json()["errors"] == {"status": ["must be merchant_review to accept it, but is unpaid"]}


def test_fulfilled_and_refunded_are_the_merchants_to_set(alice, rates):
    invoice = create(alice, confirmations_required=0)
    option = PaymentOption.objects.get(invoice_id=invoice["id"])
    outputs_record(currency="BTC", outputs=[SeenOutput(txid="bb" * 32, vout=0, script_pubkey=option.script_pubkey,
                                                       amount=option.amount_due, block_hash="cc" * 32, block_height=10)])
    assert Invoice.objects.get(id=invoice["id"]).status == "ready_to_ship"

    fulfilled = alice.client().patch(f"/api/v1/invoices/{invoice['id']}", {"status": "fulfilled"}, format="json")
    refunded = alice.client().patch(f"/api/v1/invoices/{invoice['id']}", {"status": "refunded"}, format="json")

    assert fulfilled.json()["status"] == "fulfilled"
    assert refunded.json()["status"] == "refunded"
    assert statuses(invoice)[-2:] == ["fulfilled", "refunded"]


def test_fulfilled_cannot_be_set_before_the_payment_is_confirmed(alice, rates):
    invoice = create(alice)

    response = alice.client().patch(f"/api/v1/invoices/{invoice['id']}", {"status": "fulfilled"}, format="json")

    assert response.status_code == 422
    assert Invoice.objects.get(id=invoice["id"]).status == "unpaid"


def test_creation_writes_a_gocoin_callback_in_the_same_transaction(alice, rates):
    invoice = create(alice, callback_url="https://shop.example.com/cb")

    event = Event.objects.get(invoice_id=invoice["id"])
    body = json.loads(event.body)
    assert event.name == "invoice_created"
    assert body["id"] == str(event.id)
    assert body["event"] == "invoice_created"
    assert body["payload"]["id"] == invoice["id"]
    assert body["payload"]["payment_address"] == invoice["payment_address"]
    assert Delivery.objects.get(event=event).url == "https://shop.example.com/cb"


def test_a_failed_create_writes_no_callback(alice, rates):
    alice.client().post(f"/api/v1/merchants/{alice.merchant.id}/invoices",
                        {"price_currency": "LTC", "base_price": "1", "base_price_currency": "USD"}, format="json")

    assert not Event.objects.exists()


def test_a_payment_writes_its_callback(alice, rates):
    invoice = create(alice, callback_url="https://shop.example.com/cb")

    pay(invoice, due(invoice))

    assert events(invoice) == ["invoice_created", "invoice_payment_received"]
    payload = json.loads(Event.objects.get(invoice_id=invoice["id"], name="invoice_payment_received").body)["payload"]
    assert payload["status"] == "paid"


def test_a_test_callback_is_queued_for_the_callback_url(alice, rates):
    invoice = create(alice, callback_url="https://shop.example.com/cb")

    response = alice.client().post(f"/api/v1/invoices/{invoice['id']}/test_callback")

    assert response.status_code == 202
    event = Event.objects.get(id=response.json()["event_id"])
    assert event.name == "invoice_test_callback"
    assert Delivery.objects.filter(event=event).exists()


def test_a_test_callback_needs_a_callback_url(alice, rates):
    invoice = create(alice)

    response = alice.client().post(f"/api/v1/invoices/{invoice['id']}/test_callback")

    assert response.status_code == 422
    assert "callback_url" in response.json()["errors"]


@pytest.mark.parametrize("url", ["http://127.0.0.1/cb", "http://10.0.0.5/cb", "http://169.254.169.254/latest", "http://[::1]/cb"])
def test_a_callback_url_to_a_private_address_is_refused_at_creation(alice, rates, url):
    response = alice.client().post(
        f"/api/v1/merchants/{alice.merchant.id}/invoices",
        {"price_currency": "BTC", "base_price": "1", "base_price_currency": "USD", "callback_url": url}, format="json",
    )

    assert response.status_code == 422
    assert "callback_url" in response.json()["errors"]
    assert not Invoice.objects.exists()
