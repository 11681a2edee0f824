import uuid
from functools import cache

from django.db import connection
from django.core.exceptions import PermissionDenied
from django.http import Http404

from config import prepared
from merchants.models import Membership, Merchant


def _as_uuid(value) -> uuid.UUID | None:
    try:
        return uuid.UUID(str(value))
    except ValueError:
        return None


def merchant_ids_for_user(*, user) -> list[uuid.UUID]:
    return list(Membership.objects.filter(user=user).values_list("merchant_id", flat=True))


_MERCHANT_FIELDS = Merchant._meta.concrete_fields
_MERCHANT_NAMES = [field.attname for field in _MERCHANT_FIELDS]
_ROW_FIELDS = [*_MERCHANT_FIELDS, *(Membership._meta.get_field(name) for name in ("id", "role", "created_at"))]
_quote = connection.ops.quote_name
# The merchant's columns in the model's field order, then the membership's: one row builds both.
MEMBER_COLUMNS = ", ".join(
    [f"merchant.{_quote(field.column)}" for field in _MERCHANT_FIELDS]
    + ["membership.id", "membership.role", "membership.created_at"]
)
MEMBER_TABLES = (
    f"{_quote(Merchant._meta.db_table)} merchant JOIN {_quote(Membership._meta.db_table)} membership "
    f"ON membership.merchant_id = merchant.id"
)
MEMBER_CONDITION = "membership.user_id = %s AND merchant.id = %s"
_MEMBERSHIP_SQL = f"SELECT {MEMBER_COLUMNS} FROM {MEMBER_TABLES} WHERE {MEMBER_CONDITION}"


def membership_get(*, user, merchant_id) -> Membership:
    """The user's membership of the merchant; a merchant the user does not belong to is 404, like one that does not exist."""
    params = member_params(user=user, merchant_id=merchant_id)
    # Every API request starts here, so the merchant and the role come back from one plain join.
    with connection.cursor() as cursor:
        prepared.execute(cursor, _MEMBERSHIP_SQL, params)
        row = cursor.fetchone()
    if row is None:
        raise Http404("merchant not found")
    return membership_from_row(user=user, row=row)


def writing_membership_get(*, user, merchant_id) -> Membership:
    """`membership_get` for a change: a member whose role only reads is refused (403)."""
    membership = membership_get(user=user, merchant_id=merchant_id)
    if not membership.can_write:
        raise PermissionDenied("your role at this merchant may only read")
    return membership


def member_params(*, user, merchant_id) -> list:
    """The parameters of MEMBER_CONDITION; a merchant id that is not a UUID is 404, like an unknown one."""
    merchant_uuid = _as_uuid(merchant_id)
    if merchant_uuid is None:
        raise Http404("merchant not found")
    return [Membership._meta.get_field("user").get_db_prep_value(user.pk, connection),
            Merchant._meta.pk.get_db_prep_value(merchant_uuid, connection)]


def membership_from_row(*, user, row) -> Membership:
    """The membership, with its merchant, of a row that starts with MEMBER_COLUMNS."""
    values = list(row[:len(_ROW_FIELDS)])
    for number, column, converters in _row_converters():
        for converter in converters:
            values[number] = converter(values[number], column, connection)
    merchant = Merchant.from_db(connection.alias, _MERCHANT_NAMES, values[:len(_MERCHANT_FIELDS)])
    membership_id, role, created_at = values[len(_MERCHANT_FIELDS):]
    membership = Membership.from_db(
        connection.alias, ["id", "user_id", "merchant_id", "role", "created_at"],
        [membership_id, user.pk, merchant.pk, role, created_at],
    )
    membership.user, membership.merchant = user, merchant
    return membership


@cache
def _row_converters() -> list[tuple[int, object, list]]:
    """What the ORM would apply to each column of a MEMBER_COLUMNS row read from this database (on SQLite: decimals,
    times)."""
    found = []
    for number, field in enumerate(_ROW_FIELDS):
        column = field.get_col(field.model._meta.db_table)
        converters = connection.ops.get_db_converters(column) + field.get_db_converters(connection)
        if converters:
            found.append((number, column, converters))
    return found


def merchant_get(*, user, merchant_id) -> Merchant:
    return membership_get(user=user, merchant_id=merchant_id).merchant


def primary_merchant_id(*, user) -> uuid.UUID | None:
    membership = Membership.objects.filter(user=user).order_by("created_at").first()
    return membership.merchant_id if membership else None
