"""Detection latency: from `sendtoaddress` to the invoice reading `paid` through the API, with and without ZMQ.

    .venv/bin/python bench/chain_detection.py [--payments 50] [--baseline-payments 10] [--poll-ms 10]
                                              [--baseline-poll-seconds 5] [--background-tps 0] [--keep-db]

Each run drops and recreates the PostgreSQL database `bench_chain_detection`, migrates it (DJANGO_DEBUG=0, Redis
database 12 as cache and broker, emptied first), stores the fixed spot rates, provisions a merchant with a BSV
regtest wallet (tests.factories.make_tenant) and starts, all on 127.0.0.1:

  * its own Bitcoin SV regtest node (chain.regtest.RegtestNode, temporary datadir, ZMQ rawtx + hashblock),
    whose wallet plays the customer;
  * gunicorn serving the platform (config.wsgi, gthread, 2 workers x 4 threads);
  * the real watcher, `manage.py watch_chain --currency BSV`, as a subprocess.

ZMQ phase: the watcher runs with CHAIN_BSV_ZMQ_URL set (and the default CHAIN_POLL_SECONDS=5 as its fallback).
For each of 50 invoices, created with `POST /api/v1/merchants/<id>/invoices` (not timed): t0, `sendtoaddress`
of the exact price to its address, then `GET /api/v1/invoices/<id>` every 10 ms on a kept-alive connection until
the status is `paid`; the latency is the time from t0 to that answer. When the watcher stored the payment
(Payment.first_seen_at, same machine clock) splits it into detection and reading.

Baseline, same run: the watcher is restarted without CHAIN_BSV_ZMQ_URL and with CHAIN_POLL_SECONDS=5 (poll
only), for 10 payments, each after a random pause of up to one poll interval (so payments land anywhere in the
watcher's cycle; with ZMQ the pause is 0.2-0.4 s). With --background-tps N, a thread sends N other transactions a
second throughout, as a live chain's mempool traffic (each one is a ZMQ notification and a transaction to decode).

Printed: p50, p95, min, max per phase and the ratio of the p50s. Everything is stopped at the end, also on error.
Results also go to bench/results/chain_detection.json. Exits 1 on any error or timeout.
"""

import argparse
import http.client
import json
import os
import random
import signal
import statistics
import subprocess
import sys
import time
from datetime import UTC, datetime
from decimal import Decimal
from pathlib import Path

import redis

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
from bench.common import BenchError, admin_sql, bench_env, database_recreate, free_port, log, machine_busy, manage  # noqa: E402
RESULTS = ROOT / "bench" / "results"
PYTHON = sys.executable

DB_NAME = "bench_chain_detection"
REDIS_URL = "redis://127.0.0.1:6379/12"
TARGET_P50_SECONDS = 1.0
PAYMENT_TIMEOUT_SECONDS = 30.0
GAP_SECONDS = (0.2, 0.4)  # idle time between payments, so one payment's sync is over before the next is sent
COINS_NEEDED = 120  # confirmed coins for the payments (the background traffic spends its own change)

COMMAND = " ".join(["cd /work/main && .venv/bin/python bench/chain_detection.py", *sys.argv[1:]])


# --- setup -----------------------------------------------------------------------------------------------


def provision(env: dict[str, str]) -> None:
    log(f"recreating database {DB_NAME}, emptying {REDIS_URL}")
    database_recreate(DB_NAME)
    redis.Redis.from_url(REDIS_URL).flushdb()
    log("manage.py migrate, refresh_rates")
    manage(env, "migrate", "--no-input", "-v", "0")
    manage(env, "refresh_rates")


class Process:
    """A child process in its own session, logging to a file; stopped with SIGTERM, then SIGKILL."""

    def __init__(self, name: str, command: list[str], env: dict[str, str]) -> None:
        self.name = name
        self.log_path = RESULTS / f"chain_detection_{name}.log"
        self._handle = open(self.log_path, "w")
        self.process = subprocess.Popen(
            command, cwd=ROOT, env=env, stdout=self._handle, stderr=subprocess.STDOUT, start_new_session=True
        )

    def alive(self) -> bool:
        return self.process.poll() is None

    def log_tail(self, lines: int = 30) -> str:
        try:
            return "\n".join(self.log_path.read_text(errors="replace").splitlines()[-lines:])
        except OSError:
            return ""

    def stop(self) -> None:
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)
            try:
                self.process.wait(timeout=20)
            except subprocess.TimeoutExpired:
                os.killpg(self.process.pid, signal.SIGKILL)  # its own process group: only this child and its own
                self.process.wait(timeout=10)
        self._handle.close()


