"""Webhook events (the outbox), their deliveries, and the merchants' signing secrets."""

import json
import logging
import threading
import time
import uuid
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import datetime, timedelta
from functools import partial

from celery import current_app
from django.conf import settings
from django.core.serializers.json import DjangoJSONEncoder
from django.db import transaction
from django.db.models import Q
from django.utils import timezone

from config.rows import RowsInsert, rows_insert, statements_run, statements_then_rows, values_insert
from merchants.models import Merchant
from webhooks import safe_http
from webhooks.models import Delivery, DeliveryAttempt, DeliveryState, Event, WebhookSecret
from webhooks.schedule import is_retryable, is_success, retry_at
from webhooks.signing import secret_generate, signed_headers

logger = logging.getLogger(__name__)

DELIVERY_TASK = "webhooks.tasks.delivery_attempt_task"
SWEEP_TASK = "webhooks.tasks.deliveries_sweep_task"
SWEEP_BATCH = 500
EXCERPT_BYTES = 1024
QUEUED_AHEAD = timedelta(minutes=1)
INTERRUPTED = "interrupted: the worker was lost before the outcome was recorded"
_PENDING, _DELIVERED, _FAILED = DeliveryState.PENDING, DeliveryState.DELIVERED, DeliveryState.FAILED
_DELIVERY, _ATTEMPT, _EVENT, _SECRET = (m._meta.db_table for m in (Delivery, DeliveryAttempt, Event, WebhookSecret))


def event_emit(
    *,
    merchant: Merchant,
    url: str | None,
    name: str,
    event_id: uuid.UUID,
    body: dict,
    invoice_id: uuid.UUID | None = None,
    insert: RowsInsert | None = None,
) -> Event:
    """Store event `name` with `body` serialised once, exactly as it will be signed and sent, and, when `url` is
    set, a delivery to it due now, whose task is queued when the caller's transaction commits. Given `insert`, the
    rows join that pending insert of the change they report, which the caller executes.

    Must run inside the transaction of the change the event reports, or join that change's `insert` (the outbox):
    the event commits with that change or not at all. A queue that is down at commit time is logged and only delays
    the delivery until the sweeper finds it. `event_id` is the `webhook-id` of every attempt.
    """
    if insert is None and not transaction.get_connection().in_atomic_block:
        raise transaction.TransactionManagementError(
            "event_emit must run inside the transaction of the change it reports, or join its insert"
        )
    now = timezone.now()
    event = Event(id=event_id, merchant=merchant, invoice_id=invoice_id, name=name, body=_body_text(body), created_at=now)
    if url:
        delivery = Delivery(
            merchant=merchant,
            event=event,
            url=url,
            origin=safe_http.origin(url),
            next_attempt_at=now,
            dispatched_at=now,
            created_at=now,
        )
        rows_insert(event, delivery, into=insert)
        # The delivery's id is known once the insert has run; the queueing at commit reads it then.
        together = getattr(_queued_together, "deliveries", None)
        if together is not None:
            together.append(delivery)
        elif insert is not None:
            insert.on_commit(partial(_enqueue_deliveries, [delivery]))
        else:
            transaction.on_commit(partial(_enqueue_deliveries, [delivery]))
    else:
        rows_insert(event, into=insert)
    return event


def _body_text(body: dict) -> str:
    """The event's body as the exact text that is stored, signed and sent."""
    return json.dumps(body, cls=DjangoJSONEncoder, separators=(",", ":"))


_queued_together = threading.local()
_database_turns = threading.BoundedSemaphore(settings.WEBHOOKS_DATABASE_CONCURRENCY)


@contextmanager
def deliveries_queued_together():
    """Inside the caller's transaction: the deliveries that `event_emit` creates here are queued with one broker
    connection at commit (a block's payments move a hundred invoices at once), still one task per delivery, so a
    slow endpoint holds up only its own."""
    if getattr(_queued_together, "deliveries", None) is not None:
        yield
        return
    _queued_together.deliveries = deliveries = []
    try:
        yield
    finally:
        _queued_together.deliveries = None
    if deliveries:
        transaction.on_commit(partial(_enqueue_deliveries, deliveries))


