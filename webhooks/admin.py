from django.contrib import admin, messages
from django.core.exceptions import PermissionDenied
from django.db.models import QuerySet
from django.http import HttpRequest, HttpResponse
from django.template.response import TemplateResponse

from merchants.admin import MerchantChoiceForm, secret_once_response
from merchants.admin_scoping import TenantAdminMixin, TenantRecordAdminMixin
from merchants.models import Merchant
from webhooks.models import Delivery, DeliveryAttempt, Event, WebhookSecret
from webhooks.services import delivery_resend, secret_rotate


class DeliveryInline(TenantRecordAdminMixin, admin.TabularInline):
    model = Delivery
    extra = 0
    fields = ["url", "state", "attempt_count", "next_attempt_at", "last_status", "delivered_at"]
    readonly_fields = fields
    show_change_link = True


class DeliveryAttemptInline(TenantRecordAdminMixin, admin.TabularInline):
    model = DeliveryAttempt
    extra = 0
    fields = ["number", "started_at", "status_code", "latency_ms", "error", "response_excerpt"]
    readonly_fields = fields


@admin.register(Event)
class EventAdmin(TenantRecordAdminMixin, admin.ModelAdmin):
    list_display = ["id", "name", "merchant", "invoice_id", "created_at"]
    list_filter = ["name", "merchant"]
    search_fields = ["id", "invoice_id", "merchant__name"]
    list_select_related = ["merchant"]
    date_hierarchy = "created_at"
    ordering = ["-created_at"]
    inlines = [DeliveryInline]


@admin.register(Delivery)
class DeliveryAdmin(TenantRecordAdminMixin, admin.ModelAdmin):
    list_display = ["id", "event", "merchant", "url", "state", "attempt_count", "last_status", "next_attempt_at"]
    list_filter = ["state", "merchant"]
    search_fields = ["event__id", "event__invoice_id", "url", "merchant__name"]
    list_select_related = ["event", "merchant"]
    date_hierarchy = "created_at"
    ordering = ["-created_at", "-id"]
    inlines = [DeliveryAttemptInline]
    actions = ["resend"]

    @admin.action(description="Resend the selected deliveries now", permissions=["write"])
    def resend(self, request: HttpRequest, queryset: QuerySet[Delivery]) -> None:
        selected = list(self.writable(request, queryset))
        resent = sum(delivery_resend(delivery=delivery) for delivery in selected)
        self.message_user(
            request, f"Resent {resent}; {len(selected) - resent} still pending left as they are.", messages.SUCCESS
        )


@admin.register(DeliveryAttempt)
class DeliveryAttemptAdmin(TenantRecordAdminMixin, admin.ModelAdmin):
    list_display = ["delivery", "number", "merchant", "started_at", "status_code", "latency_ms", "error"]
    list_filter = ["status_code", "merchant"]
    search_fields = ["delivery__url", "delivery__event__invoice_id"]
    list_select_related = ["delivery", "merchant"]


@admin.register(WebhookSecret)
class WebhookSecretAdmin(TenantAdminMixin, admin.ModelAdmin):
    """Signing secrets are listed by age only; a new one is shown once, when it is made. Adding one rotates."""

    list_display = ["merchant", "created_at", "valid_until", "is_current"]
    list_filter = ["merchant"]
    fields = ["merchant", "created_at", "valid_until"]
    readonly_fields = fields
    list_select_related = ["merchant"]

    @admin.display(boolean=True, description="current")
    def is_current(self, secret: WebhookSecret) -> bool:
        return secret.valid_until is None

    def has_change_permission(self, request: HttpRequest, obj: WebhookSecret | None = None) -> bool:
        return False

    def add_view(self, request: HttpRequest, form_url: str = "", extra_context: dict | None = None) -> HttpResponse:
        if not self.has_add_permission(request):
            raise PermissionDenied
        form = MerchantChoiceForm(request.POST or None, merchants=self.writable(request, Merchant.objects.all()))
        context = {**self.admin_site.each_context(request), "opts": self.opts}
        if request.method == "POST" and form.is_valid():
            merchant = form.cleaned_data["merchant"]
            secret = secret_rotate(merchant=merchant)
            self.log_change(request, merchant, "Rotated the webhook signing secret.")
            return secret_once_response(request, {
                **context,
                "title": f"New webhook signing secret for {merchant}",
                "secret": secret,
                "usage": "Callbacks are signed with it from now on. The previous secret keeps signing beside it for a "
                "while, so your endpoint can switch over without rejecting a callback.",
            })
        return TemplateResponse(request, "admin/issue_form.html", {
            **context,
            "title": "Rotate the webhook signing secret",
            "intro": "A new secret signs every callback from now on; it is shown once, on the next page.",
            "form": form,
            "submit_label": "Rotate the secret",
        })
