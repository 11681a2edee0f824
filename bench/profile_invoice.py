"""Where the time of one `POST /merchants/:id/invoices` goes, in-process (no gunicorn, no network).

    .venv/bin/python bench/profile_invoice.py [--requests 300] [--top 35]

Runs after bench/create_invoices.py, against the database it left (`bench_payments`, its merchant and
token): the requests go through Django's full handler (middleware, DRF, the view) via django.test.Client
and create real invoices. Prints, for the invoice endpoint and the baseline:
  * the SQL statements of one request (django.test.utils.CaptureQueriesContext) and their database time;
  * mean wall time per request, split into time inside SQL calls and Python time;
  * a cProfile of `--requests` invoice requests, by cumulative and by own time.
The profile is also written to bench/results/profile_invoice.prof (open with `python -m pstats` or snakeviz).
"""

import argparse
import cProfile
import io
import json
import os
import pstats
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
RESULTS = ROOT / "bench" / "results"
sys.path.insert(0, str(ROOT))
from bench.common import cpu_seconds  # noqa: E402

os.environ.update(
    DATABASE_URL="postgres://postgres@127.0.0.1:5432/bench_payments",
    REDIS_URL="redis://127.0.0.1:6379/14",
    DJANGO_DEBUG="0",
    DJANGO_SECRET_KEY=os.environ.get("DJANGO_SECRET_KEY") or "bench-profile-" + "x" * 40,
    DJANGO_ALLOWED_HOSTS="127.0.0.1,localhost",
    DJANGO_SETTINGS_MODULE="bench.settings",
    RATES_MAX_AGE_SECONDS=str(30 * 24 * 3600),
    LOG_LEVEL="WARNING",
)

import django  # noqa: E402

django.setup()

from django.db import connection  # noqa: E402
from django.test import Client  # noqa: E402
from django.test.utils import CaptureQueriesContext  # noqa: E402

from merchants.models import Merchant  # noqa: E402

BODY = '{"price_currency":"BTC","base_price":"134.00","base_price_currency":"USD","order_id":"%s"}'


class SqlTimer:
    """A connection.execute_wrapper that times each SQL call (round trip + server; BEGIN is implicit in psycopg2)."""

    def __init__(self):
        self.seconds = 0.0
        self.calls = 0
        self.statements: list[tuple[str, float]] = []

    def __call__(self, execute, sql, params, many, context):
        started = time.perf_counter()
        try:
            return execute(sql, params, many, context)
        finally:
            elapsed = time.perf_counter() - started
            self.seconds += elapsed
            self.calls += 1
            self.statements.append((sql, elapsed))


_PACKAGES = (
    ("/django/db/models/sql/", "Django ORM: SQL compilation"),
    ("/django/db/models/", "Django ORM: models, querysets, fields"),
    ("/django/db/", "Django database backend"),
    ("/rest_framework/", "Django REST framework"),
    ("/oauth2_provider/", "django-oauth-toolkit, oauthlib"),
    ("/oauthlib/", "django-oauth-toolkit, oauthlib"),
    ("/django/test/", "django.test.Client (not in production)"),
    ("/django/", "Django: handler, middleware, utils"),
    ("/bip_utils/", "bip_utils, coincurve: address derivation"),
    ("/coincurve/", "bip_utils, coincurve: address derivation"),
    ("/Crypto/", "bip_utils, coincurve: address derivation"),
)


def _package(filename: str, name: str) -> str:
    if "psycopg" in name or "psycopg" in filename:
        return "psycopg: waiting for PostgreSQL (round trips + server time)"
    for marker, label in _PACKAGES:
        if marker in filename:
            return label
    if filename.startswith(str(ROOT)) and "/.venv/" not in filename:
        return "project code (own time only)"
    if filename == "~":
        return "C builtins (getattr, isinstance, ... mostly called by the ORM)"
    return "standard library and others"


