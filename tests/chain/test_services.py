import threading
import time

import pytest
from bip_utils import Bip44Coins, Bip84Coins
from django.db import connection, transaction

from chain.errors import (
    InvalidExtendedKey,
    NoWallet,
    PrivateKeyRefused,
    UnknownCurrency,
    UnsupportedNetwork,
    WalletExists,
)
from chain.models import Wallet
from chain.services import address_allocate, address_release, wallet_create
from merchants.models import Merchant
from tests.chain.keys import BIP84_ADDRESSES, BIP84_ZPUB, reference_address, xprv, xpub


def allocate(merchant, currency="BTC"):
    with transaction.atomic():
        return address_allocate(merchant=merchant, currency=currency)


# wallet_create


def test_a_wallet_stores_the_key_normalised(shop):
    wallet = wallet_create(merchant=shop, currency="btc", extended_public_key=BIP84_ZPUB, network="mainnet")
    wallet.refresh_from_db()
    assert wallet.currency == "BTC"
    assert wallet.extended_public_key.startswith("xpub")
    assert (wallet.network, wallet.derivation_scheme, wallet.next_index) == ("mainnet", "p2wpkh", 0)


def test_a_wallet_can_be_created_by_alias(shop):
    dgub = xpub(Bip44Coins.DOGECOIN)
    wallet = wallet_create(merchant=shop, currency="XDG", extended_public_key=dgub, network="mainnet")
    assert wallet.currency == "DOGE"


def test_a_private_key_is_refused_and_nothing_is_stored(shop):
    with pytest.raises(PrivateKeyRefused, match="the platform never holds private keys"):
        wallet_create(merchant=shop, currency="BTC", extended_public_key=xprv(Bip84Coins.BITCOIN))
    assert not Wallet.objects.exists()


def test_saving_a_private_key_through_the_orm_is_refused_too(shop):
    with pytest.raises(PrivateKeyRefused):
        Wallet.objects.create(merchant=shop, currency="BTC", extended_public_key=xprv(Bip84Coins.BITCOIN))
    assert not Wallet.objects.exists()


def test_a_second_wallet_for_the_same_currency_is_refused(btc_wallet, shop):
    with pytest.raises(WalletExists, match="already has a BTC wallet"):
        wallet_create(merchant=shop, currency="XBT", extended_public_key=BIP84_ZPUB, network="mainnet")


def test_another_merchant_may_use_the_same_currency(btc_wallet, outsider):
    assert wallet_create(merchant=outsider, currency="BTC", extended_public_key=BIP84_ZPUB, network="mainnet").pk


def test_the_network_defaults_to_the_environment(shop, monkeypatch, settings):
    del settings.CHAIN_BTC_NETWORK
    monkeypatch.setenv("CHAIN_BTC_NETWORK", "regtest")
    wallet = wallet_create(merchant=shop, currency="BTC", extended_public_key=xpub(Bip84Coins.BITCOIN_TESTNET))
    assert wallet.network == "regtest"
    assert wallet.extended_public_key.startswith("tpub")


def test_a_setting_wins_over_the_environment(shop, monkeypatch, settings):
    monkeypatch.setenv("CHAIN_LTC_NETWORK", "regtest")
    settings.CHAIN_LTC_NETWORK = "testnet"
    wallet = wallet_create(merchant=shop, currency="LTC", extended_public_key=xpub(Bip84Coins.LITECOIN_TESTNET))
    assert wallet.network == "testnet"


def test_the_network_defaults_to_mainnet(shop, monkeypatch, settings):
    del settings.CHAIN_BTC_NETWORK
    monkeypatch.delenv("CHAIN_BTC_NETWORK", raising=False)
    assert wallet_create(merchant=shop, currency="BTC", extended_public_key=BIP84_ZPUB).network == "mainnet"


def test_a_key_of_the_wrong_network_is_refused(shop):
    with pytest.raises(InvalidExtendedKey, match="wallet is on regtest"):
        wallet_create(merchant=shop, currency="BTC", extended_public_key=BIP84_ZPUB, network="regtest")


def test_an_unknown_network_or_currency_is_refused(shop):
    with pytest.raises(UnsupportedNetwork):
        wallet_create(merchant=shop, currency="BTC", extended_public_key=BIP84_ZPUB, network="signet")
    with pytest.raises(UnknownCurrency):
        wallet_create(merchant=shop, currency="ETH", extended_public_key=BIP84_ZPUB)