class Api:
    """One kept-alive HTTP/1.1 connection to the platform, as a shop's backend would hold."""

    def __init__(self, port: int, token: str) -> None:
        self.port = port
        self.headers = {"Authorization": f"Bearer {token}", "Accept": "application/json"}
        self.connection: http.client.HTTPConnection | None = None

    def request(self, method: str, path: str, body: dict | None = None) -> tuple[int, dict]:
        headers = dict(self.headers)
        data = None
        if body is not None:
            data = json.dumps(body).encode()
            headers["Content-Type"] = "application/json"
        for attempt in (1, 2):
            if self.connection is None:
                self.connection = http.client.HTTPConnection("127.0.0.1", self.port, timeout=30)
            try:
                self.connection.request(method, path, body=data, headers=headers)
                response = self.connection.getresponse()
                payload = response.read()
                return response.status, json.loads(payload) if payload else {}
            except (OSError, http.client.HTTPException):
                self.connection.close()
                self.connection = None
                if attempt == 2:
                    raise
        raise AssertionError("unreachable")

    def close(self) -> None:
        if self.connection is not None:
            self.connection.close()


def wait_for_server(api: Api, server: Process, timeout: float = 60.0) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if not server.alive():
            raise BenchError(f"gunicorn exited:\n{server.log_tail()}")
        try:
            status, _ = api.request("GET", "/api/v1/user")
            if status == 200:
                return
            raise BenchError(f"GET /api/v1/user with the bench token answered {status}")
        except OSError:
            time.sleep(0.2)
    raise BenchError(f"gunicorn did not answer within {timeout:.0f} s:\n{server.log_tail()}")


def start_watcher(env: dict[str, str], *, zmq_url: str | None, poll_seconds: int, name: str) -> Process:
    watcher_env = dict(env, CHAIN_POLL_SECONDS=str(poll_seconds))
    watcher_env.pop("CHAIN_BSV_ZMQ_URL", None)
    if zmq_url:
        watcher_env["CHAIN_BSV_ZMQ_URL"] = zmq_url
    return Process(name, [PYTHON, "manage.py", "watch_chain", "--currency", "BSV"], watcher_env)


def wait_for_watcher(watcher: Process, tip: int, timeout: float = 60.0) -> None:
    """Until the watcher's cursor is at the node's tip (its first sync is done)."""
    from chain.models import ChainCursor

    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if not watcher.alive():
            raise BenchError(f"the watcher exited:\n{watcher.log_tail()}")
        cursor = ChainCursor.objects.filter(currency="BSV").first()
        if cursor is not None and cursor.height >= tip:
            return
        time.sleep(0.1)
    raise BenchError(f"the watcher did not reach height {tip} within {timeout:.0f} s:\n{watcher.log_tail()}")


# --- measurement -----------------------------------------------------------------------------------------


