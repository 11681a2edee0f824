"""The hosted payment page and its status endpoint, read through Django's test client."""

import re
import uuid
from datetime import timedelta

import pytest
from django.db import transaction
from django.test import Client
from django.utils import timezone

from chain.listeners import SeenOutput
from invoices.models import Invoice, PaymentOption
from invoices.payments import payments_record
from invoices.state import invoice_transition
from tests.gateway.conftest import PRIVATE_FIELDS, create_invoice

pytestmark = pytest.mark.django_db


@pytest.fixture
def browser_client() -> Client:
    return Client()


def page_url(invoice: dict, suffix: str = "") -> str:
    return f"/gateway/invoices/{invoice['id']}{suffix}"


def pay(invoice: dict, base_units: int, txid: str | None = None) -> None:
    option = PaymentOption.objects.get(invoice_id=invoice["id"])
    output = SeenOutput(txid=txid or uuid.uuid4().hex * 2, vout=0, script_pubkey=option.script_pubkey, amount=base_units)
    payments_record(matches=[(option, output)])


def move(invoice: dict, status: str) -> None:
    with transaction.atomic():
        row = Invoice.objects.select_for_update().get(id=invoice["id"])
        invoice_transition(invoice=row, to=status, reason="test")


def satoshis(amount: str) -> int:
    return int(amount.replace(".", ""))


def test_the_page_shows_the_merchant_item_price_amount_address_qr_and_time_left(alice, rates, browser_client):
    invoice = create_invoice(alice, price_currency="BTC", item_description="Hand-thrown, 300 ml")

    response = browser_client.get(page_url(invoice))

    html = response.content.decode()
    assert response.status_code == 200
    assert "Alice&#x27;s Shop" in html
    assert "Blue mug" in html and "Hand-thrown, 300 ml" in html
    assert "9.00 USD" in html
    assert invoice["price"] in html
    assert invoice["payment_address"] in html
    assert re.search(r'<svg viewBox="0 0 \d+ \d+" class="qr-code">', html)
    assert "Waiting for your payment" in html
    assert re.search(r'<time data-field="time_left" datetime="[^"]+">1[45]:\d\d</time>', html)
    assert f'href="{invoice["crypto_url"]}"' in html.replace("&amp;", "&")


def test_the_page_never_shows_customer_or_private_fields(alice, rates, browser_client):
    invoice = create_invoice(alice, price_currency="BTC", redirect_url="https://shop.example.com/thanks", **PRIVATE_FIELDS)

    page = browser_client.get(page_url(invoice)).content.decode()
    status = browser_client.get(page_url(invoice, "/status")).content.decode()

    for name, value in PRIVATE_FIELDS.items():
        assert value not in page, name
        assert value not in status, name
    assert "shop.example.com/thanks" not in page + status


def test_the_page_makes_no_request_anywhere_else(alice, rates, browser_client):
    invoice = create_invoice(alice, price_currency="BTC")

    response = browser_client.get(page_url(invoice))

    html = response.content.decode()
    assert not re.search(r'(src|href|action)="(https?:)?//', html)
    assert "@import" not in html and "url(" not in html
    policy = response.headers["Content-Security-Policy"]
    assert "default-src 'none'" in policy and "connect-src 'self'" in policy


def test_the_status_shows_what_is_due_and_no_redirect_before_payment(alice, rates, browser_client):
    invoice = create_invoice(alice, price_currency="BTC", redirect_url="https://shop.example.com/thanks")

    response = browser_client.get(page_url(invoice, "/status"))

    body = response.json()
    assert response.headers["Cache-Control"].startswith("max-age=0")
    assert body["status"] == "unpaid"
    assert body["amount_due"] == invoice["price"]
    assert body["paid"] == "0.00000000"
    assert body["confirmations"] == 0
    assert body["expires_at"] == invoice["expires_at"]
    assert 0 < body["seconds_left"] <= 900
    assert body["redirect_url"] is None


