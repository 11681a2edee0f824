"""Anypay's merchant API: Basic token auth, one fiat invoice payable in every coin, listing, cancelling, reading."""

import json
from datetime import timedelta

import pytest
from django.utils import timezone

from chain.listeners import SeenOutput
from invoices.models import Invoice, InvoiceEvent, PaymentOption
from invoices.payments import outputs_record
from tests.anypay.conftest import basic_client, create
from webhooks.models import Event

pytestmark = pytest.mark.django_db

EVERY_FIELD = {
    "redirect_url": "https://shop.example.com/thanks",
    "webhook_url": "https://shop.example.com/anypay-hook",
    "external_id": "order-1001",
    "business_id": "biz-1",
    "location_id": "downtown",
    "register_id": "till-3",
    "memo": "Two coffees",
    "email": "customer@example.com",
}


def pay(invoice_uid: str, currency: str, amount: int | None = None, txid: str = "ab" * 32) -> None:
    """Reports an output paying the invoice's option, as the chain watcher would."""
    option = PaymentOption.objects.get(invoice__uid=invoice_uid, currency=currency)
    paid = option.amount_due if amount is None else amount
    outputs_record(currency=currency, outputs=[SeenOutput(txid=txid, vout=0, script_pubkey=option.script_pubkey, amount=paid)])


# Authentication


def test_the_token_as_basic_user_name_with_an_empty_password_is_let_in(alice, alice_anypay, rates):
    response = create(alice_anypay, amount=10)

    assert response.status_code == 200, response.content


def test_a_password_sent_along_with_the_token_is_ignored(alice, rates):
    response = create(basic_client(alice.token, password="anything"), amount=10)

    assert response.status_code == 200


@pytest.mark.parametrize("method, path", [("post", "/anypay/invoices"), ("get", "/anypay/invoices")])
def test_no_credentials_is_401_in_hapis_shape(client, method, path):
    response = getattr(client, method)(path)

    assert response.status_code == 401
    assert response.json() == {"statusCode": 401, "error": "Unauthorized", "message": "Missing authentication"}
    assert response["WWW-Authenticate"].startswith("Basic")


@pytest.mark.parametrize("header", ["Basic bm90LWEtdG9rZW46", "Basic !!!not-base64", "Basic"])
def test_a_wrong_token_is_401(client, alice, header):
    client.credentials(HTTP_AUTHORIZATION=header)

    response = client.get("/anypay/invoices")

    assert response.status_code == 401
    assert response.json() == {"statusCode": 401, "error": "Unauthorized", "message": "Bad username or password"}


def test_a_bearer_header_is_not_anypays_auth(client, alice):
    client.credentials(HTTP_AUTHORIZATION=f"Bearer {alice.token}")

    assert client.get("/anypay/invoices").status_code == 401


def test_a_revoked_token_is_401(alice, alice_anypay):
    from merchants.models import ApiKey
    from merchants.services import api_key_revoke

    api_key_revoke(api_key=ApiKey.objects.get(merchant=alice.merchant))

    assert alice_anypay.get("/anypay/invoices").status_code == 401


def test_a_viewer_may_list_but_not_create_nor_cancel(alice, alice_anypay, alice_viewer, rates):
    uid = create(alice_anypay, amount=5).json()["uid"]

    assert alice_viewer.get("/anypay/invoices").status_code == 200
    assert create(alice_viewer, amount=5).status_code == 403
    assert alice_viewer.delete(f"/anypay/invoices/{uid}").status_code == 403


def test_a_token_without_the_invoice_scope_is_403(alice, rates):
    client = basic_client(alice.token_with("user_read"))

    response = create(client, amount=5)

    assert response.status_code == 403
    assert "error" in response.json()


# Create


