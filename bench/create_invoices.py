"""Invoice creation through the real HTTP stack (gunicorn + PostgreSQL), beside a one-INSERT baseline.

    .venv/bin/python bench/create_invoices.py [--duration 10] [--rounds 2] [--warmup 1] [--concurrency 8,32]
                                              [--worker-class sync --workers 3 | --worker-class gthread --threads 2]

Each run drops and recreates the PostgreSQL database `bench_payments`, migrates it, stores the fixed spot
rates, provisions a merchant with a BTC wallet (BIP84 account key of the public test mnemonic "abandon ...
about") and an API key, and creates the bench-only table `bench_row`. It then starts gunicorn on a free
127.0.0.1 port with DJANGO_SETTINGS_MODULE=bench.settings, which serves the platform plus
`POST /bench/baseline` (same token authentication and scope check, one INSERT; see bench/views.py).

For each concurrency, bench/loadgen.py (a separate process) drives N clients, each with its own keep-alive
connection (reopened when the server closes it, as gunicorn's sync workers do after every response), against the baseline and `POST /api/v1/merchants/<id>/invoices`, in slices that alternate
between the two (so both see the same machine), each slice after a short warm-up. Every response must be
201. The table and bench/results/create_invoices.json give req/s, p50/p99 latency, errors, the CPU
milliseconds per request of the gunicorn workers, the PostgreSQL backends, the load generator and of
everything else on the machine. At the end every invoice must have its own payment address.
Exits 1 on any non-201 response or failed check.
"""

import argparse
import http.client
import json
import math
import os
import signal
import subprocess
import sys
import time
from datetime import UTC, datetime
from pathlib import Path

import psycopg2
import redis

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
from bench.common import BenchError, bench_env, database_recreate, free_port, log, manage  # noqa: E402
BENCH = ROOT / "bench"
RESULTS = BENCH / "results"
PYTHON = sys.executable

DB_NAME = "bench_payments"
PG_BENCH_DSN = f"host=127.0.0.1 port=5432 user=postgres dbname={DB_NAME}"
REDIS_URL = "redis://127.0.0.1:6379/14"
# BIP84 account key (m/84'/0'/0') of the public test mnemonic "abandon abandon ... about".
XPUB = "zpub6rFR7y4Q2AijBEqTUquhVz398htDFrtymD9xYYfG1m4wAcvPhXNfE3EfH1r1ADqtfSdVCToUG868RvUUkgDKf31mGDtKsAYz2oz2AGutZYs"
INVOICE_BODY = '{"price_currency":"BTC","base_price":"134.00","base_price_currency":"USD","order_id":"{n}"}'

TARGET_RATIO = 0.5
TARGET_P99_MS_AT_8 = 100.0
NOISY_OTHER_CPU_PCT = 10.0
QUIET_BUSY_PCT = 15.0


# --- setup -----------------------------------------------------------------------------------------------


def provision(env: dict[str, str]) -> dict:
    log(f"recreating database {DB_NAME}, emptying {REDIS_URL}")
    database_recreate(DB_NAME)
    # The bench's own Redis database: cache entries and queued tasks nobody consumes from earlier runs go.
    redis.Redis.from_url(REDIS_URL).flushdb()
    log("manage.py migrate")
    manage(env, "migrate", "--no-input", "-v", "0")
    log("manage.py refresh_rates")
    manage(env, "refresh_rates")
    log("manage.py create_merchant")
    output = manage(env, "create_merchant", "--name", "Bench", "--email", "bench@example.com", "--wallet", f"BTC={XPUB}")
    merchant = json.loads(output.strip().splitlines()[-1])
    # For bench/profile_invoice.py; bench/results/ is git-ignored and the database is thrown away next run.
    (RESULTS / "merchant.json").write_text(json.dumps(merchant) + "\n")
    with psycopg2.connect(PG_BENCH_DSN) as connection, connection.cursor() as cursor:
        cursor.execute(
            "CREATE TABLE bench_row (id bigserial primary key, merchant_id uuid, "
            "created_at timestamptz default now(), body text)"
        )
    connection.close()
    return merchant


# --- gunicorn --------------------------------------------------------------------------------------------


