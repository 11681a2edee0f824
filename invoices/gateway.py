"""The hosted payment page: what a customer sees of an invoice, and the few things they can do on it.

Public by design: the invoice's random id is the only key, so the page shows what the merchant meant to
publish (their name, the item, the price) and nothing else: no customer_* or user_defined_* fields, no
callback or order data.
"""

import secrets
from collections.abc import Callable
from decimal import Decimal
from functools import wraps
from urllib.parse import urlencode, urlsplit

import segno
from django.conf import settings
from django.http import Http404, HttpRequest, HttpResponse, JsonResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils import timezone, translation
from django.utils.cache import add_never_cache_headers, patch_vary_headers
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from django.views.decorators.http import require_GET, require_POST

from chain.cheats import regtest_mine, regtest_pay
from chain.currencies import REGTEST, Coin, coin_get
from chain.errors import ChainError
from config.formats import iso_ms
from invoices.errors import InvoiceInputError
from invoices.lifecycle import bill_currency_choose
from invoices.models import Invoice, Status
from invoices.selectors import PaymentProgress, invoice_get_for_gateway, payment_progress
from rates.errors import RateUnavailable
from rates.fiat import fiat_get

LANGUAGE_PARAMETER = "lang"
POLL_SECONDS = 3
REDIRECT_DELAY_SECONDS = 4
PAY_STATUSES = (Status.UNPAID, Status.UNDERPAID)
DONE_STATUSES = (Status.PAID, Status.READY_TO_SHIP, Status.FULFILLED)
# Everything the page needs is inline or from this platform; the policy makes any other request impossible.
PAGE_POLICY = (
    "default-src 'none'; script-src 'nonce-{nonce}'; style-src 'nonce-{nonce}'; img-src 'self' data:; "
    "connect-src 'self'; form-action 'self'; base-uri 'none'; frame-ancestors 'none'"
)

STATUS_TEXT = {
    Status.BILLED: (gettext_lazy("Choose how to pay"), gettext_lazy("Pick the currency you want to pay with.")),
    Status.UNPAID: (
        gettext_lazy("Waiting for your payment"),
        gettext_lazy("Send the amount below to the address shown. This page updates by itself."),
    ),
    Status.UNDERPAID: (
        gettext_lazy("Partly paid"),
        gettext_lazy("We received part of your payment. Please send the rest to the same address."),
    ),
    Status.PAID: (
        gettext_lazy("Payment received"),
        gettext_lazy("Thank you! Your payment is on its way and is being confirmed by the network."),
    ),
    Status.READY_TO_SHIP: (gettext_lazy("Payment confirmed"), gettext_lazy("Thank you! Your payment is confirmed.")),
    Status.FULFILLED: (gettext_lazy("Payment complete"), gettext_lazy("Thank you! Your order is complete.")),
    Status.MERCHANT_REVIEW: (
        gettext_lazy("Payment under review"),
        gettext_lazy("Your payment is being reviewed by the merchant, who will get in touch with you."),
    ),
    Status.EXPIRED: (
        gettext_lazy("This invoice has expired"),
        gettext_lazy(
            "No payment arrived in time. Do not send anything to this address; ask the shop for a new invoice."
        ),
    ),
    Status.INVALID: (
        gettext_lazy("This invoice is no longer valid"),
        gettext_lazy("Do not send anything to this address. Please contact the shop."),
    ),
    Status.REFUNDED: (gettext_lazy("Payment refunded"), gettext_lazy("The merchant has refunded this payment.")),
}


def customer_language(request: HttpRequest) -> str:
    """The language of `?lang=` when it is one we speak, else the browser's preference, else English."""
    requested = request.GET.get(LANGUAGE_PARAMETER, "").strip()
    if requested:
        try:
            return translation.get_supported_language_variant(requested)
        except LookupError:
            pass
    return translation.get_language_from_request(request)


def in_customer_language(view: Callable[..., HttpResponse]) -> Callable[..., HttpResponse]:
    """Runs the view, and renders its response, in the customer's language; only the gateway is translated."""

    @wraps(view)
    def wrapper(request: HttpRequest, *args, **kwargs) -> HttpResponse:
        language = customer_language(request)
        with translation.override(language):
            response = view(request, *args, **kwargs)
        response.headers["Content-Language"] = language
        patch_vary_headers(response, ["Accept-Language"])
        return response

    return wrapper


@require_GET
@in_customer_language
def invoice_page(request: HttpRequest, invoice_id) -> HttpResponse:
    return _page(request, invoice_get_for_gateway(invoice_id=invoice_id))


@require_GET
@in_customer_language
def invoice_status(request: HttpRequest, invoice_id) -> HttpResponse:
    invoice = invoice_get_for_gateway(invoice_id=invoice_id)
    response = JsonResponse(_status_body(invoice, payment_progress(invoice)))
    add_never_cache_headers(response)
    return response