def one_payment(api: Api, node, merchant_id: str, n: int, poll_seconds: float, watcher: Process) -> dict:
    from invoices.models import Payment

    status, invoice = api.request(
        "POST", f"/api/v1/merchants/{merchant_id}/invoices",
        {"price_currency": "BSV", "base_price": f"{random.randint(1, 9)}.{n % 100:02d}", "base_price_currency": "USD",
         "order_id": f"detect-{n}"},
    )
    if status != 201:
        raise BenchError(f"POST invoice answered {status}: {invoice}")
    path = f"/api/v1/invoices/{invoice['id']}"
    t0_wall = time.time()
    t0 = time.perf_counter()
    txid = node.rpc.call("sendtoaddress", invoice["payment_address"], invoice["price"])
    sent = time.perf_counter() - t0
    polls = 0
    while True:
        status, body = api.request("GET", path)
        polls += 1
        if status != 200:
            raise BenchError(f"GET {path} answered {status}: {body}")
        if body["status"] == "paid":
            latency = time.perf_counter() - t0
            break
        if body["status"] != "unpaid":
            raise BenchError(f"invoice {invoice['id']} went to {body['status']}, not paid")
        if time.perf_counter() - t0 > PAYMENT_TIMEOUT_SECONDS:
            raise BenchError(f"invoice {invoice['id']} not paid {PAYMENT_TIMEOUT_SECONDS:g} s after sendtoaddress "
                             f"(txid {txid}); watcher log:\n{watcher.log_tail()}")
        time.sleep(poll_seconds)
    payment = Payment.objects.get(txid=txid, invoice_id=invoice["id"])
    if payment.amount != int(Decimal(invoice["price"]) * 100_000_000) or body["crypto_balance_due"] != "0.00000000":
        raise BenchError(f"invoice {invoice['id']}: payment of {payment.amount} recorded for a price of {invoice['price']}")
    return {
        "invoice_id": invoice["id"],
        "txid": txid,
        "latency_s": latency,
        "sendtoaddress_s": sent,
        "recorded_after_s": payment.first_seen_at.timestamp() - t0_wall,  # the watcher's clock: same machine
        "polls": polls,
    }


def phase(name: str, count: int, api: Api, node, merchant_id: str, poll_seconds: float, watcher: Process,
          gap: tuple[float, float]) -> list[dict]:
    results = []
    for n in range(count):
        time.sleep(random.uniform(*gap))
        result = one_payment(api, node, merchant_id, n + (0 if name == "zmq" else 10_000), poll_seconds, watcher)
        results.append(result)
        log(f"  {name} {n + 1}/{count}: {result['latency_s'] * 1000:.0f} ms (sendtoaddress {result['sendtoaddress_s'] * 1000:.0f} ms, "
            f"recorded after {result['recorded_after_s'] * 1000:.0f} ms, {result['polls']} GETs)")
    return results


class Background:
    """Other people's transactions: `sendtoaddress` of 0.001 to a wallet address `tps` times a second, in a thread
    with its own RPC connection, so the node keeps publishing rawtx notifications as a live chain does."""

    def __init__(self, rpc_url: str, tps: float) -> None:
        import threading

        from chain.rpc import NodeRpc

        self.tps = tps
        self.rpc = NodeRpc(rpc_url)
        self.address = self.rpc.call("getnewaddress")
        self.sent = 0
        self.errors: list[str] = []
        self.stop_event = threading.Event()
        self.thread = threading.Thread(target=self._run, name="background-tx", daemon=True)

    def __enter__(self) -> "Background":
        if self.tps > 0:
            self.thread.start()
        return self

    def __exit__(self, *exc_info) -> None:
        self.stop_event.set()
        if self.thread.is_alive():
            self.thread.join(timeout=10)
        self.rpc.close()

    def _run(self) -> None:
        from chain.errors import ChainError

        interval = 1.0 / self.tps
        next_at = time.perf_counter()
        while not self.stop_event.is_set():
            try:
                self.rpc.call("sendtoaddress", self.address, "0.001")
                self.sent += 1
            except ChainError as exc:
                self.errors.append(str(exc))
            next_at += interval
            self.stop_event.wait(max(0.0, next_at - time.perf_counter()))


def percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    if len(ordered) == 1:
        return ordered[0]
    position = (len(ordered) - 1) * q
    low = int(position)
    high = min(low + 1, len(ordered) - 1)
    return ordered[low] + (ordered[high] - ordered[low]) * (position - low)


def summary(results: list[dict]) -> dict:
    latencies = [r["latency_s"] for r in results]
    recorded = [r["recorded_after_s"] for r in results]
    return {
        "payments": len(results),
        "p50_s": percentile(latencies, 0.5),
        "p95_s": percentile(latencies, 0.95),
        "min_s": min(latencies),
        "max_s": max(latencies),
        "mean_s": statistics.fmean(latencies),
        "recorded_p50_s": percentile(recorded, 0.5),
        "sendtoaddress_p50_s": percentile([r["sendtoaddress_s"] for r in results], 0.5),
        "gets_per_payment_p50": percentile([r["polls"] for r in results], 0.5),
    }


# --- main ------------------------------------------------------------------------------------------------


