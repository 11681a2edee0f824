from django.contrib import admin, messages
from django.core.exceptions import PermissionDenied
from django.db.models import QuerySet
from django.contrib.admin.options import IncorrectLookupParameters
from django.contrib.admin.views.main import ERROR_FLAG
from django.http import HttpRequest, HttpResponse, HttpResponseRedirect
from django.urls import path, reverse
from django.utils import timezone

from chain.currencies import coin_get
from invoices.admin_reports import dashboard_view, invoices_csv_response
from invoices.errors import InvoiceInputError
from invoices.lifecycle import invoice_close, review_accept, review_cancel
from invoices.models import Invoice, InvoiceEvent, Payment, PaymentOption, Status
from merchants.admin_scoping import TenantAdminMixin, TenantRecordAdminMixin, tenant_scoped
from merchants.models import Merchant
from webhooks.selectors import deliveries_for_invoice


def _has_value(invoice: Invoice, name: str) -> bool:
    value = getattr(invoice, name, None) if name != "price" else invoice.price_base_units
    return value not in (None, "", [], {})


def _coins(currency: str, base_units: int | None) -> str:
    return "" if base_units is None else f"{coin_get(currency).format(base_units)} {currency}"


class PaymentOptionInline(TenantRecordAdminMixin, admin.TabularInline):
    model = PaymentOption
    extra = 0
    fields = ["currency", "network", "address", "due", "derivation_index", "watch_until"]
    readonly_fields = fields
    verbose_name_plural = "payment options"

    @admin.display(description="amount due")
    def due(self, option: PaymentOption) -> str:
        return _coins(option.currency, option.amount_due)


class PaymentInline(TenantRecordAdminMixin, admin.TabularInline):
    """Each output paying the invoice, as a block explorer shows it."""

    model = Payment
    extra = 0
    fields = ["output", "paid", "confirmations", "state", "block_height", "block_hash", "first_seen_at", "confirmed_at"]
    readonly_fields = fields

    @admin.display(description="transaction output (txid:index)")
    def output(self, payment: Payment) -> str:
        return f"{payment.txid}:{payment.vout}"

    @admin.display(description="amount")
    def paid(self, payment: Payment) -> str:
        return _coins(payment.currency, payment.amount)


class InvoiceEventInline(TenantRecordAdminMixin, admin.TabularInline):
    model = InvoiceEvent
    extra = 0
    fields = ["created_at", "from_status", "to_status", "reason"]
    readonly_fields = fields
    verbose_name_plural = "timeline"


INVOICE_FIELDSETS = [
    (None, {"fields": [
        "id", "uid", "merchant", "status", "type", "flavour", "created_at", "updated_at", "expires_at",
    ]}),
    ("Price", {"fields": [
        "base_price", "base_price_currency", "price", "confirmations_required", "spot_rate", "inverse_spot_rate",
        "usd_spot_rate", "rate_sources", "rate_fetched_at", "service_fee_rate", "crypto_payout_split",
    ]}),
    ("Order and customer", {"fields": [
        "order_id", "item_name", "item_sku", "item_description", "physical", "customer_name", "customer_email",
        "customer_phone", "customer_address_1", "customer_address_2", "customer_city", "customer_region",
        "customer_postal_code", "customer_country", "customer_contact", "send_to_customer", "refund_address",
    ]}),
    ("Callbacks", {"fields": ["callback_url", "redirect_url", "notification_level"]}),
    ("Merchant review", {"fields": [
        "merchant_review_reason", "merchant_review_spot_rate", "merchant_review_accepted_amount",
    ], "classes": ["collapse"]}),
]
# Shown as `price` in coin units, or kept by the platform for its own use.
INVOICE_FIELDS_NOT_SHOWN = {"price_currency", "price_base_units", "base_price_text", "valid_bill_payment_currencies"}
# The buttons an invoice's page offers in each status: action name and label.
INVOICE_BUTTONS_BY_STATUS = {
    Status.READY_TO_SHIP: [("mark_fulfilled", "Mark fulfilled")],
    Status.MERCHANT_REVIEW: [("accept_review", "Accept as paid"), ("cancel_review", "Cancel for a refund")],
}


