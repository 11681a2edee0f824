"""The payment protocols wallets use on an Anypay invoice: JSON Payment Protocol v2 and BIP270 (BSV).

A wallet asks what it may pay, gets the outputs to pay, and hands over the signed transaction; the platform checks
that it pays the outputs in full, broadcasts it through its own node and records the payment at once, so the
invoice reads paid before the watcher even sees the transaction.
"""

import json
from dataclasses import dataclass, replace

from django.db import transaction
from django.utils import timezone

from chain.currencies import MAINNET, Coin, coin_get
from chain.errors import ChainError, NodeError, UnknownCurrency
from chain.listeners import SeenOutput
from chain.nodes import node_client
from config.formats import iso_ms
from invoices.anypay import payment_request_url, status_name
from invoices.models import Flavour, Invoice, PaymentOption, Status
from invoices.payments import outputs_record
from invoices.selectors import SETTLED_STATUSES

# Satoshis per byte a wallet is asked to pay; every node of the supported coins relays at this rate.
REQUIRED_FEE_RATE = 1
JSON_V2_NETWORKS = {MAINNET: "main", "testnet": "test", "regtest": "regtest"}
MAX_TRANSACTION_HEX = 2 * 1024 * 1024


class PaymentRefused(Exception):
    """A payment or request the protocol answers with 400 and its error body; nothing was broadcast."""

    def __init__(self, message: str):
        super().__init__(message)
        self.message = message


@dataclass(frozen=True)
class Broadcast:
    txid: str
    outputs: list[SeenOutput]


def _memo(invoice: Invoice) -> str:
    return invoice.memo or f"Payment to {invoice.merchant.name}"


def invoice_payable_check(invoice: Invoice) -> None:
    """Refuses an invoice a wallet can no longer pay: cancelled, paid, expired or in any state but unpaid."""
    if invoice.cancelled_at is not None:
        raise PaymentRefused("invoice cancelled")
    if invoice.status in SETTLED_STATUSES:
        raise PaymentRefused("invoice already paid")
    if invoice.status == Status.EXPIRED or (invoice.status == Status.UNPAID and invoice.expires_at <= timezone.now()):
        raise PaymentRefused("invoice expired")
    if invoice.status != Status.UNPAID:
        raise PaymentRefused(f"Invoice With Status {status_name(invoice)} Cannot Be Paid")


def option_for(invoice: Invoice, *, chain: object, currency: object) -> PaymentOption:
    """The invoice's option for a wallet's (chain, currency) choice; an option of another coin is refused."""
    try:
        coin = coin_get(currency) if isinstance(currency, str) else None
        chain_coin = coin_get(chain) if isinstance(chain, str) and chain else coin
    except UnknownCurrency:
        coin = chain_coin = None
    option = next((o for o in invoice.payment_options.all() if coin and o.currency == coin.code), None)
    if option is None or chain_coin != coin:
        raise PaymentRefused("Unsupported Currency or Chain for Payment Option")
    return option


# What the wallet is asked


def payment_options(invoice: Invoice) -> dict:
    """JSON v2 step 1: every coin the invoice can be paid in, with its estimated amount."""
    return {
        "time": iso_ms(invoice.created_at),
        "expires": iso_ms(invoice.expires_at),
        "memo": _memo(invoice),
        "paymentUrl": payment_request_url(invoice),
        "paymentId": invoice.uid,
        "paymentOptions": [
            {
                "chain": option.currency,
                "currency": option.currency,
                "network": JSON_V2_NETWORKS.get(option.network, option.network),
                "estimatedAmount": option.amount_due,
                "requiredFeeRate": REQUIRED_FEE_RATE,
                "minerFee": 0,
                "decimals": coin_get(option.currency).decimals,
                "selected": False,
            }
            for option in invoice.payment_options.all()
        ],
    }


def payment_request(invoice: Invoice, option: PaymentOption) -> dict:
    """JSON v2 step 2: the outputs to pay in the chosen coin."""
    return {
        "time": iso_ms(invoice.created_at),
        "expires": iso_ms(invoice.expires_at),
        "memo": _memo(invoice),
        "paymentUrl": payment_request_url(invoice),
        "paymentId": invoice.uid,
        "chain": option.currency,
        "currency": option.currency,
        "network": JSON_V2_NETWORKS.get(option.network, option.network),
        "instructions": [
            {
                "type": "transaction",
                "requiredFeeRate": REQUIRED_FEE_RATE,
                "outputs": [{"amount": option.amount_due, "address": option.address}],
            }
        ],
    }


