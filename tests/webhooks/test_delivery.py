"""A merchant's endpoint gets each event signed, retried on the schedule while it may still take it, and given up on
when it says so; the log shows every attempt."""

import socket
import threading
from datetime import timedelta

import pytest
from django.db import connection
from django.utils import timezone
from standardwebhooks import Webhook

from tests.webhooks.conftest import emit
from tests.webhooks.receiver import Answer
from webhooks import safe_http
from webhooks.models import Delivery, DeliveryState
from webhooks.services import INTERRUPTED, delivery_attempt, secret_current


def test_a_2xx_answer_delivers_the_signed_event(alice, receiver):
    receiver.script("/hook", Answer(status=204, body=b""))
    delivery = emit(alice.merchant, receiver.url("/hook"), body={"id": "e1", "event": "invoice_created"})

    attempt = delivery_attempt(delivery_id=delivery.pk)

    delivery.refresh_from_db()
    assert (delivery.state, delivery.attempt_count, delivery.last_status) == (DeliveryState.DELIVERED, 1, 204)
    assert delivery.delivered_at is not None and delivery.next_attempt_at is None
    assert (attempt.number, attempt.status_code, attempt.error) == (1, 204, "")
    assert attempt.latency_ms is not None and attempt.finished_at is not None
    [request] = receiver.received()
    assert request.body == delivery.event.body.encode() == b'{"id":"e1","event":"invoice_created"}'
    assert request.headers["webhook-id"] == str(delivery.event_id)
    signed = Webhook(secret_current(merchant=alice.merchant)).verify(request.body, request.headers)
    assert signed == {"id": "e1", "event": "invoice_created"}


@pytest.mark.parametrize("status", [408, 429, 500, 502, 503])
def test_answers_that_may_pass_are_retried_after_five_seconds(alice, receiver, status):
    receiver.script("/hook", Answer(status=status, body=b"busy, try later"))
    delivery = emit(alice.merchant, receiver.url("/hook"))
    now = timezone.now()

    attempt = delivery_attempt(delivery_id=delivery.pk, now=now)

    delivery.refresh_from_db()
    assert delivery.state == DeliveryState.PENDING
    assert delivery.next_attempt_at == now + timedelta(seconds=5)
    assert (delivery.last_status, attempt.status_code, attempt.response_excerpt) == (status, status, "busy, try later")


@pytest.mark.parametrize(
    "answer",
    [
        Answer(status=301, headers={"Location": "http://127.0.0.1:1/moved"}),
        Answer(status=302, headers={"Location": "http://169.254.169.254/latest/meta-data/"}),
        Answer(status=307, headers={"Location": "/elsewhere"}),
        Answer(status=400),
        Answer(status=401),
        Answer(status=404),
        Answer(status=410, body=b"gone"),
    ],
    ids=lambda answer: str(answer.status),
)
def test_redirects_gone_and_other_client_errors_fail_at_once(alice, receiver, answer):
    receiver.script("/hook", answer)
    delivery = emit(alice.merchant, receiver.url("/hook"))

    delivery_attempt(delivery_id=delivery.pk)

    delivery.refresh_from_db()
    assert (delivery.state, delivery.last_status) == (DeliveryState.FAILED, answer.status)
    assert delivery.next_attempt_at is None
    assert [request.path for request in receiver.received()] == ["/hook"]


def test_an_endpoint_that_does_not_answer_in_time_is_retried(alice, receiver, settings):
    settings.WEBHOOKS_TIMEOUT_SECONDS = 1
    receiver.script("/hook", Answer(delay=2.5))
    delivery = emit(alice.merchant, receiver.url("/hook"))

    attempt = delivery_attempt(delivery_id=delivery.pk)

    delivery.refresh_from_db()
    assert delivery.state == DeliveryState.PENDING
    assert (attempt.status_code, attempt.error) == (None, "no answer within 1 s")
    assert 900 <= attempt.latency_ms < 1500
    assert delivery.last_error == "no answer within 1 s"


def test_a_refused_connection_is_retried(alice, receiver):
    with socket.create_server(("127.0.0.1", 0)) as listener:
        closed_port = listener.getsockname()[1]
    delivery = emit(alice.merchant, f"http://127.0.0.1:{closed_port}/hook")

    attempt = delivery_attempt(delivery_id=delivery.pk)

    delivery.refresh_from_db()
    assert (delivery.state, attempt.error) == (DeliveryState.PENDING, "connection refused")


def test_a_url_to_a_blocked_address_fails_at_once_without_a_request(alice, receiver, settings):
    settings.WEBHOOKS_ALLOW_LOOPBACK = False
    delivery = emit(alice.merchant, receiver.url("/hook"))

    attempt = delivery_attempt(delivery_id=delivery.pk)

    delivery.refresh_from_db()
    assert delivery.state == DeliveryState.FAILED
    assert attempt.error == "callback URL host 127.0.0.1 is a loopback address"
    assert receiver.received() == []


def test_the_retry_schedule_runs_for_three_days_then_fails(alice, receiver):
    receiver.script("/hook", Answer(status=503))
    delivery = emit(alice.merchant, receiver.url("/hook"))
    created = delivery.event.created_at
    attempted = []

    now = delivery.next_attempt_at
    while delivery.state == DeliveryState.PENDING:
        assert delivery_attempt(delivery_id=delivery.pk, now=now - timedelta(seconds=1)) is None
        assert delivery_attempt(delivery_id=delivery.pk, now=now) is not None
        attempted.append(now - created)
        delivery.refresh_from_db()
        now = delivery.next_attempt_at

    hours, minutes, seconds = timedelta(hours=1), timedelta(minutes=1), timedelta(seconds=1)
    assert attempted == [
        timedelta(0),
        5 * seconds,
        5 * minutes + 5 * seconds,
        35 * minutes + 5 * seconds,
        2 * hours + 35 * minutes + 5 * seconds,
        7 * hours + 35 * minutes + 5 * seconds,
        17 * hours + 35 * minutes + 5 * seconds,
        27 * hours + 35 * minutes + 5 * seconds,
        51 * hours + 35 * minutes + 5 * seconds,
        72 * hours,
    ]
    assert (delivery.state, delivery.attempt_count) == (DeliveryState.FAILED, 10)
    assert list(delivery.attempts.values_list("number", "status_code")) == [(n, 503) for n in range(1, 11)]
    assert len(receiver.received()) == 10