def test_create_answers_every_generation_of_client(alice, alice_anypay, rates, settings):
    response = create(alice_anypay, amount=10, currency="USD", **EVERY_FIELD)

    body = response.json()
    uid = body["uid"]
    base = settings.PUBLIC_BASE_URL
    assert response.status_code == 200
    assert body["success"] is True
    assert body["invoice_uid"] == uid
    assert body["invoice"]["uid"] == uid
    assert body["status"] == body["invoice"]["status"] == "unpaid"
    assert body["amount"] == body["invoice"]["amount"] == 10
    assert body["currency"] == body["invoice"]["currency"] == "USD"
    assert body["uri"] == body["invoice"]["uri"] == f"pay:?r={base}/anypay/r/{uid}"
    assert body["account_id"] == str(alice.merchant.id)
    assert body["expiresAt"] is not None and body["createdAt"] is not None
    assert body["invoice"]["payment_options"] == body["payment_options"]
    assert "webhook_url" not in body


def test_every_field_sent_is_echoed(alice_anypay, rates):
    body = create(alice_anypay, amount="12.50", **EVERY_FIELD).json()

    for name in ("redirect_url", "external_id", "business_id", "location_id", "register_id", "memo", "email"):
        assert body[name] == EVERY_FIELD[name], name
        assert body["invoice"][name] == EVERY_FIELD[name], name
    invoice = Invoice.objects.get(uid=body["uid"])
    assert invoice.callback_url == EVERY_FIELD["webhook_url"]
    assert invoice.flavour == "anypay"


def test_one_payment_option_per_wallet_each_priced_from_the_spot_rate(alice_anypay, rates, settings):
    body = create(alice_anypay, amount=10).json()

    options = {option["currency"]: option for option in body["payment_options"]}
    assert list(options) == ["BTC", "DOGE"]
    assert options["BTC"]["amount"] == "0.00015385"  # 10 USD at 65,000 USD/BTC, rounded up to the satoshi
    assert options["DOGE"]["amount"] == "83.33333334"  # 10 USD at 0.12 USD/DOGE
    assert options["BTC"]["currency_name"] == "Bitcoin"
    assert options["BTC"]["currency_logo_url"] == f"{settings.PUBLIC_BASE_URL}/anypay/logos/btc.svg"
    assert options["BTC"]["uri"] == f"bitcoin:?r={settings.PUBLIC_BASE_URL}/anypay/r/{body['uid']}"
    assert options["DOGE"]["uri"].startswith("dogecoin:?r=")
    assert options["BTC"]["address"].startswith("bc1")


def test_the_invoice_is_created_with_its_timeline_and_webhook_event(alice_anypay, rates):
    body = create(alice_anypay, amount=10, **EVERY_FIELD).json()

    invoice = Invoice.objects.get(uid=body["uid"])
    assert invoice.price_currency is None
    assert list(InvoiceEvent.objects.filter(invoice=invoice).values_list("to_status", flat=True)) == ["unpaid"]
    event = Event.objects.get(invoice_id=invoice.id)
    webhook = json.loads(event.body)
    assert webhook["uid"] == body["uid"]
    assert webhook["status"] == "unpaid"
    assert webhook["external_id"] == "order-1001"
    assert "payload" not in webhook


def test_a_form_encoded_create_works_like_json(alice_anypay, rates):
    response = alice_anypay.post("/anypay/invoices", {"amount": "7.25", "currency": "EUR", **EVERY_FIELD})

    body = response.json()
    assert response.status_code == 200, body
    assert body["amount"] == 7.25
    assert body["currency"] == "EUR"
    assert body["external_id"] == "order-1001"
    assert len(body["payment_options"]) == 2


def test_the_currency_defaults_to_usd(alice_anypay, rates):
    assert create(alice_anypay, amount=1).json()["currency"] == "USD"


@pytest.mark.parametrize("amount", [0, -5, "0", "-0.01", "0.00"])
def test_a_zero_or_negative_amount_is_refused_in_anypays_words(alice_anypay, rates, amount):
    response = create(alice_anypay, amount=amount)

    assert response.status_code == 400
    assert response.json() == {"error": "amount must be greater than zero"}
    assert not Invoice.objects.exists()


