"""HTTP load generator for the benchmarks, run in its own process so it never shares a GIL with the server.

    python bench/loadgen.py < job.json > result.json

The job (JSON on stdin):
    host, port, method, path, headers {name: value}, body (a str.format template with {n}, or null),
    expect_status, concurrency, warmup_s, duration_s, order_base (int, first {n}),
    server_pid (optional: the gunicorn master; its workers' CPU is accounted),
    db_name (optional: PostgreSQL backends whose process title names it are accounted).

`concurrency` clients each hold one HTTP/1.1 keep-alive connection (reopened only when the server closes
it, as gunicorn's sync worker does after every response) and send one request at a time, back to back,
for `warmup_s` (not recorded) and then `duration_s` (recorded). Every response must have `expect_status`;
anything else, including connection errors, is an error and a few samples are kept.

The result (JSON on stdout) is raw, for the caller to merge slices: ok, errors, statuses, error_samples,
elapsed_s, the latency in ms of every successful request, warm-up counts, and the CPU seconds spent during
the recorded phase by this process, the server's workers, the database's backends and everything else on
the machine ("other": WAL writer, kernel, other programs), from /proc.
Clients are asyncio coroutines over raw sockets: one process drives 32 connections for a few percent of a core.
"""

import asyncio
import json
import os
import resource
import sys
import time

_CLK_TCK = os.sysconf("SC_CLK_TCK")


class ClientError(Exception):
    pass


# --- CPU accounting from /proc ---------------------------------------------------------------------------


def _proc_stat(pid: int) -> tuple[int, float] | None:
    """(ppid, utime + stime in seconds) of a process, or None when it is gone."""
    try:
        with open(f"/proc/{pid}/stat", "rb") as handle:
            raw = handle.read()
    except OSError:
        return None
    fields = raw[raw.rindex(b")") + 2 :].split()
    return int(fields[1]), (int(fields[11]) + int(fields[12])) / _CLK_TCK


def _cmdline(pid: int) -> bytes:
    try:
        with open(f"/proc/{pid}/cmdline", "rb") as handle:
            return handle.read()
    except OSError:
        return b""


def cpu_snapshot(server_pid: int | None, db_name: str | None) -> dict[str, dict[int, float]]:
    """CPU seconds so far of the server master and its workers, and of the database's backends for db_name."""
    server: dict[int, float] = {}
    database: dict[int, float] = {}
    marker = f" {db_name} ".encode() if db_name else None
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        pid = int(entry)
        stat = _proc_stat(pid)
        if stat is None:
            continue
        ppid, seconds = stat
        if server_pid and (pid == server_pid or ppid == server_pid):
            server[pid] = seconds
        elif marker:
            title = _cmdline(pid)
            if title.startswith(b"postgres:") and marker in title:
                database[pid] = seconds
    return {"server": server, "database": database}


def machine_busy() -> float:
    """CPU seconds all CPUs of the machine have been busy (not idle or waiting for I/O) since boot."""
    with open("/proc/stat") as handle:
        fields = [int(value) for value in handle.readline().split()[1:]]
    idle = fields[3] + (fields[4] if len(fields) > 4 else 0)
    return (sum(fields[:8]) - idle) / _CLK_TCK


def cpu_delta(before: dict[str, dict[int, float]], after: dict[str, dict[int, float]]) -> dict[str, float]:
    """CPU seconds used between two snapshots; a process born in between counts from zero."""
    return {
        group: round(sum(seconds - before[group].get(pid, 0.0) for pid, seconds in after[group].items()), 3)
        for group in after
    }


def own_cpu() -> float:
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return usage.ru_utime + usage.ru_stime


# --- the clients ---------------------------------------------------------------------------------------------


async def read_response(reader: asyncio.StreamReader) -> tuple[int, bool, bytes]:
    """(status, server closes the connection, body) of one HTTP/1.1 response."""
    head = await reader.readuntil(b"\r\n\r\n")
    lines = head[:-4].split(b"\r\n")
    parts = lines[0].split(b" ", 2)
    if len(parts) < 2 or not parts[0].startswith(b"HTTP/1."):
        raise ClientError(f"malformed status line {lines[0][:80]!r}")
    status = int(parts[1])
    close = parts[0] == b"HTTP/1.0"
    length = None
    for line in lines[1:]:
        name, _, value = line.partition(b":")
        name = name.strip().lower()
        if name == b"content-length":
            length = int(value)
        elif name == b"connection":
            close = value.strip().lower() == b"close"
        elif name == b"transfer-encoding" and value.strip().lower() != b"identity":
            raise ClientError("chunked responses are not supported by this load generator")
    if length is not None:
        body = await reader.readexactly(length)
    elif close:
        body = await reader.read()
    else:
        raise ClientError("a keep-alive response without Content-Length")
    return status, close, body


