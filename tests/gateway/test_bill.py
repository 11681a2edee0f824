"""A bill asks the customer for a currency first, then shows the payment."""

import pytest
from django.test import Client

from invoices.models import Invoice
from tests.gateway.conftest import create_invoice

pytestmark = pytest.mark.django_db


def choose(client: Client, bill: dict, **form) -> object:
    return client.post(f"/gateway/invoices/{bill['id']}/currency", form)


def test_a_bill_offers_its_currencies_in_a_form(alice, rates):
    bill = create_invoice(alice, type="bill")

    html = Client().get(f"/gateway/invoices/{bill['id']}").content.decode()

    assert "Choose how to pay" in html
    assert f'action="/gateway/invoices/{bill["id"]}/currency?lang=en"' in html
    assert 'name="csrfmiddlewaretoken"' in html
    for code in bill["valid_bill_payment_currencies"]:
        assert f'name="currency" value="{code}"' in html
    assert "<svg" not in html


def test_choosing_a_currency_prices_the_bill_and_shows_the_payment(alice, rates):
    bill = create_invoice(alice, type="bill")
    client = Client()

    response = choose(client, bill, currency="DOGE")
    page = client.get(response["Location"]).content.decode()

    invoice = Invoice.objects.get(id=bill["id"])
    address = invoice.payment_options.get().address
    assert response.status_code == 302
    assert response["Location"] == f"/gateway/invoices/{bill['id']}?lang=en"
    assert invoice.status == "unpaid" and invoice.price_currency == "DOGE"
    assert address in page and "Dogecoin address" in page
    assert "Waiting for your payment" in page


def test_a_currency_outside_the_bills_list_is_refused_clearly(alice, rates):
    bill = create_invoice(alice, type="bill")

    response = choose(Client(), bill, currency="LTC")

    assert response.status_code == 400
    assert "Currency: please choose one of the currencies listed." in response.content.decode()
    assert Invoice.objects.get(id=bill["id"]).status == "billed"


def test_a_missing_choice_is_refused_clearly(alice, rates):
    bill = create_invoice(alice, type="bill")

    response = choose(Client(), bill)

    assert response.status_code == 400
    assert "Currency: please choose one to pay with." in response.content.decode()


def test_choosing_twice_keeps_the_first_choice(alice, rates):
    bill = create_invoice(alice, type="bill")
    client = Client()
    choose(client, bill, currency="BTC")

    response = choose(client, bill, currency="DOGE")

    assert response.status_code == 302
    assert Invoice.objects.get(id=bill["id"]).price_currency == "BTC"


def test_the_choice_needs_the_pages_csrf_token(alice, rates):
    bill = create_invoice(alice, type="bill")
    client = Client(enforce_csrf_checks=True)

    forged = choose(client, bill, currency="BTC")
    page = client.get(f"/gateway/invoices/{bill['id']}").content.decode()
    token = page.split('name="csrfmiddlewaretoken" value="')[1].split('"')[0]
    genuine = choose(client, bill, currency="BTC", csrfmiddlewaretoken=token)

    assert forged.status_code == 403
    assert genuine.status_code == 302
    assert Invoice.objects.get(id=bill["id"]).status == "unpaid"


def test_an_unknown_bill_is_not_found(alice, rates):
    import uuid

    assert Client().post(f"/gateway/invoices/{uuid.uuid4()}/currency", {"currency": "BTC"}).status_code == 404