def delivery_attempt(*, delivery_id: int, now: datetime | None = None) -> DeliveryAttempt | None:
    """Make the due attempt of a pending delivery and record it; None when there is none to make (delivered,
    failed, not due yet, or held by another worker).

    The delivery is claimed with one guarded UPDATE (pending and due) that moves `next_attempt_at` one lease ahead,
    committed together with the attempt row before the request goes out: two workers never make the same attempt,
    and one that dies mid-request leaves an unfinished attempt in the log and a delivery the sweeper hands out again
    when the lease ends. The request is made outside any transaction, signed at `now` with every valid secret.

    A 2xx answer delivers. A network error, timeout, 408, 429 or 5xx schedules the next attempt
    (`schedule.retry_at`), or fails the delivery three days after the event. Any other answer (a 3xx, which is never
    followed; 410 Gone, the endpoint asking us to stop; another 4xx) and a refused URL fail it at once. An endpoint
    (scheme, host and port) that already has WEBHOOKS_ENDPOINT_CONCURRENCY requests in flight gets no more: the
    attempt is logged as not sent and retried on the schedule, so that a slow or hanging endpoint holds at most that
    many worker threads, however many callbacks its merchant has.
    """
    now = now or timezone.now()
    with _database_turns:
        claim = _claim(delivery_id=delivery_id, now=now)
    if claim is None:
        return None
    delivery, attempt, secrets = claim
    held_back = attempt.finished_at is not None  # its endpoint has its limit of requests in flight
    retryable = held_back or _send(delivery=delivery, attempt=attempt, secrets=secrets, now=now)
    state, next_attempt_at = _FAILED, None
    if attempt.status_code is not None and is_success(attempt.status_code):
        state = _DELIVERED
    elif retryable:
        created = delivery.event.created_at
        next_attempt_at = retry_at(attempt_number=attempt.number, attempted_at=now, event_created_at=created)
        state = _PENDING if next_attempt_at else _FAILED
    # A retry due soon is queued now for its time, so retries reach the worker as they come due rather than in the
    # sweeper's once-a-second batches; the sweeper still finds it one lease later should that task be lost.
    queued_ahead = state == _PENDING and next_attempt_at - now <= QUEUED_AHEAD
    with _database_turns:
        _outcome_record(delivery_id=delivery_id, attempt=attempt, state=state, next_attempt_at=next_attempt_at,
                        dispatched_at=next_attempt_at if queued_ahead else None)
    if queued_ahead:
        _enqueue([delivery_id], eta=next_attempt_at)
    return attempt


def deliveries_sweep(*, now: datetime | None = None) -> int:
    """Queue every pending delivery that is due, oldest first, and return how many were queued.

    This is what makes the outbox durable: a task lost with a dead worker or a restarted Redis, a retry that came
    due, an enqueue that failed at commit time are all found here by `next_attempt_at`. A delivery handed to the
    queue is not handed again for one lease (`dispatched_at`), so a backlog in the queue is not multiplied; one still
    not attempted after that is taken for lost. Batches are claimed FOR UPDATE SKIP LOCKED, so two sweeps never queue
    the same delivery. The sweep only queues: it never waits on an endpoint.
    """
    now = now or timezone.now()
    queued = 0
    while True:
        with transaction.atomic():
            batch = list(
                Delivery.objects.select_for_update(skip_locked=True)
                .filter(state=_PENDING, next_attempt_at__lte=now)
                .filter(Q(dispatched_at__isnull=True) | Q(dispatched_at__lte=now - _lease()))
                .order_by("next_attempt_at")
                .values_list("pk", flat=True)[:SWEEP_BATCH]
            )
            Delivery.objects.filter(pk__in=batch).update(dispatched_at=now)
        if batch and not _enqueue(batch):
            return queued
        queued += len(batch)
        if len(batch) < SWEEP_BATCH:
            return queued