@admin.register(Invoice)
class InvoiceAdmin(TenantAdminMixin, admin.ModelAdmin):
    list_display = [
        "id", "merchant", "status", "type", "base_price", "base_price_currency", "price", "order_id", "created_at",
    ]
    list_filter = [
        "status", "type", "price_currency", "base_price_currency", "merchant", "business_id", "location_id", "register_id",
    ]
    search_fields = ["id", "uid", "order_id", "customer_email", "customer_name", "payment_options__address"]
    list_select_related = ["merchant"]
    date_hierarchy = "created_at"
    inlines = [PaymentOptionInline, PaymentInline, InvoiceEventInline]
    actions = ["mark_fulfilled", "accept_review", "cancel_review", "export_csv"]

    def get_fieldsets(self, request: HttpRequest, obj: Invoice | None = None) -> list:
        listed = {name for _title, options in INVOICE_FIELDSETS for name in options["fields"]}
        others = [
            field.name for field in Invoice._meta.fields
            if field.name not in listed and field.name not in INVOICE_FIELDS_NOT_SHOWN
        ]
        fieldsets = [*INVOICE_FIELDSETS, ("Other", {"fields": others, "classes": ["collapse"]})]
        # The summary always shows; of the rest, only what the invoice has (most of its optional fields are empty).
        shown = [fieldsets[0]]
        for title, options in fieldsets[1:]:
            fields = [name for name in options["fields"] if obj is None or _has_value(obj, name)]
            if fields:
                shown.append((title, {**options, "fields": fields}))
        return shown

    def get_readonly_fields(self, request: HttpRequest, obj: Invoice | None = None) -> list[str]:
        return [*(field.name for field in Invoice._meta.fields), "price"]

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    # Invoices change only through their services (state machine, payments, the actions below), never by hand.
    def has_change_permission(self, request: HttpRequest, obj: Invoice | None = None) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj: Invoice | None = None) -> bool:
        return False

    @admin.display(description="price")
    def price(self, invoice: Invoice) -> str:
        return _coins(invoice.price_currency, invoice.price_base_units) if invoice.price_currency else ""

    def change_view(self, request: HttpRequest, object_id: str, form_url: str = "", extra_context: dict | None = None):
        invoice = self.get_object(request, object_id)
        if invoice is not None:
            extra_context = {
                **(extra_context or {}),
                "deliveries": deliveries_for_invoice(merchant_id=invoice.merchant_id, invoice_id=invoice.pk),
                "invoice_actions": self._actions_for(request, invoice),
            }
        return super().change_view(request, object_id, form_url, extra_context)

    def _actions_for(self, request: HttpRequest, invoice: Invoice) -> list[tuple[str, str]]:
        if not (request.user.is_superuser or self.member_may(request, invoice, self.write_roles)):
            return []
        return INVOICE_BUTTONS_BY_STATUS.get(invoice.status, [])

    def get_urls(self) -> list:
        return [
            path("dashboard/", self.admin_site.admin_view(self.dashboard), name="invoices_invoice_dashboard"),
            path("export.csv", self.admin_site.admin_view(self.export_filtered), name="invoices_invoice_export"),
            *super().get_urls(),
        ]

    def dashboard(self, request: HttpRequest) -> HttpResponse:
        if not self.has_view_permission(request):
            raise PermissionDenied
        merchant_ids = list(tenant_scoped(Merchant.objects.all(), request).values_list("pk", flat=True))
        return dashboard_view(
            request, merchant_ids=merchant_ids, context={**self.admin_site.each_context(request), "opts": self.opts}
        )

    def export_filtered(self, request: HttpRequest) -> HttpResponse:
        """The invoices of the list page as it is filtered and searched now."""
        if not self.has_view_permission(request):
            raise PermissionDenied
        try:
            changelist = self.get_changelist_instance(request)
        except IncorrectLookupParameters:
            return HttpResponseRedirect(f"{reverse('admin:invoices_invoice_changelist')}?{ERROR_FLAG}=1")
        return self._csv(changelist.get_queryset(request))

    @admin.action(description="Export the selected invoices to CSV", permissions=["view"])
    def export_csv(self, request: HttpRequest, queryset: QuerySet[Invoice]) -> HttpResponse:
        return self._csv(queryset)

    def _csv(self, queryset: QuerySet[Invoice]) -> HttpResponse:
        invoices = queryset.select_related("merchant").order_by("-created_at", "-id").iterator(chunk_size=500)
        return invoices_csv_response(invoices, filename=f"invoices-{timezone.localdate().isoformat()}.csv")

    @admin.action(description="Mark the selected invoices fulfilled (shipped)", permissions=["write"])
    def mark_fulfilled(self, request: HttpRequest, queryset: QuerySet[Invoice]) -> None:
        self._apply(request, queryset, "marked fulfilled", lambda invoice: invoice_close(
            invoice_id=invoice.pk, merchant_ids=[invoice.merchant_id], status=Status.FULFILLED,
        ))

    @admin.action(description="Accept the selected invoices in review as paid", permissions=["write"])
    def accept_review(self, request: HttpRequest, queryset: QuerySet[Invoice]) -> None:
        self._apply(request, queryset, "accepted", lambda invoice: review_accept(
            invoice_id=invoice.pk, merchant_ids=[invoice.merchant_id],
        ))

    @admin.action(description="Cancel the selected invoices in review (to be refunded)", permissions=["write"])
    def cancel_review(self, request: HttpRequest, queryset: QuerySet[Invoice]) -> None:
        self._apply(request, queryset, "cancelled", lambda invoice: review_cancel(
            invoice_id=invoice.pk, merchant_ids=[invoice.merchant_id], refund_address=None,
        ))

    def _apply(self, request: HttpRequest, queryset: QuerySet[Invoice], done: str, move) -> None:
        moved = 0
        for invoice in self.writable(request, queryset):
            try:
                move(invoice)
            except InvoiceInputError as exc:
                self.message_user(request, f"Invoice {invoice.pk}: {exc.message}", messages.ERROR)
            else:
                self.log_change(request, invoice, f"Invoice {done}.")
                moved += 1
        if moved:
            self.message_user(request, f"{moved} invoice(s) {done}.", messages.SUCCESS)


class InvoiceRecordAdmin(TenantRecordAdminMixin, admin.ModelAdmin):
    list_select_related = ["invoice", "merchant"]


@admin.register(PaymentOption)
class PaymentOptionAdmin(InvoiceRecordAdmin):
    list_display = ["address", "currency", "network", "amount_due", "invoice", "merchant", "created_at"]
    list_filter = ["currency", "network", "merchant"]
    search_fields = ["address", "invoice__id", "invoice__order_id"]
    ordering = ["-created_at", "-id"]


@admin.register(Payment)
class PaymentAdmin(InvoiceRecordAdmin):
    list_display = [
        "txid", "vout", "currency", "amount", "confirmations", "state", "block_height", "invoice", "merchant",
    ]
    list_filter = ["state", "currency", "merchant"]
    search_fields = ["txid", "block_hash", "invoice__id"]


@admin.register(InvoiceEvent)
class InvoiceEventAdmin(InvoiceRecordAdmin):
    list_display = ["created_at", "invoice", "from_status", "to_status", "reason", "merchant"]
    list_filter = ["to_status", "merchant"]
    search_fields = ["invoice__id", "reason"]