class Server:
    def __init__(self, env: dict[str, str], args: argparse.Namespace):
        self.env = env
        self.args = args
        self.port = free_port()
        self.process: subprocess.Popen | None = None
        self.log_path = RESULTS / "gunicorn.log"

    @property
    def model(self) -> str:
        if self.args.worker_class == "sync":
            return f"gunicorn sync, {self.args.workers} workers (no keep-alive: one connection per request)"
        return f"gunicorn gthread, {self.args.workers} workers x {self.args.threads} threads"

    def start(self) -> None:
        command = [
            PYTHON, "-m", "gunicorn", "config.wsgi:application",
            "--bind", f"127.0.0.1:{self.port}",
            "--worker-class", self.args.worker_class,
            "--workers", str(self.args.workers),
            "--backlog", "2048",
            "--keep-alive", "30",
            "--graceful-timeout", "5",
            "--worker-tmp-dir", "/dev/shm",
            "--log-level", "warning",
            "--error-logfile", "-",
        ]
        if self.args.worker_class == "gthread":
            command += ["--threads", str(self.args.threads)]
        log(f"starting {self.model} on 127.0.0.1:{self.port} (log: {self.log_path.relative_to(ROOT)})")
        with open(self.log_path, "w") as handle:
            # Its own session: a Ctrl-C reaches only this script, which then stops gunicorn in order.
            self.process = subprocess.Popen(
                command, cwd=ROOT, env=self.env, stdout=handle, stderr=subprocess.STDOUT, start_new_session=True
            )

    def wait_ready(self, timeout: float = 60.0) -> None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise BenchError(f"gunicorn exited with {self.process.returncode}:\n{self.log_tail()}")
            try:
                status, _body = self.request("GET", "/api/v1/user")
                if status:
                    return
            except OSError:
                time.sleep(0.2)
        raise BenchError(f"gunicorn did not answer within {timeout:.0f} s:\n{self.log_tail()}")

    def request(self, method: str, path: str, body: str | None = None, headers: dict | None = None) -> tuple[int, bytes]:
        connection = http.client.HTTPConnection("127.0.0.1", self.port, timeout=30)
        try:
            connection.request(method, path, body=body, headers=headers or {})
            response = connection.getresponse()
            return response.status, response.read()
        finally:
            connection.close()

    def log_tail(self, lines: int = 40) -> str:
        try:
            return "\n".join(self.log_path.read_text(errors="replace").splitlines()[-lines:])
        except OSError:
            return ""

    def stop(self) -> None:
        if self.process is None or self.process.poll() is not None:
            return
        log("stopping gunicorn")
        self.process.send_signal(signal.SIGTERM)
        try:
            self.process.wait(timeout=15)
        except subprocess.TimeoutExpired:
            os.killpg(self.process.pid, signal.SIGKILL)  # its own process group: only gunicorn and its workers
            self.process.wait(timeout=10)


# --- measurement -----------------------------------------------------------------------------------------


def machine_busy_pct(seconds: float = 1.0) -> float:
    """How busy all CPUs were over the next `seconds` (not idle, not waiting for I/O), in percent."""

    def sample() -> tuple[int, int]:
        with open("/proc/stat") as handle:
            fields = [int(value) for value in handle.readline().split()[1:]]
        return sum(fields[:8]), fields[3] + fields[4]

    total_before, idle_before = sample()
    time.sleep(seconds)
    total_after, idle_after = sample()
    total = total_after - total_before
    return 100.0 * (total - (idle_after - idle_before)) / total if total else 0.0


def wait_quiet(max_wait: float) -> float:
    """Waits (at most max_wait seconds) for the machine to be nearly idle before a measurement; returns its last busy %."""
    deadline = time.monotonic() + max_wait
    busy = machine_busy_pct()
    while busy > QUIET_BUSY_PCT and time.monotonic() < deadline:
        busy = machine_busy_pct()
    if busy > QUIET_BUSY_PCT:
        log(f"the machine is still {busy:.0f}% busy with other work; measuring anyway")
    return busy


_running_loadgen: subprocess.Popen | None = None


