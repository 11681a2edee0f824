"""The payment page in a real Chromium: what the customer sees, pays and is sent back from.

Set SCREENSHOT_DIR to keep a picture of each state the tests reach.
"""

import os
import threading
from datetime import timedelta
from pathlib import Path
from urllib.parse import urlsplit

import pytest
from django.db import connection
from django.utils import timezone
from playwright.sync_api import Page, expect

from chain.watcher import chain_sync
from invoices.lifecycle import invoices_expire
from invoices.models import Invoice
from tests.gateway.conftest import create_invoice

pytestmark = pytest.mark.django_db(transaction=True)

SHOP_THANKS = "https://shop.example.com/thanks?order=1001"


def snapshot(page: Page, name: str) -> None:
    folder = os.environ.get("SCREENSHOT_DIR")
    if folder:
        Path(folder).mkdir(parents=True, exist_ok=True)
        page.screenshot(path=str(Path(folder) / f"{name}.png"), full_page=True)


@pytest.fixture
def watcher(bsv_regtest, transactional_db):
    """The chain watcher running beside the page, as its beat task does in production."""
    stop = threading.Event()
    failures: list[BaseException] = []

    def follow() -> None:
        try:
            while not stop.is_set():
                chain_sync(currency="BSV")
                stop.wait(0.3)
        except BaseException as exc:  # surfaced in the test's teardown below
            failures.append(exc)
        finally:
            connection.close()

    thread = threading.Thread(target=follow, name="watcher", daemon=True)
    thread.start()
    yield
    stop.set()
    thread.join(timeout=30)
    assert not failures, failures


@pytest.fixture
def requests_seen(page: Page) -> list[str]:
    seen: list[str] = []
    page.on("request", lambda request: seen.append(request.url))
    return seen


def open_gateway(page: Page, live_server, invoice: dict, query: str = "") -> None:
    page.goto(f"{live_server.url}/gateway/invoices/{invoice['id']}{query}")


def test_the_customer_sees_amount_address_qr_and_a_running_clock(alice, rates, live_server, page, requests_seen):
    invoice = create_invoice(alice, price_currency="BTC", item_description="Hand-thrown stoneware, 300 ml")
    page.context.grant_permissions(["clipboard-read", "clipboard-write"], origin=live_server.url)

    open_gateway(page, live_server, invoice)

    expect(page.get_by_role("heading", name="Blue mug")).to_be_visible()
    expect(page.get_by_text("9.00 USD")).to_be_visible()
    expect(page.locator("#amount")).to_have_text(f"{invoice['price']} BTC")
    expect(page.locator("#address")).to_have_text(invoice["payment_address"])
    expect(page.locator(".qr svg")).to_be_visible()
    assert page.locator(".qr svg").bounding_box()["width"] >= 150
    expect(page.get_by_role("status")).to_contain_text("Waiting for your payment")
    first = page.locator('[data-field="time_left"]').inner_text()
    page.wait_for_timeout(1500)
    assert page.locator('[data-field="time_left"]').inner_text() != first
    snapshot(page, "gateway-desktop")

    page.get_by_role("button", name="Copy address").click()

    expect(page.get_by_role("button", name="Copy address")).to_have_text("Copied")
    assert page.evaluate("navigator.clipboard.readText()") == invoice["payment_address"]
    assert {urlsplit(url).netloc for url in requests_seen} == {urlsplit(live_server.url).netloc}


def test_a_regtest_payment_turns_the_page_paid_then_ready_to_ship_without_a_reload(
    regtest_shop, bsv_regtest, watcher, live_server, page, requests_seen
):
    invoice = create_invoice(regtest_shop, price_currency="BSV", confirmations_required=2)
    open_gateway(page, live_server, invoice)
    page.evaluate("window.sameDocument = true")

    page.get_by_role("button", name="Pay from test wallet").click()

    expect(page.get_by_text(f"The test wallet sent {invoice['price']} BSV.")).to_be_visible()
    expect(page.get_by_role("status")).to_contain_text("Payment received", timeout=15_000)
    expect(page.locator("#address")).to_be_hidden()
    expect(page.get_by_role("button", name="Pay from test wallet")).to_be_hidden()
    expect(page.locator('.done [data-field="confirmations"]')).to_have_text("0")

    page.get_by_role("button", name="Mine a block").click()
    expect(page.locator('.done [data-field="confirmations"]')).to_have_text("1", timeout=15_000)
    page.get_by_role("button", name="Mine a block").click()

    expect(page.get_by_role("status")).to_contain_text("Payment confirmed", timeout=15_000)
    expect(page.locator('.done [data-field="confirmations"]')).to_have_text("2")
    assert page.evaluate("window.sameDocument") is True
    assert Invoice.objects.get(id=invoice["id"]).status == "ready_to_ship"
    assert {urlsplit(url).netloc for url in requests_seen} == {urlsplit(live_server.url).netloc}
    snapshot(page, "gateway-paid")


def test_a_partial_payment_asks_for_the_rest_with_a_new_qr(regtest_shop, bsv_regtest, watcher, live_server, page):
    invoice = create_invoice(regtest_shop, price_currency="BSV")
    open_gateway(page, live_server, invoice)
    first_qr = page.locator(".qr svg").inner_html()

    bsv_regtest.send(invoice["payment_address"], "0.01")

    expect(page.get_by_role("status")).to_contain_text("Partly paid", timeout=15_000)
    expect(page.get_by_text("Still due")).to_be_visible()
    expect(page.get_by_text("Received so far: 0.01000000 BSV")).to_be_visible()
    page.wait_for_function("first => document.querySelector('.qr svg').innerHTML !== first", arg=first_qr)
    price = int(invoice["price"].replace(".", ""))
    rest = f"{(price - 1_000_000) / 100_000_000:.8f}"
    expect(page.locator("#amount")).to_have_text(f"{rest} BSV")
    snapshot(page, "gateway-underpaid")


