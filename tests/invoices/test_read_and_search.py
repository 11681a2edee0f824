import uuid
from datetime import timedelta

import pytest
from django.utils import timezone

from invoices.models import Invoice


def create(tenant, **fields):
    body = {"price_currency": "BTC", "base_price": "5.00", "base_price_currency": "USD", **fields}
    return tenant.invoice_create(body)


def test_an_invoice_reads_back_as_it_was_created(alice, rates):
    created = create(alice, order_id="1001", customer_email="jane@example.com")

    response = alice.client().get(f"/api/v1/invoices/{created['id']}")

    assert response.status_code == 200
    read = response.json()
    for name, value in created.items():
        if name not in ("server_time", "updated_at"):
            assert read[name] == value, name


def test_a_get_with_a_null_json_body_is_fine(alice, rates):
    created = create(alice)

    response = alice.client().generic(
        "GET", f"/api/v1/invoices/{created['id']}", data="null", content_type="application/json"
    )

    assert response.status_code == 200


def test_the_token_may_come_in_the_query_string(alice, rates):
    created = create(alice)

    from rest_framework.test import APIClient

    response = APIClient().get(f"/api/v1/invoices/{created['id']}?access_token={alice.token}")

    assert response.status_code == 200
    assert response.json()["id"] == created["id"]


def test_unknown_and_malformed_invoice_ids_are_404(alice, rates):
    assert alice.client().get(f"/api/v1/invoices/{uuid.uuid4()}").status_code == 404
    response = alice.client().get("/api/v1/invoices/not-a-uuid")
    assert response.status_code == 404
    assert response.json()["status"] == 404


def test_search_lists_the_merchants_invoices_newest_first_with_paging(alice, rates):
    ids = [create(alice, order_id=str(n))["id"] for n in range(5)]

    response = alice.client().get("/api/v1/invoices/search", {"merchant_id": str(alice.merchant.id), "per_page": 2, "page": 2})

    assert response.status_code == 200
    body = response.json()
    assert body["status"] == 200
    assert body["paging_info"] == {"total": 5, "page": 2, "per_page": 2}
    assert [invoice["id"] for invoice in body["invoices"]] == list(reversed(ids))[2:4]


def test_search_accepts_page_number_as_the_java_client_sends_it(alice, rates):
    ids = [create(alice)["id"] for _ in range(3)]

    body = alice.client().get("/api/v1/invoices/search", {"per_page": 1, "page_number": 3}).json()

    assert [invoice["id"] for invoice in body["invoices"]] == [ids[0]]
    assert body["paging_info"]["page"] == 3


@pytest.mark.parametrize(
    ("query", "expected_orders"),
    [
        ({"order_id": "B"}, ["B"]),
        ({"customer_email": "x@example.com"}, ["A"]),
        ({"customer_name": "Zed"}, ["C"]),
        ({"item_name": "Bike"}, ["B"]),
        ({"item_sku": "SKU-C"}, ["C"]),
        ({"status": "billed"}, ["D"]),
        ({"status": "unpaid"}, ["C", "B", "A"]),
    ],
)
def test_search_filters(alice, rates, query, expected_orders):
    create(alice, order_id="A", customer_email="x@example.com")
    create(alice, order_id="B", item_name="Bike")
    create(alice, order_id="C", customer_name="Zed", item_sku="SKU-C")
    create(alice, order_id="D", type="bill", price_currency=None)

    body = alice.client().get("/api/v1/invoices/search", query).json()

    assert [invoice["order_id"] for invoice in body["invoices"]] == expected_orders


def test_search_by_time_windows(alice, rates):
    old = create(alice, order_id="old")
    new = create(alice, order_id="new")
    Invoice.objects.filter(id=old["id"]).update(
        created_at=timezone.now() - timedelta(days=10), updated_at=timezone.now() - timedelta(days=10)
    )
    since = (timezone.now() - timedelta(days=1)).strftime("%Y-%m-%dT%H:%M:%S.000Z")

    after = alice.client().get("/api/v1/invoices/search", {"start_time": since}).json()
    before = alice.client().get("/api/v1/invoices/search", {"end_time": since}).json()
    updated = alice.client().get("/api/v1/invoices/search", {"updated_since": since}).json()

    assert [i["id"] for i in after["invoices"]] == [new["id"]]
    assert [i["id"] for i in before["invoices"]] == [old["id"]]
    assert [i["id"] for i in updated["invoices"]] == [new["id"]]


@pytest.mark.parametrize(
    ("query", "field"),
    [
        ({"status": "lost"}, "status"),
        ({"start_time": "yesterday"}, "start_time"),
        ({"end_time": "2014-13-45T00:00:00Z"}, "end_time"),
        ({"page": "0"}, "page"),
        ({"per_page": "100000"}, "per_page"),
    ],
)
def test_bad_search_parameters_are_422_naming_them(alice, rates, query, field):
    response = alice.client().get("/api/v1/invoices/search", query)

    assert response.status_code == 422
    assert field in response.json()["errors"]
