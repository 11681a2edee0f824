import logging
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import timedelta
from decimal import Decimal

from django.conf import settings
from django.db import DatabaseError, IntegrityError, InterfaceError, OperationalError, transaction
from django.utils import timezone

from chain.currencies import Coin, coin_get
from chain.derivation import DerivedAddress
from chain.errors import NoWallet, UnknownCurrency
from chain.selectors import wallet_currencies
from chain.services import address_allocate, address_allocate_for_writer, address_release
from config.rows import RowsInsert, rows_insert
from invoices.callbacks import CREATED, callback_emit
from invoices.errors import IdempotencyConflict, InvoiceInputError
from invoices.models import IdempotencyKey, Invoice, InvoiceType, PaymentOption, Status
from invoices.state import invoice_record_opened
from merchants.selectors import writing_membership_get
from rates.errors import RateUnavailable, UnknownFiat
from rates.fiat import Fiat, fiat_get
from rates.selectors import price_in_base_units, quote_get
from webhooks.safe_http import url_refusal

logger = logging.getLogger(__name__)

MAX_CONFIRMATIONS = 100


@dataclass(frozen=True)
class InvoiceRequest:
    base_price: Decimal
    base_price_text: str
    base_price_currency: str
    price_currency: str | None = None
    type: str | None = None
    confirmations_required: int | None = None
    echoed: dict[str, str | None] = field(default_factory=dict)


def invoice_create(*, merchant, request: InvoiceRequest) -> Invoice:
    """Creates a priced, addressed invoice (or an unpriced bill) with its timeline entry, all or nothing."""
    fiat, is_bill = _request_checked(request)
    # An invoice's wallet is checked by the address allocation itself; only a bill lists every wallet.
    accepted = wallet_currencies(merchant=merchant) if is_bill else None
    if is_bill and not request.price_currency:
        if not accepted:
            raise InvoiceInputError("type", "this merchant has no wallet yet, so a bill could not be paid in any currency")
        invoice = _invoice_new(merchant, request, status=Status.BILLED, is_bill=True)
        invoice.valid_bill_payment_currencies = accepted
        insert = RowsInsert().add(invoice)
        invoice_record_opened(invoice=invoice, reason="bill created; waiting for the customer to choose a currency", insert=insert)
        invoice_new_write(invoice, options=[], insert=insert)
        return invoice
    coin = _coin(request, accepted)
    return _priced_create(merchant, request, fiat=fiat, coin=coin, accepted=accepted if is_bill else None)


def invoice_create_as_writer(*, user, merchant_id, request: InvoiceRequest) -> Invoice:
    """`invoice_create` for a user who names the merchant by id. A user who may not create invoices there is refused
    before anything in the request is (404 for a merchant that is not theirs, 403 for a viewer). A plain invoice's
    address is allocated by the statement that checks this (`chain.services.address_allocate_for_writer`)."""
    try:
        fiat, is_bill = _request_checked(request)
        coin = None if is_bill else _coin(request, None)
        if coin is not None:
            # Without a fresh rate the sale is refused before an address is taken: giving an index back fails
            # once a concurrent create has passed it, and retried requests would leave a long gap in the wallet.
            quote_get(crypto=coin.code, fiat=fiat.code)
    except (InvoiceInputError, RateUnavailable):
        writing_membership_get(user=user, merchant_id=merchant_id)
        raise
    if coin is None:
        return invoice_create(merchant=writing_membership_get(user=user, merchant_id=merchant_id).merchant, request=request)
    allocated = address_allocate_for_writer(user=user, merchant_id=merchant_id, currency=coin.code)
    if allocated is None:
        writing_membership_get(user=user, merchant_id=merchant_id)
        raise _no_wallet(coin)
    membership, address = allocated
    return _priced_create(membership.merchant, request, fiat=fiat, coin=coin, accepted=None, address=address)


def _priced_create(merchant, request: InvoiceRequest, *, fiat: Fiat, coin: Coin, accepted: list[str] | None,
                   address: DerivedAddress | None = None) -> Invoice:
    """An invoice priced in `coin`, or a bill created with its currency when `accepted` lists the bill's
    currencies; paid to `address` if one was allocated for it already. Its rows go in as one insert, atomic by itself: outside the caller's transaction it needs no
    BEGIN or COMMIT of its own, and the wallet stays locked for the allocation's statement only."""
    insert = RowsInsert()
    with addresses_given_back_on_failure(merchant, insert) as taken:
        if address is not None:
            taken.append((coin.code, address))
        invoice = _invoice_new(merchant, request, status=Status.UNPAID, is_bill=accepted is not None)
        invoice.valid_bill_payment_currencies = accepted
        invoice_price_set(invoice, coin=coin, fiat=fiat, confirmations_required=request.confirmations_required)
        insert.add(invoice)
        invoice_record_opened(invoice=invoice, reason=f"priced at {invoice.inverse_spot_rate} {fiat.code}/{coin.code}", insert=insert)
        if address is None:
            try:
                address = address_take(merchant=merchant, coin=coin, taken=taken)
            except NoWallet:
                raise _no_wallet(coin) from None
        option = payment_option_create(invoice=invoice, coin=coin, amount_due=invoice.price_base_units, insert=insert, address=address)
        invoice_new_write(invoice, options=[option], insert=insert)
    return invoice


