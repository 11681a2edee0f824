from bip_utils import Bip84Coins
from django.urls import reverse

from chain.admin import WalletForm
from chain.models import Wallet
from tests.chain.keys import BIP84_ZPUB, xprv


def form_data(merchant, key, network="mainnet", currency="BTC") -> dict:
    return {"merchant": str(merchant.pk), "currency": currency, "network": network, "extended_public_key": key}


def test_the_admin_form_stores_a_normalised_key(shop):
    form = WalletForm(data=form_data(shop, BIP84_ZPUB))
    assert form.is_valid(), form.errors
    wallet = form.save()
    assert wallet.extended_public_key.startswith("xpub")
    assert wallet.derivation_scheme == "p2wpkh"


def test_the_admin_form_refuses_a_private_key_without_showing_it_back(shop):
    private = xprv(Bip84Coins.BITCOIN)
    form = WalletForm(data=form_data(shop, private))
    assert not form.is_valid()
    assert "the platform never holds private keys" in form.errors["extended_public_key"][0]
    assert private not in str(form["extended_public_key"])


def test_the_admin_form_refuses_a_key_of_the_wrong_network(shop):
    form = WalletForm(data=form_data(shop, BIP84_ZPUB, network="regtest"))
    assert not form.is_valid()
    assert "wallet is on regtest" in form.errors["extended_public_key"][0]


def test_the_admin_form_refuses_a_second_wallet_for_a_currency(shop, btc_wallet):
    form = WalletForm(data=form_data(shop, BIP84_ZPUB))
    assert not form.is_valid()
    assert "already exists" in str(form.errors)


def test_adding_a_private_key_in_the_admin_shows_an_error(admin_client, shop):
    private = xprv(Bip84Coins.BITCOIN)
    response = admin_client.post(reverse("admin:chain_wallet_add"), form_data(shop, private))
    assert response.status_code == 200
    assert "the platform never holds private keys" in response.content.decode()
    assert private not in response.content.decode()
    assert not Wallet.objects.exists()


def test_the_key_is_read_only_once_the_wallet_exists(admin_client, btc_wallet):
    response = admin_client.get(reverse("admin:chain_wallet_change", args=[btc_wallet.pk]))
    assert response.status_code == 200
    assert btc_wallet.extended_public_key in response.content.decode()
    assert 'name="extended_public_key"' not in response.content.decode()
    assert 'name="next_index"' not in response.content.decode()