def test_a_paid_customer_is_sent_back_to_the_shop(regtest_shop, bsv_regtest, watcher, live_server, page):
    invoice = create_invoice(regtest_shop, price_currency="BSV", redirect_url=SHOP_THANKS)
    page.route("https://shop.example.com/**", lambda route: route.fulfill(body="<h1>Thanks for your order</h1>", content_type="text/html"))
    open_gateway(page, live_server, invoice)

    bsv_regtest.send(invoice["payment_address"], invoice["price"])

    expect(page.get_by_text("Taking you back to Regtest Rolls")).to_be_visible(timeout=15_000)
    expect(page.get_by_role("link", name="Return to Regtest Rolls")).to_have_attribute("href", SHOP_THANKS)
    page.wait_for_url(SHOP_THANKS, timeout=15_000)
    expect(page.get_by_role("heading", name="Thanks for your order")).to_be_visible()


def test_a_bill_asks_for_the_currency_and_then_shows_the_payment(alice, rates, live_server, page):
    bill = create_invoice(alice, type="bill", item_name="Workshop ticket")
    open_gateway(page, live_server, bill)
    expect(page.get_by_role("status")).to_contain_text("Choose how to pay")
    expect(page.locator(".qr")).to_have_count(0)

    page.get_by_label("Dogecoin DOGE").check()
    snapshot(page, "gateway-bill-choice")
    page.get_by_role("button", name="Continue to payment").click()

    address = Invoice.objects.get(id=bill["id"]).payment_options.get().address
    expect(page.locator("#address")).to_have_text(address)
    expect(page.get_by_text("Dogecoin address")).to_be_visible()
    expect(page.locator(".qr svg")).to_be_visible()
    expect(page.get_by_role("status")).to_contain_text("Waiting for your payment")


def test_an_invoice_that_expires_while_open_says_so(alice, rates, live_server, page):
    invoice = create_invoice(alice, price_currency="BTC")
    open_gateway(page, live_server, invoice)
    page.evaluate("window.sameDocument = true")

    Invoice.objects.filter(id=invoice["id"]).update(expires_at=timezone.now() - timedelta(seconds=1))
    invoices_expire()

    expect(page.get_by_role("status")).to_contain_text("This invoice has expired", timeout=10_000)
    expect(page.get_by_text("Do not send anything to this address")).to_be_visible()
    expect(page.locator("#address")).to_be_hidden()
    assert page.evaluate("window.sameDocument") is True
    snapshot(page, "gateway-expired")


def test_the_page_fits_a_375_pixel_phone(alice, rates, live_server, browser):
    invoice = create_invoice(alice, price_currency="BTC", item_description="Hand-thrown stoneware, 300 ml")
    context = browser.new_context(viewport={"width": 375, "height": 812}, device_scale_factor=2, is_mobile=True, has_touch=True)
    phone = context.new_page()
    try:
        open_gateway(phone, live_server, invoice)

        expect(phone.locator("#address")).to_be_visible()
        assert phone.evaluate("document.documentElement.scrollWidth") <= 375
        qr = phone.locator(".qr svg").bounding_box()
        assert qr["x"] >= 0 and qr["x"] + qr["width"] <= 375
        copy = phone.get_by_role("button", name="Copy address").bounding_box()
        assert copy["x"] + copy["width"] <= 375 and copy["height"] >= 44
        snapshot(phone, "gateway-phone-375")
    finally:
        context.close()


def test_without_javascript_the_page_still_shows_amount_address_qr_and_status(alice, rates, live_server, browser):
    invoice = create_invoice(alice, price_currency="BTC")
    context = browser.new_context(java_script_enabled=False, viewport={"width": 1280, "height": 900})
    plain = context.new_page()
    try:
        open_gateway(plain, live_server, invoice)

        expect(plain.locator("#amount")).to_have_text(f"{invoice['price']} BTC")
        expect(plain.locator("#address")).to_have_text(invoice["payment_address"])
        expect(plain.locator(".qr svg")).to_be_visible()
        expect(plain.get_by_role("status")).to_contain_text("Waiting for your payment")
        expect(plain.get_by_role("button", name="Copy address")).to_be_hidden()

        plain.get_by_role("link", name="Refresh status").click()
        expect(plain.locator("#address")).to_have_text(invoice["payment_address"])
    finally:
        context.close()


def test_without_javascript_a_bill_can_still_be_paid(alice, rates, live_server, browser):
    bill = create_invoice(alice, type="bill")
    context = browser.new_context(java_script_enabled=False)
    plain = context.new_page()
    try:
        open_gateway(plain, live_server, bill, "?lang=de")

        plain.get_by_label("Bitcoin BTC").check()
        plain.get_by_role("button", name="Zur Zahlung").click()

        expect(plain.get_by_role("status")).to_contain_text("Wir warten auf Ihre Zahlung")
        expect(plain.locator(".qr svg")).to_be_visible()
    finally:
        context.close()


def test_the_browser_language_picks_the_translation(alice, rates, live_server, browser):
    invoice = create_invoice(alice, price_currency="BTC")
    context = browser.new_context(locale="es-ES")
    spanish = context.new_page()
    try:
        open_gateway(spanish, live_server, invoice)

        expect(spanish.locator("html")).to_have_attribute("lang", "es")
        expect(spanish.get_by_role("status")).to_contain_text("Esperando su pago")
        expect(spanish.get_by_role("button", name="Copiar dirección")).to_be_visible()
    finally:
        context.close()