def run_loadgen(job: dict) -> dict:
    global _running_loadgen
    _running_loadgen = subprocess.Popen(
        [PYTHON, str(BENCH / "loadgen.py")], cwd=ROOT, stdin=subprocess.PIPE, stdout=subprocess.PIPE,
        stderr=subprocess.PIPE, text=True,
    )
    timeout = job["warmup_s"] + job["duration_s"] + 120
    try:
        out, err = _running_loadgen.communicate(json.dumps(job), timeout=timeout)
    finally:
        if _running_loadgen.poll() is None:
            _running_loadgen.kill()
            _running_loadgen.wait()
    code, _running_loadgen = _running_loadgen.returncode, None
    if code != 0:
        raise BenchError(f"load generator failed ({code}):\n{err}")
    return json.loads(out)


def smoke_test(server: Server, paths: dict[str, str], headers: dict[str, str]) -> None:
    """One request to each endpoint before loading them: fail early, with the server's answer."""
    status, body = server.request("GET", "/api/v1/user", headers={"Authorization": headers["Authorization"]})
    if status != 200:
        raise BenchError(f"GET /api/v1/user with the bench token answered {status}: {body[:500]!r}")
    for name, path in paths.items():
        status, body = server.request("POST", path, INVOICE_BODY.replace("{n}", f"smoke-{name}"), headers)
        if status != 201:
            raise BenchError(f"POST {path} answered {status}, not 201: {body[:500]!r}\n{server.log_tail()}")


def percentile(sorted_values: list[float], p: float) -> float | None:
    """Nearest-rank percentile."""
    if not sorted_values:
        return None
    return sorted_values[max(1, math.ceil(p / 100 * len(sorted_values))) - 1]


def summarize(endpoint: str, concurrency: int, slices: list[dict]) -> dict:
    """One table row from the load generator's slices of one endpoint and concurrency."""
    latencies = sorted(value for part in slices for value in part["latencies_ms"])
    ok = len(latencies)
    elapsed = sum(part["elapsed_s"] for part in slices)
    statuses: dict[str, int] = {}
    for part in slices:
        for key, count in part["statuses"].items():
            statuses[key] = statuses.get(key, 0) + count
    cpu = {group: round(sum(part["cpu_s"][group] for part in slices), 3) for group in slices[0]["cpu_s"]}
    capacity = sum(part["machine_capacity_s"] for part in slices)
    return {
        "endpoint": endpoint,
        "concurrency": concurrency,
        "requests": ok + sum(part["errors"] for part in slices),
        "ok": ok,
        "errors": sum(part["errors"] for part in slices),
        "statuses": statuses,
        "error_samples": [sample for part in slices for sample in part["error_samples"]][:10],
        "elapsed_s": round(elapsed, 3),
        "req_per_s": round(ok / elapsed, 1) if elapsed else 0.0,
        "p50_ms": percentile(latencies, 50),
        "p90_ms": percentile(latencies, 90),
        "p99_ms": percentile(latencies, 99),
        "max_ms": latencies[-1] if latencies else None,
        "mean_ms": round(sum(latencies) / ok, 3) if ok else None,
        "slices_req_per_s": [round(part["ok"] / part["elapsed_s"], 1) for part in slices],
        "warmup_ok": sum(part["warmup_ok"] for part in slices),
        "warmup_errors": sum(part["warmup_errors"] for part in slices),
        "warmup_error_samples": [sample for part in slices for sample in part["warmup_error_samples"]][:10],
        "cpu_s": cpu,
        "cpu_ms_per_request": {group: round(seconds * 1000 / ok, 3) if ok else None for group, seconds in cpu.items()},
        "machine_busy_pct": round(100 * sum(part["machine_busy_s"] for part in slices) / capacity, 1),
        "other_cpu_pct": round(100 * cpu["other"] / capacity, 1),
        "machine_busy_pct_before": [part["machine_busy_pct_before"] for part in slices],
    }


def server_cpu_ms(row: dict) -> float | None:
    """CPU milliseconds per request of the server side: gunicorn workers plus PostgreSQL backends."""
    cpu = row["cpu_ms_per_request"]
    if cpu.get("server") is None or cpu.get("database") is None:
        return None
    return cpu["server"] + cpu["database"]


def fmt(value, width: int, digits: int = 1) -> str:
    return f"{'-' if value is None else f'{value:.{digits}f}':>{width}}"


