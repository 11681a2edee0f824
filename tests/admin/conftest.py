"""Two shops with everything a merchant admin shows: invoices, payments, timelines, callbacks, keys and secrets."""

import re
from dataclasses import dataclass, field

import pytest
from django.contrib import admin
from django.db.models import QuerySet
from django.test import Client

from chain.listeners import SeenOutput
from invoices.models import Invoice, PaymentOption
from invoices.payments import outputs_record
from merchants.models import Membership, Merchant, Role, User
from merchants.services import membership_grant
from tests.factories import Tenant
from tests.webhooks.receiver import Answer, Receiver
from webhooks.models import Delivery
from webhooks.services import delivery_attempt, secret_current

PASSWORD = "correct horse battery staple"


@dataclass
class Shop:
    """One tenant's rows, and the text by which they would show up on a page of someone else's admin."""

    tenant: Tenant
    paid_invoice: dict
    open_invoice: dict
    txid: str
    callback_url: str
    markers: list[str] = field(default_factory=list)


def invoice_create(tenant: Tenant, **fields) -> dict:
    body = {"price_currency": "BTC", "base_price": "25.50", "base_price_currency": "USD", **fields}
    return tenant.invoice_create(body)


def invoice_pay(invoice: dict, *, amount: int | None = None, txid: str, block_height: int | None = 101) -> None:
    option = PaymentOption.objects.get(invoice_id=invoice["id"])
    output = SeenOutput(
        txid=txid, vout=0, script_pubkey=option.script_pubkey, amount=option.amount_due if amount is None else amount,
        block_hash=None if block_height is None else f"{block_height:064x}", block_height=block_height,
    )
    outputs_record(currency=option.currency, outputs=[output])


def shop_fill(tenant: Tenant, receiver: Receiver, *, tag: str) -> Shop:
    callback_url = receiver.url(f"/{tag}/callbacks")
    receiver.script(f"/{tag}/callbacks", Answer(status=500, body=f"{tag} endpoint down".encode()), Answer(status=200))
    paid = invoice_create(tenant, order_id=f"{tag}-ORDER-1", customer_email=f"buyer@{tag}.example.com",
                          item_name=f"{tag} widget", callback_url=callback_url, confirmations_required=0)
    txid = (tag.encode().hex() * 64)[:64]
    invoice_pay(paid, txid=txid)
    open_invoice = invoice_create(tenant, order_id=f"{tag}-ORDER-2")
    for delivery in Delivery.objects.filter(merchant=tenant.merchant):
        delivery_attempt(delivery_id=delivery.pk)
    secret = secret_current(merchant=tenant.merchant)
    option = PaymentOption.objects.get(invoice_id=paid["id"])
    markers = [
        tenant.merchant.name, tenant.merchant.name.replace("'", "&#x27;"), str(tenant.merchant.id),
        tenant.user.email, paid["id"], open_invoice["id"], f"{tag}-ORDER", txid, option.address, callback_url,
        f"{tag} endpoint down", f"{tag} widget", secret,
    ]
    return Shop(tenant=tenant, paid_invoice=paid, open_invoice=open_invoice, txid=txid, callback_url=callback_url,
                markers=markers)


@pytest.fixture
def shops(alice, bob, rates, receiver) -> tuple[Shop, Shop]:
    return shop_fill(alice, receiver, tag="alice"), shop_fill(bob, receiver, tag="bob")


def login(user: User) -> Client:
    user.set_password(PASSWORD)
    user.save(update_fields=["password"])
    client = Client()
    assert client.login(username=user.username, password=PASSWORD)
    return client


@pytest.fixture
def alice_admin(alice) -> Client:
    """Alice's owner, signed in to the admin through the membership the shop was created with."""
    return login(alice.user)


@pytest.fixture
def alice_viewer(alice, django_user_model) -> Client:
    viewer = django_user_model.objects.create_user(username="clerk@alice.example.com", email="clerk@alice.example.com")
    membership_grant(merchant=alice.merchant, user=viewer, role=Role.VIEWER)
    return login(viewer)


@pytest.fixture
def platform_admin(django_user_model) -> Client:
    root = django_user_model.objects.create_superuser(username="root", email="root@example.com", password=PASSWORD)
    return login(root)


def admin_models() -> list:
    return list(admin.site._registry)


def tenant_rows(model, merchant) -> QuerySet:
    """The merchant's rows of `model`: its own, its members, and the members' OAuth tokens and grants."""
    members = Membership.objects.filter(merchant=merchant).values("user_id")
    field_names = {f.name for f in model._meta.fields}
    if model is Merchant:
        return model.objects.filter(pk=merchant.pk)
    if model is User:
        return model.objects.filter(pk__in=members)
    if "merchant" in field_names:
        return model.objects.filter(merchant=merchant)
    if "user" in field_names:
        return model.objects.filter(user_id__in=members)
    return model.objects.none()


def change_urls(model, merchant) -> list[str]:
    opts = model._meta
    primary_keys = tenant_rows(model, merchant).values_list("pk", flat=True)
    return [f"/admin/{opts.app_label}/{opts.model_name}/{pk}/change/" for pk in primary_keys]


def leaks(text: str, shop: Shop) -> list[str]:
    """What of `shop` a page shows: its markers, and links to its rows' change pages."""
    found = [marker for marker in shop.markers if marker in text]
    for model in admin_models():
        opts = model._meta
        for url in change_urls(model, shop.tenant.merchant):
            pk = url.split("/")[-3]
            if re.search(rf"/admin/{opts.app_label}/{opts.model_name}/{re.escape(pk)}/", text):
                found.append(url)
    return found


def invoice_status(invoice: dict) -> str:
    return Invoice.objects.get(id=invoice["id"]).status
