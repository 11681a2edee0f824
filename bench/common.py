"""What the benchmarks share: their environment, the throwaway database, `manage.py`, and CPU readings from /proc."""

import os
import secrets
import socket
import subprocess
import sys
from datetime import datetime
from pathlib import Path

import psycopg2

ROOT = Path(__file__).resolve().parent.parent
PYTHON = sys.executable
PG_ADMIN_DSN = "host=127.0.0.1 port=5432 user=postgres dbname=postgres"


class BenchError(Exception):
    pass


def log(message: str) -> None:
    print(f"[{datetime.now():%H:%M:%S}] {message}", file=sys.stderr, flush=True)


def bench_env(*, database: str, redis_url: str, settings_module: str = "config.settings", **extra: str) -> dict[str, str]:
    """This environment without any platform setting of its own, then the bench's: its database and Redis, DEBUG
    off, the offline fixed-rate table (no network), and `extra`."""
    prefixes = ("DJANGO_", "DATABASE_", "REDIS_", "RATES_", "CHAIN_")
    env = {key: value for key, value in os.environ.items() if not key.startswith(prefixes)}
    env.update(
        DATABASE_URL=f"postgres://postgres@127.0.0.1:5432/{database}",
        REDIS_URL=redis_url,
        DJANGO_DEBUG="0",
        DJANGO_SECRET_KEY=secrets.token_urlsafe(50),
        DJANGO_ALLOWED_HOSTS="127.0.0.1,localhost",
        DJANGO_SETTINGS_MODULE=settings_module,
        RATES_PROVIDERS="rates.providers.fixed.FixedRateProvider",
        LOG_LEVEL="WARNING",
        PYTHONUNBUFFERED="1",
    )
    env.update(extra)
    return env


def admin_sql(*statements: str) -> None:
    """Statements outside any transaction, as the postgres user (CREATE and DROP DATABASE need that)."""
    connection = psycopg2.connect(PG_ADMIN_DSN)
    connection.autocommit = True
    try:
        with connection.cursor() as cursor:
            for statement in statements:
                cursor.execute(statement)
    finally:
        connection.close()


def database_recreate(name: str) -> None:
    admin_sql(f"DROP DATABASE IF EXISTS {name} WITH (FORCE)", f"CREATE DATABASE {name}")


def manage(env: dict[str, str], *args: str) -> str:
    result = subprocess.run([PYTHON, "manage.py", *args], cwd=ROOT, env=env, capture_output=True, text=True, timeout=300)
    if result.returncode != 0:
        raise BenchError(f"manage.py {' '.join(args)} failed ({result.returncode}):\n{result.stdout}\n{result.stderr}")
    return result.stdout


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def cpu_seconds(pid: int) -> float:
    """User + system CPU seconds of a process (0 once it is gone)."""
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except OSError:
        return 0.0
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def machine_busy() -> tuple[int, int]:
    """(busy, total) CPU ticks of the whole machine so far: busy is neither idle nor waiting for I/O."""
    fields = [int(x) for x in Path("/proc/stat").read_text().splitlines()[0].split()[1:]]
    return sum(fields) - fields[3] - fields[4], sum(fields)
