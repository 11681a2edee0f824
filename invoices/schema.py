"""Documentation-only serializers: the shapes of the GoCoin invoice responses, for the OpenAPI document."""

from rest_framework import serializers

from invoices.models import ECHOED_TEXT_FIELDS


class CurrencyDetailDocument(serializers.Serializer):
    id = serializers.CharField()
    name = serializers.CharField()
    symbol = serializers.CharField()
    is_crypto = serializers.BooleanField()
    sort_order = serializers.IntegerField()
    precision = serializers.IntegerField()
    aliases = serializers.ListField(child=serializers.CharField())


class PaymentDocument(serializers.Serializer):
    txid = serializers.CharField()
    output_index = serializers.IntegerField()
    amount = serializers.CharField(help_text="decimal string in the coin")
    currency = serializers.CharField()
    confirmations = serializers.IntegerField()
    state = serializers.CharField()
    block_hash = serializers.CharField(allow_null=True)
    block_height = serializers.IntegerField(allow_null=True)
    first_seen_at = serializers.DateTimeField()
    confirmed_at = serializers.DateTimeField(allow_null=True)


def _nullable_text(help_text: str = "") -> serializers.CharField:
    return serializers.CharField(allow_null=True, help_text=help_text)


class InvoiceDocument(serializers.Serializer):
    id = serializers.UUIDField()
    status = serializers.CharField(help_text="billed, unpaid, underpaid, paid, ready_to_ship, fulfilled, merchant_review, expired, invalid, refunded")
    payment_address = _nullable_text()
    price = _nullable_text("decimal string: the amount to pay in price_currency, rounded up to the base unit")
    crypto_balance_due = _nullable_text("decimal string: what is still to pay")
    price_currency = _nullable_text()
    base_price = serializers.CharField(help_text="exactly as submitted")
    base_price_currency = serializers.CharField()
    service_fee_rate = serializers.FloatField()
    usd_spot_rate = _nullable_text()
    spot_rate = _nullable_text("price_currency per base_price_currency")
    inverse_spot_rate = _nullable_text("base_price_currency per price_currency")
    crypto_payout_split = serializers.IntegerField()
    confirmations_required = serializers.IntegerField(allow_null=True)
    crypto_url = _nullable_text("BIP21 payment URI")
    expires_at = serializers.DateTimeField(allow_null=True)
    created_at = serializers.DateTimeField()
    updated_at = serializers.DateTimeField()
    server_time = serializers.DateTimeField()
    payments = PaymentDocument(many=True)
    merchant_id = serializers.UUIDField()
    type = serializers.CharField()
    gateway_url = serializers.URLField()
    payout_currency = _nullable_text()
    base_price_currency_detail = CurrencyDetailDocument()
    price_currency_detail = CurrencyDetailDocument(allow_null=True)
    payout_currency_detail = CurrencyDetailDocument(allow_null=True)
    valid_bill_payment_currencies = serializers.ListField(child=serializers.CharField(), allow_null=True)
    valid_bill_payment_currency_details = CurrencyDetailDocument(many=True, allow_null=True)
    merchant_review_reason = _nullable_text()
    merchant_review_spot_rate = _nullable_text()
    merchant_review_gain_loss = _nullable_text()

    def get_fields(self):
        fields = super().get_fields()
        for name in ECHOED_TEXT_FIELDS:
            fields[name] = _nullable_text("echoed exactly as submitted")
        return fields


class PagingDocument(serializers.Serializer):
    total = serializers.IntegerField()
    page = serializers.IntegerField()
    per_page = serializers.IntegerField()


class InvoiceSearchDocument(serializers.Serializer):
    status = serializers.IntegerField()
    invoices = InvoiceDocument(many=True)
    paging_info = PagingDocument()


class ErrorDocument(serializers.Serializer):
    status = serializers.IntegerField()
    message = serializers.CharField()
    errors = serializers.DictField(child=serializers.ListField(child=serializers.CharField()), required=False)
    error = serializers.CharField(required=False)
