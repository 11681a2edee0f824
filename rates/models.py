from django.conf import settings
from django.core.exceptions import ValidationError
from django.db import models
from django.utils import timezone

from rates.fiat import is_quotable_pair
from rates.precision import RATE_LIMIT


class SpotRate(models.Model):
    """One aggregated price: `rate` units of `fiat` per 1 `crypto`, as of `fetched_at`.

    A fiat reference rate has the fiat in `crypto` and USD in `fiat`. A row stored from a ManualRate carries its
    expiry, after which no quote uses it.
    """

    crypto = models.CharField(max_length=10)
    fiat = models.CharField(max_length=3)
    rate = models.DecimalField(max_digits=40, decimal_places=18)
    sources = models.JSONField(default=list)
    fetched_at = models.DateTimeField(db_index=True)
    expires_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        indexes = [models.Index(fields=["crypto", "fiat", "-fetched_at"], name="rates_spot_pair_latest")]

    def __str__(self) -> str:
        return f"{self.crypto}/{self.fiat} {self.rate} @ {self.fetched_at:%Y-%m-%d %H:%M:%S}"


class ManualRate(models.Model):
    """A rate the platform operator pins for a pair until `expires_at`, for an exchange crisis: while it lasts it
    overrides the aggregate of that pair."""

    crypto = models.CharField(max_length=10, help_text="The coin, e.g. BTC.")
    fiat = models.CharField(max_length=3, help_text="The fiat currency, e.g. USD.")
    rate = models.DecimalField(max_digits=40, decimal_places=18, help_text="Units of the fiat per 1 coin.")
    expires_at = models.DateTimeField(help_text="From this moment on quotes use the market rate again.")
    reason = models.TextField()
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, editable=False, related_name="+"
    )
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        indexes = [models.Index(fields=["expires_at"], name="rates_manual_expires")]
        constraints = [models.CheckConstraint(condition=models.Q(rate__gt=0), name="rates_manual_rate_positive")]

    def __str__(self) -> str:
        return f"{self.crypto}/{self.fiat} {self.rate} until {self.expires_at:%Y-%m-%d %H:%M}"

    @property
    def is_active(self) -> bool:
        return self.expires_at > timezone.now()

    def clean(self) -> None:
        self.crypto, self.fiat = self.crypto.strip().upper(), self.fiat.strip().upper()
        errors = {}
        if not is_quotable_pair(self.crypto, self.fiat):
            errors["fiat"] = f"{self.crypto}/{self.fiat} is not a pair the platform prices"
        if self.rate is not None and not 0 < self.rate < RATE_LIMIT:
            errors["rate"] = "the rate must be positive"
        if self.expires_at is not None and self.pk is None and self.expires_at <= timezone.now():
            errors["expires_at"] = "the expiry must be in the future"
        active = ManualRate.objects.filter(crypto=self.crypto, fiat=self.fiat, expires_at__gt=timezone.now())
        if active.exclude(pk=self.pk).exists():
            errors["crypto"] = f"a pin for {self.crypto}/{self.fiat} is active; end it first"
        if errors:
            raise ValidationError(errors)