def table(results: list[dict], ratios: dict[int, float | None]) -> str:
    lines = [
        f"{'endpoint':<10} {'conc':>4} {'req/s':>8} {'p50 ms':>7} {'p99 ms':>7} {'max ms':>7} {'errors':>6}"
        f"   cpu ms/req: {'gunicorn':>8} {'postgres':>8} {'loadgen':>7} {'other':>6}   machine busy"
    ]
    for row in results:
        cpu = row["cpu_ms_per_request"]
        lines.append(
            f"{row['endpoint']:<10} {row['concurrency']:>4} {fmt(row['req_per_s'], 8)} {fmt(row['p50_ms'], 7)} "
            f"{fmt(row['p99_ms'], 7)} {fmt(row['max_ms'], 7)} {row['errors']:>6}"
            f"               {fmt(cpu.get('server'), 8, 2)} {fmt(cpu.get('database'), 8, 2)} {fmt(cpu.get('loadgen'), 7, 2)}"
            f" {fmt(cpu.get('other'), 6, 2)}   {row['machine_busy_pct']:>5.0f}% ({row['other_cpu_pct']:.0f}% other)"
        )
    lines.append(
        "ratio invoice/baseline: "
        + ", ".join(f"conc {conc}: {'-' if ratio is None else f'{ratio:.2f}'}" for conc, ratio in ratios.items())
    )
    return "\n".join(lines)


def db_check(invoice_201s: int, baseline_201s: int) -> dict:
    with psycopg2.connect(PG_BENCH_DSN) as connection, connection.cursor() as cursor:
        cursor.execute("SELECT count(*) FROM invoices_invoice")
        invoices = cursor.fetchone()[0]
        cursor.execute("SELECT count(*), count(DISTINCT address) FROM invoices_paymentoption")
        options, distinct_addresses = cursor.fetchone()
        cursor.execute("SELECT next_index FROM chain_wallet WHERE currency = 'BTC'")
        next_index = cursor.fetchone()[0]
        cursor.execute("SELECT count(*) FROM bench_row")
        bench_rows = cursor.fetchone()[0]
    connection.close()
    problems = []
    if invoices != invoice_201s:
        problems.append(f"{invoices} invoices in the database but {invoice_201s} answered 201")
    if options != invoices:
        problems.append(f"{options} payment options for {invoices} invoices")
    if distinct_addresses != options:
        problems.append(f"only {distinct_addresses} distinct addresses among {options} payment options")
    if next_index != options:
        problems.append(f"the wallet's next_index is {next_index}, not {options}")
    if bench_rows != baseline_201s:
        problems.append(f"{bench_rows} bench_row rows but {baseline_201s} baseline requests answered 201")
    return {
        "invoices": invoices,
        "payment_options": options,
        "distinct_addresses": distinct_addresses,
        "wallet_next_index": next_index,
        "bench_rows": bench_rows,
        "invoice_201s": invoice_201s,
        "baseline_201s": baseline_201s,
        "problems": problems,
    }


def git_commit() -> str | None:
    """HEAD's short hash, with "+dirty" when the working tree has uncommitted changes outside bench/."""
    head = subprocess.run(["git", "rev-parse", "--short", "HEAD"], cwd=ROOT, capture_output=True, text=True).stdout.strip()
    status = subprocess.run(["git", "status", "--porcelain", "--", ".", ":!bench"], cwd=ROOT, capture_output=True, text=True)
    return f"{head}+dirty" if head and status.stdout.strip() else head or None


def parse_args() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--duration", type=float, default=10.0, help="measured seconds per endpoint and concurrency")
    parser.add_argument("--warmup", type=float, default=1.0, help="unmeasured seconds before each slice")
    parser.add_argument(
        "--rounds", type=int, default=2,
        help="slices the measured seconds are cut into, baseline and invoice alternating (default 2)",
    )
    parser.add_argument("--concurrency", default="8,32", help="comma-separated client counts (default 8,32)")
    parser.add_argument(
        "--worker-class", choices=("sync", "gthread"), default="sync",
        help="gunicorn worker model; the default, 3 sync workers, measured best for both endpoints on 2 cores (bench/README.md)",
    )
    parser.add_argument("--workers", type=int, default=3)
    parser.add_argument("--threads", type=int, default=2, help="threads per worker (gthread only; default 2)")
    parser.add_argument(
        "--quiet-wait", type=float, default=10.0,
        help=f"seconds to wait at most, before each measurement, for the machine to be under {QUIET_BUSY_PCT:g}%% busy",
    )
    parser.add_argument("--output", type=Path, default=RESULTS / "create_invoices.json")
    return parser.parse_args()