@pytest.mark.parametrize(
    "fields, message",
    [
        ({}, "amount is required"),
        ({"amount": "ten"}, "amount must be a decimal number"),
        ({"amount": True}, "amount must be a decimal number"),
        ({"amount": "1.234"}, "amount has more decimal places than USD allows (2)"),
        ({"amount": 1, "currency": "XYZ"}, "currency is not a supported currency: XYZ"),
        ({"amount": 1, "webhook_url": "ftp://example.com/hook"}, "webhook_url must be an http or https URL"),
        ({"amount": 1, "redirect_url": "javascript:alert(1)"}, "redirect_url must be an http or https URL"),
        ({"amount": 1, "business_id": "b" * 256}, "business_id must be at most 255 characters"),
        ({"amount": 1, "location_id": {"a": 1}}, "location_id must be a string"),
        ({"amount": "1." + "0" * 80}, "amount must be at most 64 characters"),
        ({"amount": 1, "email": "\U0001f600" * 255}, "email must be at most 254 characters"),
    ],
)
def test_bad_input_is_400_naming_the_field(alice_anypay, rates, fields, message):
    response = create(alice_anypay, **fields)

    assert response.status_code == 400
    assert response.json() == {"error": message}


def test_a_webhook_url_to_a_private_address_is_refused(alice_anypay, rates):
    response = create(alice_anypay, amount=1, webhook_url="http://127.0.0.1/hook")

    assert response.status_code == 400
    assert response.json()["error"].startswith("webhook_url ")


def test_a_merchant_without_wallets_cannot_create(db, rates):
    from tests.factories import make_tenant

    tenant = make_tenant("Empty", "empty@example.com", account=3, wallets=())

    response = create(basic_client(tenant.token), amount=1)

    assert response.status_code == 400
    assert response.json()["error"].startswith("currency ")


def test_without_fresh_rates_create_is_503(alice_anypay):
    response = create(alice_anypay, amount=1)

    assert response.status_code == 503
    assert "error" in response.json()


# Read


def test_anyone_reads_an_invoice_by_its_uid(alice_anypay, client, rates):
    uid = create(alice_anypay, amount=10, **EVERY_FIELD).json()["uid"]

    response = client.get(f"/anypay/invoices/{uid}")

    body = response.json()
    assert response.status_code == 200
    assert body["uid"] == body["invoice"]["uid"] == uid
    assert [o["currency"] for o in body["payment_options"]] == ["BTC", "DOGE"]
    assert body["notes"] == []
    assert "webhook_url" not in body and "webhook_url" not in body["invoice"]


def test_the_public_read_keeps_the_shops_own_fields_to_the_shop(alice_anypay, bob_anypay, client, rates):
    uid = create(alice_anypay, amount=10, **EVERY_FIELD).json()["uid"]
    private = ("email", "external_id", "business_id", "location_id", "register_id")

    public, outsider, owner = (api.get(f"/anypay/invoices/{uid}").json() for api in (client, bob_anypay, alice_anypay))

    for body in (public, outsider):
        assert [body[name] for name in private] == [None] * len(private)
        assert [body["invoice"][name] for name in private] == [None] * len(private)
        assert body["uid"] == uid and body["payment_options"]
    assert [owner[name] for name in private] == [EVERY_FIELD[name] for name in private]


def test_a_public_read_ignores_credentials(alice_anypay, client, rates):
    uid = create(alice_anypay, amount=10).json()["uid"]
    client.credentials(HTTP_AUTHORIZATION="Basic bm9wZTo=")

    assert client.get(f"/anypay/invoices/{uid}").status_code == 200


def test_an_unknown_uid_is_404(client, db):
    response = client.get("/anypay/invoices/LeO7itGT3")

    assert response.status_code == 404
    assert response.json() == {"error": "Invoice LeO7itGT3 Not Found"}


def test_a_gocoin_invoice_is_not_served_as_an_anypay_one(alice, client, rates):
    gocoin = alice.client().post(
        f"/api/v1/merchants/{alice.merchant.id}/invoices",
        {"price_currency": "BTC", "base_price": "5", "base_price_currency": "USD"}, format="json",
    )
    uid = Invoice.objects.get(id=gocoin.json()["id"]).uid

    assert client.get(f"/anypay/invoices/{uid}").status_code == 404