# address_allocate


def test_addresses_are_handed_out_in_index_order(btc_wallet, shop):
    first, second = allocate(shop), allocate(shop)
    assert [first.address, second.address] == BIP84_ADDRESSES
    assert (first.index, second.index) == (0, 1)
    assert first.script_pubkey == "0014c0cebcd6c3d3ca8c75dc5ec62ebe55330ef910e2"
    btc_wallet.refresh_from_db()
    assert btc_wallet.next_index == 2


def test_each_currency_has_its_own_index(btc_wallet, doge_wallet, shop):
    allocate(shop, "BTC")
    doge = allocate(shop, "XDG")
    assert doge.index == 0
    assert doge.address == reference_address(Bip44Coins.DOGECOIN, 0)


def test_a_merchant_without_the_wallet_gets_no_address(btc_wallet, outsider):
    with pytest.raises(NoWallet, match="no BTC wallet"):
        allocate(outsider)
    with pytest.raises(NoWallet, match="no DOGE wallet"):
        allocate(btc_wallet.merchant, "DOGE")


def test_a_rolled_back_allocation_gives_the_index_back(btc_wallet, shop):
    class InvoiceFailed(Exception):
        pass

    allocate(shop)
    with pytest.raises(InvoiceFailed):
        with transaction.atomic():
            lost = address_allocate(merchant=shop, currency="BTC")
            raise InvoiceFailed
    again = allocate(shop)
    assert (again.index, again.address) == (lost.index, lost.address) == (1, BIP84_ADDRESSES[1])


@pytest.mark.django_db(transaction=True)
def test_outside_a_transaction_an_index_is_taken_at_once_and_given_back_only_while_no_later_one_passed_it():
    shop = Merchant.objects.create(name="Alice's Shop")
    wallet_create(merchant=shop, currency="BTC", extended_public_key=BIP84_ZPUB, network="mainnet")

    first = address_allocate(merchant=shop, currency="BTC")
    assert _next_index_seen_by_another_connection() == 1
    assert address_release(merchant=shop, currency="BTC", index=first.index) is True
    again = address_allocate(merchant=shop, currency="BTC")
    assert (again.index, again.address) == (0, BIP84_ADDRESSES[0])

    later = address_allocate(merchant=shop, currency="BTC")
    assert address_release(merchant=shop, currency="BTC", index=again.index) is False
    after = address_allocate(merchant=shop, currency="BTC")
    assert (later.index, after.index) == (1, 2)


def test_inside_a_transaction_giving_back_is_left_to_the_rollback(btc_wallet, shop):
    taken = allocate(shop)
    with transaction.atomic():
        assert address_release(merchant=shop, currency="BTC", index=taken.index) is False
    assert allocate(shop).index == taken.index + 1


def _next_index_seen_by_another_connection() -> int:
    seen = []

    def read():
        try:
            seen.append(Wallet.objects.get().next_index)
        finally:
            connection.close()

    reader = threading.Thread(target=read)
    reader.start()
    reader.join()
    return seen[0]


@pytest.mark.django_db(transaction=True)
def test_concurrent_allocations_never_share_an_index():
    shop = Merchant.objects.create(name="Alice's Shop")
    wallet_create(merchant=shop, currency="BTC", extended_public_key=BIP84_ZPUB, network="mainnet")
    threads, per_thread = 8, 5
    start = threading.Barrier(threads)
    results, errors = [], []

    def invoices():
        try:
            start.wait()
            for _ in range(per_thread):
                with transaction.atomic():
                    derived = address_allocate(merchant=shop, currency="BTC")
                    time.sleep(0.002)  # hold the row while the others queue behind it
                results.append(derived)
        except Exception as exc:  # surfaced by the assertion below
            errors.append(exc)
        finally:
            connection.close()

    workers = [threading.Thread(target=invoices) for _ in range(threads)]
    for worker in workers:
        worker.start()
    for worker in workers:
        worker.join()

    assert errors == []
    total = threads * per_thread
    assert sorted(derived.index for derived in results) == list(range(total))
    assert len({derived.address for derived in results}) == total
    assert Wallet.objects.get().next_index == total
