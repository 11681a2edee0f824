"""The hot paths' statements are prepared once per database session, and survive the session being replaced."""

import pytest
from django.db import connection

from config import prepared
from invoices.models import Invoice

BODY = {"price_currency": "BTC", "base_price": "134.00", "base_price_currency": "USD"}


def prepared_statements() -> list[str]:
    with connection.cursor() as cursor:
        cursor.execute("SELECT name FROM pg_prepared_statements ORDER BY name")
        return [name for (name,) in cursor.fetchall()]


@pytest.mark.django_db(transaction=True)
def test_invoices_are_created_on_statements_prepared_once_per_session_and_again_after_a_reconnect(alice, rates):
    connection.close()  # a new session: what the fixtures prepared is gone
    first = alice.invoice_create(BODY)
    names = prepared_statements()
    assert names, "creating an invoice prepared no statement"

    second = alice.invoice_create(BODY)
    assert prepared_statements() == names

    connection.close()  # a new session has no prepared statements; the next create must prepare them again
    third = alice.invoice_create(BODY)

    assert prepared_statements() == names
    created = Invoice.objects.filter(id__in=[first["id"], second["id"], third["id"]])
    assert sorted(created.values_list("payment_options__derivation_index", flat=True)) == [0, 1, 2]


@pytest.mark.django_db(transaction=True)
def test_a_migration_that_changes_a_returned_column_does_not_break_open_connections(alice, rates):
    """PostgreSQL refuses a prepared statement whose result type a migration changed instead of planning it anew;
    the connections that prepared it before the deploy must go on working."""
    alice.invoice_create(BODY)
    with connection.cursor() as cursor:
        cursor.execute("ALTER TABLE merchants_merchant ALTER COLUMN city TYPE varchar(300)")
    try:
        invoice = alice.invoice_create(BODY)
        merchant = alice.client().get(f"/api/v1/merchants/{alice.merchant.id}")
    finally:
        with connection.cursor() as cursor:
            cursor.execute("ALTER TABLE merchants_merchant ALTER COLUMN city TYPE varchar(255)")

    assert invoice["payment_address"]
    assert merchant.status_code == 200


@pytest.mark.django_db(transaction=True)
def test_with_prepared_statements_off_nothing_is_prepared(alice, rates, settings):
    settings.DATABASE_PREPARED_STATEMENTS = False
    connection.close()

    invoice = alice.invoice_create(BODY)

    assert prepared_statements() == []
    assert invoice["payment_address"]


@pytest.mark.django_db
def test_a_literal_percent_sign_reaches_the_server_as_one():
    with connection.cursor() as cursor:
        prepared.execute(cursor, "SELECT %s || '%%', 'a%%b' LIKE %s", ["50", "a%%b"])
        assert cursor.fetchone() == ("50%", True)
