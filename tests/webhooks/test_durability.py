"""No callback is lost when the Celery worker is killed and Redis goes away: the outbox in PostgreSQL and the sweeper
bring every event to its endpoint, and the log shows every attempt.

A real `celery -A config worker --beat` runs against the test database and a redis-server started here (not the
machine's shared one); about a minute, half of it the 30 seconds Redis is down."""

import time
from collections import Counter

import pytest
from standardwebhooks import Webhook

from config.celery import app as celery_app
from tests.webhooks.conftest import emit
from tests.webhooks.processes import RedisServer, Worker, worker_env
from tests.webhooks.receiver import Answer
from webhooks.models import Delivery, DeliveryAttempt, DeliveryState
from webhooks.services import INTERRUPTED, secret_current

OUTAGE_SECONDS = 30

pytestmark = pytest.mark.django_db(transaction=True)


@pytest.fixture
def outage_kit(tmp_path, monkeypatch, settings):
    """A private Redis as this process's and the workers' broker, and the means to start workers; all stopped after."""
    server = RedisServer()
    server.start()
    # The fast path of event_emit in this process publishes to the private Redis too.
    monkeypatch.setattr(celery_app.conf, "broker_url", server.url)
    celery_app.close()
    env = worker_env(
        database=settings.DATABASES["default"],
        broker_url=server.url,
        WEBHOOKS_TIMEOUT_SECONDS="2",
        WEBHOOKS_SWEEP_SECONDS="1",
    )
    workers: list[Worker] = []

    def start_worker() -> Worker:
        worker = Worker(f"worker{len(workers) + 1}", env, tmp_path)
        workers.append(worker)
        return worker

    yield server, start_worker, workers
    for worker in workers:
        worker.kill()
    server.stop()
    celery_app.close()


def wait_until(condition, timeout: float, what: str, workers: list[Worker]) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > deadline:
            logs = "\n\n".join(f"--- {worker.log.name}\n{worker.tail()}" for worker in workers)
            pytest.fail(f"timed out waiting for {what}\n{logs}")
        time.sleep(0.2)


def delivered() -> int:
    return Delivery.objects.filter(state=DeliveryState.DELIVERED).count()


def test_no_callback_is_lost_when_the_worker_is_killed_and_redis_is_down(alice, receiver, outage_kit):
    server, start_worker, workers = outage_kit
    # Every endpoint answers in 0.2 s, so work is in flight when the worker dies; every fifth fails its first request.
    for n in range(50):
        first = Answer(status=500) if n % 5 == 0 else Answer(delay=0.2)
        receiver.script(f"/hook/{n}", first, Answer(delay=0.2))

    # Given a worker busy with 40 callbacks queued at commit,
    start_worker()
    deliveries = [emit(alice.merchant, receiver.url(f"/hook/{n}")) for n in range(40)]
    wait_until(lambda: delivered() >= 8, 60, "the first deliveries", workers)

    # when it is killed mid-work and Redis stops, taking every queued message with it,
    workers[0].kill()
    server.stop()
    pending_at_kill = Delivery.objects.filter(state=DeliveryState.PENDING).count()
    outage_started = time.monotonic()

    # and 10 more callbacks are written while the broker is down (their enqueue fails, their transactions do not),
    for n in range(40, 50):
        started = time.monotonic()
        deliveries.append(emit(alice.merchant, receiver.url(f"/hook/{n}")))
        assert time.monotonic() - started < 1
    time.sleep(max(0.0, OUTAGE_SECONDS - (time.monotonic() - outage_started)))

    # then, once Redis and a worker are back, the sweeper brings every one of them to its endpoint.
    server.start()
    start_worker()
    wait_until(lambda: delivered() == 50, 60, "every delivery", workers)
    workers[1].kill()

    assert pending_at_kill > 0
    secret = secret_current(merchant=alice.merchant)
    received = Counter()
    for request in receiver.received():
        Webhook(secret).verify(request.body, request.headers)
        received[request.headers["webhook-id"], int(request.headers["webhook-timestamp"])] += 1
    for delivery in deliveries:
        webhook_id = str(delivery.event_id)
        attempts = list(DeliveryAttempt.objects.filter(delivery=delivery).order_by("number"))
        # Every request the endpoint saw is an attempt in the log (the attempt is written before the request goes)...
        logged = Counter((webhook_id, int(attempt.started_at.timestamp())) for attempt in attempts)
        seen = Counter({key: count for key, count in received.items() if key[0] == webhook_id})
        assert seen and not seen - logged, (webhook_id, seen, logged)
        # ...and every attempt but the last failed (a 5xx, or cut off when the worker died), the last delivered.
        *failed, last = attempts
        assert last.status_code == 200
        assert all(attempt.status_code == 500 or attempt.error == INTERRUPTED for attempt in failed), attempts
