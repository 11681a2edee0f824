import pytest
from bip_utils import Bip44Coins

from chain.services import wallet_create
from merchants.models import Merchant
from tests.chain.keys import BIP84_ZPUB, xpub


@pytest.fixture
def shop(db) -> Merchant:
    return Merchant.objects.create(name="Alice's Shop")


@pytest.fixture
def outsider(db) -> Merchant:
    return Merchant.objects.create(name="Bob's Bikes")


@pytest.fixture
def btc_wallet(shop):
    return wallet_create(merchant=shop, currency="BTC", extended_public_key=BIP84_ZPUB, network="mainnet")


@pytest.fixture
def doge_wallet(shop):
    dgub = xpub(Bip44Coins.DOGECOIN)
    return wallet_create(merchant=shop, currency="DOGE", extended_public_key=dgub, network="mainnet")
