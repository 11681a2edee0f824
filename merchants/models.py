import uuid
from decimal import Decimal

from django.conf import settings
from django.contrib.auth.models import AbstractUser
from django.core.validators import MaxValueValidator, MinValueValidator
from django.db import models


class User(AbstractUser):
    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    updated_at = models.DateTimeField(auto_now=True)


class Merchant(models.Model):
    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    name = models.CharField(max_length=255)
    address_1 = models.CharField(max_length=255, blank=True, default="")
    address_2 = models.CharField(max_length=255, blank=True, default="")
    city = models.CharField(max_length=255, blank=True, default="")
    region = models.CharField(max_length=255, blank=True, default="")
    country_code = models.CharField(max_length=2, blank=True, default="")
    postal_code = models.CharField(max_length=32, blank=True, default="")
    contact_name = models.CharField(max_length=255, blank=True, default="")
    contact_email = models.EmailField(blank=True, default="")
    phone = models.CharField(max_length=64, blank=True, default="")
    website = models.URLField(blank=True, default="")
    description = models.TextField(blank=True, default="")
    tax_id = models.CharField(max_length=64, blank=True, default="")
    logo_url = models.URLField(blank=True, default="")
    service_fee_rate = models.DecimalField(max_digits=6, decimal_places=4, default=Decimal("0.01"))
    crypto_payout_split = models.PositiveSmallIntegerField(default=100)
    rate_spread_percent = models.DecimalField(
        max_digits=5,
        decimal_places=2,
        default=Decimal(0),
        validators=[MinValueValidator(Decimal(0)), MaxValueValidator(Decimal("99.99"))],
        help_text="Percentage taken off the market rate in this merchant's quotes, as a cushion against volatility.",
    )
    callback_url = models.URLField(max_length=2000, blank=True, default="")
    redirect_url = models.URLField(max_length=2000, blank=True, default="")
    invoice_expiry_seconds = models.PositiveIntegerField(
        null=True, blank=True, validators=[MinValueValidator(60)],
        help_text="How long an unpaid invoice stays open; empty means the platform default (INVOICE_EXPIRY_SECONDS).",
    )
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["name"]
        constraints = [
            models.CheckConstraint(
                condition=models.Q(rate_spread_percent__gte=0, rate_spread_percent__lt=100),
                name="merchant_rate_spread_percent_range",
            )
        ]

    def __str__(self) -> str:
        return self.name


class Role(models.TextChoices):
    OWNER = "owner", "Owner"
    ADMIN = "admin", "Admin"
    VIEWER = "viewer", "Viewer"


# The roles that may change a merchant's data and create its invoices; viewers only read.
WRITE_ROLES = (Role.OWNER, Role.ADMIN)


class Membership(models.Model):
    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="memberships")
    merchant = models.ForeignKey(Merchant, on_delete=models.CASCADE, related_name="memberships")
    role = models.CharField(max_length=16, choices=Role.choices, default=Role.VIEWER)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["user", "merchant"], name="membership_unique_user_merchant")]

    def __str__(self) -> str:
        return f"{self.user} ({self.role}) at {self.merchant}"

    @property
    def can_write(self) -> bool:
        return self.role in WRITE_ROLES


class ApiKey(models.Model):
    """A long-lived, pre-scoped access token for one merchant user (GoCoin's "API key")."""

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    merchant = models.ForeignKey(Merchant, on_delete=models.CASCADE, related_name="api_keys")
    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="api_keys")
    access_token = models.OneToOneField(
        "oauth2_provider.AccessToken", on_delete=models.SET_NULL, null=True, related_name="api_key"
    )
    name = models.CharField(max_length=100, default="API key")
    scope = models.TextField()
    created_at = models.DateTimeField(auto_now_add=True)
    revoked_at = models.DateTimeField(null=True, blank=True)

    def __str__(self) -> str:
        return f"{self.name} for {self.merchant}"
