"""The demo merchant of the embedded run, so a newcomer can create an invoice at once."""

from django.db import transaction

from chain.selectors import wallet_currencies
from chain.services import wallet_create
from merchants.models import ApiKey, Merchant
from merchants.services import api_key_create, api_key_revoke, merchant_create

DEMO_NAME = "Demo Shop"
DEMO_EMAIL = "demo@example.com"
# Currency -> (network, account-level public key) of the public test mnemonic ("abandon ... about"): safe to
# publish, and nobody's money is ever sent to them outside a demo. The BSV key (m/44'/1'/0') is paid on the
# embedded regtest node.
DEMO_WALLETS = {
    "BTC": (
        "mainnet",
        "zpub6rFR7y4Q2AijBEqTUquhVz398htDFrtymD9xYYfG1m4wAcvPhXNfE3EfH1r1ADqtfSdVCToUG868RvUUkgDKf31mGDtKsAYz2oz2AGutZYs",
    ),
    "BSV": (
        "regtest",
        "tpubDC5FSnBiZDMmhiuCmWAYsLwgLYrrT9rAqvTySfuCCrgsWz8wxMXUS9Tb9iVMvcRbvFcAHGkMD5Kx8koh4GquNGNTfohfk7pgjhaPCdXpoba",
    ),
}
DEMO_SCOPE = "user_read merchant_read_write invoice_read_write"


@transaction.atomic
def demo_merchant_ensure() -> dict:
    """Creates the demo merchant and any demo wallet it lacks; every run issues a fresh token and revokes older ones."""
    merchant = Merchant.objects.filter(name=DEMO_NAME).first()
    if merchant is None:
        merchant, _owner = merchant_create(name=DEMO_NAME, owner_email=DEMO_EMAIL)
    existing = wallet_currencies(merchant=merchant)
    for currency, (network, key) in DEMO_WALLETS.items():
        if currency not in existing:
            wallet_create(merchant=merchant, currency=currency, extended_public_key=key, network=network)
    owner = merchant.memberships.get(role="owner").user
    for old in ApiKey.objects.filter(merchant=merchant, name="demo", revoked_at__isnull=True):
        api_key_revoke(api_key=old)
    _key, token = api_key_create(merchant=merchant, user=owner, scope=DEMO_SCOPE, name="demo")
    return {"merchant_id": str(merchant.id), "user_id": str(owner.id), "access_token": token}