def _backend_pid() -> int:
    with connection.cursor() as cursor:
        cursor.execute("SELECT pg_backend_pid()")
        return cursor.fetchone()[0]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--requests", type=int, default=300)
    parser.add_argument("--top", type=int, default=35)
    args = parser.parse_args()

    try:
        merchant = json.loads((RESULTS / "merchant.json").read_text())
    except OSError:
        sys.exit("no bench/results/merchant.json: run bench/create_invoices.py first")
    if not Merchant.objects.filter(id=merchant["merchant_id"]).exists():
        sys.exit("bench/results/merchant.json names no merchant in bench_payments: run bench/create_invoices.py first")
    token, merchant_id = merchant["access_token"], merchant["merchant_id"]
    client = Client(HTTP_AUTHORIZATION=f"Bearer {token}", HTTP_HOST="127.0.0.1")
    paths = {
        "invoice": f"/api/v1/merchants/{merchant_id}/invoices",
        "baseline": f"/bench/baseline?merchant_id={merchant_id}",
    }
    counter = iter(range(10**9))

    def post(name: str):
        response = client.post(paths[name], BODY % f"profile-{next(counter)}", content_type="application/json")
        if response.status_code != 201:
            sys.exit(f"{name} answered {response.status_code}: {response.content[:500]!r}")
        return response

    for name in paths:  # warm: imports, URL resolver, connection
        for _ in range(20):
            post(name)

    for name in paths:
        print(f"\n=== {name}: SQL of one request ===")
        timer = SqlTimer()
        with CaptureQueriesContext(connection) as captured, connection.execute_wrapper(timer):
            post(name)
        # CaptureQueriesContext also lists BEGIN/COMMIT, which do not pass through execute wrappers.
        timed = iter(timer.statements)
        for number, query in enumerate(captured.captured_queries, 1):
            sql = query["sql"]
            took = "" if sql in ("BEGIN", "COMMIT") else f"{next(timed)[1] * 1000:5.2f} ms"
            print(f"{number:>2}. {took:>8}  {sql[:140]}{' ...' if len(sql) > 140 else ''}")
        print(f"{len(captured)} statements, {timer.seconds * 1000:.2f} ms in SQL calls")

    print("\n=== mean per request (in-process, one client, no contention) ===")
    backend = _backend_pid()
    cpu: dict[str, float] = {}
    for name in paths:
        timer = SqlTimer()
        n = 300
        with connection.execute_wrapper(timer):
            started, cpu_started, backend_started = time.perf_counter(), time.process_time(), cpu_seconds(backend)
            for _ in range(n):
                post(name)
            wall = time.perf_counter() - started
            own, server = time.process_time() - cpu_started, cpu_seconds(backend) - backend_started
        cpu[name] = (own + server) / n
        print(
            f"{name:<9} {wall / n * 1000:6.2f} ms wall, {timer.seconds / n * 1000:6.2f} ms in {timer.calls / n:.0f} SQL calls "
            f"(round trips + server), {(wall - timer.seconds) / n * 1000:6.2f} ms Python; "
            f"CPU {own / n * 1000:5.2f} ms here + {server / n * 1000:5.2f} ms PostgreSQL"
        )
    print(f"CPU per request baseline/invoice: {cpu['baseline'] * 1000:.2f}/{cpu['invoice'] * 1000:.2f} ms = "
          f"{cpu['baseline'] / cpu['invoice']:.2f} (the throughput ratio both endpoints reach when they saturate the CPUs)")

    profiler = cProfile.Profile()
    profiler.enable()
    for _ in range(args.requests):
        post("invoice")
    profiler.disable()
    RESULTS.mkdir(parents=True, exist_ok=True)
    profiler.dump_stats(RESULTS / "profile_invoice.prof")
    print(f"\n=== cProfile of {args.requests} invoice requests: own time by package (cProfile inflates it ~1.5x) ===")
    stats = pstats.Stats(profiler)
    groups: dict[str, float] = {}
    for (filename, _line, name), (_cc, _nc, own, _cum, _callers) in stats.stats.items():
        key = _package(filename, name)
        groups[key] = groups.get(key, 0.0) + own
    total = sum(groups.values())
    for key, seconds in sorted(groups.items(), key=lambda item: -item[1])[:14]:
        print(f"{seconds / args.requests * 1000:6.2f} ms/request {100 * seconds / total:5.1f}%  {key}")

    out = io.StringIO()
    stats = pstats.Stats(profiler, stream=out).sort_stats("cumulative")
    stats.print_stats(rf"{ROOT}/(?!\.venv)", args.top)
    print(f"\n=== cProfile of {args.requests} invoice requests: project code only, by cumulative time ===")
    print(out.getvalue().split("\n", 3)[-1])
    for sort in ("cumulative", "tottime"):
        out = io.StringIO()
        stats = pstats.Stats(profiler, stream=out).strip_dirs().sort_stats(sort)
        stats.print_stats(args.top)
        print(f"\n=== cProfile of {args.requests} invoice requests, by {sort} ===")
        print(out.getvalue().split("\n", 3)[-1] if sort == "cumulative" else out.getvalue())
    print(json.dumps({"profile": str(RESULTS / "profile_invoice.prof")}))


if __name__ == "__main__":
    main()
