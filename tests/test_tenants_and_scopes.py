"""Merchant A's credentials against merchant B's data: 404 everywhere; each scope opens only its calls."""

import json
import uuid

import pytest
from rest_framework.test import APIClient

from chain.models import Wallet
from invoices.models import Invoice
from merchants.models import Membership, Role


def create_for(tenant, token=None, body=None):
    body = body or {"price_currency": "BTC", "base_price": "5.00", "base_price_currency": "USD"}
    return tenant.client(token).post(
        f"/api/v1/merchants/{tenant.merchant.id}/invoices", data=json.dumps(body), content_type="application/json"
    )


@pytest.fixture
def bobs_invoice(bob, rates):
    return create_for(bob).json()


def test_a_merchant_cannot_see_another_merchants_profile(alice, bob):
    for method in ("get", "patch", "put"):
        response = getattr(alice.client(), method)(f"/api/v1/merchants/{bob.merchant.id}", {"name": "Hacked"}, format="json")
        assert response.status_code == 404, method
        assert "Bob" not in response.content.decode()
    bob.merchant.refresh_from_db()
    assert bob.merchant.name == "Bob's Bikes"


def test_a_merchant_cannot_create_invoices_for_another(alice, bob, rates):
    response = create_for(bob, token=alice.token)

    assert response.status_code == 404
    assert Invoice.objects.count() == 0
    assert Wallet.objects.get(merchant=bob.merchant, currency="BTC").next_index == 0


@pytest.mark.parametrize("body", [
    {"price_currency": "BTC", "base_price": "-1", "base_price_currency": "USD"},
    {"price_currency": "DOGE", "base_price": "5", "base_price_currency": "USD"},
    {"price_currency": "BTC", "base_price": "5", "base_price_currency": "USD", "type": "bill"},
    {"base_price": "5"},
])
def test_another_merchants_invoice_is_404_whatever_the_body_says(alice, bob, rates, body):
    """Not 422: a complaint about the body (a wallet the merchant lacks, say) would tell a stranger about it."""
    response = create_for(bob, token=alice.token, body=body)

    assert response.status_code == 404
    assert Invoice.objects.count() == 0


def test_a_merchant_cannot_read_another_merchants_invoice(alice, bobs_invoice):
    response = alice.client().get(f"/api/v1/invoices/{bobs_invoice['id']}")

    assert response.status_code == 404
    assert bobs_invoice["payment_address"] not in response.content.decode()


def test_a_merchant_cannot_search_another_merchants_invoices(alice, bob, bobs_invoice):
    named = alice.client().get("/api/v1/invoices/search", {"merchant_id": str(bob.merchant.id)})
    unnamed = alice.client().get("/api/v1/invoices/search").json()

    assert named.status_code == 404
    assert unnamed["invoices"] == []
    assert unnamed["paging_info"]["total"] == 0


def test_a_nonexistent_merchant_is_404(alice):
    assert alice.client().get(f"/api/v1/merchants/{uuid.uuid4()}").status_code == 404
    assert alice.client().get("/api/v1/merchants/garbage").status_code == 404


@pytest.mark.parametrize("path", ["/api/v1/user", "/api/v1/invoices/search", f"/api/v1/invoices/{uuid.uuid4()}"])
def test_no_token_is_401_with_status_message_and_error(db, path):
    response = APIClient().get(path)

    assert response.status_code == 401
    body = response.json()
    assert body["status"] == 401 and body["message"] and body["error"] == "invalid_token"
    assert response["WWW-Authenticate"].startswith("Bearer")


def test_a_bad_token_is_401(alice):
    response = alice.client(token="not-a-token").get("/api/v1/user")

    assert response.status_code == 401
    assert response.json()["message"] == "the access token is invalid, expired or revoked"


def test_a_revoked_api_key_stops_working_at_once(alice):
    from merchants.models import ApiKey
    from merchants.services import api_key_revoke

    api_key_revoke(api_key=ApiKey.objects.get(merchant=alice.merchant))

    assert alice.client().get("/api/v1/user").status_code == 401


# (scope granted, request, expected status)
SCOPE_MATRIX = [
    ("invoice_write", "create", 201),
    ("invoice_write", "read", 403),
    ("invoice_write", "search", 403),
    ("invoice_read", "create", 403),
    ("invoice_read", "read", 200),
    ("invoice_read", "search", 200),
    ("invoice_read_write", "create", 201),
    ("invoice_read_write", "read", 200),
    ("user_read", "user", 200),
    ("user_read_write", "user", 200),
    ("invoice_read_write", "user", 403),
    ("merchant_read", "merchant_get", 200),
    ("merchant_read", "merchant_patch", 403),
    ("merchant_read_write", "merchant_get", 200),
    ("merchant_read_write", "merchant_patch", 200),
    ("user_read", "merchant_get", 403),
    ("account_read", "read", 403),
]


@pytest.mark.parametrize(("scope", "call", "expected"), SCOPE_MATRIX)
def test_scope_matrix(alice, rates, scope, call, expected):
    existing = create_for(alice).json()
    api = alice.client(alice.token_with(scope))
    merchant_path = f"/api/v1/merchants/{alice.merchant.id}"

    response = {
        "create": lambda: api.post(f"{merchant_path}/invoices", {"price_currency": "BTC", "base_price": "1", "base_price_currency": "USD"}, format="json"),
        "read": lambda: api.get(f"/api/v1/invoices/{existing['id']}"),
        "search": lambda: api.get("/api/v1/invoices/search"),
        "user": lambda: api.get("/api/v1/user"),
        "merchant_get": lambda: api.get(merchant_path),
        "merchant_patch": lambda: api.patch(merchant_path, {"city": "Lyon"}, format="json"),
    }[call]()

    assert response.status_code == expected, response.content
    if expected == 403:
        body = response.json()
        assert body["status"] == 403 and body["error"] == "insufficient_scope"
        assert "scope" in body["message"]


def test_a_viewer_member_may_read_but_not_create_or_change(alice, rates, django_user_model):
    from merchants.services import api_key_create

    viewer = django_user_model.objects.create_user(username="viewer", email="viewer@example.com")
    Membership.objects.create(user=viewer, merchant=alice.merchant, role=Role.VIEWER)
    _key, token = api_key_create(merchant=alice.merchant, user=viewer, scope="invoice_read_write merchant_read_write")
    api = alice.client(token)

    assert api.get(f"/api/v1/merchants/{alice.merchant.id}").status_code == 200
    assert api.patch(f"/api/v1/merchants/{alice.merchant.id}", {"city": "Oslo"}, format="json").status_code == 403
    assert create_for(alice, token=token).status_code == 403
    assert create_for(alice, token=token, body={"base_price": "-1"}).status_code == 403
    assert Invoice.objects.count() == 0
    assert Wallet.objects.get(merchant=alice.merchant, currency="BTC").next_index == 0
