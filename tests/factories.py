import json
from dataclasses import dataclass
from functools import lru_cache

from bip_utils import (
    Bip32KeyNetVersions,
    Bip32Slip10Secp256k1,
    Bip39SeedGenerator,
    Bip44,
    Bip44Coins,
    Bip84,
    Bip84Coins,
)
from rest_framework.test import APIClient

from chain.currencies import MAINNET, P2WPKH, coin_get
from chain.services import wallet_create
from merchants.models import Merchant, User
from merchants.services import api_key_create, merchant_create

TEST_MNEMONIC = "abandon abandon abandon abandon abandon abandon abandon abandon abandon abandon abandon about"
FULL_SCOPE = "user_read merchant_read_write invoice_read_write"
_TPUB_VERSIONS = Bip32KeyNetVersions(bytes.fromhex("043587cf"), bytes.fromhex("04358394"))


@lru_cache(maxsize=None)
def account_xpub(currency: str, account: int) -> str:
    """The account-level extended public key of the test mnemonic for a coin (mainnet)."""
    seed = Bip39SeedGenerator(TEST_MNEMONIC).Generate()
    if currency == "BTC":
        node = Bip84.FromSeed(seed, Bip84Coins.BITCOIN).Purpose().Coin().Account(account)
    elif currency == "LTC":
        node = Bip84.FromSeed(seed, Bip84Coins.LITECOIN).Purpose().Coin().Account(account)
    else:
        coin = {"DOGE": Bip44Coins.DOGECOIN, "BSV": Bip44Coins.BITCOIN_SV, "BCH": Bip44Coins.BITCOIN_CASH}[currency]
        node = Bip44.FromSeed(seed, coin).Purpose().Coin().Account(account)
    return node.PublicKey().ToExtended()


@lru_cache(maxsize=None)
def regtest_tpub(currency: str = "BSV", account: int = 0) -> str:
    """The test mnemonic's account key m/44'/1'/account' (m/84'/... for SegWit coins) as a tpub, for testnet and regtest."""
    purpose = 84 if coin_get(currency).scheme == P2WPKH else 44
    root = Bip32Slip10Secp256k1.FromSeed(Bip39SeedGenerator(TEST_MNEMONIC).Generate(), _TPUB_VERSIONS)
    return root.DerivePath(f"m/{purpose}'/1'/{account}'").PublicKey().ToExtended()


@dataclass
class Tenant:
    merchant: Merchant
    user: User
    token: str

    def client(self, token: str | None = None) -> APIClient:
        api = APIClient()
        api.credentials(HTTP_AUTHORIZATION=f"Bearer {token or self.token}")
        return api

    def invoice_create(self, body: dict) -> dict:
        """The invoice `POST /merchants/:id/invoices` creates from `body` with this tenant's token; any answer but
        201 fails the test."""
        response = self.client().post(
            f"/api/v1/merchants/{self.merchant.id}/invoices", data=json.dumps(body), content_type="application/json"
        )
        assert response.status_code == 201, response.content
        return response.json()

    def token_with(self, scope: str) -> str:
        return api_key_create(merchant=self.merchant, user=self.user, scope=scope)[1]


def make_tenant(
    name: str, email: str, *, account: int, wallets=("BTC",), scope: str = FULL_SCOPE, network: str | None = None
) -> Tenant:
    """A merchant with wallets of the test mnemonic's `account`: mainnet keys, or tpubs on `network` testnet/regtest."""
    merchant, user = merchant_create(name=name, owner_email=email)
    for currency in wallets:
        key = account_xpub(currency, account) if network in (None, MAINNET) else regtest_tpub(currency, account)
        wallet_create(merchant=merchant, currency=currency, extended_public_key=key, network=network)
    _key, token = api_key_create(merchant=merchant, user=user, scope=scope)
    return Tenant(merchant=merchant, user=user, token=token)
