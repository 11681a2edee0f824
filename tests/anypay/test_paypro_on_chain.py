"""Wallets pay Anypay invoices on a real regtest node through the payment protocols: JSON Payment Protocol v2 and
BIP270. The platform checks, broadcasts and records the payment; a payment it refuses never reaches the network."""

import json
import random
from datetime import timedelta

import pytest
from django.utils import timezone
from standardwebhooks import Webhook

from chain.watcher import chain_sync
from invoices.models import Invoice, Payment
from tests.anypay.conftest import basic_client, create
from tests.anypay.wallet import in_mempool, pay_addresses, pay_scripts, txid_of
from tests.factories import make_tenant
from webhooks.models import Delivery
from webhooks.services import delivery_attempt, secret_current

pytestmark = pytest.mark.django_db

JSON_V2 = {"HTTP_X_PAYPRO_VERSION": "2"}


@pytest.fixture
def shop(bsv_regtest, rates):
    """A merchant with a fresh BSV regtest wallet (its own account, so no address was ever paid before)."""
    tenant = make_tenant("Paypro Shop", "paypro@example.com", account=random.randrange(2**30), wallets=("BSV",), network="regtest")
    chain_sync(currency="BSV")
    return tenant


def new_invoice(shop, **fields) -> str:
    response = create(basic_client(shop.token), amount="9.00", **fields)
    assert response.status_code == 200, response.content
    return response.json()["uid"]


def options(client, uid: str):
    return client.get(f"/anypay/r/{uid}", HTTP_ACCEPT="application/payment-options", **JSON_V2)


def post(client, uid: str, kind: str, body: dict, path: str = "r"):
    return client.post(f"/anypay/{path}/{uid}", json.dumps(body), content_type=f"application/{kind}", **JSON_V2)


def bsv_instructions(client, uid: str) -> list[dict]:
    response = post(client, uid, "payment-request", {"chain": "BSV", "currency": "BSV"})
    assert response.status_code == 200, response.content
    return response.json()["instructions"][0]["outputs"]


def bip270_request(client, uid: str):
    return client.get(f"/anypay/r/{uid}", HTTP_ACCEPT="application/bitcoinsv-paymentrequest")


def bip270_pay(client, uid: str, transaction_hex: str):
    return client.post(
        f"/anypay/r/{uid}/pay/BSV/bip270", json.dumps({"transaction": transaction_hex, "memo": "thanks"}),
        content_type="application/bitcoinsv-payment", HTTP_ACCEPT="application/bitcoinsv-paymentack",
    )


def payment(transaction_hex: str) -> dict:
    return {"chain": "BSV", "currency": "BSV", "transactions": [{"tx": transaction_hex}]}


def test_a_wallet_pays_through_json_payment_protocol_v2(shop, bsv_regtest, client, receiver, settings):
    uid = new_invoice(shop, webhook_url=receiver.url("/anypay"), external_id="order-7")

    listed = options(client, uid)
    outputs = bsv_instructions(client, uid)
    signed = pay_addresses(bsv_regtest, outputs)
    verified = post(client, uid, "payment-verification", payment(signed))
    broadcast_after_verification = in_mempool(bsv_regtest, txid_of(bsv_regtest, signed))
    paid = post(client, uid, "payment", payment(signed))

    txid = txid_of(bsv_regtest, signed)
    invoice = Invoice.objects.get(uid=uid)
    option = invoice.payment_options.get()
    assert listed.status_code == 200
    assert listed.json()["paymentId"] == uid
    assert listed.json()["paymentUrl"] == f"{settings.PUBLIC_BASE_URL}/anypay/r/{uid}"
    assert listed.json()["paymentOptions"] == [{
        "chain": "BSV", "currency": "BSV", "network": "regtest", "estimatedAmount": option.amount_due,
        "requiredFeeRate": 1, "minerFee": 0, "decimals": 8, "selected": False,
    }]
    assert outputs == [{"amount": option.amount_due, "address": option.address}]
    assert verified.status_code == 200, verified.content
    assert verified.json()["memo"] == "Un-Signed Transaction Validated with Success"
    assert broadcast_after_verification is False
    assert paid.status_code == 200, paid.content
    assert paid.json() == {"payment": payment(signed), "memo": "Transactions accepted and broadcast to the network"}
    assert in_mempool(bsv_regtest, txid)
    assert_reads_paid(shop, client, uid, txid)
    assert_signed_flat_webhook(shop, receiver, uid, txid, external_id="order-7")


