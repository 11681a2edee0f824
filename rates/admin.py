from django.contrib import admin
from django.http import HttpRequest

from rates.models import SpotRate


@admin.register(SpotRate)
class SpotRateAdmin(admin.ModelAdmin):
    list_display = ("crypto", "fiat", "rate", "sources", "fetched_at")
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
