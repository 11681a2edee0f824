"""The embedded default, SQLite, end to end in its own process (the suite's own database is PostgreSQL):

    python -m tests.e2e.embedded_sqlite <sqlite file> <callback url>

Migrates, stores the offline rates, provisions the demo merchant, creates a BTC invoice through the API with the
callback URL, makes the created callback's delivery attempts (the second one when the first is due again), expires
the invoice, and prints what it saw as one JSON object.
"""

import io
import json
import os
import sys
from datetime import timedelta


def main(database: str, callback_url: str) -> dict:
    folder = os.path.dirname(os.path.abspath(database))
    # The embedded default throughout: no Redis (the file broker and the local cache), all state beside the database.
    os.environ.update(
        DATABASE_URL=f"sqlite:///{database}",
        REDIS_URL="",
        PLATFORM_VAR_DIR=folder,
        DJANGO_SETTINGS_MODULE="config.settings",
        WEBHOOKS_ALLOW_LOOPBACK="1",
        LOG_LEVEL="ERROR",
    )
    import django

    django.setup()
    from django.core.management import call_command
    from django.test import Client

    from config.demo import demo_merchant_ensure
    from invoices.lifecycle import invoices_expire
    from invoices.models import Invoice, InvoiceEvent
    from webhooks.models import Delivery, DeliveryAttempt
    from webhooks.services import delivery_attempt

    os.makedirs(os.path.join(folder, "broker"), exist_ok=True)
    call_command("migrate", verbosity=0)
    call_command("refresh_rates", stdout=io.StringIO())
    demo = demo_merchant_ensure()
    client = Client(HTTP_AUTHORIZATION=f"Bearer {demo['access_token']}", HTTP_HOST="127.0.0.1")
    response = client.post(
        f"/api/v1/merchants/{demo['merchant_id']}/invoices",
        {"price_currency": "BTC", "base_price": "134.00", "base_price_currency": "USD", "callback_url": callback_url},
        content_type="application/json",
    )
    created = response.json()
    delivery = Delivery.objects.get(event__invoice_id=created["id"], event__name="invoice_created")
    delivery_attempt(delivery_id=delivery.pk)
    delivery.refresh_from_db()
    delivery_attempt(delivery_id=delivery.pk, now=delivery.next_attempt_at)
    delivery.refresh_from_db()
    invoice = Invoice.objects.get(pk=created["id"])
    expired = invoices_expire(now=invoice.expires_at + timedelta(seconds=1))
    return {
        "status_code": response.status_code,
        "invoice": created,
        "delivery_state": delivery.state,
        "attempts": list(DeliveryAttempt.objects.filter(delivery=delivery).values_list("number", "status_code")),
        "expired": expired,
        "timeline": list(InvoiceEvent.objects.filter(invoice_id=created["id"]).order_by("id").values_list("to_status", flat=True)),
        "queued": len(os.listdir(os.path.join(folder, "broker"))),
        "events": sorted(Delivery.objects.filter(event__invoice_id=created["id"]).values_list("event__name", flat=True)),
    }


if __name__ == "__main__":
    print(json.dumps(main(*sys.argv[1:3]), default=str))
