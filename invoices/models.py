import secrets
import string
import uuid

from django.db import models
from django.utils import timezone

_UID_ALPHABET = string.ascii_letters + string.digits


def new_uid() -> str:
    return "".join(secrets.choice(_UID_ALPHABET) for _ in range(12))


class Status(models.TextChoices):
    BILLED = "billed"
    UNPAID = "unpaid"
    UNDERPAID = "underpaid"
    PAID = "paid"
    READY_TO_SHIP = "ready_to_ship"
    FULFILLED = "fulfilled"
    MERCHANT_REVIEW = "merchant_review"
    EXPIRED = "expired"
    INVALID = "invalid"
    REFUNDED = "refunded"


class InvoiceType(models.TextChoices):
    INVOICE = "invoice"
    BILL = "bill"


class Flavour(models.TextChoices):
    GOCOIN = "gocoin"
    ANYPAY = "anypay"


# Text fields a client may submit and gets back exactly as sent (plugins sign them); null means "not sent".
ECHOED_TEXT_FIELDS = (
    "notification_level", "callback_url", "redirect_url", "order_id", "refund_address",
    "item_name", "item_sku", "item_description", "physical",
    "customer_name", "customer_address_1", "customer_address_2", "customer_city", "customer_region",
    "customer_country", "customer_postal_code", "customer_email", "customer_phone",
    "customer_contact", "send_to_customer",
    "user_defined_1", "user_defined_2", "user_defined_3", "user_defined_4",
    "user_defined_5", "user_defined_6", "user_defined_7", "user_defined_8", "data",
)


class Invoice(models.Model):
    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    # Unique through Meta.constraints: found by equality only, so PostgreSQL needs no extra pattern index for it.
    uid = models.CharField(max_length=16, default=new_uid, editable=False)
    # Every index of Meta.indexes starts with the merchant, so the key needs none of its own.
    merchant = models.ForeignKey("merchants.Merchant", on_delete=models.PROTECT, related_name="invoices", db_index=False)
    type = models.CharField(max_length=8, choices=InvoiceType.choices, default=InvoiceType.INVOICE)
    status = models.CharField(max_length=16, choices=Status.choices)
    flavour = models.CharField(max_length=8, choices=Flavour.choices, default=Flavour.GOCOIN)

    base_price = models.DecimalField(max_digits=30, decimal_places=8)
    base_price_text = models.CharField(max_length=64)
    base_price_currency = models.CharField(max_length=8)
    price_currency = models.CharField(max_length=8, null=True, blank=True)
    price_base_units = models.BigIntegerField(null=True, blank=True)
    valid_bill_payment_currencies = models.JSONField(null=True, blank=True)

    spot_rate = models.DecimalField(max_digits=40, decimal_places=18, null=True, blank=True)
    inverse_spot_rate = models.DecimalField(max_digits=40, decimal_places=18, null=True, blank=True)
    usd_spot_rate = models.DecimalField(max_digits=40, decimal_places=18, null=True, blank=True)
    rate_sources = models.JSONField(default=list, blank=True)
    rate_fetched_at = models.DateTimeField(null=True, blank=True)

    service_fee_rate = models.DecimalField(max_digits=6, decimal_places=4)
    crypto_payout_split = models.PositiveSmallIntegerField()
    confirmations_required = models.PositiveSmallIntegerField(null=True, blank=True)

    notification_level = models.TextField(null=True, blank=True)
    callback_url = models.TextField(null=True, blank=True)
    redirect_url = models.TextField(null=True, blank=True)
    order_id = models.TextField(null=True, blank=True)
    refund_address = models.TextField(null=True, blank=True)
    item_name = models.TextField(null=True, blank=True)
    item_sku = models.TextField(null=True, blank=True)
    item_description = models.TextField(null=True, blank=True)
    physical = models.TextField(null=True, blank=True)
    customer_name = models.TextField(null=True, blank=True)
    customer_address_1 = models.TextField(null=True, blank=True)
    customer_address_2 = models.TextField(null=True, blank=True)
    customer_city = models.TextField(null=True, blank=True)
    customer_region = models.TextField(null=True, blank=True)
    customer_country = models.TextField(null=True, blank=True)
    customer_postal_code = models.TextField(null=True, blank=True)
    customer_email = models.TextField(null=True, blank=True)
    customer_phone = models.TextField(null=True, blank=True)
    customer_contact = models.TextField(null=True, blank=True)
    send_to_customer = models.TextField(null=True, blank=True)
    user_defined_1 = models.TextField(null=True, blank=True)
    user_defined_2 = models.TextField(null=True, blank=True)
    user_defined_3 = models.TextField(null=True, blank=True)
    user_defined_4 = models.TextField(null=True, blank=True)
    user_defined_5 = models.TextField(null=True, blank=True)
    user_defined_6 = models.TextField(null=True, blank=True)
    user_defined_7 = models.TextField(null=True, blank=True)
    user_defined_8 = models.TextField(null=True, blank=True)
    data = models.TextField(null=True, blank=True)

    # Anypay's fields; `webhook_url` is kept in callback_url and `email` in customer_email.
    external_id = models.TextField(null=True, blank=True)
    business_id = models.CharField(max_length=255, null=True, blank=True)
    location_id = models.CharField(max_length=255, null=True, blank=True)
    register_id = models.CharField(max_length=255, null=True, blank=True)
    memo = models.TextField(null=True, blank=True)
    # An Anypay invoice is quoted in every coin at creation; the quote of the coin first paid becomes the invoice's.
    option_quotes = models.JSONField(null=True, blank=True)
    cancelled_at = models.DateTimeField(null=True, blank=True)

    merchant_review_reason = models.TextField(null=True, blank=True)
    merchant_review_spot_rate = models.DecimalField(max_digits=40, decimal_places=18, null=True, blank=True)
    # What the merchant accepted in review: from then on, that amount counts as paid in full.
    merchant_review_accepted_amount = models.BigIntegerField(null=True, blank=True)

    expires_at = models.DateTimeField(null=True, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["-created_at"]
        constraints = [models.UniqueConstraint(fields=["uid"], name="invoice_unique_uid")]
        indexes = [
            models.Index(fields=["merchant", "-created_at"], name="invoice_merchant_created"),
            models.Index(fields=["merchant", "status", "-created_at"], name="invoice_merchant_status"),
            models.Index(fields=["merchant", "order_id"], name="invoice_merchant_order"),
            models.Index(fields=["merchant", "updated_at"], name="invoice_merchant_updated"),
            # Searched by equality and mostly empty: an invoice without the field costs these indexes nothing.
            models.Index(fields=["merchant", "customer_email"], name="invoice_merchant_email",
                         condition=models.Q(customer_email__isnull=False)),
            models.Index(fields=["merchant", "business_id", "-created_at"], name="invoice_merchant_business",
                         condition=models.Q(business_id__isnull=False)),
            models.Index(fields=["merchant", "location_id", "-created_at"], name="invoice_merchant_location",
                         condition=models.Q(location_id__isnull=False)),
            models.Index(fields=["merchant", "register_id", "-created_at"], name="invoice_merchant_register",
                         condition=models.Q(register_id__isnull=False)),
            models.Index(
                fields=["expires_at"], name="invoice_open_expiry", condition=models.Q(status__in=["unpaid", "underpaid"])
            ),
        ]

    def __str__(self) -> str:
        return f"{self.id} ({self.status})"


class PaymentOption(models.Model):
    """One currency an invoice can be paid in, with its own derived address."""

    # Found through the (invoice, currency) constraint, whose index starts with the invoice.
    invoice = models.ForeignKey(Invoice, on_delete=models.CASCADE, related_name="payment_options", db_index=False)
    merchant = models.ForeignKey("merchants.Merchant", on_delete=models.PROTECT, related_name="+")
    currency = models.CharField(max_length=8)
    network = models.CharField(max_length=16)
    address = models.CharField(max_length=128)
    script_pubkey = models.CharField(max_length=200)
    derivation_index = models.PositiveIntegerField()
    amount_due = models.BigIntegerField()
    uri = models.TextField()
    # Payments to the address are matched until then: the expiry plus the monitoring window.
    watch_until = models.DateTimeField(null=True, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["invoice", "currency"], name="payment_option_unique_currency"),
            models.UniqueConstraint(fields=["currency", "network", "address"], name="payment_option_unique_address"),
        ]
        # The watcher matches outputs by script; equality only, so no pattern index beside it.
        indexes = [models.Index(fields=["script_pubkey"], name="payment_option_script")]

    def __str__(self) -> str:
        return f"{self.amount_due} {self.currency} to {self.address}"


