import uuid

from django.db import connection
from django.http import Http404

from merchants.models import Membership, Merchant


def _as_uuid(value) -> uuid.UUID | None:
    try:
        return uuid.UUID(str(value))
    except ValueError:
        return None


def merchant_ids_for_user(*, user) -> list[uuid.UUID]:
    return list(Membership.objects.filter(user=user).values_list("merchant_id", flat=True))


_MERCHANT_WITH_ROLE = (
    f"SELECT merchant.*, membership.id AS membership_id, membership.role AS membership_role, "
    f"membership.created_at AS membership_created_at "
    f"FROM {Merchant._meta.db_table} merchant JOIN {Membership._meta.db_table} membership "
    f"ON membership.merchant_id = merchant.id WHERE membership.user_id = %s AND merchant.id = %s"
)


def membership_get(*, user, merchant_id) -> Membership:
    """The user's membership of the merchant; a merchant the user does not belong to is 404, like one that does not exist."""
    merchant_uuid = _as_uuid(merchant_id)
    if merchant_uuid is None:
        raise Http404("merchant not found")
    # Every API request starts here, so the merchant and the role come back from one plain join.
    ids = [Membership._meta.get_field("user").get_db_prep_value(user.pk, connection),
           Merchant._meta.pk.get_db_prep_value(merchant_uuid, connection)]
    found = list(Merchant.objects.raw(_MERCHANT_WITH_ROLE, ids))
    if not found:
        raise Http404("merchant not found")
    merchant = found[0]
    membership = Membership.from_db(
        merchant._state.db,
        ["id", "user_id", "merchant_id", "role", "created_at"],
        [merchant.membership_id, user.pk, merchant.pk, merchant.membership_role, merchant.membership_created_at],
    )
    membership.user, membership.merchant = user, merchant
    return membership


def merchant_get(*, user, merchant_id) -> Merchant:
    return membership_get(user=user, merchant_id=merchant_id).merchant


def primary_merchant_id(*, user) -> uuid.UUID | None:
    membership = Membership.objects.filter(user=user).order_by("created_at").first()
    return membership.merchant_id if membership else None
