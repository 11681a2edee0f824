"""The expiry sweep over 1,000,000 open invoices of which 100,000 are due, and over nothing due.

    .venv/bin/python bench/expiry_sweep.py [--invoices 1000000] [--due 100000]

Drops and recreates the PostgreSQL database `bench_expiry`, migrates it, and fills it with set-based SQL:
one merchant with a BTC wallet, `--invoices` unpaid invoices with a payment option each (a tenth of them
with a callback URL), `--due` of them past their window. It then times, in this order:

1. baseline: the bare guarded UPDATE that flips the due rows (what any sweep must at least do), rolled back;
2. `invoices_expire()`: the real sweep, which also writes each invoice's timeline entry and its callback
   event (and delivery, where a callback URL is set) in the same transaction;
3. `invoices_expire()` again, with nothing due.

Targets: the full sweep under 10 s, the empty sweep under 10 ms.
"""

import argparse
import os
import statistics
import subprocess
import sys
import time
from pathlib import Path

import psycopg2

ROOT = Path(__file__).resolve().parent.parent
DB_NAME = "bench_expiry"
ADMIN_DSN = "host=127.0.0.1 port=5432 user=postgres dbname=postgres"
XPUB = "zpub6rFR7y4Q2AijBEqTUquhVz398htDFrtymD9xYYfG1m4wAcvPhXNfE3EfH1r1ADqtfSdVCToUG868RvUUkgDKf31mGDtKsAYz2oz2AGutZYs"
ENV = {
    "DATABASE_URL": f"postgres://postgres@127.0.0.1:5432/{DB_NAME}",
    "REDIS_URL": "redis://127.0.0.1:6379/13",
    "DJANGO_DEBUG": "0",
    "DJANGO_SECRET_KEY": "bench-expiry-" + "x" * 40,
}


def recreate_database() -> None:
    admin = psycopg2.connect(ADMIN_DSN)
    admin.autocommit = True
    with admin.cursor() as cursor:
        cursor.execute(f"DROP DATABASE IF EXISTS {DB_NAME} WITH (FORCE)")
        cursor.execute(f"CREATE DATABASE {DB_NAME}")
    admin.close()
    subprocess.run([sys.executable, "manage.py", "migrate", "-v", "0"], cwd=ROOT, env={**os.environ, **ENV}, check=True)


FILL_SQL = """
INSERT INTO invoices_invoice (id, uid, merchant_id, type, status, flavour, base_price, base_price_text,
    base_price_currency, price_currency, price_base_units, spot_rate, inverse_spot_rate, usd_spot_rate,
    rate_sources, service_fee_rate, crypto_payout_split, confirmations_required, callback_url,
    expires_at, created_at, updated_at)
SELECT gen_random_uuid(), 'b' || n, %(merchant)s, 'invoice', 'unpaid', 'gocoin', 10, '10.00', 'USD', 'BTC', 15385,
    0.000015384615384615, 65000, 1, '["fixed"]', 0.01, 100, 2,
    CASE WHEN n %% 10 = 0 THEN 'https://shop.example.com/cb' END,
    CASE WHEN n <= %(due)s THEN now() - interval '1 minute' ELSE now() + interval '1 hour' END,
    now() - interval '20 minutes', now() - interval '20 minutes'
FROM generate_series(1, %(invoices)s) AS n;
INSERT INTO invoices_paymentoption (invoice_id, merchant_id, currency, network, address, script_pubkey,
    derivation_index, amount_due, uri, watch_until, created_at)
SELECT id, merchant_id, 'BTC', 'mainnet', 'bench-' || uid, '0014' || md5(uid) || '00000000', 0, 15385,
    'bitcoin:bench-' || uid, now() + interval '1 day', created_at
FROM invoices_invoice;
ANALYZE;
"""


def fill(invoices: int, due: int) -> None:
    import django

    django.setup()
    from merchants.services import merchant_create

    merchant, _owner = merchant_create(name="Bench", owner_email="bench@example.com")
    from django.db import connection

    with connection.cursor() as cursor:
        cursor.execute(FILL_SQL, {"merchant": str(merchant.id), "due": due, "invoices": invoices})


def timed(callable_) -> float:
    start = time.perf_counter()
    callable_()
    return time.perf_counter() - start


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--invoices", type=int, default=1_000_000)
    parser.add_argument("--due", type=int, default=100_000)
    args = parser.parse_args()
    os.environ.update(ENV)
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")
    sys.path.insert(0, str(ROOT))

    print(f"filling {args.invoices:,} open invoices, {args.due:,} due ...", flush=True)
    recreate_database()
    fill_seconds = timed(lambda: fill(args.invoices, args.due))

    from django.db import connection, transaction

    from invoices.lifecycle import invoices_expire

    def bare_update():
        with transaction.atomic():
            with connection.cursor() as cursor:
                cursor.execute(
                    "UPDATE invoices_invoice SET status = 'expired' WHERE status = 'unpaid' AND expires_at < now()"
                )
            transaction.set_rollback(True)

    baseline = timed(bare_update)
    moved: list[int] = []
    sweep = timed(lambda: moved.append(invoices_expire()))
    empty = [timed(invoices_expire) for _ in range(20)]

    with connection.cursor() as cursor:
        cursor.execute("SELECT count(*) FROM invoices_invoice WHERE status = 'expired'")
        expired = cursor.fetchone()[0]
        cursor.execute("SELECT count(*) FROM invoices_invoiceevent WHERE to_status = 'expired'")
        timeline = cursor.fetchone()[0]
        cursor.execute("SELECT count(*) FROM webhooks_event WHERE name = 'invoice_expired'")
        events = cursor.fetchone()[0]
        cursor.execute("SELECT count(*) FROM webhooks_delivery")
        deliveries = cursor.fetchone()[0]

    print(f"fill: {fill_seconds:.1f} s (not measured)")
    print(f"{'measure':<44} {'seconds':>10}")
    print(f"{'baseline: bare guarded UPDATE of the due rows':<44} {baseline:>10.3f}")
    print(f"{'invoices_expire(), ' + format(args.due, ',') + ' due':<44} {sweep:>10.3f}")
    print(f"{'invoices_expire(), nothing due (median of 20)':<44} {statistics.median(empty) * 1000:>8.2f} ms")
    print(f"ratio full sweep / bare UPDATE: {sweep / baseline:.1f}")
    print(f"moved {moved[0]:,}; expired rows {expired:,}; timeline entries {timeline:,}; "
          f"callback events {events:,}; deliveries {deliveries:,}")
    print(f"targets: full sweep < 10 s: {'met' if sweep < 10 else 'NOT met'}; "
          f"empty sweep < 10 ms: {'met' if statistics.median(empty) < 0.010 else 'NOT met'}")
    print("re-run: .venv/bin/python bench/expiry_sweep.py" + (
        f" --invoices {args.invoices} --due {args.due}" if (args.invoices, args.due) != (1_000_000, 100_000) else ""))
    if moved[0] != args.due or expired != args.due or timeline != args.due or events != args.due:
        sys.exit("the sweep did not move every due invoice exactly once")


if __name__ == "__main__":
    main()
