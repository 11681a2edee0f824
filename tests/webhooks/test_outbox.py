"""Events are written with the change they report, queued when it commits, and found again by the sweeper whatever
happened to the queue."""

import uuid
from datetime import timedelta

import pytest
from django.db import transaction
from django.utils import timezone

from config.celery import app as celery_app
from config.rows import RowsInsert
from tests.webhooks.conftest import emit
from tests.webhooks.receiver import Answer
from webhooks.models import Delivery, DeliveryState, Event
from webhooks.selectors import deliveries_for_invoice
from webhooks.services import (
    deliveries_queued_together,
    deliveries_sweep,
    delivery_attempt,
    delivery_resend,
    event_emit,
)

LEASE = timedelta(seconds=20)  # 2 x WEBHOOKS_TIMEOUT_SECONDS (5) + 10


def test_an_event_is_stored_as_the_exact_text_that_is_signed_and_sent(alice):
    event_id, invoice_id = uuid.uuid4(), uuid.uuid4()
    body = {"id": event_id, "event": "invoice_paid", "payload": {"price": "0.00123000", "note": "café"}}

    url = "https://shop.example/callback"

    delivery = emit(alice.merchant, url, name="invoice_paid", body=body, invoice_id=invoice_id)

    event = Event.objects.get(pk=delivery.event_id)
    payload = '{"price":"0.00123000","note":"caf\\u00e9"}'
    assert event.body == f'{{"id":"{event_id}","event":"invoice_paid","payload":{payload}}}'
    assert (event.name, event.invoice_id, event.merchant_id) == ("invoice_paid", invoice_id, alice.merchant.pk)
    assert (delivery.state, delivery.url, delivery.merchant_id) == (DeliveryState.PENDING, url, alice.merchant.pk)
    assert delivery.origin == "https://shop.example:443"
    assert delivery.next_attempt_at == event.created_at


def test_an_event_without_a_url_has_no_delivery(alice):
    assert emit(alice.merchant, None) is None
    assert emit(alice.merchant, "") is None
    assert Event.objects.filter(merchant=alice.merchant).count() == 2


def test_the_delivery_is_queued_when_the_transaction_commits(alice, queued, django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=True):
        delivery = emit(alice.merchant, "https://shop.example/callback")
        assert queued == []

    assert queued == [delivery.pk]