def bench(args: argparse.Namespace) -> int:
    concurrencies = [int(item) for item in args.concurrency.split(",") if item.strip()]
    RESULTS.mkdir(parents=True, exist_ok=True)
    env = bench_env(
        database=DB_NAME, redis_url=REDIS_URL, settings_module="bench.settings",
        RATES_MAX_AGE_SECONDS=str(30 * 24 * 3600),  # the fixed rates never go stale during a run
    )
    merchant = provision(env)
    token = merchant["access_token"]
    paths = {
        "baseline": f"/bench/baseline?merchant_id={merchant['merchant_id']}",
        "invoice": f"/api/v1/merchants/{merchant['merchant_id']}/invoices",
    }
    headers = {"Authorization": f"Bearer {token}", "Content-Type": "application/json", "Accept": "application/json"}

    server = Server(env, args)
    results: list[dict] = []
    created = {"baseline": 0, "invoice": 0}
    try:
        server.start()
        server.wait_ready()
        smoke_test(server, paths, headers)
        created = {"baseline": 1, "invoice": 1}
        for index, concurrency in enumerate(concurrencies):
            slices: dict[str, list[dict]] = {"baseline": [], "invoice": []}
            # The endpoints alternate in slices so that both see the same conditions when other programs come and go.
            for round_number in range(args.rounds):
                for endpoint in ("baseline", "invoice"):
                    log(
                        f"{endpoint} at concurrency {concurrency}, slice {round_number + 1}/{args.rounds}: "
                        f"{args.warmup:g} s warm-up, {args.duration / args.rounds:g} s measured"
                    )
                    job = {
                        "host": "127.0.0.1",
                        "port": server.port,
                        "method": "POST",
                        "path": paths[endpoint],
                        "headers": headers,
                        "body": INVOICE_BODY,
                        "expect_status": 201,
                        "concurrency": concurrency,
                        "warmup_s": args.warmup,
                        "duration_s": args.duration / args.rounds,
                        "order_base": (index * args.rounds + round_number + 1) * 100_000_000,
                        "server_pid": server.process.pid,
                        "db_name": DB_NAME,
                    }
                    busy_before = wait_quiet(args.quiet_wait)
                    result = run_loadgen(job)
                    result["machine_busy_pct_before"] = round(busy_before, 1)
                    # 201s during warm-up also created rows; errors may have too, so the check below is exact only without errors.
                    created[endpoint] += result["ok"] + result["warmup_ok"]
                    slices[endpoint].append(result)
                    if server.process.poll() is not None:
                        raise BenchError(f"gunicorn died during the run:\n{server.log_tail()}")
            for endpoint in ("baseline", "invoice"):
                results.append(summarize(endpoint, concurrency, slices[endpoint]))
    finally:
        server.stop()

    by_key = {(row["endpoint"], row["concurrency"]): row for row in results}
    ratios, cpu_ratios = {}, {}
    for concurrency in concurrencies:
        base, inv = by_key[("baseline", concurrency)], by_key[("invoice", concurrency)]
        ratios[concurrency] = round(inv["req_per_s"] / base["req_per_s"], 3) if base["req_per_s"] else None
        # Both endpoints saturate the CPUs, so req/s ~ CPUs / CPU per request: this ratio predicts the one above
        # and hardly moves when other programs steal CPU time.
        base_cpu, inv_cpu = server_cpu_ms(base), server_cpu_ms(inv)
        cpu_ratios[concurrency] = round(base_cpu / inv_cpu, 3) if base_cpu and inv_cpu else None
    check = db_check(invoice_201s=created["invoice"], baseline_201s=created["baseline"])
    errors = sum(row["errors"] + row["warmup_errors"] for row in results)

    inv8 = by_key.get(("invoice", 8))
    target = {
        "invoice_over_baseline_min": TARGET_RATIO,
        "invoice_p99_ms_max_at_conc_8": TARGET_P99_MS_AT_8,
        "ratio_met": all(ratio is not None and ratio >= TARGET_RATIO for ratio in ratios.values()),
        "p99_met": None if inv8 is None else inv8["p99_ms"] is not None and inv8["p99_ms"] <= TARGET_P99_MS_AT_8,
    }
    report = {
        "benchmark": "create_invoices",
        "finished_at": datetime.now(UTC).isoformat(timespec="seconds"),
        "git_commit": git_commit(),
        "server": server.model,
        "cpus": os.cpu_count(),
        "duration_s": args.duration,
        "warmup_s": args.warmup,
        "rounds": args.rounds,
        "results": results,
        "ratio_invoice_over_baseline": {str(k): v for k, v in ratios.items()},
        "cpu_cost_ratio_baseline_over_invoice": {str(k): v for k, v in cpu_ratios.items()},
        "target": target,
        "db_check": check,
        "errors": errors,
    }
    args.output.parent.mkdir(parents=True, exist_ok=True)
    args.output.write_text(json.dumps(report, indent=2) + "\n")

    print(
        f"\n{server.model}; {args.duration:g} s measured per row in {args.rounds} slices alternating with the other "
        f"endpoint, each after {args.warmup:g} s warm-up; {os.cpu_count()} CPUs\n"
    )
    print(table(results, ratios))
    print(
        "server CPU per request (gunicorn + postgres), baseline/invoice: "
        + ", ".join(
            f"conc {conc}: {server_cpu_ms(by_key[('baseline', conc)]):.2f}/{server_cpu_ms(by_key[('invoice', conc)]):.2f} ms"
            f" = {'-' if ratio is None else f'{ratio:.2f}'}"
            for conc, ratio in cpu_ratios.items()
        )
        + " (predicts the req/s ratio when the CPUs are saturated; less disturbed by other programs)"
    )
    noisy = [row for row in results if row["other_cpu_pct"] > NOISY_OTHER_CPU_PCT]
    if noisy:
        print(
            f"note: other programs used more than {NOISY_OTHER_CPU_PCT:g}% of the machine during "
            + ", ".join(f"{row['endpoint']} conc {row['concurrency']}" for row in noisy)
            + ": those rows understate the throughput; run again on a quieter machine"
        )
    print(
        f"\ninvoices in the database: {check['invoices']}; payment options: {check['payment_options']}, "
        f"distinct addresses: {check['distinct_addresses']}; wallet next_index: {check['wallet_next_index']}"
    )
    print(
        f"target (invoices >= {TARGET_RATIO:g} x baseline, invoice p99 <= {TARGET_P99_MS_AT_8:g} ms at conc 8): "
        f"ratio {'met' if target['ratio_met'] else 'NOT met'}, p99 "
        f"{'met' if target['p99_met'] else 'NOT met' if target['p99_met'] is False else 'not measured'}"
    )
    print(f"written to {args.output}")

    failed = False
    if errors:
        failed = True
        print(f"\nFAILED: {errors} requests did not answer 201:", file=sys.stderr)
        for row in results:
            for sample in row["warmup_error_samples"] + row["error_samples"]:
                print(f"  {row['endpoint']} conc {row['concurrency']}: {sample}", file=sys.stderr)
    if check["problems"] and not errors:
        failed = True
        print("\nFAILED: database check: " + "; ".join(check["problems"]), file=sys.stderr)
    return 1 if failed else 0


def main() -> int:
    def terminate(signum, _frame):
        raise KeyboardInterrupt(f"signal {signum}")

    signal.signal(signal.SIGTERM, terminate)
    # Also when started in the background by a shell that ignores SIGINT: Ctrl-C or kill -INT stop the run cleanly.
    signal.signal(signal.SIGINT, signal.default_int_handler)
    args = parse_args()
    try:
        return bench(args)
    except BenchError as exc:
        print(f"\nFAILED: {exc}", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        print("\ninterrupted; gunicorn stopped", file=sys.stderr)
        return 130
    finally:
        if _running_loadgen is not None and _running_loadgen.poll() is None:
            _running_loadgen.kill()


if __name__ == "__main__":
    sys.exit(main())