def test_a_wallet_pays_through_bip270(shop, bsv_regtest, client, settings):
    uid = new_invoice(shop, redirect_url="https://shop.example.com/done")

    request = bip270_request(client, uid)
    body = request.json()
    signed = pay_scripts(bsv_regtest, body["outputs"])
    path = body["paymentUrl"].removeprefix(settings.PUBLIC_BASE_URL)
    ack = client.post(path, json.dumps({"transaction": signed}), content_type="application/bitcoinsv-payment")

    txid = txid_of(bsv_regtest, signed)
    option = Invoice.objects.get(uid=uid).payment_options.get()
    assert request.status_code == 200
    assert body["network"] == "bitcoin-sv"
    assert body["outputs"] == [{"script": option.script_pubkey, "amount": option.amount_due}]
    assert body["paymentUrl"] == f"{settings.PUBLIC_BASE_URL}/anypay/r/{uid}/pay/BSV/bip270"
    assert body["redirectUrl"] == "https://shop.example.com/done"
    assert json.loads(body["merchantData"]) == {"invoiceUid": uid, "merchantName": "Paypro Shop"}
    assert ack.status_code == 200, ack.content
    assert ack.json()["error"] == 0
    assert in_mempool(bsv_regtest, txid)
    assert_reads_paid(shop, client, uid, txid)


def test_a_wallet_without_an_accept_header_gets_bip270(shop, client):
    uid = new_invoice(shop)

    response = client.get(f"/anypay/r/{uid}")

    assert response.status_code == 200
    assert response.json()["network"] == "bitcoin-sv"


def test_the_i_alias_serves_the_same_protocol(shop, client):
    uid = new_invoice(shop)

    response = client.get(f"/anypay/i/{uid}", HTTP_ACCEPT="application/payment-options", **JSON_V2)

    assert response.status_code == 200
    assert response.json()["paymentId"] == uid


def test_the_watcher_then_confirms_the_payment_without_counting_it_twice(shop, bsv_regtest, client):
    uid = new_invoice(shop)
    signed = pay_scripts(bsv_regtest, bip270_request(client, uid).json()["outputs"])
    bip270_pay(client, uid, signed)

    chain_sync(currency="BSV")
    bsv_regtest.mine(6)
    chain_sync(currency="BSV")

    invoice = Invoice.objects.get(uid=uid)
    assert invoice.status == "ready_to_ship"
    assert Payment.objects.filter(invoice=invoice).count() == 1
    assert client.get(f"/anypay/invoices/{uid}").json()["status"] == "paid"


def assert_reads_paid(shop, client, uid: str, txid: str) -> None:
    anypay = client.get(f"/anypay/invoices/{uid}").json()
    invoice = Invoice.objects.get(uid=uid)
    gocoin = shop.client().get(f"/api/v1/invoices/{invoice.id}").json()
    assert anypay["status"] == "paid"
    assert anypay["hash"] == txid
    assert anypay["invoice_currency"] == "BSV"
    assert anypay["invoice_amount_paid"] == anypay["invoice_amount"]
    assert gocoin["status"] == "paid"
    assert gocoin["price_currency"] == "BSV"
    assert gocoin["crypto_balance_due"] == "0.00000000"
    assert gocoin["payments"][0]["txid"] == txid


def assert_signed_flat_webhook(shop, receiver, uid: str, txid: str, *, external_id: str) -> None:
    invoice = Invoice.objects.get(uid=uid)
    for delivery in Delivery.objects.filter(event__invoice_id=invoice.id).order_by("created_at"):
        delivery_attempt(delivery_id=delivery.pk)
    bodies = [
        Webhook(secret_current(merchant=shop.merchant)).verify(request.body, request.headers)
        for request in receiver.received("/anypay")
    ]
    assert [body["status"] for body in bodies] == ["unpaid", "paid"]
    paid = bodies[-1]
    assert (paid["uid"], paid["hash"], paid["external_id"]) == (uid, txid, external_id)
    assert paid["invoice_currency"] == "BSV"
    assert paid["amount"] == "9.00" and paid["currency"] == "USD"


# Refused payments: 400 with the protocol's error body, and nothing broadcast.


def refused_v2(client, bsv_regtest, uid: str, signed: str, error: str) -> None:
    before = set(bsv_regtest.rpc.call("getrawmempool"))
    response = post(client, uid, "payment", payment(signed))
    assert response.status_code == 400, response.content
    assert response.json()["error"].startswith(error), response.json()
    assert set(bsv_regtest.rpc.call("getrawmempool")) == before


