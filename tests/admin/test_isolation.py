"""Alice's staff sign in to the admin and probe every page for Bob's rows: none may show, by any way in."""

import pytest
from django.contrib import admin
from django.test import Client

from chain.models import Wallet
from merchants.admin_scoping import PlatformOnlyAdminMixin, TenantAdminMixin
from merchants.models import Membership, Role
from tests.admin.conftest import PASSWORD, admin_models, change_urls, leaks, login, tenant_rows
from tests.factories import account_xpub

PLATFORM_ONLY = [
    "/admin/merchants/user/", "/admin/auth/group/", "/admin/rates/manualrate/",
    "/admin/oauth2_provider/accesstoken/", "/admin/oauth2_provider/refreshtoken/",
    "/admin/oauth2_provider/application/", "/admin/oauth2_provider/grant/", "/admin/oauth2_provider/idtoken/",
]


def changelist_url(model) -> str:
    return f"/admin/{model._meta.app_label}/{model._meta.model_name}/"


def tenant_admin_models() -> list:
    return [model for model in admin_models() if changelist_url(model) not in PLATFORM_ONLY]


def test_the_owner_signs_in_through_the_login_form_and_sees_only_their_shop(shops, alice):
    alice.user.set_password(PASSWORD)
    alice.user.save()
    client = Client()
    response = client.post("/admin/login/?next=/admin/", {"username": alice.user.username, "password": PASSWORD},
                           follow=True)

    page = response.content.decode()
    assert response.redirect_chain[-1][0] == "/admin/"
    assert "Invoices" in page and "Dashboard" in page
    assert leaks(page, shops[1]) == []
    for path in PLATFORM_ONLY:
        assert f'href="{path}"' not in page


@pytest.mark.parametrize("model", tenant_admin_models(), ids=lambda model: model._meta.label)
def test_changelists_and_popups_show_none_of_another_merchants_rows(shops, alice_admin, model):
    alice_shop, bob_shop = shops
    for query in ("", "?_to_field=id&_popup=1", "?_popup=1", "?q=bob", "?all="):
        response = alice_admin.get(changelist_url(model) + query)
        assert response.status_code == 200, (model, query)
        assert leaks(response.content.decode(), bob_shop) == [], (model, query)


@pytest.mark.parametrize("model", tenant_admin_models(), ids=lambda model: model._meta.label)
def test_the_pages_of_another_merchants_rows_are_not_found(shops, alice_admin, model):
    _alice_shop, bob_shop = shops
    urls = change_urls(model, bob_shop.tenant.merchant)
    for url in urls:
        for page in (url, url.replace("/change/", "/history/"), url.replace("/change/", "/delete/")):
            response = alice_admin.get(page)
            assert response.status_code in (302, 403, 404), page
            assert response.status_code != 302 or response["Location"] == "/admin/", page
            assert leaks(response.content.decode(), bob_shop) == [], page
        posted = alice_admin.post(url, {"name": "taken over", "role": Role.OWNER})
        assert posted.status_code in (302, 403, 404) and posted.get("Location", "/admin/") == "/admin/", url


def test_every_tenant_model_has_rows_of_both_merchants_to_probe(shops):
    alice_shop, bob_shop = shops
    probed = [model for model in tenant_admin_models() if model._meta.label != "rates.SpotRate"]
    for model in probed:
        assert tenant_rows(model, bob_shop.tenant.merchant).exists(), model
        assert tenant_rows(model, alice_shop.tenant.merchant).exists(), model


@pytest.mark.parametrize("model", admin_models(), ids=lambda model: model._meta.label)
def test_no_autocomplete_answers_with_another_merchants_rows(shops, alice_admin, model):
    _alice_shop, bob_shop = shops
    bob_ids = {
        str(pk)
        for related in admin_models()
        for pk in tenant_rows(related, bob_shop.tenant.merchant).values_list("pk", flat=True)
    }
    for field in model._meta.fields:
        if not field.is_relation:
            continue
        for term in ("", "b", "Bob"):
            response = alice_admin.get("/admin/autocomplete/", {
                "app_label": model._meta.app_label, "model_name": model._meta.model_name,
                "field_name": field.name, "term": term,
            })
            assert response.status_code in (200, 403, 404), (model, field.name)
            if response.status_code == 200:
                assert {result["id"] for result in response.json()["results"]} & bob_ids == set(), (model, field.name)
                assert leaks(response.content.decode(), bob_shop) == []


def test_the_membership_autocomplete_offers_only_the_owners_merchants(shops, alice_admin, platform_admin):
    query = {"app_label": "merchants", "model_name": "membership", "field_name": "merchant", "term": ""}

    mine = alice_admin.get("/admin/autocomplete/", query).json()["results"]
    everyone = platform_admin.get("/admin/autocomplete/", query).json()["results"]

    assert [result["text"] for result in mine] == ["Alice's Shop"]
    assert {result["text"] for result in everyone} == {"Alice's Shop", "Bob's Bikes"}


