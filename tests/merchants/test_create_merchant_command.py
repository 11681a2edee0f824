import io
import json

import pytest
from django.core.management import CommandError, call_command
from rest_framework.test import APIClient

from chain.models import Wallet
from merchants.models import Merchant
from tests.factories import account_xpub


def run(*args) -> dict:
    out = io.StringIO()
    call_command("create_merchant", *args, stdout=out)
    return json.loads(out.getvalue())


@pytest.mark.django_db
def test_provisions_merchant_owner_wallets_and_a_working_api_key():
    result = run("--name", "Carol's Cafe", "--email", "carol@example.com",
                 "--wallet", f"BTC={account_xpub('BTC', 3)}", "--wallet", f"DOGE={account_xpub('DOGE', 3)}")

    assert set(result) == {"merchant_id", "user_id", "access_token"}
    me = APIClient().get("/api/v1/user", HTTP_AUTHORIZATION=f"Bearer {result['access_token']}").json()
    assert me["id"] == result["user_id"]
    assert me["merchant_id"] == result["merchant_id"]
    assert sorted(Wallet.objects.filter(merchant_id=result["merchant_id"]).values_list("currency", flat=True)) == ["BTC", "DOGE"]


@pytest.mark.django_db
def test_the_default_api_key_scope_is_gocoins(rates):
    result = run("--name", "Dan", "--email", "dan@example.com", "--wallet", f"BTC={account_xpub('BTC', 4)}")
    api = APIClient()
    api.credentials(HTTP_AUTHORIZATION=f"Bearer {result['access_token']}")

    created = api.post(f"/api/v1/merchants/{result['merchant_id']}/invoices",
                       {"price_currency": "BTC", "base_price": "1", "base_price_currency": "USD"}, format="json")

    assert created.status_code == 201
    assert api.get(f"/api/v1/merchants/{result['merchant_id']}").status_code == 403


@pytest.mark.django_db
def test_custom_scopes(rates):
    result = run("--name", "Eve", "--email", "eve@example.com", "--scopes", "merchant_read")

    response = APIClient().get(f"/api/v1/merchants/{result['merchant_id']}", HTTP_AUTHORIZATION=f"Bearer {result['access_token']}")

    assert response.status_code == 200


@pytest.mark.django_db
@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--wallet", "BTC"], "CUR=XPUB"),
        (["--wallet", "BTC=xpub-garbage"], "--wallet"),
        (["--wallet", "QQQ=" + "x" * 20], "--wallet"),
        (["--scopes", "everything"], "unknown scope everything"),
    ],
)
def test_bad_arguments_fail_clearly_and_create_nothing(args, message):
    with pytest.raises(CommandError, match=message):
        run("--name", "Broken", "--email", "broken@example.com", *args)

    assert not Merchant.objects.filter(name="Broken").exists()


@pytest.mark.django_db
def test_a_private_key_is_refused():
    from bip_utils import Bip39SeedGenerator, Bip84, Bip84Coins

    from tests.factories import TEST_MNEMONIC

    xprv = Bip84.FromSeed(Bip39SeedGenerator(TEST_MNEMONIC).Generate(), Bip84Coins.BITCOIN).Purpose().Coin().Account(0).PrivateKey().ToExtended()

    with pytest.raises(CommandError, match="private"):
        run("--name", "Leaky", "--email", "leaky@example.com", "--wallet", f"BTC={xprv}")

    assert not Merchant.objects.filter(name="Leaky").exists()