def test_the_gocoin_api_reads_the_same_invoice(alice, alice_anypay, rates):
    uid = create(alice_anypay, amount=10).json()["uid"]
    invoice = Invoice.objects.get(uid=uid)

    body = alice.client().get(f"/api/v1/invoices/{invoice.id}").json()

    assert body["status"] == "unpaid"
    assert body["base_price"] == "10"
    assert body["price_currency"] is None


# Paying one option


def test_the_first_payment_commits_the_invoice_to_its_coin(alice_anypay, rates):
    uid = create(alice_anypay, amount=10).json()["uid"]

    pay(uid, "DOGE")

    invoice = Invoice.objects.get(uid=uid)
    body = alice_anypay.get(f"/anypay/invoices/{uid}").json()
    assert (invoice.price_currency, invoice.price_base_units) == ("DOGE", 8_333_333_334)
    assert invoice.inverse_spot_rate is not None and invoice.confirmations_required == 6
    assert invoice.status == "paid"
    assert body["status"] == "paid"
    assert body["invoice_currency"] == "DOGE"
    assert body["invoice_amount_paid"] == "83.33333334"
    assert body["hash"] == "ab" * 32
    assert body["complete"] is True


def test_an_underpayment_reads_underpaid(alice_anypay, rates):
    uid = create(alice_anypay, amount=10).json()["uid"]

    pay(uid, "BTC", amount=1000)

    assert alice_anypay.get(f"/anypay/invoices/{uid}").json()["status"] == "underpaid"


def test_a_payment_in_a_second_coin_goes_to_merchant_review(alice_anypay, rates):
    uid = create(alice_anypay, amount=10).json()["uid"]
    pay(uid, "BTC", amount=1000, txid="01" * 32)

    pay(uid, "DOGE", txid="02" * 32)

    invoice = Invoice.objects.get(uid=uid)
    assert invoice.status == "merchant_review"
    assert invoice.price_currency == "BTC"
    assert invoice.merchant_review_reason == "paid in DOGE after a payment in BTC chose that coin"
    assert invoice.payments.count() == 2


def test_the_webhook_of_a_paid_invoice_is_flat(alice_anypay, rates):
    uid = create(alice_anypay, amount=10, **EVERY_FIELD).json()["uid"]

    pay(uid, "BTC")

    invoice = Invoice.objects.get(uid=uid)
    paid = json.loads(Event.objects.filter(invoice_id=invoice.id).order_by("created_at").last().body)
    assert paid["status"] == "paid"
    assert paid["uid"] == uid
    assert paid["hash"] == "ab" * 32
    assert paid["external_id"] == "order-1001"
    assert paid["invoice_amount_paid"] == "0.00015385"
    assert paid["invoice_currency"] == "BTC"
    assert paid["amount"] == "10.00" and paid["currency"] == "USD"


# List


def test_the_list_holds_only_the_tokens_merchants_invoices(alice_anypay, bob_anypay, rates):
    mine = create(alice_anypay, amount=1).json()["uid"]
    theirs = create(bob_anypay, amount=2).json()["uid"]

    alice_list = [i["uid"] for i in alice_anypay.get("/anypay/invoices").json()["invoices"]]
    bob_list = [i["uid"] for i in bob_anypay.get("/anypay/invoices").json()["invoices"]]

    assert alice_list == [mine]
    assert bob_list == [theirs]


def test_the_list_pages_newest_first(alice_anypay, rates):
    uids = [create(alice_anypay, amount=n).json()["uid"] for n in range(1, 6)]

    first = alice_anypay.get("/anypay/invoices?limit=2").json()
    second = alice_anypay.get("/anypay/invoices?limit=2&offset=2").json()
    last = alice_anypay.get("/anypay/invoices?limit=2&offset=4").json()

    newest_first = list(reversed(uids))
    assert [i["uid"] for i in first["invoices"]] == newest_first[:2]
    assert [i["uid"] for i in second["invoices"]] == newest_first[2:4]
    assert [i["uid"] for i in last["invoices"]] == newest_first[4:]
    assert first["totals"]["count"] == 5


