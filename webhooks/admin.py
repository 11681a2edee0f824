from django.contrib import admin, messages

from webhooks.models import Delivery, DeliveryAttempt, Event
from webhooks.services import delivery_resend


class ReadOnlyAdmin(admin.ModelAdmin):
    """Events and deliveries change only through their services."""

    def has_add_permission(self, request, obj=None) -> bool:
        return False

    def has_change_permission(self, request, obj=None) -> bool:
        return False

    def has_delete_permission(self, request, obj=None) -> bool:
        return False


class DeliveryInline(admin.TabularInline):
    model = Delivery
    extra = 0
    fields = ["url", "state", "attempt_count", "next_attempt_at", "last_status", "delivered_at"]
    readonly_fields = fields
    show_change_link = True

    def has_add_permission(self, request, obj=None) -> bool:
        return False


class DeliveryAttemptInline(admin.TabularInline):
    model = DeliveryAttempt
    extra = 0
    fields = ["number", "started_at", "status_code", "latency_ms", "error", "response_excerpt"]
    readonly_fields = fields

    def has_add_permission(self, request, obj=None) -> bool:
        return False


@admin.register(Event)
class EventAdmin(ReadOnlyAdmin):
    list_display = ["id", "name", "merchant", "invoice_id", "created_at"]
    list_filter = ["name"]
    search_fields = ["id", "invoice_id", "merchant__name"]
    list_select_related = ["merchant"]
    date_hierarchy = "created_at"
    inlines = [DeliveryInline]


@admin.register(Delivery)
class DeliveryAdmin(ReadOnlyAdmin):
    list_display = ["id", "event", "merchant", "url", "state", "attempt_count", "last_status", "next_attempt_at"]
    list_filter = ["state"]
    search_fields = ["event__id", "event__invoice_id", "url", "merchant__name"]
    list_select_related = ["event", "merchant"]
    date_hierarchy = "created_at"
    inlines = [DeliveryAttemptInline]
    actions = ["resend"]

    @admin.action(description="Resend the selected deliveries now")
    def resend(self, request, queryset) -> None:
        selected = list(queryset)
        resent = sum(delivery_resend(delivery=delivery) for delivery in selected)
        self.message_user(
            request, f"Resent {resent}; {len(selected) - resent} still pending left as they are.", messages.SUCCESS
        )