def test_the_merchant_list_filter_offers_only_the_users_merchants(shops, alice_admin, platform_admin):
    _alice_shop, bob_shop = shops
    for path in ("/admin/invoices/invoice/", "/admin/merchants/membership/", "/admin/webhooks/delivery/"):
        mine = alice_admin.get(path).content.decode()
        everyone = platform_admin.get(path).content.decode()

        assert f"merchant__id__exact={bob_shop.tenant.merchant.id}" not in mine
        assert f"merchant__id__exact={bob_shop.tenant.merchant.id}" in everyone


def test_a_filter_on_another_merchant_by_url_shows_nothing(shops, alice_admin):
    _alice_shop, bob_shop = shops

    typed = str(bob_shop.tenant.merchant.id)

    page = alice_admin.get(f"/admin/invoices/invoice/?merchant__id__exact={typed}").content.decode()

    # The id she typed is echoed back in the filter links; nothing of Bob's comes with it.
    assert [found for found in leaks(page, bob_shop) if found != typed] == []


@pytest.mark.parametrize("model", tenant_admin_models(), ids=lambda model: model._meta.label)
def test_add_forms_offer_none_of_another_merchants_rows(shops, alice_admin, model):
    _alice_shop, bob_shop = shops

    response = alice_admin.get(changelist_url(model) + "add/")

    assert response.status_code in (200, 403)
    assert leaks(response.content.decode(), bob_shop) == []


def test_a_wallet_cannot_be_added_to_another_merchant_by_posting_its_id(shops, alice_admin):
    _alice_shop, bob_shop = shops

    response = alice_admin.post("/admin/chain/wallet/add/", {
        "merchant": str(bob_shop.tenant.merchant.id), "currency": "LTC", "network": "mainnet",
        "extended_public_key": account_xpub("LTC", 0),
    })

    assert response.status_code == 200
    assert "Select a valid choice" in response.content.decode()
    assert not Wallet.objects.filter(merchant=bob_shop.tenant.merchant, currency="LTC").exists()


def test_a_membership_cannot_be_granted_at_another_merchant(shops, alice_admin):
    _alice_shop, bob_shop = shops

    response = alice_admin.post("/admin/merchants/membership/add/", {
        "merchant": str(bob_shop.tenant.merchant.id), "user": str(bob_shop.tenant.user.id), "role": Role.OWNER,
    })

    assert response.status_code == 200
    assert "Select a valid choice" in response.content.decode()
    assert Membership.objects.filter(merchant=bob_shop.tenant.merchant).count() == 1


def test_the_dashboard_and_the_export_show_none_of_another_merchants_rows(shops, alice_admin):
    _alice_shop, bob_shop = shops

    dashboard = alice_admin.get("/admin/invoices/invoice/dashboard/").content.decode()
    export = b"".join(alice_admin.get("/admin/invoices/invoice/export.csv").streaming_content).decode()

    assert leaks(dashboard, bob_shop) == []
    assert leaks(export, bob_shop) == []


@pytest.mark.parametrize("path", PLATFORM_ONLY)
def test_the_platforms_own_models_are_closed_to_merchant_staff(shops, alice_admin, path):
    assert alice_admin.get(path).status_code == 403


def test_the_admin_index_lists_no_platform_model_for_merchant_staff(shops, alice_admin, platform_admin):
    mine = alice_admin.get("/admin/").content.decode()
    everyone = platform_admin.get("/admin/").content.decode()

    for path in PLATFORM_ONLY:
        assert f'href="{path}"' not in mine
        assert f'href="{path}"' in everyone


def test_staff_without_a_membership_see_nothing(shops, django_user_model):
    stranger = django_user_model.objects.create_user(username="stranger", email="stranger@example.com", is_staff=True)
    client = login(stranger)

    assert client.get("/admin/invoices/invoice/").status_code == 403
    assert "Invoices" not in client.get("/admin/").content.decode()


@pytest.mark.parametrize("model", tenant_admin_models(), ids=lambda model: model._meta.label)
def test_the_platform_superuser_sees_both_merchants(shops, platform_admin, model):
    alice_shop, bob_shop = shops
    page = platform_admin.get(changelist_url(model) + "?all=").content.decode()
    if model._meta.label == "rates.SpotRate":
        return
    assert leaks(page, alice_shop) and leaks(page, bob_shop), model


def test_every_registered_admin_is_scoped_or_platform_only():
    for model, model_admin in admin.site._registry.items():
        assert isinstance(model_admin, (TenantAdminMixin, PlatformOnlyAdminMixin)), model
        for inline in model_admin.inlines:
            assert issubclass(inline, TenantAdminMixin), inline


def test_a_list_cannot_be_filtered_by_a_field_it_never_shows(shops, alice, alice_viewer):
    from webhooks.services import secret_current

    secret = secret_current(merchant=alice.merchant)

    probe = alice_viewer.get(f"/admin/webhooks/webhooksecret/?secret__startswith={secret[:8]}")

    assert probe.status_code == 400 or "?e=1" in probe.get("Location", "")
    assert secret[:8] not in probe.content.decode()
