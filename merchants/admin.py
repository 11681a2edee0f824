from django import forms
from django.conf import settings
from django.contrib import admin, messages
from django.contrib.auth.admin import UserAdmin
from django.contrib.auth.models import Group
from django.core.exceptions import PermissionDenied
from django.db.models import QuerySet
from django.http import HttpRequest, HttpResponse
from django.template.response import TemplateResponse
from oauth2_provider.models import (
    get_access_token_model,
    get_application_model,
    get_grant_model,
    get_id_token_model,
    get_refresh_token_model,
)

from merchants.admin_scoping import PlatformOnlyAdminMixin, TenantAdminMixin
from merchants.models import ApiKey, Membership, Merchant, Role, User
from merchants.scopes import API_KEY_DEFAULT_SCOPE
from merchants.services import (
    MERCHANT_EDITABLE_FIELDS,
    api_key_create,
    api_key_revoke,
    membership_grant,
    merchant_update,
)


admin.site.site_header = "Payments administration"
admin.site.site_title = "Payments admin"


def secret_once_response(request: HttpRequest, context: dict) -> TemplateResponse:
    """A page that shows a newly issued secret; it is never stored in a form, a message or a cache."""
    response = TemplateResponse(request, "admin/secret_once.html", context)
    response["Cache-Control"] = "no-store"
    return response


class MembershipInline(TenantAdminMixin, admin.TabularInline):
    model = Membership
    extra = 0
    fields = ["user", "role", "created_at"]
    readonly_fields = fields
    show_change_link = True

    # Memberships are granted on their own page, which goes through the service.
    def has_add_permission(self, request: HttpRequest, obj=None) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj=None) -> bool:
        return False


@admin.register(Merchant)
class MerchantAdmin(TenantAdminMixin, admin.ModelAdmin):
    list_display = ["name", "contact_email", "country_code", "service_fee_rate", "rate_spread_percent", "created_at"]
    search_fields = ["name", "contact_email", "id"]
    readonly_fields = ["id", "created_at", "updated_at"]
    inlines = [MembershipInline]

    def get_readonly_fields(self, request: HttpRequest, obj: Merchant | None = None) -> list[str]:
        if request.user.is_superuser:
            return self.readonly_fields
        # Fees, payout split and spread are the platform's terms, not the merchant's to edit.
        return [field.name for field in Merchant._meta.fields if field.name not in MERCHANT_EDITABLE_FIELDS]

    def has_add_permission(self, request: HttpRequest) -> bool:
        return request.user.is_superuser

    def save_model(self, request: HttpRequest, obj: Merchant, form: forms.ModelForm, change: bool) -> None:
        if request.user.is_superuser:
            super().save_model(request, obj, form, change)
        else:
            merchant_update(merchant=obj, fields={name: form.cleaned_data[name] for name in form.changed_data})


@admin.register(Membership)
class MembershipAdmin(TenantAdminMixin, admin.ModelAdmin):
    list_display = ["user", "merchant", "role", "created_at"]
    list_filter = ["role", "merchant"]
    search_fields = ["user__email", "merchant__name"]
    autocomplete_fields = ["user", "merchant"]
    # Granting roles is the owner's: an admin could otherwise make themselves owner.
    write_roles = (Role.OWNER,)

    def get_readonly_fields(self, request: HttpRequest, obj: Membership | None = None) -> list[str]:
        return ["user", "merchant", "created_at"] if obj else []

    def save_model(self, request: HttpRequest, obj: Membership, form: forms.ModelForm, change: bool) -> None:
        membership = membership_grant(merchant=obj.merchant, user=obj.user, role=obj.role)
        obj.pk, obj.created_at = membership.pk, membership.created_at


@admin.register(User)
class PlatformUserAdmin(PlatformOnlyAdminMixin, UserAdmin):
    list_display = ["username", "email", "is_staff", "is_superuser", "date_joined"]
    search_fields = ["username", "email", "id"]


