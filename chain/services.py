import os

from django.conf import settings
from django.db import IntegrityError, connection, transaction

from chain.currencies import MAINNET, coin_get
from chain.derivation import DerivedAddress, derive_address, parse_extended_public_key
from chain.errors import NoWallet, WalletExists
from chain.models import Wallet
from config import prepared
from merchants.models import WRITE_ROLES, Membership, Merchant
from merchants.selectors import (
    MEMBER_COLUMNS,
    MEMBER_CONDITION,
    MEMBER_TABLES,
    member_params,
    membership_from_row,
    membership_get,
)


def default_network(currency: str) -> str:
    """The network a new wallet of `currency` is on: setting or environment `CHAIN_<CUR>_NETWORK`, else mainnet."""
    name = f"CHAIN_{coin_get(currency).code}_NETWORK"
    return getattr(settings, name, None) or os.environ.get(name) or MAINNET


def wallet_create(*, merchant: Merchant, currency: str, extended_public_key: str, network: str | None = None) -> Wallet:
    """Give `merchant` a wallet for `currency` from the account-level extended public key.

    The key is validated (private keys, wrong network or address type are refused with a
    user-facing InvalidExtendedKey) and stored normalised to xpub/tpub. Raises WalletExists if
    the merchant already has a wallet for the currency, UnknownCurrency, UnsupportedNetwork.
    """
    coin = coin_get(currency)
    network = network or default_network(coin.code)
    normalised = parse_extended_public_key(coin=coin, network=network, text=extended_public_key)
    try:
        with transaction.atomic():
            return Wallet.objects.create(
                merchant=merchant, currency=coin.code, network=network, extended_public_key=normalised
            )
    except IntegrityError:
        if Wallet.objects.filter(merchant=merchant, currency=coin.code).exists():
            raise WalletExists(coin.code) from None
        raise


def address_allocate(*, merchant: Merchant, currency: str) -> DerivedAddress:
    """Take the wallet's next unused index and derive its receive address.

    The guarded UPDATE row-locks the wallet, so concurrent allocations queue and never share an index. Inside the
    caller's `transaction.atomic()` the lock lasts until the caller commits and a rollback gives the index back.
    Outside one the index is taken at once and the lock lasts that one statement; a caller whose invoice is then not
    written gives the index back with `address_release`. That statement commits without waiting for the disk: the
    invoice's own commit, later on the same connection, makes it durable too, and an index lost in a crash before
    then was never handed out. Raises NoWallet if the merchant has no wallet for `currency`.
    """
    coin = coin_get(currency)
    with connection.cursor() as cursor:
        prepared.execute(cursor, _ALLOCATE_SQL, [_merchant_key(merchant), coin.code], wait_for_disk=False)
        row = cursor.fetchone()
    if row is None:
        raise NoWallet(coin.code)
    index, network, extended_key = row
    return derive_address(coin=coin, network=network, extended_key=extended_key, index=index)


def address_allocate_for_writer(*, user, merchant_id, currency: str) -> tuple[Membership, DerivedAddress] | None:
    """`address_allocate` on the merchant `merchant_id` names, in one statement with the check that `user` may create
    invoices there, which also reads the merchant and the membership (`merchants.selectors`): a new invoice needs no
    round trip of its own for them. None when `user` is no writing member or the merchant has no `currency` wallet:
    nothing was allocated then, and `merchants.selectors.writing_membership_get` tells which."""
    coin = coin_get(currency)
    if connection.vendor != "postgresql":  # SQLite's RETURNING cannot name the tables an UPDATE joins
        membership = membership_get(user=user, merchant_id=merchant_id)
        if not membership.can_write:
            return None
        try:
            return membership, address_allocate(merchant=membership.merchant, currency=coin.code)
        except NoWallet:
            return None
    with connection.cursor() as cursor:
        params = [coin.code, *member_params(user=user, merchant_id=merchant_id), *WRITE_ROLES]
        prepared.execute(cursor, _ALLOCATE_FOR_WRITER_SQL, params, wait_for_disk=False)
        row = cursor.fetchone()
    if row is None:
        return None
    index, network, extended_key = row[:3]
    membership = membership_from_row(user=user, row=row[3:])
    return membership, derive_address(coin=coin, network=network, extended_key=extended_key, index=index)


def address_release(*, merchant: Merchant, currency: str, index: int) -> bool:
    """Give back an index that `address_allocate` took outside a transaction for an invoice that was not written.

    The wallet's counter steps back only while no later allocation has passed it; otherwise the index stays unused,
    the same gap an abandoned invoice leaves, and is never handed out twice. Inside a transaction this does nothing:
    the caller's rollback gives the index back. Returns whether the index is free again.
    """
    if connection.in_atomic_block:
        return False
    with connection.cursor() as cursor:
        cursor.execute(
            f"UPDATE {_WALLET_TABLE} SET next_index = next_index - 1 "
            "WHERE merchant_id = %s AND currency = %s AND next_index = %s",
            [_merchant_key(merchant), coin_get(currency).code, index + 1],
        )
        return cursor.rowcount == 1


_WALLET_TABLE = connection.ops.quote_name(Wallet._meta.db_table)
_ALLOCATE_SQL = (
    f"UPDATE {_WALLET_TABLE} SET next_index = next_index + 1 WHERE merchant_id = %s AND currency = %s "
    "RETURNING next_index - 1, network, extended_public_key"
)
_ALLOCATE_FOR_WRITER_SQL = (
    f"UPDATE {_WALLET_TABLE} wallet SET next_index = wallet.next_index + 1 FROM {MEMBER_TABLES} "
    f"WHERE wallet.merchant_id = merchant.id AND wallet.currency = %s AND {MEMBER_CONDITION} "
    f"AND membership.role IN ({', '.join(['%s'] * len(WRITE_ROLES))}) "
    f"RETURNING wallet.next_index - 1, wallet.network, wallet.extended_public_key, {MEMBER_COLUMNS}"
)


def _merchant_key(merchant: Merchant):
    return Wallet._meta.get_field("merchant").get_db_prep_value(merchant.pk, connection)
