"""The page speaks the customer's language: English, German or Spanish, by ?lang= or the browser."""

import pytest
from django.test import Client

from tests.gateway.conftest import create_invoice

pytestmark = pytest.mark.django_db


@pytest.fixture
def invoice(alice, rates) -> dict:
    return create_invoice(alice, price_currency="BTC")


def test_english_is_the_default(invoice):
    response = Client().get(f"/gateway/invoices/{invoice['id']}")

    assert '<html lang="en">' in response.content.decode()
    assert "Waiting for your payment" in response.content.decode()
    assert response["Content-Language"] == "en"


def test_the_lang_parameter_chooses_german(invoice):
    response = Client().get(f"/gateway/invoices/{invoice['id']}?lang=de")

    html = response.content.decode()
    assert '<html lang="de">' in html
    assert "Wir warten auf Ihre Zahlung" in html
    assert "Zu zahlender Betrag" in html
    assert response["Content-Language"] == "de"


def test_the_browser_language_chooses_spanish(invoice):
    response = Client().get(f"/gateway/invoices/{invoice['id']}", HTTP_ACCEPT_LANGUAGE="es-ES,es;q=0.9,en;q=0.5")

    html = response.content.decode()
    assert '<html lang="es">' in html
    assert "Esperando su pago" in html
    assert "Accept-Language" in response["Vary"]


def test_the_lang_parameter_wins_over_the_browser(invoice):
    html = Client().get(f"/gateway/invoices/{invoice['id']}?lang=de", HTTP_ACCEPT_LANGUAGE="es").content.decode()

    assert "Wir warten auf Ihre Zahlung" in html


def test_an_unknown_language_falls_back_to_english(invoice):
    html = Client().get(f"/gateway/invoices/{invoice['id']}?lang=xx", HTTP_ACCEPT_LANGUAGE="fr").content.decode()

    assert '<html lang="en">' in html


def test_the_status_endpoint_is_translated_too(invoice):
    body = Client().get(f"/gateway/invoices/{invoice['id']}/status?lang=es").json()

    assert body["headline"] == "Esperando su pago"
    assert body["status"] == "unpaid"


def test_links_and_forms_keep_the_language(alice, rates):
    bill = create_invoice(alice, type="bill")

    html = Client().get(f"/gateway/invoices/{bill['id']}?lang=de").content.decode()

    assert f'action="/gateway/invoices/{bill["id"]}/currency?lang=de"' in html
    assert "Zur Zahlung" in html


def test_only_the_gateway_is_translated(invoice):
    Client().get(f"/gateway/invoices/{invoice['id']}?lang=de")
    login = Client().get("/admin/login/", HTTP_ACCEPT_LANGUAGE="de").content.decode()

    assert "Anmelden" not in login
    assert "Log in" in login


def test_the_language_links_lead_to_the_same_invoice(invoice):
    html = Client().get(f"/gateway/invoices/{invoice['id']}?lang=es").content.decode()

    for code, name in (("en", "English"), ("de", "Deutsch"), ("es", "Español")):
        assert f'href="/gateway/invoices/{invoice["id"]}?lang={code}" lang="{code}" hreflang="{code}"' in html
        assert f">{name}</a>" in html
    assert 'lang="es" hreflang="es" aria-current="true"' in html
