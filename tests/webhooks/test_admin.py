"""The platform operator reads the delivery log in the admin and resends a callback by hand."""

from datetime import timedelta

from django.utils import timezone

from tests.webhooks.conftest import emit
from tests.webhooks.receiver import Answer
from webhooks.models import Delivery, DeliveryState
from webhooks.services import delivery_attempt


def test_the_operator_sees_events_deliveries_and_every_attempt(admin_client, alice, receiver):
    receiver.script("/hook", Answer(status=503, body=b"maintenance"), Answer(status=200))
    delivery = emit(alice.merchant, receiver.url("/hook"), name="invoice_ready_to_ship")
    now = timezone.now()
    delivery_attempt(delivery_id=delivery.pk, now=now)
    delivery_attempt(delivery_id=delivery.pk, now=now + timedelta(seconds=5))

    events = admin_client.get("/admin/webhooks/event/").content.decode()
    deliveries = admin_client.get("/admin/webhooks/delivery/").content.decode()
    page = admin_client.get(f"/admin/webhooks/delivery/{delivery.pk}/change/").content.decode()

    assert "invoice_ready_to_ship" in events and str(delivery.event_id) in events
    assert receiver.url("/hook") in deliveries and "delivered" in deliveries
    assert "maintenance" in page and "503" in page
    assert "Save" not in page


def test_the_operator_resends_a_failed_delivery(
    admin_client, alice, receiver, queued, django_capture_on_commit_callbacks
):
    receiver.script("/hook", Answer(status=410))
    failed = emit(alice.merchant, receiver.url("/hook"))
    pending = emit(alice.merchant, receiver.url("/other"))
    delivery_attempt(delivery_id=failed.pk)

    with django_capture_on_commit_callbacks(execute=True):
        response = admin_client.post(
            "/admin/webhooks/delivery/",
            {"action": "resend", "_selected_action": [failed.pk, pending.pk]},
            follow=True,
        )

    assert "Resent 1; 1 still pending left as they are." in response.content.decode()
    assert queued == [failed.pk]
    assert Delivery.objects.get(pk=failed.pk).state == DeliveryState.PENDING
