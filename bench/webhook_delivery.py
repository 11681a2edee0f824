"""Callback deliveries per second from one Celery worker to local endpoints, and the p95 delivery latency of healthy
endpoints with and without a tenth of the endpoints hanging past the timeout.

    .venv/bin/python bench/webhook_delivery.py [--deliveries 3000] [--rate 50] [--seconds 30] [--concurrency 64]

Needs PostgreSQL on 127.0.0.1:5432 (user postgres, trust; the database bench_webhooks is made anew) and redis-server
on PATH (a private one is started on a free port). One real `celery -A config worker --beat --pool=threads` delivers
to 20 endpoints, each its own HTTP server on 127.0.0.1 in this process; every callback is signed, claimed, logged
and recorded as in production.

1. Throughput: --deliveries events committed at once, spread over the 20 endpoints; deliveries per second from the
   commit to the arrival of the last one.
2. Latency: events emitted one per transaction at --rate per second for --seconds, spread over the 20 endpoints; an
   event's latency runs from its commit to its arrival. Four runs: all endpoints healthy; 2 of the 20 failing at once
   (HTTP 500); 2 of the 20 hanging (each sleeps past WEBHOOKS_TIMEOUT_SECONDS before answering); all healthy again.
   Printed: the p95 of the healthy endpoints in each run, and the ratios of the failing and the hanging runs to the
   mean of the two healthy ones (target for hanging: at most 1.25). Running the baseline on both sides keeps a
   machine whose load drifts from skewing the ratios. Failing endpoints cost only their retries (every failed
   attempt comes back 5 s later); hanging ones add their held threads and connections: the gap between the two
   ratios is what slowness itself costs the other endpoints.
"""

import argparse
import os
import statistics
import sys
import tempfile
import time
import uuid
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from tests.webhooks.processes import RedisServer, Worker, worker_env  # noqa: E402
from tests.webhooks.receiver import Answer, Receiver  # noqa: E402

DATABASE = "bench_webhooks"
ENDPOINTS = 20
HANGING = 2
SETTLE_SECONDS = 10


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--deliveries", type=int, default=3000)
    parser.add_argument("--rate", type=int, default=50, help="events per second in the latency runs")
    parser.add_argument("--seconds", type=int, default=30, help="length of each latency run")
    parser.add_argument("--concurrency", type=int, default=64, help="worker threads")
    args = parser.parse_args()

    database_recreate()
    redis = RedisServer()
    redis.start()
    os.environ.update(
        DJANGO_SETTINGS_MODULE="config.settings",
        DATABASE_URL=f"postgres://postgres@127.0.0.1:5432/{DATABASE}",
        REDIS_URL=redis.url,
        WEBHOOKS_ALLOW_LOOPBACK="1",
        LOG_LEVEL="ERROR",
    )
    import django

    django.setup()
    from django.conf import settings
    from django.core.management import call_command

    from merchants.services import merchant_create

    call_command("migrate", verbosity=0)
    merchant, _user = merchant_create(name="Bench shop", owner_email="bench@example.com")
    endpoints = [Receiver() for _ in range(ENDPOINTS)]
    timeout = settings.WEBHOOKS_TIMEOUT_SECONDS
    for endpoint in endpoints[:HANGING]:
        endpoint.script("/failing", Answer(status=500))
        endpoint.script("/hanging", Answer(delay=timeout + 1))
    log_dir = Path(tempfile.mkdtemp(prefix="bench-webhooks-"))
    # As in production: DEBUG off (with it on, Django keeps every SQL statement of a worker thread in memory).
    env = worker_env(
        database=settings.DATABASES["default"], broker_url=redis.url, LOG_LEVEL="ERROR",
        DJANGO_DEBUG="0", DJANGO_SECRET_KEY="bench-webhooks-" + "x" * 40,
    )
    worker = Worker("bench", env, log_dir, concurrency=args.concurrency, loglevel="WARNING")
    load_before = os.getloadavg()[0]
    try:
        emit_burst(merchant, endpoints, "/warmup", 100)
        per_second = emit_burst(merchant, endpoints, "/burst", args.deliveries)
        settle()
        before = emit_paced(merchant, endpoints, "/before", args.rate, args.seconds)
        failing = emit_paced(merchant, endpoints, "/failing", args.rate, args.seconds)
        settle()
        hanging = emit_paced(merchant, endpoints, "/hanging", args.rate, args.seconds)
        settle()
        after = emit_paced(merchant, endpoints, "/after", args.rate, args.seconds)
    finally:
        worker.kill()
        redis.stop()
        for endpoint in endpoints:
            endpoint.close()

    baseline = (p95(before) + p95(after)) / 2
    print(f"one worker: --pool=threads --concurrency={args.concurrency}; WEBHOOKS_TIMEOUT_SECONDS={timeout}, "
          f"WEBHOOKS_ENDPOINT_CONCURRENCY={settings.WEBHOOKS_ENDPOINT_CONCURRENCY}; {os.cpu_count()} CPUs, "
          f"load average {load_before:.1f} before, {os.getloadavg()[0]:.1f} after")  # fmt: skip
    print(f"throughput: {args.deliveries} deliveries at {per_second:.0f}/s (target 200/s)")
    print(f"latency at {args.rate} events/s for {args.seconds} s each, healthy endpoints only:")
    print(f"  all {ENDPOINTS} healthy:         p50 {ms(before, 50)} ms, p95 {ms(before, 95)} ms")
    print(f"  {HANGING} of {ENDPOINTS} failing (500):  p50 {ms(failing, 50)} ms, p95 {ms(failing, 95)} ms")
    print(f"  {HANGING} of {ENDPOINTS} hanging:        p50 {ms(hanging, 50)} ms, p95 {ms(hanging, 95)} ms")
    print(f"  all {ENDPOINTS} healthy again:   p50 {ms(after, 50)} ms, p95 {ms(after, 95)} ms")
    print(f"  p95 ratio failing / healthy: {p95(failing) / baseline:.2f}")
    print(f"  p95 ratio hanging / healthy: {p95(hanging) / baseline:.2f} (target <= 1.25)")
    print(f"worker log: {worker.log}")
    print("re-run: .venv/bin/python bench/webhook_delivery.py " + " ".join(sys.argv[1:]))


