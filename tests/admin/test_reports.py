"""The dashboard's 30 days of payments and the invoice export add up to the invoices behind them."""

import csv
import io
from datetime import timedelta

from django.utils import timezone

from chain.currencies import coin_get
from invoices.models import Invoice, Payment, PaymentOption, PaymentState
from tests.admin.conftest import invoice_create, invoice_pay
from tests.anypay.conftest import basic_client


def csv_rows(response) -> list[dict]:
    return list(csv.DictReader(io.StringIO(b"".join(response.streaming_content).decode())))


def test_the_dashboard_sums_the_last_30_days_of_payments_per_coin(shops, alice, alice_admin):
    alice_shop, _bob_shop = shops
    btc = coin_get("BTC")
    first = Payment.objects.get(txid=alice_shop.txid).amount
    second = invoice_create(alice, price_currency="DOGE", base_price="3.00")
    invoice_pay(second, amount=123_456_789, txid="d0" * 32)
    too_old = invoice_create(alice)
    invoice_pay(too_old, amount=5_000, txid="01" * 32)
    Payment.objects.filter(txid="01" * 32).update(first_seen_at=timezone.now() - timedelta(days=31))
    reorged = invoice_create(alice)
    invoice_pay(reorged, amount=7_000, txid="02" * 32)
    Payment.objects.filter(txid="02" * 32).update(state=PaymentState.REORGED_OUT)

    page = alice_admin.get("/admin/invoices/invoice/dashboard/").content.decode()

    assert f'<strong class="total">{btc.format(first)} BTC</strong> in 1 payment.' in page
    assert '<strong class="total">1.23456789 DOGE</strong> in 1 payment.' in page
    assert page.count('<svg class="volume-chart"') == 2
    assert page.count("<rect ") == 60
    assert f"{btc.format(first)} BTC</title>" in page
    assert "<script" not in page.split('id="content-main"')[1].split("</main>")[0]
    assert "Invoices created in these 30 days: 5" in page


def test_the_dashboard_without_payments_says_so(alice, alice_admin):
    page = alice_admin.get("/admin/invoices/invoice/dashboard/").content.decode()

    assert "No payments were received in these 30 days." in page


def test_the_export_has_exact_amounts_of_the_shops_invoices(shops, alice_admin):
    alice_shop, _bob_shop = shops
    paid = Invoice.objects.get(id=alice_shop.paid_invoice["id"])
    option = PaymentOption.objects.get(invoice=paid)

    response = alice_admin.get("/admin/invoices/invoice/export.csv")
    rows = {row["id"]: row for row in csv_rows(response)}

    assert response["Content-Type"].startswith("text/csv")
    assert set(rows) == {alice_shop.paid_invoice["id"], alice_shop.open_invoice["id"]}
    row = rows[str(paid.id)]
    assert row["merchant"] == "Alice's Shop"
    assert row["status"] == "ready_to_ship"
    assert (row["base_price"], row["base_price_currency"]) == ("25.50", "USD")
    assert (row["price"], row["price_currency"]) == (coin_get("BTC").format(paid.price_base_units), "BTC")
    assert row["amount_paid"] == coin_get("BTC").format(option.amount_due)
    assert row["order_id"] == "alice-ORDER-1"
    assert rows[alice_shop.open_invoice["id"]]["amount_paid"] == "0.00000000"


def test_the_export_follows_the_list_filters_and_the_selection(shops, alice_admin):
    alice_shop, _bob_shop = shops

    filtered = csv_rows(alice_admin.get("/admin/invoices/invoice/export.csv?status__exact=unpaid"))
    selected = csv_rows(alice_admin.post("/admin/invoices/invoice/", {
        "action": "export_csv", "_selected_action": [alice_shop.paid_invoice["id"]],
    }))

    assert [row["id"] for row in filtered] == [alice_shop.open_invoice["id"]]
    assert [row["id"] for row in selected] == [alice_shop.paid_invoice["id"]]


def test_the_export_keeps_text_that_looks_like_a_formula_as_text(alice, rates, alice_admin):
    invoice_create(alice, order_id="=HYPERLINK(\"http://evil.example.com\")")

    rows = csv_rows(alice_admin.get("/admin/invoices/invoice/export.csv"))

    assert rows[0]["order_id"] == "'=HYPERLINK(\"http://evil.example.com\")"


def test_the_dashboard_totals_invoices_per_location_and_register_of_this_merchant_only(alice, bob, rates, alice_admin):
    def sale(tenant, *, amount: str, location: str, register: str) -> str:
        response = basic_client(tenant.token).post(
            "/anypay/invoices", {"amount": amount, "location_id": location, "register_id": register}, format="json"
        )
        assert response.status_code == 200, response.content
        return response.json()["uid"]

    sale(alice, amount="10.00", location="harbour", register="till-1")
    sale(alice, amount="2.50", location="harbour", register="till-2")
    paid = sale(alice, amount="4.25", location="station", register="till-1")
    sale(bob, amount="99.00", location="bob-garage", register="bob-till")
    Invoice.objects.filter(uid=paid).update(status="paid")

    page = alice_admin.get("/admin/invoices/invoice/dashboard/").content.decode()

    location = page.split('id="totals-location"')[1].split("</table>")[0]
    register = page.split('id="totals-register"')[1].split("</table>")[0]
    assert "<td>harbour</td><td>USD</td><td>2</td><td>12.50</td><td>0</td><td>0.00</td>" in location
    assert "<td>station</td><td>USD</td><td>1</td><td>4.25</td><td>1</td><td>4.25</td>" in location
    assert "<td>till-1</td><td>USD</td><td>2</td><td>14.25</td><td>1</td><td>4.25</td>" in register
    assert "bob" not in location + register
    assert 'id="totals-business"' not in page
