import secrets
from datetime import timedelta

from django.conf import settings
from django.db import transaction
from django.utils import timezone
from oauth2_provider.models import AccessToken

from merchants.models import ApiKey, Membership, Merchant, Role, User
from merchants.scopes import API_KEY_DEFAULT_SCOPE, scope_parse

MERCHANT_EDITABLE_FIELDS = (
    "name", "address_1", "address_2", "city", "region", "country_code", "postal_code", "contact_name",
    "contact_email", "phone", "website", "description", "tax_id", "logo_url", "callback_url", "redirect_url",
)


@transaction.atomic
def merchant_create(*, name: str, owner_email: str, **fields) -> tuple[Merchant, User]:
    """Creates a merchant and its owner user (reused when a user with that email already exists)."""
    merchant = Merchant.objects.create(name=name, contact_email=owner_email, **fields)
    owner = User.objects.filter(email__iexact=owner_email).first()
    if owner is None:
        owner = User.objects.create_user(username=owner_email, email=owner_email)
    membership_grant(merchant=merchant, user=owner, role=Role.OWNER)
    return merchant, owner


@transaction.atomic
def membership_grant(*, merchant: Merchant, user: User, role: str) -> Membership:
    """Gives the user `role` at the merchant. Members sign in to the admin, which shows them only their merchants."""
    membership, _created = Membership.objects.update_or_create(user=user, merchant=merchant, defaults={"role": role})
    if not user.is_staff:
        User.objects.filter(pk=user.pk).update(is_staff=True)
        user.is_staff = True
    return membership


@transaction.atomic
def merchant_update(*, merchant: Merchant, fields: dict) -> Merchant:
    """Applies the merchant-editable fields; platform-set ones (fees, payout split) are never taken from input."""
    changed = [name for name in fields if name in MERCHANT_EDITABLE_FIELDS]
    for name in changed:
        setattr(merchant, name, fields[name])
    if changed:
        merchant.save(update_fields=[*changed, "updated_at"])
    return merchant


@transaction.atomic
def api_key_create(*, merchant: Merchant, user: User, scope: str = API_KEY_DEFAULT_SCOPE, name: str = "API key") -> tuple[ApiKey, str]:
    """Issues a long-lived pre-scoped token for a member of the merchant; the secret is returned once, here."""
    scopes = " ".join(scope_parse(scope))
    if not Membership.objects.filter(user=user, merchant=merchant).exists():
        raise ValueError(f"{user} is not a member of {merchant}")
    secret = secrets.token_urlsafe(32)
    token = AccessToken.objects.create(
        user=user,
        token=secret,
        scope=scopes,
        expires=timezone.now() + timedelta(seconds=settings.ACCESS_TOKEN_LIFETIME_SECONDS),
    )
    api_key = ApiKey.objects.create(merchant=merchant, user=user, access_token=token, scope=scopes, name=name)
    return api_key, secret


@transaction.atomic
def api_key_revoke(*, api_key: ApiKey) -> None:
    """Revokes the key at once: its token is deleted, the key row stays for the record."""
    if api_key.access_token_id:
        AccessToken.objects.filter(pk=api_key.access_token_id).delete()
    ApiKey.objects.filter(pk=api_key.pk).update(revoked_at=timezone.now(), access_token=None)
