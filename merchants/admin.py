from django.contrib import admin, messages
from django.contrib.auth.admin import UserAdmin

from merchants.models import ApiKey, Membership, Merchant, User
from merchants.services import api_key_revoke


class MembershipInline(admin.TabularInline):
    model = Membership
    extra = 0
    autocomplete_fields = ["user"]


@admin.register(Merchant)
class MerchantAdmin(admin.ModelAdmin):
    list_display = ["name", "contact_email", "country_code", "service_fee_rate", "rate_spread_percent", "created_at"]
    search_fields = ["name", "contact_email", "id"]
    readonly_fields = ["id", "created_at", "updated_at"]
    inlines = [MembershipInline]


@admin.register(User)
class PlatformUserAdmin(UserAdmin):
    list_display = ["username", "email", "is_staff", "is_superuser", "date_joined"]
    search_fields = ["username", "email", "id"]


@admin.register(Membership)
class MembershipAdmin(admin.ModelAdmin):
    list_display = ["user", "merchant", "role", "created_at"]
    list_filter = ["role"]
    search_fields = ["user__email", "merchant__name"]
    autocomplete_fields = ["user", "merchant"]


@admin.register(ApiKey)
class ApiKeyAdmin(admin.ModelAdmin):
    list_display = ["name", "merchant", "user", "scope", "created_at", "revoked_at"]
    list_filter = ["revoked_at"]
    search_fields = ["name", "merchant__name", "user__email"]
    readonly_fields = ["id", "merchant", "user", "access_token", "scope", "created_at", "revoked_at"]
    actions = ["revoke"]

    def has_add_permission(self, request):
        # Keys are issued by the create_merchant command and the merchant admin, which show the secret once.
        return False

    @admin.action(description="Revoke the selected API keys")
    def revoke(self, request, queryset):
        for api_key in queryset.filter(revoked_at__isnull=True):
            api_key_revoke(api_key=api_key)
        self.message_user(request, "Revoked.", messages.SUCCESS)
