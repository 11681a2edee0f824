"""Tenant scoping for the merchant admin.

A member of a merchant (a Membership) signs in to the same admin as the platform operator, and must see only
the rows of the merchants they belong to. Every ModelAdmin and inline of tenant data takes `TenantAdminMixin`:
it scopes the rows, the foreign-key choices, the autocomplete answers and the list filters, and lets the
member's role, not Django's model permissions, decide what they may do. Models of the platform itself take
`PlatformOnlyAdminMixin`. Rows of a model the scoping does not know are shown to nobody but the superuser.
"""

import uuid

from django.contrib.admin import RelatedOnlyFieldListFilter
from django.contrib.admin.utils import get_fields_from_path
from django.db.models import Model, QuerySet
from django.db.models.constants import LOOKUP_SEP
from django.http import HttpRequest
from django.urls import reverse

from merchants.models import WRITE_ROLES, Membership, Merchant, Role, User

EVERY_ROLE = tuple(Role)


def member_roles(request: HttpRequest) -> dict[uuid.UUID, str]:
    """The signed-in user's role at each of their merchants, read once per request."""
    roles = getattr(request, "_member_roles", None)
    if roles is None:
        roles = dict(Membership.objects.filter(user_id=request.user.pk).values_list("merchant_id", "role"))
        request._member_roles = roles
    return roles


def member_merchant_ids(request: HttpRequest, roles: tuple[str, ...] = EVERY_ROLE) -> list[uuid.UUID]:
    return [merchant_id for merchant_id, role in member_roles(request).items() if role in roles]


def tenant_scoped(queryset: QuerySet, request: HttpRequest, roles: tuple[str, ...] = EVERY_ROLE) -> QuerySet:
    """The rows of `queryset` that belong to merchants where the user holds one of `roles`; all for the superuser."""
    if request.user.is_superuser:
        return queryset
    merchant_ids = member_merchant_ids(request, roles)
    model = queryset.model
    if model is Merchant:
        return queryset.filter(pk__in=merchant_ids)
    if model is User:
        return queryset.filter(pk__in=Membership.objects.filter(merchant_id__in=merchant_ids).values("user_id"))
    if _owning_merchant_field(model):
        return queryset.filter(merchant_id__in=merchant_ids)
    return queryset.none()


def _owning_merchant_field(model: type[Model]) -> bool:
    field = next((f for f in model._meta.concrete_fields if f.name == "merchant"), None)
    return field is not None and field.related_model is Merchant


def _merchant_id_of(obj: Model) -> uuid.UUID:
    return obj.pk if isinstance(obj, Merchant) else obj.merchant_id


def _related_only(model: type[Model], item):
    if not isinstance(item, str):
        return item
    field = get_fields_from_path(model, item)[-1]
    return (item, RelatedOnlyFieldListFilter) if field.is_relation else item