def delivery_resend(*, delivery: Delivery) -> bool:
    """Make a delivered or failed delivery pending again with an attempt due now, under the same `webhook-id` (so a
    receiver that deduplicates sees it as a repeat); False when it is still pending. Retries after a failed resend
    follow the schedule, which ends three days after the event."""
    now = timezone.now()
    with transaction.atomic():
        resent = Delivery.objects.filter(pk=delivery.pk, state__in=[_DELIVERED, _FAILED]).update(
            state=_PENDING, next_attempt_at=now, dispatched_at=now, delivered_at=None
        )
        if resent:
            transaction.on_commit(partial(_enqueue, [delivery.pk]))
    return bool(resent)


def secret_current(*, merchant: Merchant) -> str:
    """The merchant's current signing secret (`whsec_...`), created on first use."""
    return _secret_current(merchant_id=merchant.pk)


def secret_rotate(*, merchant: Merchant) -> str:
    """Make a new current signing secret and return it. The one it replaces keeps signing beside it for
    WEBHOOKS_SECRET_OVERLAP_SECONDS, so that receivers can switch over without rejecting a callback.

    Locks the merchant's row (FOR NO KEY UPDATE, which events being written meanwhile do not wait on), so that
    rotations of one merchant run one after the other."""
    now = timezone.now()
    with transaction.atomic():
        Merchant.objects.select_for_update(no_key=True).get(pk=merchant.pk)
        WebhookSecret.objects.filter(merchant=merchant, valid_until__isnull=True).update(
            valid_until=now + timedelta(seconds=settings.WEBHOOKS_SECRET_OVERLAP_SECONDS)
        )
        return WebhookSecret.objects.create(merchant=merchant, secret=secret_generate(), created_at=now).secret


def _claim(*, delivery_id: int, now: datetime) -> tuple[Delivery, DeliveryAttempt, list[str]] | None:
    """Claim the delivery if it is pending and due (see delivery_attempt), mark an earlier attempt left unfinished as
    interrupted, and write the attempt row, finished at once when its endpoint is at its limit of requests in flight;
    with the secrets to sign with. One round trip on PostgreSQL."""
    connection = transaction.get_connection()
    token = Delivery._meta.get_field("lease_token").get_db_prep_value(uuid.uuid4(), connection)
    at = connection.ops.adapt_datetimefield_value(now)
    lease_start = connection.ops.adapt_datetimefield_value(now - _lease())
    lease_end = connection.ops.adapt_datetimefield_value(now + _lease())
    limit = settings.WEBHOOKS_ENDPOINT_CONCURRENCY
    rows = statements_then_rows(
        Event,
        [
            (f"UPDATE {_DELIVERY} SET next_attempt_at = %s, attempt_count = attempt_count + 1, lease_token = %s "
             f"WHERE id = %s AND state = %s AND next_attempt_at <= %s",
             [lease_end, token, delivery_id, _PENDING, at]),
            (f"UPDATE {_ATTEMPT} SET finished_at = %s, error = %s WHERE delivery_id = %s AND finished_at IS NULL "
             f"AND EXISTS (SELECT 1 FROM {_DELIVERY} WHERE id = %s AND lease_token = %s)",
             [at, INTERRUPTED, delivery_id, delivery_id, token]),
            (f"INSERT INTO {_ATTEMPT} (merchant_id, delivery_id, number, started_at, finished_at, status_code, "
             f"latency_ms, response_excerpt, error) "
             f"SELECT d.merchant_id, d.id, d.attempt_count, %s, CASE WHEN f.n >= %s THEN %s END, NULL, "
             f"CASE WHEN f.n >= %s THEN 0 END, '', "
             f"CASE WHEN f.n >= %s THEN 'not sent: ' || f.n || ' requests to ' || d.origin || ' already in flight' "
             f"ELSE '' END "
             f"FROM {_DELIVERY} d CROSS JOIN (SELECT count(*) AS n FROM {_ATTEMPT} a JOIN {_DELIVERY} other "
             f"ON other.id = a.delivery_id WHERE a.finished_at IS NULL AND a.started_at > %s "
             f"AND other.origin = (SELECT origin FROM {_DELIVERY} WHERE id = %s)) f "
             f"WHERE d.id = %s AND d.lease_token = %s",
             [at, limit, at, limit, limit, lease_start, delivery_id, delivery_id, token]),
        ],
        f"SELECT e.*, d.url AS delivery_url, d.origin AS delivery_origin, d.attempt_count AS delivery_attempt_count, "
        f"a.id AS attempt_id, CASE WHEN a.finished_at IS NULL THEN 0 ELSE 1 END AS attempt_held_back, "
        f"a.error AS attempt_error, s.secret AS signing_secret "
        f"FROM {_DELIVERY} d JOIN {_EVENT} e ON e.id = d.event_id "
        f"JOIN {_ATTEMPT} a ON a.delivery_id = d.id AND a.number = d.attempt_count "
        f"LEFT JOIN {_SECRET} s ON s.merchant_id = d.merchant_id AND (s.valid_until IS NULL OR s.valid_until > %s) "
        f"WHERE d.id = %s AND d.lease_token = %s ORDER BY s.created_at DESC",
        [at, delivery_id, token],
    )
    if not rows:
        return None
    event = rows[0]
    # A delivery's merchant is its event's.
    delivery = Delivery(id=delivery_id, merchant_id=event.merchant_id, event=event, url=event.delivery_url,
                        origin=event.delivery_origin, attempt_count=event.delivery_attempt_count)
    attempt = DeliveryAttempt(id=event.attempt_id, merchant_id=event.merchant_id, delivery=delivery,
                              number=delivery.attempt_count, started_at=now, error=event.attempt_error)
    if event.attempt_held_back:
        attempt.finished_at, attempt.latency_ms = now, 0
    delivery._state.adding = attempt._state.adding = False
    secrets = [row.signing_secret for row in rows if row.signing_secret] or [_secret_current(merchant_id=event.merchant_id)]
    return delivery, attempt, secrets