def parse_args() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--payments", type=int, default=50, help="payments measured with ZMQ")
    parser.add_argument("--baseline-payments", type=int, default=10, help="payments measured polling only (0: skip)")
    parser.add_argument("--baseline-poll-seconds", type=int, default=5, help="CHAIN_POLL_SECONDS of the baseline")
    parser.add_argument("--poll-ms", type=float, default=10.0, help="pause between two GETs of the invoice")
    parser.add_argument(
        "--background-tps", type=float, default=0.0,
        help="other transactions per second sent during the measurements (default 0: a quiet chain)",
    )
    parser.add_argument("--workers", type=int, default=2, help="gunicorn gthread workers")
    parser.add_argument("--threads", type=int, default=4, help="threads per gunicorn worker")
    parser.add_argument("--keep-db", action="store_true", help=f"leave {DB_NAME} for inspection")
    parser.add_argument("--output", type=Path, default=RESULTS / "chain_detection.json")
    return parser.parse_args()


def bench(args: argparse.Namespace, env: dict[str, str]) -> int:
    from chain.regtest import RegtestNode
    from tests.factories import make_tenant

    RESULTS.mkdir(parents=True, exist_ok=True)
    node = RegtestNode()
    children: list[Process] = []
    api = None
    phases: dict[str, dict] = {}
    try:
        log("starting the regtest node")
        node.start()
        node.fund()
        node.mine(COINS_NEEDED)  # that many more mature coinbases: each payment spends a confirmed coin of its own
        env.update(CHAIN_BSV_RPC_URL=node.rpc_url)
        os.environ.update(CHAIN_BSV_RPC_URL=node.rpc_url)
        tenant = make_tenant("Detection Shop", "detect@example.com", account=7, wallets=("BSV",), network="regtest")
        merchant_id = str(tenant.merchant.id)

        port = free_port()
        server = Process("gunicorn", [
            PYTHON, "-m", "gunicorn", "config.wsgi:application", "--bind", f"127.0.0.1:{port}",
            "--worker-class", "gthread", "--workers", str(args.workers), "--threads", str(args.threads),
            "--keep-alive", "30", "--worker-tmp-dir", "/dev/shm", "--log-level", "warning", "--error-logfile", "-",
        ], env)
        children.append(server)
        api = Api(port, tenant.token)
        wait_for_server(api, server)
        log(f"gunicorn on 127.0.0.1:{port}")

        plan = [("zmq", args.payments, node.zmq_url, 5)]
        if args.baseline_payments:
            plan.append(("poll", args.baseline_payments, None, args.baseline_poll_seconds))
        for name, count, zmq_url, poll_seconds in plan:
            watcher = start_watcher(env, zmq_url=zmq_url, poll_seconds=poll_seconds, name=f"watcher_{name}")
            children.append(watcher)
            wait_for_watcher(watcher, node.rpc.call("getblockcount"))
            time.sleep(1.0)  # ZMQ subscriptions connect asynchronously: let the socket join before the first payment
            how = f"ZMQ + poll every {poll_seconds} s" if zmq_url else f"poll only, every {poll_seconds} s"
            log(f"{name}: {count} payments, watcher: {how}" + (f" ({zmq_url})" if zmq_url else ""))
            busy_before = machine_busy()
            # Polling only, a payment sent right after the previous one was seen would always wait a whole interval:
            # a random pause as long as the interval puts it anywhere in the watcher's cycle, as real payments are.
            gap = GAP_SECONDS if zmq_url else (GAP_SECONDS[0], GAP_SECONDS[0] + poll_seconds)
            with Background(node.rpc_url, args.background_tps) as background:
                started = time.perf_counter()
                results = phase(name, count, api, node, merchant_id, args.poll_ms / 1000, watcher, gap)
                background_tps = background.sent / (time.perf_counter() - started)
            busy_after = machine_busy()
            if background.errors:
                log(f"  background transactions: {len(background.errors)} failed, first: {background.errors[0]}")
            phases[name] = {
                "watcher": how, "results": results, **summary(results), "background_tps": background_tps,
                "mempool_size_after": len(node.rpc.call("getrawmempool")),
                "machine_busy_pct": 100 * (busy_after[0] - busy_before[0]) / max(busy_after[1] - busy_before[1], 1),
            }
            watcher.stop()
            if watcher.process.returncode not in (0, -signal.SIGTERM):
                raise BenchError(f"the watcher exited with {watcher.process.returncode}:\n{watcher.log_tail()}")
    finally:
        if api is not None:
            api.close()
        for child in reversed(children):
            child.stop()
        log("stopping the regtest node")
        node.close()
        from django.db import connections

        connections.close_all()
        if not args.keep_db:
            admin_sql(f"DROP DATABASE IF EXISTS {DB_NAME} WITH (FORCE)")
        redis.Redis.from_url(REDIS_URL).flushdb()

    zmq = phases["zmq"]
    poll = phases.get("poll")
    ratio = zmq["p50_s"] / poll["p50_s"] if poll else None
    met = zmq["p50_s"] < TARGET_P50_SECONDS
    report = {
        "benchmark": "chain_detection",
        "finished_at": datetime.now(UTC).isoformat(timespec="seconds"),
        "command": COMMAND,
        "cpus": os.cpu_count(),
        "server": f"gunicorn gthread, {args.workers} workers x {args.threads} threads",
        "poll_ms": args.poll_ms,
        "background_tps_requested": args.background_tps,
        "phases": phases,
        "ratio_p50_zmq_over_poll": ratio,
        "target": {"p50_max_s": TARGET_P50_SECONDS, "met": met},
    }
    args.output.parent.mkdir(parents=True, exist_ok=True)
    args.output.write_text(json.dumps(report, indent=2) + "\n")

    print(f"\nsendtoaddress -> GET /api/v1/invoices/<id> reads 'paid' (GET every {args.poll_ms:g} ms, kept-alive "
          f"connection); gunicorn gthread {args.workers}x{args.threads}; {os.cpu_count()} CPUs\n")
    print(f"{'watcher':<24} {'payments':>8} {'p50 ms':>7} {'p95 ms':>7} {'min ms':>7} {'max ms':>7}"
          f" | {'recorded p50':>12} {'send p50':>8} {'other tx/s':>10} {'mempool':>7}  machine busy")
    for data in phases.values():
        print(f"{data['watcher']:<24} {data['payments']:>8} {data['p50_s'] * 1000:>7.0f} {data['p95_s'] * 1000:>7.0f}"
              f" {data['min_s'] * 1000:>7.0f} {data['max_s'] * 1000:>7.0f} | {data['recorded_p50_s'] * 1000:>12.0f}"
              f" {data['sendtoaddress_p50_s'] * 1000:>8.0f} {data['background_tps']:>10.1f} {data['mempool_size_after']:>7}"
              f"  {data['machine_busy_pct']:>5.0f}%")
    if ratio is not None:
        print(f"\nratio p50 ZMQ / poll only: {ratio:.3f}")
    print(f"target: p50 under {TARGET_P50_SECONDS:g} s with ZMQ: {'met' if met else 'NOT met'}")
    print("(recorded: when the watcher stored the payment, Payment.first_seen_at, after t0; send: the sendtoaddress call;"
          " other tx/s: background transactions; mempool: its size at the end of the phase)")
    print(f"\nresults: {args.output.relative_to(ROOT) if args.output.is_relative_to(ROOT) else args.output}")
    print(f"re-run: {COMMAND}")
    return 0


def _exit_on_signal(signum, _frame) -> None:
    # SIGTERM/SIGHUP end the run like Ctrl-C: through the finally blocks that stop the node and drop the database.
    raise SystemExit(128 + signum)


def main() -> int:
    args = parse_args()
    for signum in (signal.SIGTERM, signal.SIGHUP):
        signal.signal(signum, _exit_on_signal)
    env = bench_env(
        database=DB_NAME, redis_url=REDIS_URL, LOG_LEVEL="INFO", CHAIN_BSV_NETWORK="regtest",
        RATES_MAX_AGE_SECONDS=str(30 * 24 * 3600),  # the fixed rates never go stale during a run
    )
    try:
        provision(env)
        os.environ.update(env)
        import django

        django.setup()
        return bench(args, env)
    except BenchError as exc:
        log(f"error: {exc}")
        return 1
    finally:
        if not args.keep_db:
            admin_sql(f"DROP DATABASE IF EXISTS {DB_NAME} WITH (FORCE)")


if __name__ == "__main__":
    sys.exit(main())
