"""The demo merchant of the embedded run, so a newcomer can create an invoice at once."""

from django.db import transaction

from chain.services import wallet_create
from merchants.models import ApiKey, Merchant
from merchants.services import api_key_create, api_key_revoke, merchant_create

DEMO_NAME = "Demo Shop"
DEMO_EMAIL = "demo@example.com"
# Account-level public keys of the public BIP84/BIP44 test mnemonic ("abandon ... about"): safe to publish,
# and nobody's money is ever sent to them outside a demo.
DEMO_WALLETS = {
    "BTC": "zpub6rFR7y4Q2AijBEqTUquhVz398htDFrtymD9xYYfG1m4wAcvPhXNfE3EfH1r1ADqtfSdVCToUG868RvUUkgDKf31mGDtKsAYz2oz2AGutZYs",
}
DEMO_SCOPE = "user_read merchant_read_write invoice_read_write"


@transaction.atomic
def demo_merchant_ensure() -> dict:
    """Creates the demo merchant on first run; every run issues a fresh token and revokes the previous ones."""
    merchant = Merchant.objects.filter(name=DEMO_NAME).first()
    if merchant is None:
        merchant, _owner = merchant_create(name=DEMO_NAME, owner_email=DEMO_EMAIL)
        for currency, key in DEMO_WALLETS.items():
            wallet_create(merchant=merchant, currency=currency, extended_public_key=key)
    owner = merchant.memberships.get(role="owner").user
    for old in ApiKey.objects.filter(merchant=merchant, name="demo", revoked_at__isnull=True):
        api_key_revoke(api_key=old)
    _key, token = api_key_create(merchant=merchant, user=owner, scope=DEMO_SCOPE, name="demo")
    return {"merchant_id": str(merchant.id), "user_id": str(owner.id), "access_token": token}