class TenantAdminMixin:
    """For a ModelAdmin or inline of rows that carry `merchant` (or of Merchant itself). An inline's permissions
    are asked about its parent row."""

    write_roles: tuple[str, ...] = WRITE_ROLES
    # Deleting is the platform's unless an admin opens it to a role.
    delete_roles: tuple[str, ...] = ()

    def member_may(self, request: HttpRequest, obj: Model | None, roles: tuple[str, ...]) -> bool:
        """Whether the user holds one of `roles` at the object's merchant (at any merchant, without an object)."""
        if obj is None:
            return bool(member_merchant_ids(request, roles))
        return member_roles(request).get(_merchant_id_of(obj)) in roles

    def writable(self, request: HttpRequest, queryset: QuerySet) -> QuerySet:
        """The rows an action may change: those of merchants where the user holds a write role."""
        return tenant_scoped(queryset, request, self.write_roles)

    def get_queryset(self, request: HttpRequest) -> QuerySet:
        return tenant_scoped(super().get_queryset(request), request)

    def formfield_for_foreignkey(self, db_field, request: HttpRequest, **kwargs):
        return self._scoped_choices(super().formfield_for_foreignkey(db_field, request, **kwargs), db_field, request)

    def formfield_for_manytomany(self, db_field, request: HttpRequest, **kwargs):
        return self._scoped_choices(super().formfield_for_manytomany(db_field, request, **kwargs), db_field, request)

    def _scoped_choices(self, formfield, db_field, request: HttpRequest):
        # The choices are also what the form accepts, so a foreign id posted by hand fails validation too.
        if formfield is not None and hasattr(formfield, "queryset"):
            roles = self.write_roles if db_field.related_model is Merchant else EVERY_ROLE
            formfield.queryset = tenant_scoped(formfield.queryset, request, roles)
        return formfield

    def get_autocomplete_fields(self, request: HttpRequest) -> list[str]:
        # A widget whose target admin the user may not read would only ever answer 403.
        return [
            name
            for name in super().get_autocomplete_fields(request)
            if self.admin_site.get_model_admin(self.model._meta.get_field(name).related_model).has_view_permission(
                request
            )
        ]

    def get_search_results(self, request: HttpRequest, queryset: QuerySet, search_term: str):
        queryset, may_have_duplicates = super().get_search_results(request, queryset, search_term)
        if request.path == reverse(f"{self.admin_site.name}:autocomplete"):
            # An autocomplete fills in a form, so it offers only rows the user may write into.
            queryset = tenant_scoped(queryset, request, self.write_roles)
        return queryset, may_have_duplicates

    def get_list_filter(self, request: HttpRequest) -> list:
        # Django's related filter lists every row of the related table; this one lists only those in the scoped rows.
        return [_related_only(self.model, item) for item in super().get_list_filter(request)]

    def lookup_allowed(self, lookup: str, value, request: HttpRequest | None = None) -> bool:
        # Django lets the query string filter a list by any field of its own model; the count of what is left would
        # then reveal fields the page never shows (a signing secret, one character at a time). Only the list's own
        # filters and date drill-down may narrow it.
        root = lookup.split(LOOKUP_SEP, 1)[0]
        return root in self._filter_roots(request) and super().lookup_allowed(lookup, value, request)

    def _filter_roots(self, request: HttpRequest | None) -> set[str]:
        roots = {self.date_hierarchy.split(LOOKUP_SEP, 1)[0]} if self.date_hierarchy else set()
        for item in self.get_list_filter(request) if request is not None else self.list_filter:
            if isinstance(item, (tuple, list)):
                item = item[0]
            if isinstance(item, str):
                roots.add(item.split(LOOKUP_SEP, 1)[0])
            elif getattr(item, "parameter_name", None):
                roots.add(item.parameter_name)
        return roots

    def has_module_permission(self, request: HttpRequest) -> bool:
        if request.user.is_superuser:
            return super().has_module_permission(request)
        return self.member_may(request, None, EVERY_ROLE)

    def has_view_permission(self, request: HttpRequest, obj: Model | None = None) -> bool:
        if request.user.is_superuser:
            return super().has_view_permission(request, obj)
        return self.member_may(request, obj, EVERY_ROLE)

    def has_change_permission(self, request: HttpRequest, obj: Model | None = None) -> bool:
        if request.user.is_superuser:
            return super().has_change_permission(request, obj)
        return self.member_may(request, obj, self.write_roles)

    def has_write_permission(self, request: HttpRequest) -> bool:
        """Whether the user may run this admin's actions (`@admin.action(permissions=["write"])`)."""
        return request.user.is_superuser or self.member_may(request, None, self.write_roles)

    def has_add_permission(self, request: HttpRequest, *parent: Model | None) -> bool:
        # A ModelAdmin is asked with the request alone, an inline with its parent row too.
        if request.user.is_superuser:
            return super().has_add_permission(request, *parent)
        return self.member_may(request, parent[0] if parent else None, self.write_roles)

    def has_delete_permission(self, request: HttpRequest, obj: Model | None = None) -> bool:
        if request.user.is_superuser:
            return super().has_delete_permission(request, obj)
        return self.member_may(request, obj, self.delete_roles)


class TenantRecordAdminMixin(TenantAdminMixin):
    """For tenant rows that are records (timelines, payments, callbacks): they change only through their services."""

    def has_add_permission(self, request: HttpRequest, *parent: Model | None) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: Model | None = None) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj: Model | None = None) -> bool:
        return False


class PlatformOnlyAdminMixin:
    """For models of the platform itself (users, OAuth clients and tokens, groups, rate pins): superuser only."""

    def has_module_permission(self, request: HttpRequest) -> bool:
        return request.user.is_superuser and super().has_module_permission(request)

    def has_view_permission(self, request: HttpRequest, obj: Model | None = None) -> bool:
        return request.user.is_superuser and super().has_view_permission(request, obj)

    def has_add_permission(self, request: HttpRequest, *obj: Model | None) -> bool:
        return request.user.is_superuser and super().has_add_permission(request, *obj)

    def has_change_permission(self, request: HttpRequest, obj: Model | None = None) -> bool:
        return request.user.is_superuser and super().has_change_permission(request, obj)

    def has_delete_permission(self, request: HttpRequest, obj: Model | None = None) -> bool:
        return request.user.is_superuser and super().has_delete_permission(request, obj)


class MemberReadableAdminMixin(PlatformOnlyAdminMixin):
    """For platform data every member may read but only the platform writes (market rates)."""

    def has_module_permission(self, request: HttpRequest) -> bool:
        return request.user.is_superuser or bool(member_roles(request))

    def has_view_permission(self, request: HttpRequest, obj: Model | None = None) -> bool:
        return request.user.is_superuser or bool(member_roles(request))
