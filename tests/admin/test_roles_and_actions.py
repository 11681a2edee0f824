"""What a merchant's staff may do in the admin: viewers read, owners and admins run the shop's actions."""

import re
from datetime import timedelta

import pytest
from django.utils import timezone

from chain.models import Wallet
from config.celery import app as celery_app
from invoices.lifecycle import invoices_expire
from invoices.models import Invoice, InvoiceEvent, PaymentOption
from merchants.models import ApiKey, Membership, Role
from merchants.services import membership_grant
from tests.admin.conftest import invoice_create, invoice_pay, invoice_status, login
from tests.factories import account_xpub
from webhooks.models import Delivery, DeliveryState, WebhookSecret
from webhooks.services import secret_current

TENANT_CHANGELISTS = [
    "/admin/invoices/invoice/", "/admin/invoices/payment/", "/admin/invoices/paymentoption/",
    "/admin/invoices/invoiceevent/", "/admin/webhooks/event/", "/admin/webhooks/delivery/",
    "/admin/webhooks/deliveryattempt/", "/admin/webhooks/webhooksecret/", "/admin/chain/wallet/",
    "/admin/merchants/merchant/", "/admin/merchants/membership/", "/admin/merchants/apikey/",
]


def action(client, changelist: str, name: str, *pks, follow: bool = True):
    return client.post(changelist, {"action": name, "_selected_action": [str(pk) for pk in pks]}, follow=follow)


def first_row_url(client, changelist: str) -> str:
    page = client.get(changelist).content.decode()
    return re.search(rf'href="({re.escape(changelist)}[^"/]+/change/)', page).group(1)


@pytest.mark.parametrize("changelist", TENANT_CHANGELISTS)
def test_a_viewer_reads_every_list_and_page_but_gets_no_button_to_change_anything(shops, alice_viewer, changelist):
    listing = alice_viewer.get(changelist)
    page = alice_viewer.get(first_row_url(alice_viewer, changelist))

    assert listing.status_code == 200
    action_menu = listing.content.decode().split('name="action"')[-1].split("</select>")[0]
    assert set(re.findall(r'<option value="(\w+)">', action_menu)) <= {"export_csv"}
    assert "addlink" not in listing.content.decode()
    assert page.status_code == 200
    assert 'name="_save"' not in page.content.decode()
    assert "deletelink" not in page.content.decode()
    assert alice_viewer.get(changelist + "add/").status_code == 403


@pytest.mark.parametrize("changelist", TENANT_CHANGELISTS)
def test_a_viewer_cannot_post_a_change_a_deletion_or_an_addition(shops, alice_viewer, changelist):
    url = first_row_url(alice_viewer, changelist)

    assert alice_viewer.post(url, {"name": "renamed", "role": Role.OWNER}).status_code == 403
    assert alice_viewer.post(url.replace("/change/", "/delete/"), {"post": "yes"}).status_code == 403
    assert alice_viewer.post(changelist + "add/", {"name": "new"}).status_code == 403


def test_a_viewer_cannot_run_an_action_by_posting_it(shops, alice_viewer):
    alice_shop, _bob_shop = shops
    ready = alice_shop.paid_invoice
    delivery = Delivery.objects.filter(merchant=alice_shop.tenant.merchant).first()
    key = ApiKey.objects.get(merchant=alice_shop.tenant.merchant)

    action(alice_viewer, "/admin/invoices/invoice/", "mark_fulfilled", ready["id"])
    action(alice_viewer, "/admin/webhooks/delivery/", "resend", delivery.pk)
    action(alice_viewer, "/admin/merchants/apikey/", "revoke", key.pk)

    assert invoice_status(ready) == "ready_to_ship"
    assert Delivery.objects.get(pk=delivery.pk).state == delivery.state
    assert ApiKey.objects.get(pk=key.pk).revoked_at is None


def test_an_admin_cannot_grant_roles_but_the_owner_can(shops, alice_admin, alice, django_user_model):
    manager = django_user_model.objects.create_user(username="manager@alice.example.com", email="m@alice.example.com")
    membership_grant(merchant=alice.merchant, user=manager, role=Role.ADMIN)
    manager_client = login(manager)
    membership = Membership.objects.get(user=manager)

    denied = manager_client.post(f"/admin/merchants/membership/{membership.pk}/change/", {"role": Role.OWNER})
    granted = alice_admin.post(f"/admin/merchants/membership/{membership.pk}/change/", {"role": Role.VIEWER})

    assert denied.status_code == 403
    assert granted.status_code == 302
    assert Membership.objects.get(pk=membership.pk).role == Role.VIEWER


