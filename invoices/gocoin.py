"""The invoice as GoCoin's API v1 shows it: field order of the real captures, JSON types strict clients need."""

from django.conf import settings
from django.utils import timezone

from chain.currencies import coin_get
from config.formats import decimal_plain, iso_ms, iso_seconds
from invoices.models import ECHOED_TEXT_FIELDS, Invoice, Payment
from invoices.selectors import amount_paid, invoice_payments, primary_option, review_gain_loss
from rates.fiat import fiat_get


def gateway_url(invoice: Invoice) -> str:
    return f"{settings.PUBLIC_BASE_URL}/gateway/invoices/{invoice.id}"


def invoice_output(invoice: Invoice) -> dict:
    coin = coin_get(invoice.price_currency) if invoice.price_currency else None
    option = primary_option(invoice)
    price = balance_due = None
    if coin is not None and invoice.price_base_units is not None:
        price = coin.format(invoice.price_base_units)
        balance_due = coin.format(max(invoice.price_base_units - amount_paid(invoice), 0))
    fiat = fiat_get(invoice.base_price_currency)
    bill_currencies = invoice.valid_bill_payment_currencies

    body = {
        "id": str(invoice.id),
        "status": invoice.status,
        "payment_address": option.address if option else None,
        "price": price,
        "crypto_balance_due": balance_due,
        "price_currency": invoice.price_currency,
        "base_price": invoice.base_price_text,
        "base_price_currency": invoice.base_price_currency,
        "service_fee_rate": float(invoice.service_fee_rate),
        "usd_spot_rate": decimal_plain(invoice.usd_spot_rate),
        "spot_rate": decimal_plain(invoice.spot_rate),
        "inverse_spot_rate": decimal_plain(invoice.inverse_spot_rate),
        "crypto_payout_split": invoice.crypto_payout_split,
        "confirmations_required": invoice.confirmations_required,
        "crypto_url": option.uri if option else None,
    }
    for name in ECHOED_TEXT_FIELDS:
        if name not in ("callback_url",):
            body[name] = getattr(invoice, name)
    body.update(
        {
            "expires_at": iso_ms(invoice.expires_at),
            "created_at": iso_ms(invoice.created_at),
            "updated_at": iso_ms(invoice.updated_at),
            "server_time": iso_seconds(timezone.now()),
            "callback_url": invoice.callback_url,
            "payments": [payment_output(payment, coin) for payment in invoice_payments(invoice)],
            "merchant_id": str(invoice.merchant_id),
            "type": invoice.type,
            "gateway_url": gateway_url(invoice),
            "payout_currency": coin.code if coin else None,
            "base_price_currency_detail": fiat.detail(),
            "price_currency_detail": coin.detail() if coin else None,
            "payout_currency_detail": coin.detail() if coin else None,
            "valid_bill_payment_currencies": bill_currencies,
            "valid_bill_payment_currency_details": (
                [coin_get(code).detail() for code in bill_currencies] if bill_currencies is not None else None
            ),
            "merchant_review_reason": invoice.merchant_review_reason,
            "merchant_review_spot_rate": decimal_plain(invoice.merchant_review_spot_rate),
            "merchant_review_gain_loss": review_gain_loss(invoice),
        }
    )
    return body


def payment_output(payment: Payment, coin) -> dict:
    return {
        "txid": payment.txid,
        "output_index": payment.vout,
        "amount": coin.format(payment.amount) if coin else str(payment.amount),
        "currency": payment.payment_option.currency if coin is None else coin.code,
        "confirmations": payment.confirmations,
        "state": payment.state,
        "block_hash": payment.block_hash,
        "block_height": payment.block_height,
        "first_seen_at": iso_ms(payment.first_seen_at),
        "confirmed_at": iso_ms(payment.confirmed_at),
    }
