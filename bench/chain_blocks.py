"""The watcher's cost for one block of 10,000 outputs while 10,000, 100,000 and 1,000,000 invoices are open.

    .venv/bin/python bench/chain_blocks.py [--sizes 10000,100000,1000000] [--runs 3] [--outputs 10000]
                                           [--paying 100] [--steady 0,10,100] [--profile] [--keep-db]

Each run drops and recreates the PostgreSQL database `bench_chain_blocks`, migrates it (DJANGO_DEBUG=0, Redis
database 13 as cache and broker, emptied first), creates one merchant and starts its own Bitcoin SV regtest node
(chain.regtest.RegtestNode) in a temporary datadir, stopped and removed at the end, also on error.

The open invoices are made with set-based SQL: unpaid BSV invoices (6 confirmations required, the BSV default, and
a callback URL, as a shop would set), each with one PaymentOption holding a random P2PKH script, `watch_until` a
day ahead. The table grows from one size to the next between measurements, then ANALYZE. For each size, after one
unmeasured warm-up block at the first, and for each run:

  0. Settle: 6 empty blocks are mined and synced, which takes the previous block's invoices to ready_to_ship,
     then every payment is aged past the confirmations the watcher counts, as 1,000 blocks would: each measured
     block starts from the same history (see --steady for what a real history costs).
  1. 100 open invoices are picked at random; the node's wallet pays each its exact amount_due, among
     9,900 outputs to random scripts, shuffled, in 5 transactions of 2,000 outputs (the node's wallet refuses
     larger ones) built like tests/e2e/wallet.py's send_to_scripts: raw outputs, funded and signed by the node.
  2. `generate 1` mines them; the mempool is then empty, and the watcher's cursor is the block just below.
  3. `chain_sync(currency="BSV")`, the real one in this process, processes exactly that block; it is timed,
     with its parts: getblock RPC (HTTP + JSON decoding), other RPCs, turning transactions into outputs, the
     match query (outputs_record without what it calls), payments_record (the 100 payments), confirmations, the rest (commit,
     cursor, queueing the callbacks); SQL statements are counted per part, CPU per process.
  4. Checks: the sync saw one block and 100 matches; the Payment rows with that block hash are exactly the
     100 expected (txid, vout) pairs, and no other Payment row was added; those 100 invoices read `paid`.

The match query's plan (EXPLAIN ANALYZE of its first statement as the sync ran it) is shown per size. Then, at
the largest size, one block each in the steady state of a platform taking P = 0, 10 and 100 payments per block: the
node is first brought past 1,000 blocks (empty, synced: the catch-up time is shown), then open invoices are turned,
by SQL, into the payments of the last 999 blocks, P per block: `paid` while under 6 confirmations, ready_to_ship
deeper, every one still having its confirmations counted (CONFIRMATIONS_TRACKED = 1,000). Results also go to
bench/results/chain_blocks.json. Exits 1 when a check fails.
"""

import argparse
import json
import os
import random
import secrets
import signal
import statistics
import subprocess
import sys
import time
from collections import defaultdict
from contextlib import contextmanager
from datetime import UTC, datetime
from pathlib import Path

import redis

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
from bench.common import BenchError, admin_sql, bench_env, cpu_seconds, database_recreate, log, machine_busy  # noqa: E402
RESULTS = ROOT / "bench" / "results"
PYTHON = sys.executable

DB_NAME = "bench_chain_blocks"
REDIS_URL = "redis://127.0.0.1:6379/13"
OUTPUTS_PER_TX = 2000  # the SV node's wallet answers "Transaction too large" to fundrawtransaction at 10,000
NOISE_SATS = 1000  # each output to a random script
TARGET_SECONDS_AT_LARGEST = 1.0
CONFIRMATIONS_REQUIRED = 6  # the BSV default: a block takes a payment to `paid`, not further
TARGET_FLAT_RATIO = 1.5  # "flat": the largest size costs at most this much more than the smallest

COMMAND = " ".join(["cd /work/main && .venv/bin/python bench/chain_blocks.py", *sys.argv[1:]])


# --- setup -----------------------------------------------------------------------------------------------


def provision(env: dict[str, str]) -> None:
    log(f"recreating database {DB_NAME}, emptying {REDIS_URL}")
    database_recreate(DB_NAME)
    redis.Redis.from_url(REDIS_URL).flushdb()
    log("manage.py migrate")
    result = subprocess.run(
        [PYTHON, "manage.py", "migrate", "--no-input", "-v", "0"], cwd=ROOT, env=env, capture_output=True, text=True,
        timeout=300,
    )
    if result.returncode != 0:
        raise BenchError(f"manage.py migrate failed ({result.returncode}):\n{result.stdout}\n{result.stderr}")