def _outcome_record(*, delivery_id: int, attempt: DeliveryAttempt, state: str, next_attempt_at: datetime | None,
                    dispatched_at: datetime | None) -> None:
    """The attempt's outcome and the delivery's next state, together in one round trip on PostgreSQL."""
    ops = transaction.get_connection().ops
    finished_at = ops.adapt_datetimefield_value(attempt.finished_at)
    statements_run([
        (f"UPDATE {_ATTEMPT} SET finished_at = %s, status_code = %s, latency_ms = %s, response_excerpt = %s, error = %s "
         f"WHERE id = %s",
         [finished_at, attempt.status_code, attempt.latency_ms, attempt.response_excerpt, attempt.error, attempt.pk]),
        # Fenced by the attempt number: a worker whose lease ran out never overwrites a later attempt's outcome.
        (f"UPDATE {_DELIVERY} SET state = %s, next_attempt_at = %s, dispatched_at = %s, last_status = %s, "
         f"last_error = %s, delivered_at = %s WHERE id = %s AND state = %s AND attempt_count = %s",
         [state, ops.adapt_datetimefield_value(next_attempt_at), ops.adapt_datetimefield_value(dispatched_at),
          attempt.status_code, attempt.error,
          finished_at if state == _DELIVERED else None, delivery_id, _PENDING, attempt.number]),
    ])


def _send(*, delivery: Delivery, attempt: DeliveryAttempt, secrets: list[str], now: datetime) -> bool:
    """Send the attempt and note its outcome on it; whether a failure is worth another attempt."""
    event = delivery.event
    headers = signed_headers(secrets=secrets, webhook_id=str(event.id), timestamp=int(now.timestamp()), body=event.body)
    started = time.monotonic()
    retryable = False
    try:
        response = safe_http.post(delivery.url, body=event.body.encode(), headers=headers)
        attempt.status_code = response.status
        attempt.response_excerpt = _text(response.body[:EXCERPT_BYTES])
        retryable = is_retryable(response.status)
    except safe_http.TransportError as exc:
        attempt.error = _text(str(exc).encode())
        retryable = True
    except safe_http.RefusedError as exc:
        attempt.error = str(exc)
    attempt.latency_ms = round((time.monotonic() - started) * 1000)
    attempt.finished_at = now + timedelta(milliseconds=attempt.latency_ms)
    return retryable