def test_deliveries_emitted_together_are_queued_together_when_the_transaction_commits(
    alice, bob, queued, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks(execute=True) as callbacks:
        with transaction.atomic(), deliveries_queued_together():
            first = emit(alice.merchant, "https://a.example/callback")
            second = emit(bob.merchant, "https://b.example/callback")
            assert queued == []

    assert len(callbacks) == 1
    assert queued == [first.pk, second.pk]


def test_a_rolled_back_change_leaves_no_event(alice, queued, django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=True), pytest.raises(ZeroDivisionError):
        with transaction.atomic():
            event_emit(merchant=alice.merchant, url="https://shop.example/", name="x", event_id=uuid.uuid4(), body={})
            1 / 0

    assert not Event.objects.exists() and not Delivery.objects.exists()
    assert queued == []


@pytest.mark.django_db(transaction=True)
def test_an_event_outside_a_transaction_is_refused(alice):
    with pytest.raises(transaction.TransactionManagementError):
        event_emit(merchant=alice.merchant, url="https://shop.example/", name="x", event_id=uuid.uuid4(), body={})


@pytest.mark.django_db(transaction=True)
def test_an_event_joining_an_insert_outside_a_transaction_is_queued_once_its_rows_are_written(alice, queued):
    insert = RowsInsert()
    event_emit(merchant=alice.merchant, url="https://shop.example/", name="x", event_id=uuid.uuid4(), body={},
               insert=insert)
    assert queued == [] and not Delivery.objects.exists()

    insert.execute()

    assert queued == [Delivery.objects.get().pk]


def test_a_broker_that_is_down_at_commit_never_fails_the_change(
    alice, monkeypatch, caplog, django_capture_on_commit_callbacks
):
    def broker_down(*args, **kwargs):
        raise ConnectionRefusedError(111, "Connection refused")

    monkeypatch.setattr(celery_app, "send_task", broker_down)

    with django_capture_on_commit_callbacks(execute=True):
        delivery = emit(alice.merchant, "https://shop.example/callback")

    assert "could not queue deliveries" in caplog.text
    assert Delivery.objects.get(pk=delivery.pk).state == DeliveryState.PENDING


def test_the_sweeper_queues_what_is_due_oldest_first(alice, bob, queued):
    now = timezone.now()
    late = emit(alice.merchant, "https://a.example/")
    later = emit(bob.merchant, "https://b.example/")
    not_due = emit(alice.merchant, "https://c.example/")
    delivered = emit(alice.merchant, "https://d.example/")
    Delivery.objects.filter(pk=late.pk).update(next_attempt_at=now - timedelta(hours=2), dispatched_at=None)
    Delivery.objects.filter(pk=later.pk).update(next_attempt_at=now - timedelta(hours=1), dispatched_at=None)
    Delivery.objects.filter(pk=not_due.pk).update(next_attempt_at=now + timedelta(seconds=1), dispatched_at=None)
    Delivery.objects.filter(pk=delivered.pk).update(state=DeliveryState.DELIVERED, dispatched_at=None)

    assert deliveries_sweep(now=now) == 2
    assert queued == [late.pk, later.pk]


def test_a_delivery_queued_moments_ago_is_not_queued_again_until_taken_for_lost(alice, queued):
    delivery = emit(alice.merchant, "https://shop.example/")
    queued_at = delivery.dispatched_at

    assert deliveries_sweep(now=queued_at + LEASE - timedelta(seconds=1)) == 0
    assert deliveries_sweep(now=queued_at + LEASE) == 1
    assert deliveries_sweep(now=queued_at + LEASE + timedelta(seconds=1)) == 0
    assert queued == [delivery.pk]


def test_a_retry_due_soon_is_queued_at_once_for_its_time_and_swept_only_if_that_task_is_lost(alice, receiver, monkeypatch):
    sent = []
    monkeypatch.setattr(celery_app, "send_task", lambda name, args=(), **options: sent.append((args[0], options.get("eta"))))
    receiver.script("/hook", Answer(status=503))
    delivery = emit(alice.merchant, receiver.url("/hook"))
    sent.clear()
    now = timezone.now()
    delivery_attempt(delivery_id=delivery.pk, now=now)

    retry_due = now + timedelta(seconds=5)
    assert sent == [(delivery.pk, retry_due)]
    assert deliveries_sweep(now=retry_due) == 0
    assert deliveries_sweep(now=retry_due + LEASE - timedelta(seconds=1)) == 0
    assert deliveries_sweep(now=retry_due + LEASE) == 1


def test_a_later_retry_is_queued_by_the_sweeper_when_it_comes_due(alice, receiver, queued):
    receiver.script("/hook", Answer(status=503))
    delivery = emit(alice.merchant, receiver.url("/hook"))
    now = timezone.now()
    delivery_attempt(delivery_id=delivery.pk, now=now)
    queued.clear()
    delivery_attempt(delivery_id=delivery.pk, now=now + timedelta(seconds=5))

    assert queued == []
    later = now + timedelta(seconds=5, minutes=5)
    assert deliveries_sweep(now=later - timedelta(seconds=1)) == 0
    assert deliveries_sweep(now=later) == 1
    assert queued == [delivery.pk]


def test_the_sweeper_goes_through_every_batch(alice, queued, monkeypatch):
    monkeypatch.setattr("webhooks.services.SWEEP_BATCH", 3)
    deliveries = [emit(alice.merchant, f"https://shop.example/{n}") for n in range(7)]
    Delivery.objects.update(dispatched_at=None)

    assert deliveries_sweep() == 7
    assert sorted(queued) == sorted(delivery.pk for delivery in deliveries)


def test_the_sweeper_stops_while_the_broker_is_down(alice, monkeypatch):
    emit(alice.merchant, "https://shop.example/1")
    emit(alice.merchant, "https://shop.example/2")
    Delivery.objects.update(dispatched_at=None)
    monkeypatch.setattr(celery_app, "send_task", lambda *args, **kwargs: 1 / 0)

    assert deliveries_sweep() == 0


@pytest.mark.parametrize("state", [DeliveryState.FAILED, DeliveryState.DELIVERED])
def test_a_finished_delivery_can_be_resent_now(alice, receiver, queued, state, django_capture_on_commit_callbacks):
    delivery = emit(alice.merchant, receiver.url("/hook"))
    Delivery.objects.filter(pk=delivery.pk).update(state=state, next_attempt_at=None, attempt_count=3)

    with django_capture_on_commit_callbacks(execute=True):
        assert delivery_resend(delivery=delivery) is True

    assert queued == [delivery.pk]
    attempt = delivery_attempt(delivery_id=delivery.pk)
    delivery.refresh_from_db()
    assert (delivery.state, attempt.number, attempt.status_code) == (DeliveryState.DELIVERED, 4, 200)


def test_a_pending_delivery_is_not_resent(alice, queued, django_capture_on_commit_callbacks):
    delivery = emit(alice.merchant, "https://shop.example/")

    with django_capture_on_commit_callbacks(execute=True):
        assert delivery_resend(delivery=delivery) is False
    assert queued == []


def test_deliveries_of_an_invoice_come_with_their_attempts_for_its_merchant_only(alice, bob, receiver):
    invoice_id = uuid.uuid4()
    receiver.script("/hook", Answer(status=500), Answer(status=200))
    first = emit(alice.merchant, receiver.url("/hook"), name="invoice_created", invoice_id=invoice_id)
    second = emit(alice.merchant, receiver.url("/other"), name="invoice_paid", invoice_id=invoice_id)
    emit(alice.merchant, receiver.url("/other"), invoice_id=uuid.uuid4())
    now = timezone.now()
    delivery_attempt(delivery_id=first.pk, now=now)
    delivery_attempt(delivery_id=first.pk, now=now + timedelta(seconds=5))

    deliveries = list(deliveries_for_invoice(merchant_id=alice.merchant.pk, invoice_id=invoice_id))

    assert [delivery.pk for delivery in deliveries] == [first.pk, second.pk]
    assert [(a.number, a.status_code) for a in deliveries[0].attempts.all()] == [(1, 500), (2, 200)]
    assert deliveries[1].event.name == "invoice_paid" and list(deliveries[1].attempts.all()) == []
    assert list(deliveries_for_invoice(merchant_id=bob.merchant.pk, invoice_id=invoice_id)) == []
