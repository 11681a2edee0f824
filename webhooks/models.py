import uuid

from django.db import models
from django.db.models import Q
from django.utils import timezone


class WebhookSecret(models.Model):
    """A merchant's signing secret (`whsec_` + base64 key). The current one has no `valid_until`; a rotated-out one
    keeps signing beside it until `valid_until`."""

    merchant = models.ForeignKey("merchants.Merchant", on_delete=models.CASCADE, related_name="webhook_secrets")
    secret = models.CharField(max_length=100)
    created_at = models.DateTimeField(default=timezone.now)
    valid_until = models.DateTimeField(null=True, blank=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["merchant"], condition=Q(valid_until__isnull=True), name="webhook_secret_one_current"
            )
        ]

    def __str__(self) -> str:
        return f"{self.secret[:10]}... ({'current' if self.valid_until is None else f'until {self.valid_until}'})"


class Event(models.Model):
    """One callback to send: `id` is its `webhook-id` and `body` the exact JSON text signed and sent."""

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    # Indexed by webhook_event_invoice_idx, which starts with it.
    merchant = models.ForeignKey("merchants.Merchant", on_delete=models.CASCADE, related_name="webhook_events", db_index=False)
    # The id only: webhooks does not depend on invoices.
    invoice_id = models.UUIDField(null=True, blank=True)
    name = models.CharField(max_length=64)
    body = models.TextField()
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        indexes = [models.Index(fields=["merchant", "invoice_id"], name="webhook_event_invoice_idx")]

    def __str__(self) -> str:
        return f"{self.name} {self.id}"


class DeliveryState(models.TextChoices):
    PENDING = "pending", "Pending"
    DELIVERED = "delivered", "Delivered"
    FAILED = "failed", "Failed"


class Delivery(models.Model):
    """The sending of one event to one URL. While pending, `next_attempt_at` is when the next attempt is due (or,
    during an attempt, when its lease runs out); `dispatched_at` is when it was last handed to the task queue."""

    merchant = models.ForeignKey("merchants.Merchant", on_delete=models.CASCADE, related_name="webhook_deliveries")
    event = models.ForeignKey(Event, on_delete=models.CASCADE, related_name="deliveries")
    url = models.CharField(max_length=2000)
    # scheme://host:port of the URL: requests in flight are limited per endpoint.
    origin = models.CharField(max_length=300, blank=True, default="")
    state = models.CharField(max_length=16, choices=DeliveryState.choices, default=DeliveryState.PENDING)
    attempt_count = models.PositiveIntegerField(default=0)
    next_attempt_at = models.DateTimeField(null=True, blank=True)
    # Set by each claim: the statements that follow a claim in its transaction act only on a delivery it won.
    lease_token = models.UUIDField(null=True, blank=True, editable=False)
    dispatched_at = models.DateTimeField(null=True, blank=True)
    last_status = models.PositiveSmallIntegerField(null=True, blank=True)
    last_error = models.TextField(blank=True, default="")
    delivered_at = models.DateTimeField(null=True, blank=True)
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        verbose_name_plural = "deliveries"
        indexes = [
            # Only pending rows are ever looked up by time, so the index stays as small as the backlog.
            models.Index(
                fields=["next_attempt_at"], condition=Q(state=DeliveryState.PENDING), name="webhook_delivery_due_idx"
            )
        ]

    def __str__(self) -> str:
        return f"delivery {self.pk} of {self.event_id} ({self.state})"


class DeliveryAttempt(models.Model):
    """One request sent (or being sent) for a delivery. It is written before the request goes out, so the attempt of
    a worker that died shows: unfinished until the next attempt marks it interrupted."""

    merchant = models.ForeignKey("merchants.Merchant", on_delete=models.CASCADE, related_name="+")
    delivery = models.ForeignKey(Delivery, on_delete=models.CASCADE, related_name="attempts")
    number = models.PositiveIntegerField()
    started_at = models.DateTimeField()
    finished_at = models.DateTimeField(null=True, blank=True)
    status_code = models.PositiveSmallIntegerField(null=True, blank=True)
    latency_ms = models.PositiveIntegerField(null=True, blank=True)
    response_excerpt = models.TextField(blank=True, default="")
    error = models.TextField(blank=True, default="")

    class Meta:
        ordering = ["delivery_id", "number"]
        constraints = [models.UniqueConstraint(fields=["delivery", "number"], name="webhook_attempt_unique_number")]
        # Requests in flight are counted per endpoint at every attempt; only they are in this index.
        indexes = [
            models.Index(
                fields=["started_at"], condition=Q(finished_at__isnull=True), name="webhook_attempt_in_flight_idx"
            )
        ]

    def __str__(self) -> str:
        return f"attempt {self.number} of delivery {self.delivery_id}"