# Open invoices: one INSERT ... SELECT per table, fed by one CTE, so a million rows take a minute, not an hour.
GROW_SQL = """
WITH src AS MATERIALIZED (
    SELECT g, gen_random_uuid() AS id, 20000 + (g %% 5000) AS due,
           '76a914' || substr(md5(random()::text || g::text) || md5(g::text || random()::text), 1, 40) || '88ac' AS script
    FROM generate_series(%(first)s, %(last)s) AS g
), invoices AS (
    INSERT INTO invoices_invoice (
        id, uid, merchant_id, type, status, flavour, base_price, base_price_text, base_price_currency,
        price_currency, price_base_units, spot_rate, inverse_spot_rate, usd_spot_rate, rate_sources, rate_fetched_at,
        service_fee_rate, crypto_payout_split, confirmations_required, callback_url, order_id, expires_at,
        created_at, updated_at
    )
    SELECT id, 'b' || lpad(to_hex(g), 15, '0'), %(merchant)s, 'invoice', 'unpaid', 'gocoin', 9.00, '9.00', 'USD',
           'BSV', due, 0.0222222222, 45.00, 45.00, '["fixed"]'::jsonb, now(),
           0, 100, %(confirmations)s, 'https://shop.example/callback', 'bench-' || g, now() + interval '2 hours',
           now(), now()
    FROM src
)
INSERT INTO invoices_paymentoption (
    invoice_id, merchant_id, currency, network, address, script_pubkey, derivation_index, amount_due, uri,
    watch_until, created_at
)
SELECT id, %(merchant)s, 'BSV', 'regtest', 'bench-address-' || g, script, g, due, 'bitcoin:bench-address-' || g,
       now() + interval '26 hours', now()
FROM src
"""


def grow_open_invoices(merchant_id: str, target: int) -> dict:
    """Adds unpaid invoices (with their options) until `target` are open; ANALYZE; returns what it took."""
    from django.db import connection

    with connection.cursor() as cursor:
        cursor.execute("SELECT count(*) FROM invoices_invoice WHERE status = 'unpaid'")
        open_now = cursor.fetchone()[0]
        cursor.execute("SELECT coalesce(max(derivation_index), 0) FROM invoices_paymentoption")
        last = cursor.fetchone()[0]
        missing = target - open_now
        started = time.perf_counter()
        if missing > 0:
            cursor.execute(GROW_SQL, {"first": last + 1, "last": last + missing, "merchant": merchant_id,
                                      "confirmations": CONFIRMATIONS_REQUIRED})
        inserted = time.perf_counter() - started
        cursor.execute("ANALYZE invoices_invoice")
        cursor.execute("ANALYZE invoices_paymentoption")
        cursor.execute("ANALYZE invoices_payment")
        cursor.execute("SELECT count(*) FROM invoices_invoice WHERE status = 'unpaid'")
        open_after = cursor.fetchone()[0]
        cursor.execute("SELECT count(*) FROM invoices_paymentoption WHERE watch_until > now()")
        watched = cursor.fetchone()[0]
    return {"added": max(missing, 0), "insert_s": round(inserted, 1), "open": open_after, "watched_options": watched,
            "total_s": round(time.perf_counter() - started, 1)}


# --- the block -------------------------------------------------------------------------------------------


def _varint(n: int) -> str:
    if n < 0xFD:
        return f"{n:02x}"
    if n <= 0xFFFF:
        return "fd" + n.to_bytes(2, "little").hex()
    return "fe" + n.to_bytes(4, "little").hex()