def _secret_current(*, merchant_id: uuid.UUID) -> str:
    current = WebhookSecret.objects.filter(merchant_id=merchant_id, valid_until__isnull=True).first()
    if current is None:
        # Two first uses at once both insert; the partial unique constraint keeps one row, which both read back.
        WebhookSecret.objects.bulk_create(
            [WebhookSecret(merchant_id=merchant_id, secret=secret_generate())], ignore_conflicts=True
        )
        current = WebhookSecret.objects.get(merchant_id=merchant_id, valid_until__isnull=True)
    return current.secret


def _lease() -> timedelta:
    # An attempt takes at most WEBHOOKS_TIMEOUT_SECONDS on the wire, plus name resolution (bounded by the system
    # resolver); a worker still holding a delivery after this long is taken for dead.
    return timedelta(seconds=2 * settings.WEBHOOKS_TIMEOUT_SECONDS + 10)


def _enqueue_deliveries(deliveries: list[Delivery]) -> bool:
    return _enqueue([delivery.pk for delivery in deliveries])


def _enqueue(delivery_ids: list[int], *, eta: datetime | None = None) -> bool:
    try:
        with current_app.producer_pool.acquire(block=True) as producer:
            # One immediate reconnect at most: kombu's default keeps the caller waiting seconds on a broker that is
            # down.
            producer.connection.ensure_connection(max_retries=1, interval_start=0, interval_step=0)
            for delivery_id in delivery_ids:
                current_app.send_task(DELIVERY_TASK, args=[delivery_id], producer=producer, retry=False, eta=eta)
    except Exception as exc:  # the broker's client raises many types; none may fail the caller, the sweeper re-queues
        logger.warning("webhooks: could not queue deliveries %s (%s); the sweeper will", delivery_ids, exc)
        return False
    return True


def _text(data: bytes) -> str:
    # PostgreSQL text cannot hold NUL.
    return data.decode("utf-8", errors="replace").replace("\x00", "\ufffd")


@dataclass(frozen=True)
class EventToEmit:
    merchant_id: uuid.UUID
    url: str | None
    name: str
    event_id: uuid.UUID
    body: dict
    invoice_id: uuid.UUID | None = None


def events_emit_many(events: list[EventToEmit]) -> int:
    """`event_emit` for a batch (a sweep closing many invoices at once), in two INSERTs instead of two per event.

    Same outbox rule: it runs inside the caller's transaction. The deliveries are left to the sweeper, which one
    task queued at commit wakes at once, instead of one queue message per delivery.
    """
    if not transaction.get_connection().in_atomic_block:
        raise transaction.TransactionManagementError("events_emit_many must run inside the transaction of the change it reports")
    if not events:
        return 0
    now = timezone.now()
    values_insert(Event, ("id", "merchant", "invoice_id", "name", "body", "created_at"), [
        (e.event_id, e.merchant_id, e.invoice_id, e.name, _body_text(e.body), now)
        for e in events
    ])
    deliveries = [
        Delivery(merchant_id=e.merchant_id, event_id=e.event_id, url=e.url, origin=safe_http.origin(e.url),
                 next_attempt_at=now, created_at=now)
        for e in events
        if e.url
    ]
    Delivery.objects.bulk_create(deliveries)
    if deliveries:
        transaction.on_commit(_enqueue_sweep)
    return len(events)


def _enqueue_sweep() -> None:
    try:
        current_app.send_task(SWEEP_TASK, retry=False)
    except Exception as exc:  # the broker's client raises many types; the beat sweep comes anyway
        logger.warning("webhooks: could not queue a sweep (%s); the beat sweep will", exc)
