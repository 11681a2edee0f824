import re


def test_user_shows_the_owner_and_their_merchant_id(alice):
    response = alice.client().get("/api/v1/user")

    assert response.status_code == 200
    body = response.json()
    assert body["id"] == str(alice.user.id)
    assert body["email"] == "alice@example.com"
    assert body["merchant_id"] == str(alice.merchant.id)
    assert body["confirmed"] is True
    assert re.match(r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$", body["created_at"])


def test_merchant_reads_with_gocoin_fields_and_numeric_rates(alice):
    body = alice.client().get(f"/api/v1/merchants/{alice.merchant.id}").json()

    assert body["id"] == str(alice.merchant.id)
    assert body["name"] == "Alice's Shop"
    for name in ("address_1", "address_2", "city", "region", "country_code", "postal_code", "contact_name", "phone",
                 "website", "description", "tax_id", "logo_url", "callback_url", "redirect_url", "created_at", "updated_at"):
        assert name in body
    assert body["service_fee_rate"] == 0.01
    assert body["crypto_payout_split"] == 100


def test_patch_changes_only_what_was_sent(alice):
    response = alice.client().patch(
        f"/api/v1/merchants/{alice.merchant.id}", {"city": "Lyon", "country_code": "FR"}, format="json"
    )

    assert response.status_code == 200
    assert response.json()["city"] == "Lyon"
    alice.merchant.refresh_from_db()
    assert (alice.merchant.city, alice.merchant.country_code, alice.merchant.name) == ("Lyon", "FR", "Alice's Shop")


def test_put_updates_like_the_java_client_expects(alice):
    response = alice.client().put(
        f"/api/v1/merchants/{alice.merchant.id}", {"name": "Alice & Co", "callback_url": "https://alice.example.com/cb"}, format="json"
    )

    assert response.status_code == 200
    alice.merchant.refresh_from_db()
    assert alice.merchant.name == "Alice & Co"
    assert alice.merchant.callback_url == "https://alice.example.com/cb"


def test_platform_set_fields_cannot_be_changed_by_the_merchant(alice):
    alice.client().patch(f"/api/v1/merchants/{alice.merchant.id}", {"service_fee_rate": 0, "crypto_payout_split": 1}, format="json")

    alice.merchant.refresh_from_db()
    assert str(alice.merchant.service_fee_rate) == "0.0100"
    assert alice.merchant.crypto_payout_split == 100


def test_bad_merchant_fields_are_422_naming_them(alice):
    response = alice.client().patch(
        f"/api/v1/merchants/{alice.merchant.id}", {"website": "not a url", "country_code": "France"}, format="json"
    )

    assert response.status_code == 422
    assert set(response.json()["errors"]) == {"website", "country_code"}