def test_the_list_filters_by_creation_date(alice_anypay, rates):
    old = create(alice_anypay, amount=1).json()["uid"]
    Invoice.objects.filter(uid=old).update(created_at=timezone.now() - timedelta(days=3))
    new = create(alice_anypay, amount=2).json()["uid"]
    yesterday = (timezone.now() - timedelta(days=1)).date().isoformat()

    recent = alice_anypay.get(f"/anypay/invoices?start_date_created={yesterday}").json()
    earlier = alice_anypay.get(f"/anypay/invoices?end_date_created={yesterday}").json()

    assert [i["uid"] for i in recent["invoices"]] == [new]
    assert [i["uid"] for i in earlier["invoices"]] == [old]


def test_the_list_filters_and_totals_by_location_and_register(alice_anypay, rates):
    create(alice_anypay, amount="10.00", location_id="downtown", register_id="till-1")
    paid_uid = create(alice_anypay, amount="5.50", location_id="downtown", register_id="till-2").json()["uid"]
    create(alice_anypay, amount="3.00", location_id="airport", register_id="till-1")
    pay(paid_uid, "BTC")

    downtown = alice_anypay.get("/anypay/invoices?location_id=downtown").json()
    till_1 = alice_anypay.get("/anypay/invoices?register_id=till-1").json()
    by_location = alice_anypay.get("/anypay/invoices?group_by=location_id").json()["totals_by"]

    assert len(downtown["invoices"]) == 2
    assert downtown["totals"] == {"count": 2, "amount": {"USD": "15.50"}, "paid_count": 1, "paid_amount": {"USD": "5.50"}}
    assert {i["location_id"] for i in till_1["invoices"]} == {"downtown", "airport"}
    assert till_1["totals"]["amount"] == {"USD": "13.00"}
    assert by_location == [
        {"location_id": "airport", "count": 1, "amount": {"USD": "3.00"}, "paid_count": 0, "paid_amount": {}},
        {"location_id": "downtown", "count": 2, "amount": {"USD": "15.50"}, "paid_count": 1, "paid_amount": {"USD": "5.50"}},
    ]


def test_the_list_filters_by_business_and_status(alice_anypay, rates):
    create(alice_anypay, amount=1, business_id="cafe")
    paid = create(alice_anypay, amount=2, business_id="cafe").json()["uid"]
    create(alice_anypay, amount=3, business_id="bakery")
    pay(paid, "BTC")

    cafe_paid = alice_anypay.get("/anypay/invoices?business_id=cafe&status=paid").json()

    assert [i["uid"] for i in cafe_paid["invoices"]] == [paid]


@pytest.mark.parametrize(
    "query, message",
    [
        ("limit=0", "limit Ensure this value is greater than or equal to 1."),
        ("limit=x", "limit A valid integer is required."),
        ("offset=-1", "offset Ensure this value is greater than or equal to 0."),
        ("start_date_created=yesterday", "start_date_created must be an ISO 8601 date or time, like 2025-01-31"),
        ("group_by=colour", "group_by must be one of business_id, location_id, register_id"),
    ],
)
def test_bad_list_parameters_are_400_naming_the_parameter(alice_anypay, query, message):
    response = alice_anypay.get(f"/anypay/invoices?{query}")

    assert response.status_code == 400
    assert response.json() == {"error": message}


# Cancel


def test_the_merchant_cancels_an_unpaid_invoice(alice_anypay, client, rates):
    uid = create(alice_anypay, amount=10).json()["uid"]

    response = alice_anypay.delete(f"/anypay/invoices/{uid}")

    assert response.status_code == 200
    assert response.json()["uid"] == uid and response.json()["status"] == "cancelled"
    assert client.get(f"/anypay/invoices/{uid}").json()["status"] == "cancelled"
    invoice = Invoice.objects.get(uid=uid)
    assert invoice.status == "expired"
    assert invoice.events.last().reason == "cancelled by the merchant"
    assert json.loads(Event.objects.filter(invoice_id=invoice.id).order_by("created_at").last().body)["status"] == "cancelled"