def refused_bip270(client, bsv_regtest, uid: str, signed: str, error: str) -> None:
    before = set(bsv_regtest.rpc.call("getrawmempool"))
    response = bip270_pay(client, uid, signed)
    assert response.status_code == 400, response.content
    assert response.json()["error"] == 1
    assert response.json()["memo"].startswith(error), response.json()
    assert set(bsv_regtest.rpc.call("getrawmempool")) == before


def test_a_payment_short_by_one_satoshi_is_refused(shop, bsv_regtest, client):
    uid = new_invoice(shop)
    outputs = [{**output, "amount": output["amount"] - 1} for output in bsv_instructions(client, uid)]
    signed = pay_addresses(bsv_regtest, outputs)

    refused_v2(client, bsv_regtest, uid, signed, "the transaction pays")
    refused_bip270(client, bsv_regtest, uid, signed, "the transaction pays")
    assert Invoice.objects.get(uid=uid).status == "unpaid"


def test_a_payment_to_another_address_is_refused(shop, bsv_regtest, client):
    uid = new_invoice(shop)
    amount = bsv_instructions(client, uid)[0]["amount"]
    signed = pay_addresses(bsv_regtest, [{"address": bsv_regtest.rpc.call("getnewaddress"), "amount": amount}])

    refused_v2(client, bsv_regtest, uid, signed, "Output ")
    refused_bip270(client, bsv_regtest, uid, signed, "Output ")


@pytest.mark.parametrize("garbage", ["zz", "deadbeef", "", "01000000"])
def test_garbage_hex_is_refused(shop, bsv_regtest, client, garbage):
    uid = new_invoice(shop)

    refused_v2(client, bsv_regtest, uid, garbage, "transaction ")
    refused_bip270(client, bsv_regtest, uid, garbage, "transaction ")


def test_a_paid_invoice_refuses_a_second_payment(shop, bsv_regtest, client):
    uid = new_invoice(shop)
    outputs = bsv_instructions(client, uid)
    assert post(client, uid, "payment", payment(pay_addresses(bsv_regtest, outputs))).status_code == 200
    second = pay_addresses(bsv_regtest, outputs)

    refused_v2(client, bsv_regtest, uid, second, "invoice already paid")
    refused_bip270(client, bsv_regtest, uid, second, "invoice already paid")
    assert options(client, uid).json() == {"error": "invoice already paid"}


def test_a_cancelled_invoice_refuses_payment(shop, bsv_regtest, client):
    uid = new_invoice(shop)
    outputs = bsv_instructions(client, uid)
    basic_client(shop.token).delete(f"/anypay/invoices/{uid}")
    signed = pay_addresses(bsv_regtest, outputs)

    refused_v2(client, bsv_regtest, uid, signed, "invoice cancelled")
    refused_bip270(client, bsv_regtest, uid, signed, "invoice cancelled")
    assert options(client, uid).status_code == 400


def test_an_expired_invoice_refuses_payment(shop, bsv_regtest, client):
    uid = new_invoice(shop)
    outputs = bsv_instructions(client, uid)
    Invoice.objects.filter(uid=uid).update(expires_at=timezone.now() - timedelta(seconds=1))
    signed = pay_addresses(bsv_regtest, outputs)

    refused_v2(client, bsv_regtest, uid, signed, "invoice expired")
    refused_bip270(client, bsv_regtest, uid, signed, "invoice expired")
    assert bip270_request(client, uid).json() == {"error": "invoice expired"}


def test_an_unoffered_coin_is_refused(shop, client):
    uid = new_invoice(shop)

    response = post(client, uid, "payment-request", {"chain": "BTC", "currency": "BTC"})

    assert response.status_code == 400
    assert response.json() == {"error": "Unsupported Currency or Chain for Payment Option"}


def test_an_unknown_content_type_is_415(shop, client):
    uid = new_invoice(shop)

    response = client.post(f"/anypay/r/{uid}", "{}", content_type="application/json")

    assert response.status_code == 415
    assert "error" in response.json()


def test_an_unknown_invoice_is_404_to_wallets(client, db):
    response = client.get("/anypay/r/nope", HTTP_ACCEPT="application/payment-options")

    assert response.status_code == 404
    assert response.json() == {"error": "Invoice nope Not Found"}