def test_a_membership_granted_in_the_admin_lets_the_member_sign_in(alice, platform_admin, django_user_model):
    newcomer = django_user_model.objects.create_user(username="new@alice.example.com", email="new@alice.example.com")

    response = platform_admin.post("/admin/merchants/membership/add/", {
        "user": str(newcomer.pk), "merchant": str(alice.merchant.pk), "role": Role.VIEWER,
    })

    assert response.status_code == 302
    newcomer.refresh_from_db()
    assert newcomer.is_staff
    assert login(newcomer).get("/admin/invoices/invoice/").status_code == 200


def test_an_owner_edits_the_shops_details_but_not_the_platforms_terms(shops, alice_admin, alice):
    url = f"/admin/merchants/merchant/{alice.merchant.pk}/change/"
    form = alice_admin.get(url).content.decode()
    members = Membership.objects.get(merchant=alice.merchant)

    response = alice_admin.post(url, {
        "name": "Alice's Shoes", "contact_email": "shop@alice.example.com", "service_fee_rate": "0",
        "rate_spread_percent": "0", "memberships-TOTAL_FORMS": "1", "memberships-INITIAL_FORMS": "1",
        "memberships-0-id": str(members.pk), "memberships-0-merchant": str(alice.merchant.pk),
    })

    assert 'name="service_fee_rate"' not in form and 'name="name"' in form
    assert response.status_code == 302
    alice.merchant.refresh_from_db()
    assert alice.merchant.name == "Alice's Shoes"
    assert str(alice.merchant.service_fee_rate) == "0.0100"


def test_the_owner_resends_a_callback(shops, alice_admin, django_capture_on_commit_callbacks, monkeypatch):
    monkeypatch.setattr(celery_app, "send_task", lambda *args, **kwargs: None)
    alice_shop, bob_shop = shops
    delivered = Delivery.objects.filter(merchant=alice_shop.tenant.merchant, state=DeliveryState.DELIVERED).first()
    bobs = Delivery.objects.filter(merchant=bob_shop.tenant.merchant, state=DeliveryState.DELIVERED).first()

    with django_capture_on_commit_callbacks(execute=True):
        response = action(alice_admin, "/admin/webhooks/delivery/", "resend", delivered.pk, bobs.pk)

    assert "Resent 1;" in response.content.decode()
    assert Delivery.objects.get(pk=delivered.pk).state == DeliveryState.PENDING
    assert Delivery.objects.get(pk=bobs.pk).state == DeliveryState.DELIVERED


def test_the_owner_marks_a_shipped_invoice_fulfilled_from_its_page(shops, alice_admin):
    alice_shop, bob_shop = shops
    ready = alice_shop.paid_invoice
    page = alice_admin.get(f"/admin/invoices/invoice/{ready['id']}/change/").content.decode()
    assert 'value="mark_fulfilled"' in page

    response = action(alice_admin, "/admin/invoices/invoice/", "mark_fulfilled", ready["id"],
                      bob_shop.paid_invoice["id"])

    assert "1 invoice(s) marked fulfilled." in response.content.decode()
    assert invoice_status(ready) == "fulfilled"
    assert invoice_status(bob_shop.paid_invoice) == "ready_to_ship"
    assert InvoiceEvent.objects.filter(invoice_id=ready["id"], to_status="fulfilled").exists()


def test_an_invoice_not_ready_to_ship_is_not_fulfilled_and_the_reason_is_shown(shops, alice_admin):
    alice_shop, _bob_shop = shops

    response = action(alice_admin, "/admin/invoices/invoice/", "mark_fulfilled", alice_shop.open_invoice["id"])

    assert "can become fulfilled only from ready_to_ship, not unpaid" in response.content.decode()
    assert invoice_status(alice_shop.open_invoice) == "unpaid"


