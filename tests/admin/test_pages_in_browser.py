"""The merchant's admin in a real browser: sign in, read an invoice's story, see the month's chart."""

from datetime import timedelta
from pathlib import Path

import pytest
from django.utils import timezone

from invoices.models import Payment
from tests.admin.conftest import PASSWORD, invoice_create, invoice_pay
from webhooks.models import Delivery
from webhooks.services import delivery_attempt

SHOTS = Path("/tmp/shots")


@pytest.fixture
def month_of_sales(shops, alice):
    """Payments spread over the last weeks, so the chart has something to draw, and every callback delivered."""
    for days_ago, amount in [(1, 40_000), (3, 125_000), (4, 60_000), (9, 210_000), (15, 80_000), (22, 150_000)]:
        invoice = invoice_create(alice)
        txid = f"{days_ago:02d}" * 32
        invoice_pay(invoice, amount=amount, txid=txid)
        Payment.objects.filter(txid=txid).update(first_seen_at=timezone.now() - timedelta(days=days_ago))
    for delivery in Delivery.objects.filter(merchant=alice.merchant, state="pending"):
        delivery_attempt(delivery_id=delivery.pk, now=timezone.now() + timedelta(hours=1))
    return shops


def sign_in(page, live_server, user) -> None:
    user.set_password(PASSWORD)
    user.save(update_fields=["password"])
    page.goto(f"{live_server.url}/admin/login/")
    page.fill("#id_username", user.username)
    page.fill("#id_password", PASSWORD)
    page.click("input[type=submit]")
    page.wait_for_url(f"{live_server.url}/admin/")


@pytest.mark.django_db(transaction=True)
def test_the_owner_reads_an_invoice_sees_the_months_chart_and_issues_a_key(month_of_sales, alice, live_server, page):
    alice_shop, bob_shop = month_of_sales
    SHOTS.mkdir(exist_ok=True)
    sign_in(page, live_server, alice.user)
    page.screenshot(path=SHOTS / "admin-index.png", full_page=True)

    page.goto(f"{live_server.url}/admin/invoices/invoice/{alice_shop.paid_invoice['id']}/change/")
    page.screenshot(path=SHOTS / "admin-invoice.png", full_page=True)
    invoice_page = page.content()

    page.goto(f"{live_server.url}/admin/invoices/invoice/dashboard/")
    page.screenshot(path=SHOTS / "admin-dashboard.png", full_page=True)
    chart_visible = page.locator("svg.volume-chart").first.is_visible()
    bars = page.locator("svg.volume-chart rect").count()
    dashboard = page.content()

    page.goto(f"{live_server.url}/admin/merchants/apikey/add/")
    page.fill("#id_name", "Till 3")
    page.click("input[type=submit]")
    page.screenshot(path=SHOTS / "admin-apikey-secret.png", full_page=True)

    assert page.locator("#secret").input_value()
    assert alice_shop.txid in invoice_page and "Callback deliveries" in invoice_page and "Timeline" in invoice_page
    assert chart_visible and bars == 30
    assert bob_shop.tenant.merchant.name not in dashboard