def test_an_underpaid_invoice_asks_for_the_rest_with_a_new_qr(alice, rates, browser_client):
    invoice = create_invoice(alice, price_currency="BTC")
    price = satoshis(invoice["price"])
    pay(invoice, price // 4)

    status = browser_client.get(page_url(invoice, "/status")).json()
    page = browser_client.get(page_url(invoice)).content.decode()
    qr = browser_client.get(page_url(invoice, "/qr.svg"))

    rest = price - price // 4
    assert status["status"] == "underpaid"
    assert satoshis(status["amount_due"]) == rest
    assert satoshis(status["paid"]) == price // 4
    assert status["payment_uri"].startswith(f"bitcoin:{invoice['payment_address']}?amount=")
    assert status["payment_uri"] != invoice["crypto_url"]
    assert "Still due" in page and "Partly paid" in page
    assert status["amount_due"] in page
    assert qr["Content-Type"] == "image/svg+xml" and qr.content.startswith(b"<svg")
    assert qr.content.decode() in page


def test_a_paid_invoice_shows_success_and_hands_over_the_redirect(alice, rates, browser_client):
    invoice = create_invoice(alice, price_currency="BTC", redirect_url="https://shop.example.com/thanks")
    pay(invoice, satoshis(invoice["price"]))

    status = browser_client.get(page_url(invoice, "/status")).json()
    page = browser_client.get(page_url(invoice)).content.decode()

    assert status["status"] == "paid"
    assert status["amount_due"] == "0.00000000"
    assert status["redirect_url"] == "https://shop.example.com/thanks"
    assert "Payment received" in page
    assert 'href="https://shop.example.com/thanks"' in page
    assert "Return to Alice&#x27;s Shop" in page


def test_a_redirect_url_that_is_not_a_web_address_is_never_followed(alice, rates, browser_client):
    invoice = create_invoice(alice, price_currency="BTC")
    Invoice.objects.filter(id=invoice["id"]).update(redirect_url="javascript:alert(1)")
    pay(invoice, satoshis(invoice["price"]))

    status = browser_client.get(page_url(invoice, "/status")).json()
    page = browser_client.get(page_url(invoice)).content.decode()

    assert status["status"] == "paid"
    assert status["redirect_url"] is None
    assert "javascript:alert" not in page


@pytest.mark.parametrize(
    ("status", "message"),
    [
        ("expired", "This invoice has expired"),
        ("invalid", "This invoice is no longer valid"),
        ("merchant_review", "Your payment is being reviewed by the merchant"),
    ],
)
def test_closed_invoices_say_so_plainly(alice, rates, browser_client, status, message):
    invoice = create_invoice(alice, price_currency="BTC")
    move(invoice, status)

    page = browser_client.get(page_url(invoice)).content.decode()
    body = browser_client.get(page_url(invoice, "/status")).json()

    assert message in page
    assert body["status"] == status and body["phase"] == "closed"
    assert message in body["headline"] + " " + body["detail"]


def test_an_invoice_expired_by_the_sweep_says_so(alice, rates, browser_client):
    from invoices.lifecycle import invoices_expire

    invoice = create_invoice(alice, price_currency="BTC")
    Invoice.objects.filter(id=invoice["id"]).update(expires_at=timezone.now() - timedelta(seconds=1))
    invoices_expire()

    body = browser_client.get(page_url(invoice, "/status")).json()

    assert body["status"] == "expired"
    assert body["seconds_left"] == 0
    assert body["headline"] == "This invoice has expired"


def test_unknown_invoices_are_not_found(alice, rates, browser_client):
    assert browser_client.get(f"/gateway/invoices/{uuid.uuid4()}").status_code == 404
    assert browser_client.get(f"/gateway/invoices/{uuid.uuid4()}/status").status_code == 404
    assert browser_client.get("/gateway/invoices/not-a-uuid").status_code == 404


def test_every_merchants_invoice_has_its_own_page(alice, bob, rates, browser_client):
    alices = create_invoice(alice, price_currency="BTC")
    bobs = create_invoice(bob, price_currency="BTC", item_name="Bike bell")

    alice_page = browser_client.get(page_url(alices)).content.decode()
    bob_page = browser_client.get(page_url(bobs)).content.decode()

    assert "Alice&#x27;s Shop" in alice_page and "Bob&#x27;s Bikes" not in alice_page
    assert "Bike bell" in bob_page and bobs["payment_address"] in bob_page
    assert alices["payment_address"] not in bob_page


def test_the_page_works_without_javascript(alice, rates, browser_client):
    invoice = create_invoice(alice, price_currency="BTC")

    html = browser_client.get(page_url(invoice)).content.decode()

    without_scripts = re.sub(r"<script.*?</script>", "", html, flags=re.S)
    assert invoice["price"] in without_scripts
    assert invoice["payment_address"] in without_scripts
    assert "<svg" in without_scripts
    assert "Waiting for your payment" in without_scripts
    assert f'href="/gateway/invoices/{invoice["id"]}?lang=en">Refresh status</a>' in without_scripts