@require_GET
@in_customer_language
def invoice_qr(request: HttpRequest, invoice_id) -> HttpResponse:
    """The QR code of what is due now: after a partial payment, of the rest."""
    invoice = invoice_get_for_gateway(invoice_id=invoice_id)
    progress = payment_progress(invoice)
    if progress.option is None:
        raise Http404("this invoice has no payment address yet")
    response = HttpResponse(_qr_svg(_payment_uri(progress)), content_type="image/svg+xml")
    add_never_cache_headers(response)
    return response


@require_POST
@in_customer_language
def bill_currency(request: HttpRequest, invoice_id) -> HttpResponse:
    invoice = invoice_get_for_gateway(invoice_id=invoice_id)
    if invoice.status != Status.BILLED:
        return redirect(_url(invoice, "invoice"))
    currency = request.POST.get("currency", "").strip()
    if not currency:
        return _page(request, invoice, status=400, error=_("Currency: please choose one to pay with."))
    try:
        bill_currency_choose(invoice_id=invoice.id, merchant_ids=[invoice.merchant_id], currency=currency)
    except InvoiceInputError:
        invoice = invoice_get_for_gateway(invoice_id=invoice.id)
        if invoice.status != Status.BILLED:
            return redirect(_url(invoice, "invoice"))
        return _page(request, invoice, status=400, error=_("Currency: please choose one of the currencies listed."))
    except RateUnavailable:
        message = _(
            "There is no current exchange rate for this currency. Please try again in a minute or choose another."
        )
        return _page(request, invoice, status=503, error=message)
    except ChainError:
        message = _("This currency cannot be used right now. Please choose another or try again later.")
        return _page(request, invoice, status=503, error=message)
    return redirect(_url(invoice, "invoice"))


@require_POST
@in_customer_language
def regtest_wallet_pay(request: HttpRequest, invoice_id) -> HttpResponse:
    invoice = invoice_get_for_gateway(invoice_id=invoice_id)
    progress = _regtest_progress(invoice)
    if invoice.status not in PAY_STATUSES or progress.due <= 0:
        return _regtest_action_done(request, invoice, status=409, error=_("Nothing is left to pay on this invoice."))
    try:
        regtest_pay(currency=progress.option.currency, address=progress.option.address, base_units=progress.due)
    except ChainError as exc:
        error = _("The test wallet could not pay: %(reason)s") % {"reason": exc.message}
        return _regtest_action_done(request, invoice, status=503, error=error)
    coin = coin_get(progress.option.currency)
    message = _("The test wallet sent %(amount)s %(currency)s.") % {
        "amount": coin.format(progress.due), "currency": coin.code
    }
    return _regtest_action_done(request, invoice, message=message)


@require_POST
@in_customer_language
def regtest_block_mine(request: HttpRequest, invoice_id) -> HttpResponse:
    invoice = invoice_get_for_gateway(invoice_id=invoice_id)
    progress = _regtest_progress(invoice)
    try:
        regtest_mine(currency=progress.option.currency, blocks=1)
    except ChainError as exc:
        error = _("No block was mined: %(reason)s") % {"reason": exc.message}
        return _regtest_action_done(request, invoice, status=503, error=error)
    return _regtest_action_done(request, invoice, message=_("A block was mined."))


def _regtest_progress(invoice: Invoice) -> PaymentProgress:
    progress = payment_progress(invoice)
    if progress.option is None or progress.option.network != REGTEST:
        raise Http404("test wallet actions exist on the regtest network only")
    return progress


def _regtest_action_done(
    request: HttpRequest, invoice: Invoice, *, status: int = 200, message: str = "", error: str = ""
) -> HttpResponse:
    # The page's script asks for JSON and stays put; a plain form post comes back to the page.
    if "application/json" in request.headers.get("Accept", ""):
        return JsonResponse({"message": error or message, "ok": not error}, status=status)
    if error:
        return _page(request, invoice, status=status, error=error)
    return redirect(_url(invoice, "invoice"))


def _page(request: HttpRequest, invoice: Invoice, *, status: int = 200, error: str = "") -> HttpResponse:
    nonce = secrets.token_urlsafe(16)
    response = render(request, "gateway/invoice.html", _page_context(invoice, nonce=nonce, error=error), status=status)
    response.headers["Content-Security-Policy"] = PAGE_POLICY.format(nonce=nonce)
    add_never_cache_headers(response)
    return response