def _no_wallet(coin: Coin) -> InvoiceInputError:
    return InvoiceInputError("price_currency", f"this merchant has no {coin.code} wallet to be paid into")


def invoice_new_write(invoice: Invoice, *, options: list[PaymentOption], insert: RowsInsert) -> None:
    """Writes a new invoice: its `invoice_created` callback joins the `insert` that holds its rows, which then runs.
    A new invoice's options and payments are known, so rendering it for the callback needs no query for them."""
    invoice._prefetched_objects_cache = {"payment_options": options, "payments": []}
    callback_emit(invoice=invoice, name=CREATED, insert=insert)
    insert.execute()


@contextmanager
def addresses_given_back_on_failure(merchant, insert: RowsInsert) -> Iterator[list[tuple[str, DerivedAddress]]]:
    """Collects, as (currency, address), the addresses allocated in the block for the invoice that `insert` writes
    (`address_take` records them); if the block fails before that insert has written the rows, their indexes go back
    to the wallets (`chain.services.address_release`).

    Once the rows are written, nothing is given back, whatever fails after (the deliveries' queueing runs then).
    A lost connection or an interrupt keeps them too: whether the insert committed is then unknown, and an index
    is never handed out twice."""
    taken: list[tuple[str, DerivedAddress]] = []
    try:
        yield taken
    except (OperationalError, InterfaceError):
        raise
    except Exception:
        if not insert.written:
            for currency, address in reversed(taken):
                try:
                    address_release(merchant=merchant, currency=currency, index=address.index)
                except DatabaseError:
                    logger.exception("could not give back index %s of the %s wallet", address.index, currency)
        raise


def address_take(*, merchant, coin: Coin, taken: list[tuple[str, DerivedAddress]]) -> DerivedAddress:
    """The merchant's next `coin` address, recorded in `taken` (from `addresses_given_back_on_failure`) as soon as
    it is allocated. Raises NoWallet."""
    address = address_allocate(merchant=merchant, currency=coin.code)
    taken.append((coin.code, address))
    return address


def invoice_price_set(invoice: Invoice, *, coin: Coin, fiat: Fiat, confirmations_required: int | None) -> None:
    """Quotes the invoice in `coin` and starts its payment window (raises RateUnavailable without a fresh rate)."""
    merchant = invoice.merchant
    quote = quote_get(crypto=coin.code, fiat=fiat.code, spread_percent=merchant.rate_spread_percent)
    invoice.price_base_units = price_in_base_units(amount=invoice.base_price, rate=quote.rate, decimals=coin.decimals)
    invoice.spot_rate = quote.spot_rate
    invoice.inverse_spot_rate = quote.rate
    invoice.usd_spot_rate = quote.usd_spot_rate
    invoice.rate_sources = list(quote.sources)
    invoice.rate_fetched_at = quote.fetched_at
    invoice.confirmations_required = coin.default_confirmations if confirmations_required is None else confirmations_required
    expiry = merchant.invoice_expiry_seconds or settings.INVOICE_EXPIRY_SECONDS
    invoice.expires_at = timezone.now() + timedelta(seconds=expiry)


def _invoice_new(merchant, request: InvoiceRequest, *, status: str, is_bill: bool) -> Invoice:
    invoice = Invoice(
        merchant=merchant,
        type=InvoiceType.BILL if is_bill else InvoiceType.INVOICE,
        status=status,
        base_price=request.base_price,
        base_price_text=request.base_price_text,
        base_price_currency=request.base_price_currency,
        price_currency=request.price_currency or None,
        service_fee_rate=merchant.service_fee_rate,
        crypto_payout_split=merchant.crypto_payout_split,
        **request.echoed,
    )
    if not request.echoed.get("callback_url") and merchant.callback_url:
        invoice.callback_url = merchant.callback_url
    if not request.echoed.get("redirect_url") and merchant.redirect_url:
        invoice.redirect_url = merchant.redirect_url
    return invoice