def send_to_scripts(rpc, outputs: list[tuple[str, int]]) -> tuple[str, dict[str, list[int]]]:
    """tests/e2e/wallet.py's send_to_scripts with amounts in satoshis: one transaction funded and signed by the
    node's wallet. Returns its txid and, per script, the output indexes it got (the wallet inserts its change)."""
    body = "".join(amount.to_bytes(8, "little").hex() + _varint(len(script) // 2) + script for script, amount in outputs)
    unfunded = "01000000" + "00" + _varint(len(outputs)) + body + "00000000"
    funded = rpc.call("fundrawtransaction", unfunded)["hex"]
    signed = rpc.call("signrawtransaction", funded)
    if not signed.get("complete"):
        raise BenchError(f"the node could not sign a transaction: {signed.get('errors')}")
    txid = rpc.call("sendrawtransaction", signed["hex"])
    decoded = rpc.call("decoderawtransaction", signed["hex"])
    vouts: dict[str, list[int]] = defaultdict(list)
    for output in decoded["vout"]:
        vouts[output["scriptPubKey"]["hex"]].append(int(output["n"]))
    return txid, vouts


def pick_open_options(count: int) -> list[tuple[int, str, str, int]]:
    from django.db import connection

    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT po.id, po.invoice_id::text, po.script_pubkey, po.amount_due FROM invoices_paymentoption po "
            "JOIN invoices_invoice i ON i.id = po.invoice_id "
            "WHERE i.status = 'unpaid' AND po.currency = 'BSV' AND po.watch_until > now() ORDER BY random() LIMIT %s",
            [count],
        )
        return cursor.fetchall()


def build_block(rpc, *, outputs: int, paying: int) -> dict:
    """Sends `outputs` outputs (`paying` of them to open options, exact amounts) and mines them into one block."""
    chosen = pick_open_options(paying)
    if len(chosen) != paying:
        raise BenchError(f"only {len(chosen)} open options to pay, {paying} wanted")
    paid = [(script, due) for _id, _inv, script, due in chosen]
    noise = [("76a914" + secrets.token_hex(20) + "88ac", NOISE_SATS) for _ in range(outputs - paying)]
    everything = paid + noise
    random.shuffle(everything)
    wanted = {script for script, _ in paid}
    expected: set[tuple[str, int]] = set()
    txids = []
    for start in range(0, len(everything), OUTPUTS_PER_TX):
        txid, vouts = send_to_scripts(rpc, everything[start : start + OUTPUTS_PER_TX])
        txids.append(txid)
        expected |= {(txid, n) for script, ns in vouts.items() if script in wanted for n in ns}
    block_hash = rpc.call("generate", 1)[0]
    left = rpc.call("getrawmempool")
    if left:
        raise BenchError(f"{len(left)} transaction(s) still in the mempool after mining: the block is not alone")
    return {
        "block_hash": block_hash,
        "height": rpc.call("getblockcount"),
        "txids": txids,
        "expected": expected,
        "invoice_ids": [invoice_id for _id, invoice_id, _s, _d in chosen],
        "scripts": [script for script, _ in everything],
    }


# --- timing ----------------------------------------------------------------------------------------------


class Timers:
    """Wall-clock seconds and SQL queries per part of a sync, by wrapping the functions the watcher calls (in this
    process only); a query counts for the innermost wrapped function running it."""

    def __init__(self) -> None:
        self.seconds: dict[str, float] = defaultdict(float)
        self.counts: dict[str, int] = defaultdict(int)
        self.queries: dict[str, int] = defaultdict(int)
        self.query_seconds: dict[str, float] = defaultdict(float)
        self._stack = ["other"]
        self.first_payment_sql: list[str] = []  # the statements of the payments_record call, for the report
        self.match_statement: tuple[str, object] | None = None  # the match query as run, for EXPLAIN

    @contextmanager
    def installed(self):
        import chain.rpc
        import chain.watcher
        import invoices.payments
        from django.db import connection

        patched = []

        def wrap(owner, name, key):
            original = getattr(owner, name)

            def timed(*args, **kwargs):
                part = key(args) if callable(key) else key
                self._stack.append(part)
                started = time.perf_counter()
                try:
                    return original(*args, **kwargs)
                finally:
                    self.seconds[part] += time.perf_counter() - started
                    self.counts[part] += 1
                    self._stack.pop()

            setattr(owner, name, timed)
            patched.append((owner, name, original))

        wrap(chain.rpc.NodeRpc, "call", lambda args: "getblock" if args[1] == "getblock" else "other_rpc")
        wrap(chain.rpc.NodeRpc, "batch", "other_rpc")
        wrap(chain.watcher, "outputs_of", "outputs_of")
        wrap(invoices.payments, "outputs_record", "match_query")
        wrap(invoices.payments, "payments_record", "payments_record")
        wrap(invoices.payments, "confirmations_update", "confirmations")

        def count_queries(execute, sql, params, many, context):
            started = time.perf_counter()
            try:
                return execute(sql, params, many, context)
            finally:
                self.queries[self._stack[-1]] += 1
                self.query_seconds[self._stack[-1]] += time.perf_counter() - started
                if self._stack[-1] == "payments_record" and self.counts["payments_record"] == 0:
                    self.first_payment_sql.append(" ".join(sql.split())[:160])
                if self._stack[-1] == "match_query" and self.match_statement is None:
                    self.match_statement = (sql, params)

        try:
            with connection.execute_wrapper(count_queries):
                yield self
        finally:
            for owner, name, original in reversed(patched):
                setattr(owner, name, original)


def timed_sync(node, *, profile_to: Path | None = None) -> dict:
    from django.db import connection

    from chain.watcher import chain_sync

    with connection.cursor() as cursor:
        cursor.execute("SELECT pg_backend_pid()")
        backend = cursor.fetchone()[0]
    node_pid = node._process.pid
    timers = Timers()
    profiler = None
    if profile_to is not None:
        import cProfile

        profiler = cProfile.Profile()
    before = (time.process_time(), cpu_seconds(backend), cpu_seconds(node_pid), machine_busy())
    with timers.installed():
        started = time.perf_counter()
        if profiler:
            profiler.enable()
        report = chain_sync(currency="BSV")
        if profiler:
            profiler.disable()
        total = time.perf_counter() - started
    busy_after = machine_busy()
    if profiler:
        profiler.dump_stats(profile_to)
    busy = (busy_after[0] - before[3][0]) / max(busy_after[1] - before[3][1], 1)
    s = timers.seconds
    parts = {
        "getblock": s["getblock"],
        "other_rpc": s["other_rpc"],
        "outputs_of": s["outputs_of"],
        "match_query": s["match_query"] - s["payments_record"],
        "payments_record": s["payments_record"],
        "confirmations": s["confirmations"],
    }
    parts["rest"] = total - sum(parts.values())
    queries = {part: timers.queries.get(part, 0) for part in ("match_query", "payments_record", "confirmations", "other")}
    cpu = {
        "bench_process": time.process_time() - before[0],
        "postgres_backend": cpu_seconds(backend) - before[1],
        "node": cpu_seconds(node_pid) - before[2],
    }
    return {
        "report": report,
        "total_s": total,
        "parts_s": parts,
        "payments_record_calls": timers.counts["payments_record"],
        "sql_queries": sum(timers.queries.values()),
        "sql_queries_by_part": queries,
        "sql_s": sum(timers.query_seconds.values()),
        "sql_s_by_part": dict(timers.query_seconds),
        "first_payments_record_sql": timers.first_payment_sql,
        "match_statement": timers.match_statement,
        "cpu_s": cpu,
        "machine_busy_pct": 100 * busy,
        # CPU of other programs during the sync, in CPUs (2.0 = both cores of a 2-core machine)
        "other_cpus": max(0.0, busy * os.cpu_count() - sum(cpu.values()) / max(total, 1e-9)),
    }


def tracked_invoices() -> int:
    """Invoices with a payment in a block whose confirmations are still counted: each block re-evaluates them."""
    from invoices.models import Payment
    from invoices.payments import CONFIRMATIONS_TRACKED

    return (
        Payment.objects.filter(currency="BSV", block_height__isnull=False, confirmations__lt=CONFIRMATIONS_TRACKED)
        .values("invoice_id").distinct().count()
    )


def settle(node) -> float:
    """Brings the payments of earlier measured blocks to the state a long-running platform has them in, so every
    measured block starts from the same history whatever was measured before it: mines CONFIRMATIONS_REQUIRED empty
    blocks and syncs them (the app moves their invoices to ready_to_ship), then ages every payment past the
    confirmations the watcher counts (CONFIRMATIONS_TRACKED), as that many more blocks would, without mining and
    syncing them before every measured block."""
    from chain.watcher import chain_sync

    started = time.perf_counter()
    node.mine(CONFIRMATIONS_REQUIRED)
    chain_sync(currency="BSV")
    age_payments(confirmed_only=False)
    return time.perf_counter() - started


def age_payments(*, confirmed_only: bool) -> int:
    from invoices.models import Payment
    from invoices.payments import CONFIRMATIONS_TRACKED

    payments = Payment.objects.filter(block_height__isnull=False, confirmations__lt=CONFIRMATIONS_TRACKED)
    if confirmed_only:
        payments = payments.filter(state="confirmed")
    return payments.update(confirmations=CONFIRMATIONS_TRACKED)


SEED_STEADY_SQL = """
WITH picked AS MATERIALIZED (
    SELECT po.id AS option_id, po.invoice_id, po.amount_due, row_number() OVER () - 1 AS n
    FROM invoices_paymentoption po JOIN invoices_invoice i ON i.id = po.invoice_id
    WHERE i.status = 'unpaid' AND po.watch_until > now()
    LIMIT %(count)s
), placed AS MATERIALIZED (
    SELECT *, n / %(per_block)s AS depth FROM picked
), moved AS (
    UPDATE invoices_invoice AS i
    SET status = CASE WHEN p.depth + 1 >= %(required)s THEN 'ready_to_ship' ELSE 'paid' END, updated_at = now()
    FROM placed AS p WHERE i.id = p.invoice_id
)
INSERT INTO invoices_payment (
    invoice_id, payment_option_id, merchant_id, currency, txid, vout, amount, confirmations, block_hash,
    block_height, state, first_seen_at, confirmed_at, updated_at
)
SELECT invoice_id, option_id, %(merchant)s, 'BSV', md5('steady' || n || random()::text) || md5(n::text), 0, amount_due,
       depth + 1, repeat('0', 64), %(tip)s - depth,
       CASE WHEN depth + 1 >= %(required)s THEN 'confirmed' ELSE 'seen' END, now(),
       CASE WHEN depth + 1 >= %(required)s THEN now() END, now()
FROM placed
"""


def seed_steady(merchant_id: str, per_block: int, tip: int) -> tuple[int, int]:
    """The payment history of a platform that took `per_block` payments in each of the last CONFIRMATIONS_TRACKED - 1
    blocks: open invoices become paid (payment fewer than the required confirmations deep) or ready_to_ship (deeper),
    one payment each, `per_block` per block. Returns (payments whose confirmations are counted, invoices waiting)."""
    from django.db import connection

    from invoices.payments import CONFIRMATIONS_TRACKED

    depths = min(CONFIRMATIONS_TRACKED - 1, tip)
    with connection.cursor() as cursor:
        cursor.execute(SEED_STEADY_SQL, {
            "count": per_block * depths, "per_block": per_block, "merchant": merchant_id, "tip": tip,
            "required": CONFIRMATIONS_REQUIRED,
        })
        seeded = cursor.rowcount
    return seeded, per_block * min(CONFIRMATIONS_REQUIRED - 1, depths)


def reset_history() -> None:
    """Every payment in a block leaves the counted window, confirmed, its invoice ready_to_ship (set directly: the
    history of the previous steady-state block must not weigh on the next)."""
    from django.db import connection

    from invoices.payments import CONFIRMATIONS_TRACKED

    with connection.cursor() as cursor:
        cursor.execute(
            "UPDATE invoices_payment SET confirmations = %s, confirmed_at = coalesce(confirmed_at, now()), "
            "state = CASE WHEN state = 'seen' THEN 'confirmed' ELSE state END "
            "WHERE block_height IS NOT NULL AND confirmations < %s",
            [CONFIRMATIONS_TRACKED, CONFIRMATIONS_TRACKED],
        )
        cursor.execute("UPDATE invoices_invoice SET status = 'ready_to_ship' WHERE status = 'paid'")


def verify(block: dict, sync: dict, paying: int, payments_before: int) -> list[str]:
    from invoices.models import Invoice, Payment

    problems = []
    report = sync["report"]
    if report.blocks != 1:
        problems.append(f"the sync processed {report.blocks} blocks, not 1")
    if report.matched != paying:
        problems.append(f"the sync matched {report.matched} outputs, not {paying}")
    recorded = set(Payment.objects.filter(block_hash=block["block_hash"]).values_list("txid", "vout"))
    if recorded != block["expected"]:
        problems.append(
            f"{len(recorded)} payments recorded in the block, {len(block['expected'])} expected; "
            f"{len(recorded - block['expected'])} unexpected, {len(block['expected'] - recorded)} missing"
        )
    added = Payment.objects.count() - payments_before
    if added != paying:
        problems.append(f"{added} Payment rows added, not {paying}")
    paid = Invoice.objects.filter(id__in=block["invoice_ids"], status="paid").count()
    if paid != paying:
        problems.append(f"{paid} of the {paying} paid invoices read 'paid'")
    return problems


def match_plan(statement: tuple[str, object] | None) -> dict:
    """EXPLAIN ANALYZE of the match query exactly as outputs_record ran it in the last measured block (its options
    are still watched, so it finds the same rows)."""
    from django.db import connection

    if statement is None:
        return {"nodes": ["(no match query seen)"], "plan": ""}
    sql, params = statement
    with connection.cursor() as cursor:
        cursor.execute("EXPLAIN (ANALYZE, BUFFERS) " + sql, params)
        lines = [row[0] for row in cursor.fetchall()]
    plan = "\n".join(lines)
    timing = {
        line.split(":")[0].strip(): line.split(":")[1].strip()
        for line in lines
        if line.startswith(("Planning Time", "Execution Time"))
    }
    nodes = [line.strip()[:160] for line in lines if "Scan" in line or "Join" in line or "Nested Loop" in line]
    return {"nodes": nodes, **timing, "plan": plan[:20_000]}


def measure(node, args, *, label: str, profile_to: Path | None = None) -> tuple[dict, list[str], dict]:
    from invoices.models import Payment

    tracked = tracked_invoices()
    block = build_block(node.rpc, outputs=args.outputs, paying=args.paying)
    payments_before = Payment.objects.count()
    sync = timed_sync(node, profile_to=profile_to)
    found = [f"{label}: {problem}" for problem in verify(block, sync, args.paying, payments_before)]
    outputs_in_block = sum(len(tx["vout"]) for tx in node.rpc.call("getblock", block["block_hash"], 2)["tx"])
    log(
        f"  {label}: {sync['total_s'] * 1000:.0f} ms for {outputs_in_block:,} outputs, {sync['report'].matched} matched, "
        f"{tracked} invoices tracked before; ms: {fmt_parts(sync['parts_s'])}; SQL {sync['sql_queries']} queries "
        f"{sync['sql_queries_by_part']} {sync['sql_s'] * 1000:.0f} ms; cpu s {fmt_cpu(sync['cpu_s'])}; "
        f"machine busy {sync['machine_busy_pct']:.0f}%, other programs {sync['other_cpus']:.1f} CPUs"
        + (f"; PROBLEMS: {found}" if found else "")
    )
    run = {
        "total_s": sync["total_s"], "parts_s": sync["parts_s"], "outputs": outputs_in_block,
        "transactions": len(block["txids"]) + 1, "matched": sync["report"].matched, "tracked_before": tracked,
        "sql_queries": sync["sql_queries"], "sql_queries_by_part": sync["sql_queries_by_part"], "sql_s": sync["sql_s"],
        "sql_s_by_part": sync["sql_s_by_part"], "first_payments_record_sql": sync["first_payments_record_sql"],
        "cpu_s": sync["cpu_s"], "cpu_s_total": sum(sync["cpu_s"].values()), "match_statement": sync["match_statement"],
        "machine_busy_pct": sync["machine_busy_pct"],
        "other_cpus": sync["other_cpus"],
    }
    return run, found, block


# --- main ------------------------------------------------------------------------------------------------


def fmt_parts(parts: dict[str, float]) -> str:
    return " ".join(f"{name} {1000 * value:.0f}" for name, value in parts.items())


def fmt_cpu(cpu: dict[str, float]) -> str:
    return " ".join(f"{name} {value:.2f}" for name, value in cpu.items())


def parse_args() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--sizes", default="10000,100000,1000000", help="open invoices at each measurement")
    parser.add_argument("--runs", type=int, default=3, help="blocks measured per size (the median is reported)")
    parser.add_argument("--outputs", type=int, default=10_000, help="outputs in each block, coinbase and change aside")
    parser.add_argument("--paying", type=int, default=100, help="outputs paying open invoices, among those")
    parser.add_argument(
        "--no-settle", action="store_true",
        help="between measured blocks, do not confirm and age the earlier blocks' payments (see settle())",
    )
    parser.add_argument(
        "--steady", default="0,10,100",
        help="after the sizes, one block at the largest size in the steady state of a platform taking this many "
        "payments per block (its last 1,000 blocks' payments still counted); comma-separated, empty to skip",
    )
    parser.add_argument("--keep-db", action="store_true", help=f"leave {DB_NAME} for inspection")
    parser.add_argument("--profile", action="store_true", help="cProfile the last block at the largest size")
    parser.add_argument("--output", type=Path, default=RESULTS / "chain_blocks.json")
    return parser.parse_args()


def bench(args: argparse.Namespace) -> int:
    sizes = [int(item) for item in args.sizes.split(",") if item.strip()]
    steady_rates = [int(item) for item in args.steady.split(",") if item.strip()]
    catch_up = None
    merchant_id = None
    node = None
    rows, history, problems = [], [], []
    try:
        from chain.regtest import RegtestNode
        from chain.watcher import chain_sync
        from merchants.services import merchant_create

        merchant, _owner = merchant_create(name="Bench chain", owner_email="chain-bench@example.com")
        merchant_id = str(merchant.id)
        node = RegtestNode()
        log("starting the regtest node")
        node.start()
        node.fund()
        os.environ.update(CHAIN_BSV_RPC_URL=node.rpc_url, CHAIN_BSV_NETWORK="regtest")
        chain_sync(currency="BSV")  # the cursor starts at the tip

        for index, size in enumerate(sizes):
            log(f"growing to {size:,} open invoices")
            grown = grow_open_invoices(merchant_id, size)
            log(f"  added {grown['added']:,} in {grown['insert_s']} s (+ANALYZE: {grown['total_s']} s); "
                f"{grown['open']:,} open, {grown['watched_options']:,} options watched")
            if index == 0:
                log("warm-up block (not measured)")
                _run, found, _block = measure(node, args, label="warm-up")
                problems += found
                grow_open_invoices(merchant_id, size)
            runs = []
            for run_number in range(1, args.runs + 1):
                if not args.no_settle:
                    log(f"  settled in {settle(node):.1f} s")
                run, found, block = measure(node, args, label=f"{size:,} open, run {run_number}")
                problems += found
                runs.append(run)
                grow_open_invoices(merchant_id, size)  # top up what this block paid
            if args.profile and index == len(sizes) - 1:
                if not args.no_settle:
                    settle(node)
                profile_to = RESULTS / "chain_blocks.prof"
                _run, found, _block = measure(node, args, label=f"{size:,} open, profiled (not counted)",
                                              profile_to=profile_to)
                problems += found
                grow_open_invoices(merchant_id, size)
                log(f"  profile: {profile_to}")
            plan = match_plan(runs[-1].pop("match_statement"))
            for run in runs:
                run.pop("match_statement", None)
            log(f"  match query plan at {size:,}: {plan['nodes']} planning {plan.get('Planning Time')}, "
                f"execution {plan.get('Execution Time')}")
            median_run = sorted(runs, key=lambda run: run["total_s"])[len(runs) // 2]
            rows.append({
                "open_invoices": size, "median_s": statistics.median(run["total_s"] for run in runs),
                "median_cpu_s": statistics.median(run["cpu_s_total"] for run in runs),
                "median_run": median_run, "runs": runs, "grow": grown, "match_plan": plan,
            })

        if steady_rates:
            from invoices.payments import CONFIRMATIONS_TRACKED

            reset_history()
            missing = CONFIRMATIONS_TRACKED + 10 - node.rpc.call("getblockcount")
            if missing > 0:
                node.mine(missing)
                started = time.perf_counter()
                caught_up = chain_sync(currency="BSV")
                catch_up = {"blocks": caught_up.blocks, "seconds": time.perf_counter() - started}
                log(f"catch-up: {caught_up.blocks} empty blocks synced in {catch_up['seconds']:.1f} s")
            for per_block in steady_rates:
                reset_history()
                tip = node.rpc.call("getblockcount")
                tracked, waiting = seed_steady(merchant_id, per_block, tip) if per_block else (0, 0)
                grow_open_invoices(merchant_id, sizes[-1])
                log(f"steady state, {per_block} payments per block: {tracked:,} payments counted, {waiting:,} invoices "
                    f"waiting for confirmations, {sizes[-1]:,} open")
                run, found, _block = measure(node, args, label=f"steady {per_block}/block")
                problems += found
                run.pop("match_statement", None)
                history.append({**run, "per_block": per_block, "tracked_seeded": tracked, "waiting_seeded": waiting})
                grow_open_invoices(merchant_id, sizes[-1])
    finally:
        if node is not None:
            log("stopping the regtest node")
            node.close()
        from django.db import connections

        connections.close_all()
        if not args.keep_db:
            admin_sql(f"DROP DATABASE IF EXISTS {DB_NAME} WITH (FORCE)")
        redis.Redis.from_url(REDIS_URL).flushdb()

    return report(args, rows, history, problems, catch_up)


def report(args, rows: list[dict], history: list[dict], problems: list[str], catch_up: dict | None) -> int:
    first, last = rows[0], rows[-1]
    ratio = last["median_s"] / first["median_s"]
    cpu_ratio = last["median_cpu_s"] / first["median_cpu_s"]
    target_met = last["median_s"] < TARGET_SECONDS_AT_LARGEST and ratio <= TARGET_FLAT_RATIO
    result = {
        "benchmark": "chain_blocks",
        "finished_at": datetime.now(UTC).isoformat(timespec="seconds"),
        "command": COMMAND,
        "cpus": os.cpu_count(),
        "outputs_per_block": args.outputs,
        "paying_outputs_per_block": args.paying,
        "settled": not args.no_settle,
        "rows": rows,
        "ratio_largest_over_smallest": ratio,
        "cpu_ratio_largest_over_smallest": cpu_ratio,
        "target": {"seconds_at_largest_max": TARGET_SECONDS_AT_LARGEST, "flat_ratio_max": TARGET_FLAT_RATIO,
                   "met": target_met},
        "steady_state_runs": history,
        "catch_up": catch_up,
        "problems": problems,
    }
    args.output.parent.mkdir(parents=True, exist_ok=True)
    args.output.write_text(json.dumps(result, indent=2, default=str) + "\n")

    names = list(first["median_run"]["parts_s"])
    print(f"\none block of {args.outputs:,} outputs ({args.paying} paying open invoices) processed by "
          f"chain_sync(currency='BSV'); median of {args.runs} blocks per size; {os.cpu_count()} CPUs\n")
    print(f"{'open invoices':>13} {'ms/block':>8} {'min':>5} {'max':>5} {'CPU ms':>6} | median block, ms: "
          + " ".join(f"{name:>8.8}" for name in names) + f" | {'SQL':>5} {'other CPUs':>10}")
    for row in rows:
        totals = [run["total_s"] * 1000 for run in row["runs"]]
        median_run = row["median_run"]
        print(f"{row['open_invoices']:>13,} {row['median_s'] * 1000:>8.0f} {min(totals):>5.0f} {max(totals):>5.0f}"
              f" {row['median_cpu_s'] * 1000:>6.0f} |                  "
              + " ".join(f"{1000 * median_run['parts_s'][name]:>8.0f}" for name in names)
              + f" | {median_run['sql_queries']:>5} {median_run['other_cpus']:>10.1f}")
    print("(CPU ms: this process + its PostgreSQL backend + the node, median; other CPUs: what other programs used "
          "during the median block, in CPUs of 2)")
    print(f"\nratio {last['open_invoices']:,} / {first['open_invoices']:,} open: {ratio:.2f} wall-clock, "
          f"{cpu_ratio:.2f} CPU (target: flat, at most {TARGET_FLAT_RATIO}, and under {TARGET_SECONDS_AT_LARGEST:g} s "
          f"at {last['open_invoices']:,}: {'met' if target_met else 'NOT met'})")
    noisy = [f"{row['open_invoices']:,}" for row in rows if row["median_run"]["other_cpus"] > 0.3]
    if noisy:
        print(f"note: other programs were busy during the median block at {', '.join(noisy)} open: wall-clock figures "
              "there are inflated; the CPU column is little affected")
    for row in rows:
        plan = row["match_plan"]
        print(f"match query at {row['open_invoices']:,}: {'; '.join(plan['nodes'])}; planning "
              f"{plan.get('Planning Time')}, execution {plan.get('Execution Time')}")
    if history:
        print(f"\none block at {last['open_invoices']:,} open, in the steady state of a platform taking P payments per block "
              f"({CONFIRMATIONS_REQUIRED} confirmations required; the payments of its last 1,000 blocks still counted):")
        print(f"{'P':>4} {'counted':>8} {'waiting':>7} {'ms/block':>8} {'confirmations ms':>16} {'its SQL':>7} {'CPU ms':>6}"
              f" {'other CPUs':>10}")
        for run in history:
            print(f"{run['per_block']:>4} {run['tracked_seeded']:>8,} {run['waiting_seeded']:>7,} {run['total_s'] * 1000:>8.0f}"
                  f" {run['parts_s']['confirmations'] * 1000:>16.0f} {run['sql_queries_by_part']['confirmations']:>7}"
                  f" {run['cpu_s_total'] * 1000:>6.0f} {run['other_cpus']:>10.1f}")
        print("(counted: seeded payments under 1,000 confirmations; waiting: seeded invoices still paid, not yet confirmed;"
              " each block also brings its own 100 payments)")
    if catch_up:
        print(f"catch-up before it: {catch_up['blocks']} empty blocks synced in {catch_up['seconds']:.1f} s")
    print(f"\npayments recorded: {'every block exactly the expected ' + str(args.paying) if not problems else 'PROBLEMS'}")
    for problem in problems:
        print(f"  {problem}")
    print(f"\nresults: {args.output.relative_to(ROOT) if args.output.is_relative_to(ROOT) else args.output}")
    print(f"re-run: {COMMAND}")
    return 1 if problems else 0


def _exit_on_signal(signum, _frame) -> None:
    # SIGTERM/SIGHUP end the run like Ctrl-C: through the finally blocks that stop the node and drop the database.
    raise SystemExit(128 + signum)


def main() -> int:
    args = parse_args()
    for signum in (signal.SIGTERM, signal.SIGHUP):
        signal.signal(signum, _exit_on_signal)
    env = bench_env(database=DB_NAME, redis_url=REDIS_URL)
    try:
        provision(env)
        os.environ.update(env)
        import django

        django.setup()
        return bench(args)
    except BenchError as exc:
        log(f"error: {exc}")
        return 1
    finally:
        if not args.keep_db:
            admin_sql(f"DROP DATABASE IF EXISTS {DB_NAME} WITH (FORCE)")


if __name__ == "__main__":
    sys.exit(main())