def test_a_retry_that_succeeds_delivers_under_the_same_webhook_id(alice, receiver):
    receiver.script("/hook", Answer(status=500), Answer(status=200))
    delivery = emit(alice.merchant, receiver.url("/hook"))

    delivery_attempt(delivery_id=delivery.pk)
    delivery.refresh_from_db()
    delivery_attempt(delivery_id=delivery.pk, now=delivery.next_attempt_at)

    delivery.refresh_from_db()
    assert (delivery.state, delivery.attempt_count) == (DeliveryState.DELIVERED, 2)
    first, second = receiver.received()
    assert first.headers["webhook-id"] == second.headers["webhook-id"] == str(delivery.event_id)
    assert first.body == second.body


def test_a_delivery_that_is_not_due_or_is_done_is_left_alone(alice, receiver):
    delivery = emit(alice.merchant, receiver.url("/hook"))
    now = timezone.now()

    assert delivery_attempt(delivery_id=delivery.pk, now=delivery.next_attempt_at - timedelta(seconds=1)) is None
    assert delivery_attempt(delivery_id=delivery.pk, now=now) is not None
    assert delivery_attempt(delivery_id=delivery.pk, now=now + timedelta(days=1)) is None
    assert delivery_attempt(delivery_id=0) is None
    assert len(receiver.received()) == 1


class WorkerKilled(BaseException):
    """Stands for a worker killed mid-request: nothing after the send runs."""


def killed(*args, **kwargs):
    raise WorkerKilled


def test_an_attempt_whose_worker_died_is_made_again_when_its_lease_ends(alice, receiver, monkeypatch, settings):
    delivery = emit(alice.merchant, receiver.url("/hook"))
    now = timezone.now()
    with monkeypatch.context() as patch, pytest.raises(WorkerKilled):
        patch.setattr(safe_http, "post", killed)
        delivery_attempt(delivery_id=delivery.pk, now=now)

    lease_end = now + timedelta(seconds=2 * settings.WEBHOOKS_TIMEOUT_SECONDS + 10)
    assert delivery_attempt(delivery_id=delivery.pk, now=lease_end - timedelta(seconds=1)) is None
    assert delivery_attempt(delivery_id=delivery.pk, now=lease_end).status_code == 200

    delivery.refresh_from_db()
    assert (delivery.state, delivery.attempt_count) == (DeliveryState.DELIVERED, 2)
    first, second = delivery.attempts.all()
    assert (first.number, first.status_code, first.error, first.finished_at) == (1, None, INTERRUPTED, lease_end)
    assert (second.number, second.status_code) == (2, 200)


@pytest.mark.django_db(transaction=True)
def test_two_workers_never_make_the_same_attempt(alice, receiver, queued):
    receiver.script("/hook", Answer(delay=0.5))
    delivery = emit(alice.merchant, receiver.url("/hook"))
    start = threading.Barrier(4)
    made = []

    def worker() -> None:
        start.wait()
        try:
            made.append(delivery_attempt(delivery_id=delivery.pk))
        finally:
            connection.close()

    threads = [threading.Thread(target=worker) for _ in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()

    assert len([attempt for attempt in made if attempt is not None]) == 1
    assert len(receiver.received()) == 1
    assert Delivery.objects.get(pk=delivery.pk).state == DeliveryState.DELIVERED


def test_a_response_is_logged_truncated(alice, receiver):
    receiver.script("/hook", Answer(status=500, body=b"\x00" + "é".encode() * 5000))
    delivery = emit(alice.merchant, receiver.url("/hook"))

    attempt = delivery_attempt(delivery_id=delivery.pk)

    attempt.refresh_from_db()
    assert attempt.response_excerpt.startswith("\ufffdé")
    assert len(attempt.response_excerpt) <= 1024


def test_an_endpoint_with_its_limit_of_requests_in_flight_gets_no_more(alice, receiver, monkeypatch, settings):
    settings.WEBHOOKS_ENDPOINT_CONCURRENCY = 1
    hanging = emit(alice.merchant, receiver.url("/hanging"))
    same_endpoint = emit(alice.merchant, receiver.url("/other-path?order=7"))
    elsewhere = emit(alice.merchant, f"http://localhost:{receiver.port}/hook")
    now = timezone.now()
    with monkeypatch.context() as patch, pytest.raises(WorkerKilled):
        patch.setattr(safe_http, "post", killed)
        delivery_attempt(delivery_id=hanging.pk, now=now)

    held_back = delivery_attempt(delivery_id=same_endpoint.pk, now=now)
    sent = delivery_attempt(delivery_id=elsewhere.pk, now=now)

    same_endpoint.refresh_from_db()
    assert held_back.error == f"not sent: 1 requests to http://127.0.0.1:{receiver.port} already in flight"
    assert (held_back.status_code, held_back.latency_ms) == (None, 0)
    assert (same_endpoint.state, same_endpoint.next_attempt_at) == (DeliveryState.PENDING, now + timedelta(seconds=5))
    assert sent.status_code == 200
    assert [request.path for request in receiver.received()] == ["/hook"]