def in_review(tenant, txid: str) -> dict:
    invoice = invoice_create(tenant)
    due = PaymentOption.objects.get(invoice_id=invoice["id"]).amount_due
    invoice_pay(invoice, amount=due // 2, txid=txid)
    Invoice.objects.filter(id=invoice["id"]).update(expires_at=timezone.now() - timedelta(seconds=5))
    invoices_expire()
    assert invoice_status(invoice) == "merchant_review"
    return invoice


def test_the_owner_accepts_and_cancels_invoices_in_review(alice, rates, alice_admin):
    accepted, cancelled = in_review(alice, "a1" * 32), in_review(alice, "c1" * 32)
    page = alice_admin.get(f"/admin/invoices/invoice/{accepted['id']}/change/").content.decode()
    assert 'value="accept_review"' in page and 'value="cancel_review"' in page

    action(alice_admin, "/admin/invoices/invoice/", "accept_review", accepted["id"])
    action(alice_admin, "/admin/invoices/invoice/", "cancel_review", cancelled["id"])

    assert invoice_status(accepted) == "paid"
    assert invoice_status(cancelled) == "invalid"
    assert InvoiceEvent.objects.filter(invoice_id=accepted["id"], reason="accepted by the merchant in review").exists()


def test_an_api_key_is_issued_with_its_secret_shown_once_and_revoked(shops, alice_admin, client):
    alice_shop, _bob_shop = shops
    form = alice_admin.get("/admin/merchants/apikey/add/").content.decode()
    assert "Bob&#x27;s Bikes" not in form

    issued = alice_admin.post("/admin/merchants/apikey/add/", {
        "merchant": str(alice_shop.tenant.merchant.pk), "name": "Till 2", "scope": ["user_read", "invoice_read"],
    })
    secret = re.search(r'id="secret"[^>]*value="([^"]+)"', issued.content.decode()).group(1)
    key = ApiKey.objects.get(name="Till 2")
    listing = alice_admin.get("/admin/merchants/apikey/").content.decode()
    detail = alice_admin.get(f"/admin/merchants/apikey/{key.pk}/change/").content.decode()
    me = client.get("/api/v1/user", HTTP_AUTHORIZATION=f"Bearer {secret}")

    assert "no-store" in issued["Cache-Control"]
    assert "shown only this once" in issued.content.decode()
    assert secret not in listing and secret not in detail
    assert me.status_code == 200 and me.json()["email"] == alice_shop.tenant.user.email

    action(alice_admin, "/admin/merchants/apikey/", "revoke", key.pk)

    assert client.get("/api/v1/user", HTTP_AUTHORIZATION=f"Bearer {secret}").status_code == 401


def test_an_api_key_cannot_be_issued_for_another_merchant(shops, alice_admin):
    _alice_shop, bob_shop = shops

    response = alice_admin.post("/admin/merchants/apikey/add/", {
        "merchant": str(bob_shop.tenant.merchant.pk), "name": "sneaky", "scope": ["user_read"],
    })

    assert "Select a valid choice" in response.content.decode()
    assert not ApiKey.objects.filter(name="sneaky").exists()


def test_the_owner_rotates_the_webhook_secret_and_sees_the_new_one_once(shops, alice_admin):
    alice_shop, bob_shop = shops
    merchant = alice_shop.tenant.merchant
    before = secret_current(merchant=merchant)
    bobs_before = secret_current(merchant=bob_shop.tenant.merchant)

    response = alice_admin.post("/admin/webhooks/webhooksecret/add/", {"merchant": str(merchant.pk)})
    shown = re.search(r'id="secret"[^>]*value="([^"]+)"', response.content.decode()).group(1)
    listing = alice_admin.get("/admin/webhooks/webhooksecret/").content.decode()

    assert shown.startswith("whsec_") and shown != before
    assert secret_current(merchant=merchant) == shown
    assert WebhookSecret.objects.get(merchant=merchant, secret=before).valid_until is not None
    assert secret_current(merchant=bob_shop.tenant.merchant) == bobs_before
    assert shown not in listing and before not in listing


def test_a_viewer_can_issue_no_key_and_rotate_no_secret(shops, alice_viewer):
    alice_shop, _bob_shop = shops
    merchant = str(alice_shop.tenant.merchant.pk)

    key = alice_viewer.post("/admin/merchants/apikey/add/", {"merchant": merchant, "name": "x", "scope": ["user_read"]})
    rotate = alice_viewer.post("/admin/webhooks/webhooksecret/add/", {"merchant": merchant})

    assert key.status_code == 403 and rotate.status_code == 403


def test_the_owner_adds_a_wallet_for_the_shop(shops, alice_admin, alice):
    response = alice_admin.post("/admin/chain/wallet/add/", {
        "merchant": str(alice.merchant.pk), "currency": "LTC", "network": "mainnet",
        "extended_public_key": account_xpub("LTC", 0),
    })

    assert response.status_code == 302
    wallet = Wallet.objects.get(merchant=alice.merchant, currency="LTC")
    assert wallet.derivation_scheme == "p2wpkh"
    assert 'name="_save"' not in alice_admin.get(f"/admin/chain/wallet/{wallet.pk}/change/").content.decode()