def _page_context(invoice: Invoice, *, nonce: str, error: str) -> dict:
    progress = payment_progress(invoice)
    state = _status_body(invoice, progress)
    fiat = fiat_get(invoice.base_price_currency)
    coin = coin_get(progress.option.currency) if progress.option else None
    language = translation.get_language()
    return {
        "nonce": nonce,
        "language": language,
        "languages": [
            {"code": code, "name": name, "url": _url(invoice, "invoice", language=code), "current": code == language}
            for code, name in settings.LANGUAGES
        ],
        "merchant_name": invoice.merchant.name,
        "item_name": invoice.item_name,
        "item_description": invoice.item_description,
        "fiat_amount": invoice.base_price.quantize(Decimal(1).scaleb(-fiat.precision)),
        "fiat_code": fiat.code,
        "state": state,
        "phase": state["phase"],
        "coin": coin,
        "address": progress.option.address if progress.option else None,
        "qr_svg": _qr_svg(state["payment_uri"]) if state["payment_uri"] else None,
        "time_left": _time_left_text(state["seconds_left"]),
        "expires_at": invoice.expires_at,
        "is_regtest": progress.option is not None and progress.option.network == REGTEST,
        "bill_choices": [(code, coin_get(code).name) for code in invoice.valid_bill_payment_currencies or []],
        "error": error,
        "urls": {
            "invoice": _url(invoice, "invoice"),
            "bill_currency": _url(invoice, "bill-currency"),
            "regtest_pay": _url(invoice, "regtest-pay"),
            "regtest_mine": _url(invoice, "regtest-mine"),
        },
        "config": {
            "statusUrl": _url(invoice, "status"),
            "qrUrl": _url(invoice, "qr"),
            "pollSeconds": POLL_SECONDS,
            "redirectDelaySeconds": REDIRECT_DELAY_SECONDS,
            "copied": _("Copied"),
            "state": state,
        },
    }


def _status_body(invoice: Invoice, progress: PaymentProgress) -> dict:
    coin = coin_get(progress.option.currency) if progress.option else None
    headline, detail = STATUS_TEXT[invoice.status]
    seconds_left = None
    if invoice.expires_at is not None:
        seconds_left = max(int((invoice.expires_at - timezone.now()).total_seconds()), 0)
    done = invoice.status in DONE_STATUSES
    return {
        "status": invoice.status,
        "phase": _phase(invoice.status),
        "headline": str(headline),
        "detail": str(detail),
        "currency": coin.code if coin else None,
        "price": coin.format(progress.price) if coin else None,
        "amount_due": coin.format(progress.due) if coin else None,
        "paid": coin.format(progress.paid) if coin else None,
        "payment_uri": _payment_uri(progress) if progress.option else None,
        "confirmations": progress.confirmations,
        "confirmations_required": invoice.confirmations_required,
        "expires_at": iso_ms(invoice.expires_at),
        "seconds_left": seconds_left,
        "redirect_url": invoice.redirect_url if done and _is_web_url(invoice.redirect_url) else None,
    }


def _phase(status: str) -> str:
    if status == Status.BILLED:
        return "choose"
    if status in PAY_STATUSES:
        return "pay"
    if status in DONE_STATUSES:
        return "done"
    return "closed"


def _payment_uri(progress: PaymentProgress) -> str:
    """The option's payment URI, asking for what is still due when part has been paid."""
    option = progress.option
    if progress.due in (0, option.amount_due):
        return option.uri
    return _uri_with_amount(option.uri, coin_get(option.currency), progress.due)


def _uri_with_amount(uri: str, coin: Coin, base_units: int) -> str:
    target, _separator, query = uri.partition("?")
    kept = [part for part in query.split("&") if part and not part.startswith("amount=")]
    return f"{target}?{'&'.join([f'amount={coin.to_decimal(base_units).normalize():f}', *kept])}"


def _qr_svg(uri: str) -> str:
    # omitsize leaves only the viewBox, so the page's CSS decides how large the code is drawn.
    return segno.make(uri, error="m").svg_inline(
        scale=1, border=4, omitsize=True, title=_("QR code of the payment request"), svgclass="qr-code",
        dark="#000", light="#fff",
    )


def _time_left_text(seconds: int | None) -> str:
    if seconds is None:
        return ""
    hours, rest = divmod(seconds, 3600)
    minutes, seconds = divmod(rest, 60)
    return f"{hours}:{minutes:02d}:{seconds:02d}" if hours else f"{minutes}:{seconds:02d}"


def _is_web_url(url: str | None) -> bool:
    return bool(url) and urlsplit(url).scheme in ("http", "https") and bool(urlsplit(url).netloc)


def _url(invoice: Invoice, name: str, *, language: str | None = None) -> str:
    """A gateway URL that keeps the page's language (the next request may not send the same Accept-Language)."""
    path = reverse(f"gateway:{name}", kwargs={"invoice_id": invoice.id})
    return f"{path}?{urlencode({LANGUAGE_PARAMETER: language or translation.get_language()})}"
