import json
import math
import re
import threading
from fractions import Fraction

import pytest
from django.conf import settings
from django.db import connection

from chain.models import Wallet
from invoices.models import IdempotencyKey, Invoice, InvoiceEvent, PaymentOption
from rates.models import SpotRate
from webhooks.models import Delivery, Event

ISO_MS = re.compile(r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$")
ISO_S = re.compile(r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ$")

ECHO_FIELDS = {
    "callback_url": "https://shop.example.com/gocoin/callback?order=17",
    "redirect_url": "https://shop.example.com/thanks",
    "order_id": "17",
    "refund_address": "bc1qrefund",
    "item_name": "  Blue bike ",
    "item_sku": "BB-01",
    "item_description": "A blue bike",
    "physical": "true",
    "customer_name": "Jane Doe",
    "customer_address_1": "1 Main St",
    "customer_address_2": "Apt 2",
    "customer_city": "Springfield",
    "customer_region": "IL",
    "customer_country": "US",
    "customer_postal_code": "62701",
    "customer_email": "jane@example.com",
    "customer_phone": "+1 555 0100",
    "notification_level": "all",
    "data": '{"cart": [1, 2]}',
    **{f"user_defined_{n}": f"value {n}" for n in range(1, 9)},
}


def create(tenant, body, *, client=None, **headers):
    api = client or tenant.client()
    return api.post(
        f"/api/v1/merchants/{tenant.merchant.id}/invoices", data=json.dumps(body), content_type="application/json", **headers
    )


def expected_satoshis(base_price: str, fiat: str, crypto: str = "BTC") -> int:
    usd = settings.RATES_FIXED_USD
    fiat_per_coin = Fraction(usd[crypto]) / Fraction(usd[fiat])
    return math.ceil(Fraction(base_price) * 10**8 / fiat_per_coin)


def test_create_answers_201_with_location_and_a_priced_addressed_invoice(alice, rates):
    response = create(alice, {"price_currency": "BTC", "base_price": "134.00", "base_price_currency": "USD"})

    assert response.status_code == 201
    body = response.json()
    assert response["Location"] == f"http://testserver/api/v1/invoices/{body['id']}"
    assert body["status"] == "unpaid"
    assert body["merchant_id"] == str(alice.merchant.id)
    satoshis = expected_satoshis("134.00", "USD")
    assert Fraction(body["price"]) * 10**8 == satoshis
    assert len(body["price"].split(".")[1]) == 8
    assert body["crypto_balance_due"] == body["price"]
    assert body["payment_address"].startswith("bc1q")
    option = PaymentOption.objects.get(invoice_id=body["id"])
    assert option.address == body["payment_address"]
    assert option.amount_due == satoshis
    assert option.script_pubkey.startswith("0014") and len(option.script_pubkey) == 44


def test_price_is_rounded_up_to_the_satoshi_and_rates_are_decimal_strings(alice, rates):
    body = create(alice, {"price_currency": "BTC", "base_price": "10.00", "base_price_currency": "EUR"}).json()

    satoshis = expected_satoshis("10.00", "EUR")
    assert Fraction(body["price"]) * 10**8 == satoshis
    assert Fraction(body["price"]) >= Fraction("10.00") / Fraction(body["inverse_spot_rate"])
    usd = settings.RATES_FIXED_USD
    assert abs(Fraction(body["inverse_spot_rate"]) - Fraction(usd["BTC"]) / Fraction(usd["EUR"])) < Fraction(1, 10**17)
    assert abs(Fraction(body["usd_spot_rate"]) - Fraction(usd["EUR"])) < Fraction(1, 10**17)
    for name in ("spot_rate", "inverse_spot_rate", "usd_spot_rate", "price", "crypto_balance_due"):
        assert isinstance(body[name], str) and re.fullmatch(r"\d+\.\d+", body[name]), name


def test_every_submitted_field_is_echoed_as_the_identical_string(alice, rates):
    body = create(alice, {"price_currency": "BTC", "base_price": "134.00", "base_price_currency": "USD", **ECHO_FIELDS}).json()

    for name, sent in ECHO_FIELDS.items():
        assert body[name] == sent, name
    assert body["base_price"] == "134.00"


def test_a_json_number_price_keeps_its_digits(alice, rates):
    raw = '{"price_currency": "BTC", "base_price": 134.10, "base_price_currency": "USD", "order_id": 42}'
    response = alice.client().post(
        f"/api/v1/merchants/{alice.merchant.id}/invoices", data=raw, content_type="application/json"
    )

    assert response.status_code == 201
    assert response.json()["base_price"] == "134.10"
    assert response.json()["order_id"] == "42"


def test_response_has_every_field_with_the_types_strict_clients_need(alice, rates):
    body = create(alice, {"price_currency": "BTC", "base_price": "134.00", "base_price_currency": "USD"}).json()

    capture_order = [
        "id", "status", "payment_address", "price", "crypto_balance_due", "price_currency", "base_price",
        "base_price_currency", "service_fee_rate", "usd_spot_rate", "spot_rate", "inverse_spot_rate",
        "crypto_payout_split", "confirmations_required", "crypto_url", "notification_level", "redirect_url",
        "order_id", "item_name", "item_sku", "item_description", "physical", "customer_name",
        "customer_address_1", "customer_address_2", "customer_city", "customer_region", "customer_country",
        "customer_postal_code", "customer_email", "customer_phone", *[f"user_defined_{n}" for n in range(1, 9)],
        "data", "expires_at", "created_at", "updated_at", "server_time", "callback_url", "payments", "merchant_id",
    ]
    keys = list(body)
    assert [k for k in keys if k in capture_order] == capture_order
    for extra in ("gateway_url", "refund_address", "base_price_currency_detail", "price_currency_detail",
                  "valid_bill_payment_currencies", "merchant_review_reason"):
        assert extra in body
    assert isinstance(body["service_fee_rate"], float) and body["service_fee_rate"] == 0.01
    assert body["crypto_payout_split"] == 100 and isinstance(body["crypto_payout_split"], int)
    assert body["confirmations_required"] == 2
    assert body["payments"] == []
    assert body["valid_bill_payment_currencies"] is None
    for name in ("expires_at", "created_at", "updated_at"):
        assert ISO_MS.match(body[name]), name
    assert ISO_S.match(body["server_time"])
    assert body["gateway_url"] == f"{settings.PUBLIC_BASE_URL}/gateway/invoices/{body['id']}"
    assert body["crypto_url"].startswith(f"bitcoin:{body['payment_address']}?amount=")
    assert f"amount={body['price'].rstrip('0')}" in body["crypto_url"]
    assert "label=Payment%20to%20Alice%27s%20Shop" in body["crypto_url"]
    assert body["price_currency_detail"] == {
        "id": "BTC", "name": "Bitcoin", "symbol": body["price_currency_detail"]["symbol"], "is_crypto": True,
        "sort_order": body["price_currency_detail"]["sort_order"], "precision": 8,
        "aliases": body["price_currency_detail"]["aliases"],
    }
    assert body["base_price_currency_detail"]["id"] == "USD"
    assert body["base_price_currency_detail"]["is_crypto"] is False
    assert body["base_price_currency_detail"]["precision"] == 2


def test_expiry_is_fifteen_minutes_after_creation(alice, rates):
    body = create(alice, {"price_currency": "BTC", "base_price": "5", "base_price_currency": "USD"}).json()
    invoice = Invoice.objects.get(id=body["id"])

    assert (invoice.expires_at - invoice.created_at).total_seconds() == pytest.approx(settings.INVOICE_EXPIRY_SECONDS, abs=1)


def test_confirmations_required_can_be_chosen(alice, rates):
    body = create(alice, {"price_currency": "BTC", "base_price": "5", "base_price_currency": "USD", "confirmations_required": 6}).json()

    assert body["confirmations_required"] == 6


def test_merchant_defaults_fill_callback_and_redirect(alice, rates):
    alice.merchant.callback_url = "https://alice.example.com/cb"
    alice.merchant.save()

    body = create(alice, {"price_currency": "BTC", "base_price": "5", "base_price_currency": "USD"}).json()

    assert body["callback_url"] == "https://alice.example.com/cb"


def test_each_invoice_gets_its_own_address_from_the_wallet(alice, rates):
    addresses = {
        create(alice, {"price_currency": "BTC", "base_price": "5", "base_price_currency": "USD"}).json()["payment_address"]
        for _ in range(3)
    }

    assert len(addresses) == 3
    assert Wallet.objects.get(merchant=alice.merchant, currency="BTC").next_index == 3


def test_a_form_encoded_body_works_too(alice, rates):
    response = alice.client().post(
        f"/api/v1/merchants/{alice.merchant.id}/invoices",
        {"price_currency": "DOGE", "base_price": "3.50", "base_price_currency": "USD"},
    )

    assert response.status_code == 201
    assert response.json()["payment_address"].startswith("D")
    assert response.json()["crypto_url"].startswith("dogecoin:")


def test_a_bill_has_no_address_rate_or_expiry_and_lists_the_merchants_coins(alice, rates):
    response = create(alice, {"type": "bill", "base_price": 134.00, "base_price_currency": "USD"})

    assert response.status_code == 201
    body = response.json()
    assert body["status"] == "billed"
    assert body["type"] == "bill"
    for name in ("payment_address", "price", "price_currency", "spot_rate", "inverse_spot_rate", "expires_at", "crypto_url"):
        assert body[name] is None, name
    assert body["valid_bill_payment_currencies"] == ["BTC", "DOGE"]
    assert [d["id"] for d in body["valid_bill_payment_currency_details"]] == ["BTC", "DOGE"]
    assert not PaymentOption.objects.filter(invoice_id=body["id"]).exists()
    assert Wallet.objects.get(merchant=alice.merchant, currency="BTC").next_index == 0


def test_creation_writes_the_first_timeline_entry(alice, rates):
    body = create(alice, {"price_currency": "BTC", "base_price": "5", "base_price_currency": "USD"}).json()

    events = list(InvoiceEvent.objects.filter(invoice_id=body["id"]).values_list("from_status", "to_status"))
    assert events == [(None, "unpaid")]


@pytest.mark.parametrize(
    ("body", "field", "message"),
    [
        ({"price_currency": "BTC", "base_price": "0", "base_price_currency": "USD"}, "base_price", "must be greater than zero"),
        ({"price_currency": "BTC", "base_price": "-5", "base_price_currency": "USD"}, "base_price", "must be greater than zero"),
        ({"price_currency": "BTC", "base_price_currency": "USD"}, "base_price", "can't be blank"),
        ({"price_currency": "BTC", "base_price": "abc", "base_price_currency": "USD"}, "base_price", "must be a decimal number"),
        ({"price_currency": "BTC", "base_price": "1.001", "base_price_currency": "USD"}, "base_price", "has more decimal places than USD allows (2)"),
        ({"price_currency": "BTC", "base_price": "5", "base_price_currency": "XYZ"}, "base_price_currency", "is not a supported currency: XYZ"),
        ({"price_currency": "BTC", "base_price": "5"}, "base_price_currency", "can't be blank"),
        ({"price_currency": "QQQ", "base_price": "5", "base_price_currency": "USD"}, "price_currency", "is not a supported currency: QQQ"),
        ({"price_currency": "LTC", "base_price": "5", "base_price_currency": "USD"}, "price_currency", "this merchant has no LTC wallet to be paid into"),
        ({"base_price": "5", "base_price_currency": "USD"}, "price_currency", 'can\'t be blank (or create a bill with type "bill")'),
        ({"price_currency": "BTC", "base_price": "5", "base_price_currency": "USD", "type": "gift"}, "type", 'must be "bill" or left out'),
        ({"price_currency": "BTC", "base_price": "5", "base_price_currency": "USD", "callback_url": "ftp://x"}, "callback_url", "must be an http or https URL"),
        ({"price_currency": "BTC", "base_price": "5", "base_price_currency": "USD", "confirmations_required": -1}, "confirmations_required", None),
        ({"price_currency": "BTC", "base_price": "1." + "0" * 80, "base_price_currency": "USD"}, "base_price", "must be at most 64 characters"),
        ({"price_currency": "BTC", "base_price": "5", "base_price_currency": "USD", "customer_email": "\U0001f600" * 255}, "customer_email", "must be at most 254 characters"),
    ],
)
def test_invalid_input_is_422_naming_the_field_and_leaves_nothing(alice, rates, body, field, message):
    response = create(alice, body)

    assert response.status_code == 422
    payload = response.json()
    assert payload["status"] == 422
    assert field in payload["errors"]
    if message:
        assert payload["errors"][field] == [message]
    assert field in payload["message"]
    assert Invoice.objects.count() == 0
    assert InvoiceEvent.objects.count() == 0
    assert Wallet.objects.get(merchant=alice.merchant, currency="BTC").next_index == 0


def test_malformed_json_is_400(alice, rates):
    response = alice.client().post(
        f"/api/v1/merchants/{alice.merchant.id}/invoices", data='{"base_price": ', content_type="application/json"
    )

    assert response.status_code == 400
    assert response.json()["status"] == 400
    assert "malformed JSON" in response.json()["message"]


def test_a_json_body_that_is_not_an_object_is_400(alice, rates):
    response = alice.client().post(f"/api/v1/merchants/{alice.merchant.id}/invoices", data="null", content_type="application/json")

    assert response.status_code == 400


def test_unknown_fields_and_client_sent_rates_are_ignored(alice, rates):
    body = create(
        alice,
        {"price_currency": "BTC", "base_price": "5", "base_price_currency": "USD", "spot_rate": "1", "price": "0.1",
         "service_fee_rate": "0.5", "favourite_colour": "blue"},
    ).json()

    assert body["service_fee_rate"] == 0.01
    assert body["spot_rate"] != "1.0"
    assert "favourite_colour" not in body


@pytest.mark.django_db(transaction=True)  # as in production: the index is taken outside any transaction
def test_a_stale_rate_refuses_the_sale_with_503_and_writes_nothing(alice, rates):
    from datetime import timedelta

    from django.utils import timezone

    SpotRate.objects.update(fetched_at=timezone.now() - timedelta(seconds=settings.RATES_MAX_AGE_SECONDS + 5))

    response = create(alice, {"price_currency": "BTC", "base_price": "5", "base_price_currency": "USD"})

    assert response.status_code == 503
    assert response.json() == {"status": 503, "message": "no fresh spot rate for BTC/USD"}
    assert Invoice.objects.count() == 0
    assert Wallet.objects.get(merchant=alice.merchant, currency="BTC").next_index == 0


def test_a_stale_rate_refuses_the_sale_before_any_address_is_taken(alice, rates):
    """Giving an index back fails once a concurrent create has passed it, so a sale refused for its rate must not
    take one: here any change to a wallet fails at the database, which would turn the 503 into a 500."""
    from datetime import timedelta

    from django.utils import timezone

    SpotRate.objects.update(fetched_at=timezone.now() - timedelta(seconds=settings.RATES_MAX_AGE_SECONDS + 5))
    with connection.cursor() as cursor:  # dropped with the test's transaction
        cursor.execute("CREATE FUNCTION refuse_wallet_change() RETURNS trigger LANGUAGE plpgsql AS "
                       "$$ BEGIN RAISE EXCEPTION 'a wallet changed'; END $$")
        cursor.execute("CREATE TRIGGER refuse_wallet_change BEFORE UPDATE ON chain_wallet "
                       "FOR EACH ROW EXECUTE FUNCTION refuse_wallet_change()")

    response = create(alice, {"price_currency": "BTC", "base_price": "5", "base_price_currency": "USD"})

    assert response.status_code == 503


def test_the_same_idempotency_key_and_body_returns_the_first_invoice(alice, rates):
    body = {"price_currency": "BTC", "base_price": "5", "base_price_currency": "USD", "order_id": "A1"}

    first = create(alice, body, HTTP_IDEMPOTENCY_KEY="order-A1")
    second = create(alice, body, HTTP_IDEMPOTENCY_KEY="order-A1")

    assert first.status_code == second.status_code == 201
    assert second.json()["id"] == first.json()["id"]
    assert second.json()["payment_address"] == first.json()["payment_address"]
    assert second["Location"] == first["Location"]
    assert second["Idempotent-Replayed"] == "true"
    assert Invoice.objects.count() == 1
    assert Wallet.objects.get(merchant=alice.merchant, currency="BTC").next_index == 1


def test_the_same_idempotency_key_with_another_body_is_422(alice, rates):
    create(alice, {"price_currency": "BTC", "base_price": "5", "base_price_currency": "USD"}, HTTP_IDEMPOTENCY_KEY="k1")

    response = create(alice, {"price_currency": "BTC", "base_price": "6", "base_price_currency": "USD"}, HTTP_IDEMPOTENCY_KEY="k1")

    assert response.status_code == 422
    assert "Idempotency-Key" in response.json()["errors"]
    assert Invoice.objects.count() == 1


def test_an_idempotency_key_expires_after_the_window(alice, rates):
    from datetime import timedelta

    from django.utils import timezone

    body = {"price_currency": "BTC", "base_price": "5", "base_price_currency": "USD"}
    first = create(alice, body, HTTP_IDEMPOTENCY_KEY="k2").json()
    IdempotencyKey.objects.update(created_at=timezone.now() - timedelta(seconds=settings.IDEMPOTENCY_WINDOW_SECONDS + 1))

    second = create(alice, body, HTTP_IDEMPOTENCY_KEY="k2").json()

    assert second["id"] != first["id"]


def test_a_failed_create_does_not_burn_the_idempotency_key(alice, rates):
    bad = create(alice, {"price_currency": "BTC", "base_price": "0", "base_price_currency": "USD"}, HTTP_IDEMPOTENCY_KEY="k3")
    good = create(alice, {"price_currency": "BTC", "base_price": "1", "base_price_currency": "USD"}, HTTP_IDEMPOTENCY_KEY="k3")

    assert bad.status_code == 422
    assert good.status_code == 201


def test_idempotency_keys_belong_to_one_merchant(alice, bob, rates):
    body = {"price_currency": "BTC", "base_price": "5", "base_price_currency": "USD"}

    first = create(alice, body, HTTP_IDEMPOTENCY_KEY="shared")
    second = create(bob, body, HTTP_IDEMPOTENCY_KEY="shared")

    assert second.status_code == 201
    assert second.json()["id"] != first.json()["id"]
    assert second.json()["merchant_id"] == str(bob.merchant.id)


def run_at_once(count: int, call) -> list:
    """Runs `call` in `count` threads released together, each on its own database connection."""
    results: list = []
    barrier = threading.Barrier(count)

    def worker():
        try:
            barrier.wait()
            results.append(call())
        finally:
            connection.close()

    threads = [threading.Thread(target=worker) for _ in range(count)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    return results


@pytest.mark.django_db(transaction=True)
def test_concurrent_requests_with_one_key_create_one_invoice(alice, rates):
    body = {"price_currency": "BTC", "base_price": "5", "base_price_currency": "USD"}

    results = run_at_once(6, lambda: create(alice, body, HTTP_IDEMPOTENCY_KEY="race"))

    assert {r.status_code for r in results} == {201}
    assert len({r.json()["id"] for r in results}) == 1
    assert Invoice.objects.count() == 1
    assert Wallet.objects.get(merchant=alice.merchant, currency="BTC").next_index == 1


@pytest.mark.django_db(transaction=True)
def test_concurrent_invoices_never_share_an_address(alice, rates):
    body = {"price_currency": "BTC", "base_price": "5", "base_price_currency": "USD"}

    results = run_at_once(8, lambda: create(alice, body))

    assert [r.status_code for r in results] == [201] * 8
    assert len({r.json()["payment_address"] for r in results}) == 8
    assert Wallet.objects.get(merchant=alice.merchant, currency="BTC").next_index == 8


@pytest.mark.django_db(transaction=True)
def test_an_invoice_the_database_refuses_leaves_nothing_and_gives_its_address_back(alice, rates):
    body = {"price_currency": "BTC", "base_price": "5", "base_price_currency": "USD",
            "callback_url": "https://shop.example.com/cb"}
    refused_payload = create(alice, body).json()
    with connection.cursor() as cursor:
        # The invoice's own rows fail at the database, after its address was allocated.
        cursor.execute("CREATE FUNCTION refuse_invoice() RETURNS trigger LANGUAGE plpgsql AS "
                       "$$ BEGIN RAISE EXCEPTION 'refused for the test'; END $$")
        cursor.execute("CREATE TRIGGER refuse_invoice BEFORE INSERT ON invoices_invoice "
                       "FOR EACH ROW EXECUTE FUNCTION refuse_invoice()")
    try:
        with pytest.raises(Exception, match="refused for the test"):
            create(alice, body)
    finally:
        with connection.cursor() as cursor:
            cursor.execute("DROP TRIGGER refuse_invoice ON invoices_invoice; DROP FUNCTION refuse_invoice()")

    assert Invoice.objects.count() == 1
    assert InvoiceEvent.objects.count() == 1
    assert Event.objects.count() == Delivery.objects.count() == 1
    assert Wallet.objects.get(merchant=alice.merchant, currency="BTC").next_index == 1
    following = create(alice, body).json()
    assert following["payment_address"] != refused_payload["payment_address"]
    assert PaymentOption.objects.get(invoice_id=following["id"]).derivation_index == 1


@pytest.mark.django_db(transaction=True)
def test_an_address_whose_invoice_was_written_is_kept_whatever_fails_after(alice, rates, monkeypatch):
    def queue_broken(deliveries):
        raise RuntimeError("queueing failed after the commit")

    body = {"price_currency": "BTC", "base_price": "5", "base_price_currency": "USD",
            "callback_url": "https://shop.example.com/cb"}
    with monkeypatch.context() as patched:
        # The callback's queueing runs once the invoice's rows are written.
        patched.setattr("webhooks.services._enqueue_deliveries", queue_broken)
        with pytest.raises(RuntimeError, match="after the commit"):
            create(alice, body)

    written = Invoice.objects.get()
    assert Wallet.objects.get(merchant=alice.merchant, currency="BTC").next_index == 1
    following = create(alice, body).json()
    assert following["payment_address"] != written.payment_options.get().address
