import pytest


@pytest.mark.django_db
def test_the_openapi_document_describes_the_invoice_api(client):
    response = client.get("/api/schema", HTTP_ACCEPT="application/json")

    assert response.status_code == 200
    document = response.json() if response["Content-Type"].startswith("application/json") else None
    text = response.content.decode()
    assert "/api/v1/merchants/{merchant_id}/invoices" in text
    assert "/api/v1/invoices/search" in text
    if document:
        assert document["openapi"].startswith("3.")


@pytest.mark.django_db
def test_the_browsable_docs_page_loads(client):
    response = client.get("/api/docs")

    assert response.status_code == 200
    assert b"swagger" in response.content.lower()


@pytest.fixture
def superuser_client(client, django_user_model):
    admin = django_user_model.objects.create_superuser(username="root", email="root@example.com", password="pw")
    client.force_login(admin)
    return client


def test_the_platform_superuser_lists_everything(superuser_client, alice, bob, rates):
    import json

    alice.client().post(f"/api/v1/merchants/{alice.merchant.id}/invoices",
                        data=json.dumps({"price_currency": "BTC", "base_price": "5", "base_price_currency": "USD", "order_id": "ADM-1"}),
                        content_type="application/json")
    pages = {
        "/admin/merchants/merchant/": ["Alice&#x27;s Shop", "Bob&#x27;s Bikes"],
        "/admin/merchants/membership/": ["alice@example.com", "bob@example.com"],
        "/admin/chain/wallet/": ["BTC", "DOGE"],
        "/admin/invoices/invoice/": ["ADM-1"],
        "/admin/merchants/apikey/": ["Alice&#x27;s Shop", "Bob&#x27;s Bikes"],
        "/admin/oauth2_provider/accesstoken/": ["alice@example.com"],
    }
    for path, expected in pages.items():
        response = superuser_client.get(path)
        assert response.status_code == 200, path
        for text in expected:
            assert text in response.content.decode(), (path, text)


def test_the_admin_invoice_page_shows_the_payment_option_and_timeline(superuser_client, alice, rates):
    import json

    body = alice.client().post(f"/api/v1/merchants/{alice.merchant.id}/invoices",
                               data=json.dumps({"price_currency": "BTC", "base_price": "5", "base_price_currency": "USD"}),
                               content_type="application/json").json()

    page = superuser_client.get(f"/admin/invoices/invoice/{body['id']}/change/").content.decode()

    assert body["payment_address"] in page
    assert "unpaid" in page