def payment_option_create(*, invoice: Invoice, coin: Coin, amount_due: int, insert: RowsInsert | None = None,
                          address: DerivedAddress | None = None) -> PaymentOption:
    """The option paid to `address`, or else to an address allocated now; its row joins `insert` when given, else is
    inserted at once."""
    derived = address or address_allocate(merchant=invoice.merchant, currency=coin.code)
    option = PaymentOption(
        invoice=invoice,
        merchant_id=invoice.merchant_id,
        currency=coin.code,
        network=derived.network,
        address=derived.address,
        script_pubkey=derived.script_pubkey,
        derivation_index=derived.index,
        amount_due=amount_due,
        uri=coin.uri(derived.address, amount_due, label=f"Payment to {invoice.merchant.name}"),
        watch_until=invoice.expires_at + timedelta(seconds=settings.INVOICE_MONITORING_SECONDS),
    )
    rows_insert(option, into=insert)
    return option


def _request_checked(request: InvoiceRequest) -> tuple[Fiat, bool]:
    """The checks that need no merchant: the price, its currency, the callback URL and the type. Returns the price's
    currency and whether the request is for a bill."""
    fiat = _fiat(request)
    _check_amount(request, fiat)
    _check_callback_url(request.echoed.get("callback_url"))
    return fiat, _invoice_type(request) == InvoiceType.BILL


def _fiat(request: InvoiceRequest) -> Fiat:
    try:
        return fiat_get(request.base_price_currency)
    except UnknownFiat:
        raise InvoiceInputError("base_price_currency", f"is not a supported currency: {request.base_price_currency}") from None


def _check_amount(request: InvoiceRequest, fiat: Fiat) -> None:
    if request.base_price <= 0:
        raise InvoiceInputError("base_price", "must be greater than zero")
    exponent = request.base_price.normalize().as_tuple().exponent
    if isinstance(exponent, int) and -exponent > fiat.precision:
        raise InvoiceInputError("base_price", f"has more decimal places than {fiat.code} allows ({fiat.precision})")


def _check_callback_url(url: str | None) -> None:
    if url:
        refusal = url_refusal(url)
        if refusal:
            raise InvoiceInputError("callback_url", refusal)


def _invoice_type(request: InvoiceRequest) -> str:
    if request.type in (None, "", InvoiceType.INVOICE):
        return InvoiceType.INVOICE
    if request.type == InvoiceType.BILL:
        return InvoiceType.BILL
    raise InvoiceInputError("type", 'must be "bill" or left out')


def _coin(request: InvoiceRequest, accepted: list[str] | None) -> Coin:
    if not request.price_currency:
        raise InvoiceInputError("price_currency", "can't be blank (or create a bill with type \"bill\")")
    try:
        coin = coin_get(request.price_currency)
    except UnknownCurrency:
        raise InvoiceInputError("price_currency", f"is not a supported currency: {request.price_currency}") from None
    if accepted is not None and coin.code not in accepted:
        raise InvoiceInputError("price_currency", f"this merchant has no {coin.code} wallet to be paid into")
    if request.confirmations_required is not None and not 0 <= request.confirmations_required <= MAX_CONFIRMATIONS:
        raise InvoiceInputError("confirmations_required", f"must be between 0 and {MAX_CONFIRMATIONS}")
    return coin


def idempotent_call(
    *, merchant, key: str, fingerprint: str, produce: Callable[[], tuple[int, dict, Invoice | None]]
) -> tuple[int, dict, bool]:
    """Runs `produce` once per (merchant, key) within the window and replays its response afterwards.

    Concurrent requests with one key serialise on the key's unique index: the second waits for the first
    to commit, then replays its response. A failed `produce` rolls the key back, so a retry runs anew.
    Returns (status, body, replayed).
    """
    window_start = timezone.now() - timedelta(seconds=settings.IDEMPOTENCY_WINDOW_SECONDS)
    with transaction.atomic():
        IdempotencyKey.objects.filter(merchant=merchant, key=key, created_at__lt=window_start).delete()
        try:
            with transaction.atomic():
                record = IdempotencyKey.objects.create(merchant=merchant, key=key, request_fingerprint=fingerprint)
        except IntegrityError:
            existing = IdempotencyKey.objects.get(merchant=merchant, key=key)
            if existing.request_fingerprint != fingerprint:
                raise IdempotencyConflict("was already used with a different request body") from None
            return existing.response_status, existing.response_body, True
        status, body, invoice = produce()
        record.response_status = status
        record.response_body = body
        record.invoice = invoice
        record.save(update_fields=["response_status", "response_body", "invoice"])
        return status, body, False