def database_recreate() -> None:
    import psycopg2

    connection = psycopg2.connect(host="127.0.0.1", port=5432, user="postgres", dbname="postgres")
    connection.autocommit = True
    with connection.cursor() as cursor:
        cursor.execute(f"DROP DATABASE IF EXISTS {DATABASE} WITH (FORCE)")
        cursor.execute(f"CREATE DATABASE {DATABASE}")
    connection.close()


def settle() -> None:
    """Wait until the worker has recorded every delivery but the retries of the failing and hanging endpoints', then
    a little longer."""
    from webhooks.models import Delivery

    retrying = Delivery.objects.filter(url__endswith="/failing") | Delivery.objects.filter(url__endswith="/hanging")
    while Delivery.objects.filter(state="pending").exclude(pk__in=retrying.values("pk")).exists():
        time.sleep(0.2)
    time.sleep(SETTLE_SECONDS)


def emit_burst(merchant, endpoints: list[Receiver], path: str, count: int) -> float:
    """Commit `count` events at once and return deliveries per second until the last one arrived."""
    from django.db import transaction

    from webhooks.services import event_emit

    started = time.time()
    with transaction.atomic():
        for n in range(count):
            url = endpoints[n % ENDPOINTS].url(path)
            event_emit(merchant=merchant, url=url, name="bench", event_id=uuid.uuid4(), body={"n": n})
    return count / (max(arrivals(endpoints, path, count).values()) - started)


def emit_paced(merchant, endpoints: list[Receiver], path: str, rate: int, seconds: int) -> list[float]:
    """Emit one event per transaction at `rate` per second; the latencies, in seconds, at the healthy endpoints."""
    from django.db import transaction

    from webhooks.services import event_emit

    committed: dict[str, float] = {}
    started = time.time()
    for n in range(rate * seconds):
        time.sleep(max(0.0, started + n / rate - time.time()))
        endpoint = n % ENDPOINTS
        with transaction.atomic():
            event = event_emit(
                merchant=merchant, url=endpoints[endpoint].url(path), name="bench", event_id=uuid.uuid4(), body={}
            )
        if path not in ("/failing", "/hanging") or endpoint >= HANGING:
            committed[str(event.id)] = time.time()
    healthy = endpoints[HANGING:] if path in ("/failing", "/hanging") else endpoints
    arrived = arrivals(healthy, path, len(committed))
    return [arrived[webhook_id] - at for webhook_id, at in committed.items()]


def arrivals(endpoints: list[Receiver], path: str, count: int) -> dict[str, float]:
    """webhook-id -> arrival time of the first `count` requests to `path` at the endpoints; waits for them."""
    deadline = time.time() + 120
    while True:
        arrived = {
            request.headers["webhook-id"]: request.at for endpoint in endpoints for request in endpoint.received(path)
        }
        if len(arrived) >= count:
            return arrived
        if time.time() > deadline:
            raise SystemExit(f"{path}: only {len(arrived)} of {count} deliveries arrived in 120 s")
        time.sleep(0.05)


def p95(values: list[float]) -> float:
    return statistics.quantiles(values, n=100)[94]


def ms(values: list[float], p: int) -> str:
    return f"{statistics.quantiles(values, n=100)[p - 1] * 1000:.0f}"


if __name__ == "__main__":
    main()
