import pytest
from bip_utils import Bip44Coins

from chain.errors import UnknownCurrency
from chain.selectors import wallet_currencies, wallet_get, wallet_list
from chain.services import wallet_create
from tests.chain.keys import xpub


def test_currencies_come_in_display_order(shop, doge_wallet, btc_wallet):
    wallet_create(merchant=shop, currency="BCH", extended_public_key=xpub(Bip44Coins.BITCOIN_CASH), network="mainnet")
    assert wallet_currencies(merchant=shop) == ["BTC", "DOGE", "BCH"]
    assert [wallet.currency for wallet in wallet_list(merchant=shop)] == ["BTC", "DOGE", "BCH"]


def test_a_wallet_is_found_by_code_or_alias(shop, doge_wallet):
    assert wallet_get(merchant=shop, currency="XDG") == doge_wallet
    assert wallet_get(merchant=shop, currency="doge") == doge_wallet
    assert wallet_get(merchant=shop, currency="BTC") is None


def test_an_outsider_sees_none_of_the_merchants_wallets(btc_wallet, outsider):
    assert wallet_get(merchant=outsider, currency="BTC") is None
    assert wallet_currencies(merchant=outsider) == []
    assert wallet_list(merchant=outsider) == []


def test_an_unknown_currency_is_an_error_not_a_missing_wallet(shop):
    with pytest.raises(UnknownCurrency):
        wallet_get(merchant=shop, currency="ETH")