def test_a_payment_to_a_cancelled_invoice_goes_to_merchant_review(alice_anypay, client, rates):
    uid = create(alice_anypay, amount=10).json()["uid"]
    alice_anypay.delete(f"/anypay/invoices/{uid}")

    pay(uid, "BTC")

    invoice = Invoice.objects.get(uid=uid)
    assert invoice.status == "merchant_review"
    assert invoice.payments.count() == 1
    assert client.get(f"/anypay/invoices/{uid}").json()["status"] == "cancelled"


def test_a_paid_invoice_cannot_be_cancelled(alice_anypay, rates):
    uid = create(alice_anypay, amount=10).json()["uid"]
    pay(uid, "BTC")

    response = alice_anypay.delete(f"/anypay/invoices/{uid}")

    assert response.status_code == 400
    assert response.json() == {"error": "status can only cancel unpaid invoices, this one is paid"}


def test_a_cancelled_invoice_cannot_be_cancelled_again(alice_anypay, rates):
    uid = create(alice_anypay, amount=10).json()["uid"]
    alice_anypay.delete(f"/anypay/invoices/{uid}")

    response = alice_anypay.delete(f"/anypay/invoices/{uid}")

    assert response.status_code == 400
    assert response.json() == {"error": "status can only cancel unpaid invoices, this one is cancelled"}


def test_another_merchant_cannot_cancel_and_sees_404(alice_anypay, bob_anypay, rates):
    uid = create(alice_anypay, amount=10).json()["uid"]

    response = bob_anypay.delete(f"/anypay/invoices/{uid}")

    assert response.status_code == 404
    assert response.json() == {"error": f"Invoice {uid} Not Found"}
    assert Invoice.objects.get(uid=uid).status == "unpaid"


def test_cancelling_needs_credentials(alice_anypay, client, rates):
    uid = create(alice_anypay, amount=10).json()["uid"]

    assert client.delete(f"/anypay/invoices/{uid}").status_code == 401


# Logos


@pytest.mark.parametrize("code", ["btc", "ltc", "doge", "bch", "bsv"])
def test_the_platform_serves_every_currency_logo(client, code):
    response = client.get(f"/anypay/logos/{code}.svg")

    assert response.status_code == 200
    assert response["Content-Type"] == "image/svg+xml"
    assert b"<svg" in b"".join(response.streaming_content)


def test_an_unknown_logo_is_404(client):
    assert client.get("/anypay/logos/xyz.svg").status_code == 404


def test_every_logo_url_of_an_invoice_is_served(alice_anypay, client, rates, settings):
    options = create(alice_anypay, amount=1).json()["payment_options"]

    for option in options:
        path = option["currency_logo_url"].removeprefix(settings.PUBLIC_BASE_URL)
        assert client.get(path).status_code == 200


def test_a_review_of_an_invoice_paid_in_two_coins_prices_the_coin_that_counts(alice, alice_anypay, rates):
    uid = create(alice_anypay, amount=10).json()["uid"]
    pay(uid, "DOGE", txid="d0" * 32)
    pay(uid, "BTC", txid="b0" * 32)
    invoice = Invoice.objects.get(uid=uid)
    assert invoice.status == "merchant_review"

    response = alice.client().put(f"/api/v1/invoices/{invoice.id}/refresh_merchant_review_spot_rate")

    body = response.json()
    assert response.status_code == 200, body
    assert body["merchant_review_spot_rate"] == "0.12"  # DOGE's, the coin the invoice was committed to
    assert body["merchant_review_gain_loss"]["price_currency"] == "0.00000000"


def test_a_token_of_no_user_is_refused_like_a_bad_one(db, rates):
    from oauth2_provider.models import AccessToken

    AccessToken.objects.create(token="machine-token", user=None, scope="invoice_read_write",
                               expires=timezone.now() + timedelta(hours=1))

    response = create(basic_client("machine-token"), amount=10)

    assert response.status_code == 401
    assert not Invoice.objects.exists()
