from django.contrib import admin

from invoices.models import Invoice, InvoiceEvent, Payment, PaymentOption


class PaymentOptionInline(admin.TabularInline):
    model = PaymentOption
    extra = 0
    can_delete = False
    fields = ["currency", "network", "address", "amount_due", "derivation_index", "uri"]
    readonly_fields = fields


class PaymentInline(admin.TabularInline):
    model = Payment
    extra = 0
    can_delete = False
    fields = ["txid", "vout", "amount", "confirmations", "state", "block_height", "first_seen_at"]
    readonly_fields = fields


class InvoiceEventInline(admin.TabularInline):
    model = InvoiceEvent
    extra = 0
    can_delete = False
    fields = ["created_at", "from_status", "to_status", "reason"]
    readonly_fields = fields


@admin.register(Invoice)
class InvoiceAdmin(admin.ModelAdmin):
    list_display = ["id", "merchant", "status", "type", "base_price", "base_price_currency", "price_currency", "order_id", "created_at"]
    list_filter = ["status", "type", "price_currency", "base_price_currency"]
    search_fields = ["id", "uid", "order_id", "customer_email", "customer_name", "payment_options__address"]
    list_select_related = ["merchant"]
    date_hierarchy = "created_at"
    inlines = [PaymentOptionInline, PaymentInline, InvoiceEventInline]

    def get_readonly_fields(self, request, obj=None):
        # Invoices change only through their services (state machine, payments), never by hand.
        return [field.name for field in self.model._meta.fields]

    def has_add_permission(self, request):
        return False
