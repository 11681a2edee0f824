import uuid

from django.http import Http404

from merchants.models import Membership, Merchant


def _as_uuid(value) -> uuid.UUID | None:
    try:
        return uuid.UUID(str(value))
    except ValueError:
        return None


def merchant_ids_for_user(*, user) -> list[uuid.UUID]:
    return list(Membership.objects.filter(user=user).values_list("merchant_id", flat=True))


def membership_get(*, user, merchant_id) -> Membership:
    """The user's membership of the merchant; a merchant the user does not belong to is 404, like one that does not exist."""
    merchant_uuid = _as_uuid(merchant_id)
    if merchant_uuid is None:
        raise Http404("merchant not found")
    membership = Membership.objects.select_related("merchant").filter(user=user, merchant_id=merchant_uuid).first()
    if membership is None:
        raise Http404("merchant not found")
    return membership


def merchant_get(*, user, merchant_id) -> Merchant:
    return membership_get(user=user, merchant_id=merchant_id).merchant


def primary_merchant_id(*, user) -> uuid.UUID | None:
    membership = Membership.objects.filter(user=user).order_by("created_at").first()
    return membership.merchant_id if membership else None