def bip270_payment_request(invoice: Invoice, option: PaymentOption) -> dict:
    """BIP270's PaymentRequest for the invoice's BSV option: output scripts rather than addresses."""
    body = {
        "network": "bitcoin-sv",
        "outputs": [{"script": option.script_pubkey, "amount": option.amount_due}],
        "creationTimestamp": int(invoice.created_at.timestamp()),
        "expirationTimestamp": int(invoice.expires_at.timestamp()),
        "memo": _memo(invoice),
        "paymentUrl": f"{payment_request_url(invoice)}/pay/BSV/bip270",
        "merchantData": json.dumps({"invoiceUid": invoice.uid, "merchantName": invoice.merchant.name}),
    }
    if invoice.redirect_url:
        body["redirectUrl"] = invoice.redirect_url
    return body


# What the wallet pays


def transaction_verify(*, option: PaymentOption, transaction_hex: object) -> list[SeenOutput]:
    """Decodes the transaction with the coin's node and checks that it pays the option's output in full;
    returns the outputs that pay it."""
    if not isinstance(transaction_hex, str) or not transaction_hex or len(transaction_hex) > MAX_TRANSACTION_HEX:
        raise PaymentRefused("transaction must be a signed transaction in hex")
    try:
        bytes.fromhex(transaction_hex)
    except ValueError:
        raise PaymentRefused("transaction is not hex") from None
    coin = coin_get(option.currency)
    try:
        decoded = node_client(coin.code).call("decoderawtransaction", transaction_hex)
    except NodeError:
        raise PaymentRefused("transaction could not be decoded") from None
    except ChainError as exc:
        raise PaymentRefused(f"the {coin.code} node cannot check the payment now: {exc.message}") from None
    paying = [
        SeenOutput(txid=decoded["txid"], vout=output["n"], script_pubkey=option.script_pubkey,
                   amount=coin.to_base_units(output["value"]))
        for output in decoded.get("vout", [])
        if output.get("scriptPubKey", {}).get("hex") == option.script_pubkey
    ]
    if not paying:
        raise PaymentRefused(f"Output {option.address} Not Found: the transaction does not pay the invoice")
    paid = sum(output.amount for output in paying)
    if paid < option.amount_due:
        raise PaymentRefused(
            f"the transaction pays {_coins(coin, paid)} to {option.address}, less than the {_coins(coin, option.amount_due)} due"
        )
    return paying


def _coins(coin: Coin, base_units: int) -> str:
    return f"{coin.format(base_units)} {coin.code}"


def payment_verify(*, uid: str, chain: object, currency: object, transaction_hex: object) -> PaymentOption:
    """JSON v2 step 3: checks the unsigned (or signed) transaction without broadcasting it."""
    invoice = _invoice(uid)
    invoice_payable_check(invoice)
    option = option_for(invoice, chain=chain, currency=currency)
    transaction_verify(option=option, transaction_hex=transaction_hex)
    return option


def payment_submit(*, uid: str, chain: object, currency: object, transaction_hex: object) -> Broadcast:
    """Checks the signed transaction, broadcasts it through the coin's node and records the payment at once.

    Holds the invoice row from the check to the record, so two wallets paying one invoice are served one after the
    other and the second is refused, instead of both being broadcast.
    """
    presented_at = timezone.now()
    with transaction.atomic():
        invoice = (Invoice.objects.select_for_update(of=("self",)).select_related("merchant")
                   .filter(uid=uid, flavour=Flavour.ANYPAY).first())
        if invoice is None:
            raise PaymentRefused(f"Invoice {uid} Not Found")
        invoice_payable_check(invoice)
        option = option_for(invoice, chain=chain, currency=currency)
        outputs = transaction_verify(option=option, transaction_hex=transaction_hex)
        try:
            txid = node_client(option.currency).call("sendrawtransaction", transaction_hex)
        except NodeError as exc:
            raise PaymentRefused(f"the network refused the transaction: {exc.message}") from None
        except ChainError as exc:
            raise PaymentRefused(f"the {option.currency} node cannot take the payment now: {exc.message}") from None
        # On time if it was handed over in time: the checks and the broadcast take the node's time, not the wallet's.
        outputs_record(currency=option.currency, outputs=[replace(output, seen_at=presented_at) for output in outputs])
    return Broadcast(txid=txid, outputs=outputs)


def _invoice(uid: str) -> Invoice:
    invoice = Invoice.objects.select_related("merchant").filter(uid=uid, flavour=Flavour.ANYPAY).first()
    if invoice is None:
        raise PaymentRefused(f"Invoice {uid} Not Found")
    return invoice
