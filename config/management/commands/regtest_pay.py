import time
import uuid

from django.core.management.base import BaseCommand, CommandError

from chain.currencies import REGTEST, Coin, coin_get
from chain.errors import ChainError
from chain.nodes import node_client
from chain.regtest import mine_blocks, send_coins
from chain.watcher import chain_sync
from invoices.models import Invoice
from invoices.selectors import amount_paid, primary_option

SYNC_WAIT_SECONDS = 30


class Command(BaseCommand):
    help = (
        "Pay a regtest invoice from the wallet of the node at CHAIN_<CUR>_RPC_URL, optionally mine blocks, "
        "sync once, and print the txid and the invoice's status."
    )

    def add_arguments(self, parser):
        parser.add_argument("invoice_id")
        parser.add_argument("--amount", help="coins to pay (default: what is still due)")
        parser.add_argument("--confirm", type=int, default=0, metavar="N", help="blocks to mine after paying (default 0)")

    def handle(self, *args, invoice_id, amount, confirm, **options):
        if confirm < 0:
            raise CommandError("--confirm must be 0 or more")
        invoice = _invoice(invoice_id)
        option = primary_option(invoice)
        if option is None:
            raise CommandError(f"invoice {invoice.id} has no payment address yet: a currency must be chosen first")
        if option.network != REGTEST:
            raise CommandError(
                f"invoice {invoice.id} is paid in {option.currency} on {option.network}: "
                "regtest_pay only pays regtest invoices"
            )
        coin = coin_get(option.currency)
        due = max(invoice.price_base_units - amount_paid(invoice), 0)
        base_units = _base_units(coin, amount) if amount is not None else due
        if base_units <= 0:
            raise CommandError(f"nothing is due on invoice {invoice.id}; pass --amount to pay anyway")
        try:
            rpc = node_client(coin.code)
            info = rpc.call("getblockchaininfo")
            chain = info.get("chain") if isinstance(info, dict) else None
            if chain != "regtest":
                raise CommandError(f"the node at CHAIN_{coin.code}_RPC_URL is on {chain!r}, not regtest")
            txid = send_coins(rpc, option.address, coin.to_decimal(base_units))
            if confirm:
                mine_blocks(rpc, confirm)
            _sync_now(coin.code)
        except ChainError as exc:
            raise CommandError(exc.message) from None
        invoice.refresh_from_db(fields=["status"])
        self.stdout.write(
            f"paid {coin.format(base_units)} {coin.code} to {option.address}\ntxid   {txid}\nstatus {invoice.status}"
        )


def _invoice(invoice_id: str) -> Invoice:
    try:
        return Invoice.objects.get(id=uuid.UUID(invoice_id))
    except (ValueError, Invoice.DoesNotExist):
        raise CommandError(f"no invoice with id {invoice_id!r}") from None


def _base_units(coin: Coin, text: str) -> int:
    try:
        return coin.to_base_units(text.strip())
    except ValueError as exc:
        raise CommandError(f"--amount: {exc}") from None


def _sync_now(currency: str) -> None:
    # A running watcher may hold the sync lock; its sync may have started before this payment, so sync again after it.
    deadline = time.monotonic() + SYNC_WAIT_SECONDS
    while chain_sync(currency=currency).skipped and time.monotonic() < deadline:
        time.sleep(0.2)