class MerchantChoiceForm(forms.Form):
    """A form for one of the user's merchants, chosen first (and already, when there is only one)."""

    merchant = forms.ModelChoiceField(queryset=Merchant.objects.none())

    def __init__(self, *args, merchants: QuerySet[Merchant], **kwargs) -> None:
        super().__init__(*args, **kwargs)
        self.fields["merchant"].queryset = merchants
        if len(merchants) == 1:
            self.fields["merchant"].initial = merchants[0]


class ApiKeyIssueForm(MerchantChoiceForm):
    name = forms.CharField(max_length=100, initial="API key")
    scope = forms.MultipleChoiceField(
        choices=(), initial=API_KEY_DEFAULT_SCOPE.split(), widget=forms.CheckboxSelectMultiple
    )

    def __init__(self, *args, merchants: QuerySet[Merchant], **kwargs) -> None:
        super().__init__(*args, merchants=merchants, **kwargs)
        self.fields["scope"].choices = list(settings.OAUTH2_PROVIDER["SCOPES"].items())


@admin.register(ApiKey)
class ApiKeyAdmin(TenantAdminMixin, admin.ModelAdmin):
    list_display = ["name", "merchant", "user", "scope", "created_at", "revoked_at"]
    list_filter = ["revoked_at", "merchant"]
    search_fields = ["name", "merchant__name", "user__email"]
    # The access token is the secret itself: it is shown once, when the key is issued, and never again.
    fields = ["id", "name", "merchant", "user", "scope", "created_at", "revoked_at"]
    readonly_fields = fields
    actions = ["revoke"]

    def has_change_permission(self, request: HttpRequest, obj: ApiKey | None = None) -> bool:
        return False

    def add_view(self, request: HttpRequest, form_url: str = "", extra_context: dict | None = None) -> HttpResponse:
        if not self.has_add_permission(request):
            raise PermissionDenied
        form = ApiKeyIssueForm(request.POST or None, merchants=self.writable(request, Merchant.objects.all()))
        if request.method == "POST" and form.is_valid():
            try:
                api_key, secret = api_key_create(
                    merchant=form.cleaned_data["merchant"],
                    user=request.user,
                    scope=" ".join(form.cleaned_data["scope"]),
                    name=form.cleaned_data["name"],
                )
            except ValueError as exc:
                form.add_error("merchant", str(exc))
            else:
                self.log_addition(request, api_key, [{"added": {}}])
                return secret_once_response(request, {
                    **self.admin_site.each_context(request),
                    "opts": self.opts,
                    "title": f"API key “{api_key.name}” for {api_key.merchant}",
                    "secret": secret,
                    "usage": "Send it as “Authorization: Bearer <key>”. It acts as you, with the scopes you chose.",
                })
        return TemplateResponse(request, "admin/issue_form.html", {
            **self.admin_site.each_context(request),
            "opts": self.opts,
            "title": "Issue an API key",
            "intro": "The key acts as you for the merchant you choose. Its secret is shown once, on the next page.",
            "form": form,
            "submit_label": "Issue the key",
        })

    @admin.action(description="Revoke the selected API keys", permissions=["write"])
    def revoke(self, request: HttpRequest, queryset: QuerySet[ApiKey]) -> None:
        for api_key in self.writable(request, queryset).filter(revoked_at__isnull=True):
            api_key_revoke(api_key=api_key)
        self.message_user(request, "Revoked.", messages.SUCCESS)


def _platform_only(model) -> None:
    """Re-registers a model of the platform itself (registered by Django or a library) for the superuser only."""
    model_admin_class = type(admin.site.get_model_admin(model))
    admin.site.unregister(model)
    admin.site.register(model, type(model_admin_class.__name__, (PlatformOnlyAdminMixin, model_admin_class), {}))


for _model in (
    Group,
    get_application_model(),
    get_access_token_model(),
    get_refresh_token_model(),
    get_grant_model(),
    get_id_token_model(),
):
    _platform_only(_model)
