"""Regtest cheat mode: on a regtest invoice only, the page pays from the node's wallet and mines blocks."""

import pytest
from django.test import Client

from chain.watcher import chain_sync
from invoices.models import Invoice
from tests.gateway.conftest import create_invoice

pytestmark = pytest.mark.django_db

JSON = {"HTTP_ACCEPT": "application/json"}


def test_a_mainnet_invoice_has_no_test_wallet(alice, rates):
    invoice = create_invoice(alice, price_currency="BTC")
    client = Client()

    html = client.get(f"/gateway/invoices/{invoice['id']}").content.decode()
    pay = client.post(f"/gateway/invoices/{invoice['id']}/test-wallet/pay")
    mine = client.post(f"/gateway/invoices/{invoice['id']}/test-wallet/mine")

    assert "Pay from test wallet" not in html and "Mine a block" not in html
    assert pay.status_code == 404
    assert mine.status_code == 404


def test_a_bill_without_a_currency_has_no_test_wallet(regtest_shop):
    bill = create_invoice(regtest_shop, type="bill")

    assert Client().post(f"/gateway/invoices/{bill['id']}/test-wallet/mine").status_code == 404


def test_the_test_wallet_pays_what_is_due(regtest_shop, bsv_regtest):
    invoice = create_invoice(regtest_shop, price_currency="BSV", confirmations_required=1)
    client = Client()

    html = client.get(f"/gateway/invoices/{invoice['id']}").content.decode()
    response = client.post(f"/gateway/invoices/{invoice['id']}/test-wallet/pay", **JSON)
    chain_sync(currency="BSV")

    assert "Pay from test wallet" in html and "Mine a block" in html
    assert response.status_code == 200
    assert response.json() == {"message": f"The test wallet sent {invoice['price']} BSV.", "ok": True}
    assert Invoice.objects.get(id=invoice["id"]).status == "paid"


def test_mining_a_block_confirms_the_payment(regtest_shop, bsv_regtest):
    invoice = create_invoice(regtest_shop, price_currency="BSV", confirmations_required=1)
    client = Client()
    client.post(f"/gateway/invoices/{invoice['id']}/test-wallet/pay", **JSON)
    height = bsv_regtest.rpc.call("getblockcount")

    response = client.post(f"/gateway/invoices/{invoice['id']}/test-wallet/mine")
    chain_sync(currency="BSV")

    assert response.status_code == 302
    assert response["Location"] == f"/gateway/invoices/{invoice['id']}?lang=en"
    assert bsv_regtest.rpc.call("getblockcount") == height + 1
    assert Invoice.objects.get(id=invoice["id"]).status == "ready_to_ship"


def test_nothing_is_paid_twice(regtest_shop, bsv_regtest):
    invoice = create_invoice(regtest_shop, price_currency="BSV")
    client = Client()
    client.post(f"/gateway/invoices/{invoice['id']}/test-wallet/pay", **JSON)
    chain_sync(currency="BSV")

    again = client.post(f"/gateway/invoices/{invoice['id']}/test-wallet/pay", **JSON)

    assert again.status_code == 409
    assert again.json() == {"message": "Nothing is left to pay on this invoice.", "ok": False}


def test_a_node_not_on_regtest_is_never_asked_to_pay(regtest_shop, bsv_regtest, monkeypatch):
    invoice = create_invoice(regtest_shop, price_currency="BSV")
    monkeypatch.setenv("CHAIN_BSV_NETWORK", "testnet")
    mempool_before = bsv_regtest.rpc.call("getrawmempool")

    response = Client().post(f"/gateway/invoices/{invoice['id']}/test-wallet/pay", **JSON)

    assert response.status_code == 503
    assert "not regtest" in response.json()["message"]
    assert bsv_regtest.rpc.call("getrawmempool") == mempool_before


def test_without_javascript_a_failure_is_shown_on_the_page(regtest_shop, bsv_regtest, monkeypatch):
    invoice = create_invoice(regtest_shop, price_currency="BSV")
    monkeypatch.setenv("CHAIN_BSV_NETWORK", "testnet")

    response = Client().post(f"/gateway/invoices/{invoice['id']}/test-wallet/mine")

    assert response.status_code == 503
    assert "No block was mined: the BSV node is configured for testnet, not regtest" in response.content.decode()