class PaymentState(models.TextChoices):
    SEEN = "seen"
    CONFIRMED = "confirmed"
    REORGED_OUT = "reorged_out"
    REPLACED = "replaced"


class Payment(models.Model):
    """One transaction output paying a payment option; amounts paid are always summed from these rows."""

    invoice = models.ForeignKey(Invoice, on_delete=models.CASCADE, related_name="payments")
    payment_option = models.ForeignKey(PaymentOption, on_delete=models.CASCADE, related_name="payments")
    merchant = models.ForeignKey("merchants.Merchant", on_delete=models.PROTECT, related_name="+")
    currency = models.CharField(max_length=8)
    txid = models.CharField(max_length=64)
    vout = models.PositiveIntegerField()
    amount = models.BigIntegerField()
    confirmations = models.PositiveIntegerField(default=0)
    block_hash = models.CharField(max_length=64, null=True, blank=True)
    block_height = models.PositiveIntegerField(null=True, blank=True)
    state = models.CharField(max_length=16, choices=PaymentState.choices, default=PaymentState.SEEN)
    first_seen_at = models.DateTimeField(default=timezone.now)
    confirmed_at = models.DateTimeField(null=True, blank=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["first_seen_at"]
        constraints = [models.UniqueConstraint(fields=["txid", "vout"], name="payment_unique_output")]
        indexes = [
            models.Index(fields=["currency", "block_hash"], name="payment_currency_block"),
            models.Index(
                fields=["currency", "txid"], name="payment_unconfirmed", condition=models.Q(block_height__isnull=True)
            ),
        ]


class InvoiceEvent(models.Model):
    """The append-only timeline of an invoice's status changes."""

    invoice = models.ForeignKey(Invoice, on_delete=models.CASCADE, related_name="events")
    merchant = models.ForeignKey("merchants.Merchant", on_delete=models.PROTECT, related_name="+")
    from_status = models.CharField(max_length=16, null=True, blank=True)
    to_status = models.CharField(max_length=16)
    reason = models.TextField(blank=True, default="")
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["created_at", "id"]


class IdempotencyKey(models.Model):
    """The first response to a POST carrying an `Idempotency-Key`, replayed for repeats within the window."""

    merchant = models.ForeignKey("merchants.Merchant", on_delete=models.CASCADE, related_name="+")
    key = models.CharField(max_length=255)
    request_fingerprint = models.CharField(max_length=64)
    response_status = models.PositiveSmallIntegerField(null=True)
    response_body = models.JSONField(null=True)
    invoice = models.ForeignKey(Invoice, on_delete=models.CASCADE, null=True, related_name="+")
    created_at = models.DateTimeField(auto_now_add=True, db_index=True)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["merchant", "key"], name="idempotency_unique_key")]
