import random

import pytest

from tests.factories import Tenant, make_tenant

PRIVATE_FIELDS = {
    "customer_name": "Carol Customer",
    "customer_email": "carol@example.com",
    "customer_address_1": "12 Secret Lane",
    "customer_phone": "+1 555 0100",
    "user_defined_1": "internal-note-7731",
    "user_defined_8": "warehouse-B",
    "order_id": "ORDER-99812",
    "refund_address": "1RefundAddressDoNotShow",
    "data": "opaque-merchant-data",
    "callback_url": "https://shop.example.com/callback-secret",
}


def create_invoice(tenant: Tenant, **fields) -> dict:
    body = {"base_price": "9.00", "base_price_currency": "USD", "item_name": "Blue mug", **fields}
    return tenant.invoice_create(body)


@pytest.fixture
def regtest_shop(bsv_regtest, rates) -> Tenant:
    """A merchant paid in BSV on the regtest node, on an account of its own so its addresses were never paid before."""
    from chain.watcher import chain_sync

    tenant = make_tenant(
        "Regtest Rolls", "rolls@example.com", account=random.randrange(2**30), wallets=("BSV",), network="regtest"
    )
    chain_sync(currency="BSV")
    return tenant