class Client:
    def __init__(self, job: dict, index: int, stats: "Stats"):
        self.job = job
        self.host, self.port = job["host"], job["port"]
        self.index = index
        self.stats = stats
        self.reader: asyncio.StreamReader | None = None
        self.writer: asyncio.StreamWriter | None = None
        self.sent = 0
        headers = {"Host": f"{self.host}:{self.port}", "Connection": "keep-alive", **job["headers"]}
        self.head = f"{job['method']} {job['path']} HTTP/1.1\r\n" + "".join(f"{k}: {v}\r\n" for k, v in headers.items())

    def _request(self) -> bytes:
        template = self.job.get("body")
        if template is None:
            return (self.head + "\r\n").encode()
        n = self.job["order_base"] + self.index * 1_000_000 + self.sent
        body = template.replace("{n}", str(n)).encode()
        return (self.head + f"Content-Length: {len(body)}\r\n\r\n").encode() + body

    async def _close(self) -> None:
        if self.writer is not None:
            self.writer.close()
            try:
                await self.writer.wait_closed()
            except OSError:
                pass
        self.reader = self.writer = None

    async def run(self, deadline: float) -> None:
        expect = self.job["expect_status"]
        while time.perf_counter() < deadline:
            request = self._request()
            self.sent += 1
            started = time.perf_counter()
            try:
                if self.writer is None:
                    self.reader, self.writer = await asyncio.open_connection(self.host, self.port)
                self.writer.write(request)
                status, close, body = await read_response(self.reader)
            except (OSError, EOFError, asyncio.IncompleteReadError, asyncio.LimitOverrunError, ClientError, ValueError) as exc:
                self.stats.error(None, f"{type(exc).__name__}: {exc}")
                await self._close()
                continue
            finished = time.perf_counter()
            if status == expect:
                self.stats.ok(finished - started, finished)
            else:
                self.stats.error(status, body[:300].decode("utf-8", "replace"))
            if close:
                await self._close()


class Stats:
    def __init__(self):
        self.latencies: list[float] = []
        self.last_finish = 0.0
        self.errors = 0
        self.statuses: dict[str, int] = {}
        self.error_samples: list[str] = []

    def ok(self, latency: float, finished: float) -> None:
        self.latencies.append(latency)
        self.last_finish = max(self.last_finish, finished)
        key = "ok"
        self.statuses[key] = self.statuses.get(key, 0) + 1

    def error(self, status: int | None, detail: str) -> None:
        self.errors += 1
        key = str(status) if status is not None else "connection"
        self.statuses[key] = self.statuses.get(key, 0) + 1
        if len(self.error_samples) < 5:
            self.error_samples.append(f"{key}: {detail}")


async def main(job: dict) -> dict:
    warm = Stats()
    clients = [Client(job, index, warm) for index in range(job["concurrency"])]
    await asyncio.gather(*(client.run(time.perf_counter() + job["warmup_s"]) for client in clients))

    stats = Stats()
    for client in clients:
        client.stats = stats
    cpu_before = cpu_snapshot(job.get("server_pid"), job.get("db_name"))
    own_before = own_cpu()
    machine_before = machine_busy()
    started = time.perf_counter()
    deadline = started + job["duration_s"]
    await asyncio.gather(*(client.run(deadline) for client in clients))
    elapsed = max(stats.last_finish, deadline) - started
    own = own_cpu() - own_before
    machine = machine_busy() - machine_before
    cpu = cpu_delta(cpu_before, cpu_snapshot(job.get("server_pid"), job.get("db_name")))
    cpu["loadgen"] = round(own, 3)
    # Everything else that ran meanwhile: PostgreSQL's WAL writer and checkpointer, the kernel, other programs.
    cpu["other"] = round(max(machine - sum(cpu.values()), 0.0), 3)
    for client in clients:
        await client._close()

    return {
        "concurrency": job["concurrency"],
        "ok": len(stats.latencies),
        "errors": stats.errors,
        "statuses": stats.statuses,
        "error_samples": stats.error_samples,
        "elapsed_s": round(elapsed, 4),
        "latencies_ms": [round(value * 1000, 3) for value in stats.latencies],
        "warmup_ok": len(warm.latencies),
        "warmup_errors": warm.errors,
        "warmup_error_samples": warm.error_samples,
        "cpu_s": cpu,
        "machine_busy_s": round(machine, 3),
        "machine_capacity_s": round(elapsed * (os.cpu_count() or 1), 3),
    }


if __name__ == "__main__":
    result = asyncio.run(main(json.load(sys.stdin)))
    json.dump(result, sys.stdout)
    sys.stdout.write("\n")
