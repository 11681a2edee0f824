from django import forms
from django.contrib import admin
from django.http import HttpRequest

from chain.currencies import coin_get
from chain.derivation import parse_extended_public_key
from chain.errors import ChainError, InvalidExtendedKey, PrivateKeyRefused
from chain.models import Wallet
from chain.services import wallet_create
from merchants.admin_scoping import TenantAdminMixin


class WalletForm(forms.ModelForm):
    class Meta:
        model = Wallet
        fields = ["merchant", "currency", "network", "extended_public_key"]

    def clean(self) -> dict:
        cleaned = super().clean()
        currency, network, key = (cleaned.get(name) for name in ("currency", "network", "extended_public_key"))
        if not (currency and network and key):
            return cleaned
        try:
            cleaned["extended_public_key"] = parse_extended_public_key(
                coin=coin_get(currency), network=network, text=key
            )
        except PrivateKeyRefused as exc:
            # Do not render the private key back into the page.
            self.data = self.data.copy()
            self.data[self.add_prefix("extended_public_key")] = ""
            self.add_error("extended_public_key", exc.message)
        except InvalidExtendedKey as exc:
            self.add_error("extended_public_key", exc.message)
        except ChainError as exc:
            self.add_error("network", exc.message)
        return cleaned


@admin.register(Wallet)
class WalletAdmin(TenantAdminMixin, admin.ModelAdmin):
    form = WalletForm
    list_display = ["merchant", "currency", "network", "next_index", "created_at"]
    list_filter = ["currency", "network", "merchant"]
    list_select_related = ["merchant"]
    search_fields = ["merchant__name"]

    def get_readonly_fields(self, request, obj: Wallet | None = None) -> list[str]:
        if obj is None:
            return []
        return ["merchant", "currency", "network", "extended_public_key", "derivation_scheme", "next_index"]

    # A new key or a lower index would hand out addresses the merchant already used.
    def has_change_permission(self, request: HttpRequest, obj: Wallet | None = None) -> bool:
        return False

    def save_model(self, request: HttpRequest, obj: Wallet, form: WalletForm, change: bool) -> None:
        wallet = wallet_create(
            merchant=obj.merchant, currency=obj.currency, extended_public_key=obj.extended_public_key,
            network=obj.network,
        )
        obj.pk, obj.derivation_scheme, obj.created_at = wallet.pk, wallet.derivation_scheme, wallet.created_at
