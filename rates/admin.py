from django.contrib import admin, messages
from django.db.models import QuerySet
from django.forms import ModelForm
from django.http import HttpRequest

from merchants.admin_scoping import MemberReadableAdminMixin, PlatformOnlyAdminMixin
from rates.models import ManualRate, SpotRate
from rates.services import manual_rate_end, manual_rate_pin


@admin.register(SpotRate)
class SpotRateAdmin(MemberReadableAdminMixin, admin.ModelAdmin):
    list_display = ("crypto", "fiat", "rate", "sources", "fetched_at", "expires_at")
    list_filter = ("crypto", "fiat")
    ordering = ("-fetched_at", "crypto", "fiat")
    date_hierarchy = "fetched_at"

    # Rates are written only by the refresh service; the admin is a window onto them.
    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: SpotRate | None = None) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj: SpotRate | None = None) -> bool:
        return False


@admin.register(ManualRate)
class ManualRateAdmin(PlatformOnlyAdminMixin, admin.ModelAdmin):
    list_display = ("crypto", "fiat", "rate", "expires_at", "is_active", "reason", "created_by", "created_at")
    list_filter = ("crypto", "fiat")
    ordering = ("-created_at",)
    fields = ("crypto", "fiat", "rate", "expires_at", "reason")
    actions = ["end_now"]

    @admin.display(boolean=True, description="active")
    def is_active(self, obj: ManualRate) -> bool:
        return obj.is_active

    # A pin is a record of what the operator decided: it is ended, never edited or deleted.
    def has_change_permission(self, request: HttpRequest, obj: ManualRate | None = None) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj: ManualRate | None = None) -> bool:
        return False

    def save_model(self, request: HttpRequest, obj: ManualRate, form: ModelForm, change: bool) -> None:
        pinned = manual_rate_pin(
            crypto=obj.crypto,
            fiat=obj.fiat,
            rate=obj.rate,
            expires_at=obj.expires_at,
            reason=obj.reason,
            created_by=request.user,
        )
        obj.pk, obj.created_by, obj.created_at = pinned.pk, pinned.created_by, pinned.created_at

    @admin.action(description="End the selected pins now")
    def end_now(self, request: HttpRequest, queryset: QuerySet[ManualRate]) -> None:
        for manual in queryset:
            manual_rate_end(manual=manual)
        self.message_user(request, "Ended; quotes use the market rate again.", messages.SUCCESS)
