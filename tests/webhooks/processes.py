"""A private redis-server and real Celery workers, for the durability test and the delivery benchmark."""

import os
import signal
import socket
import subprocess
import time
from pathlib import Path

import redis

ROOT = Path(__file__).resolve().parents[2]


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


class RedisServer:
    """`redis-server` on a free port of 127.0.0.1, keeping nothing on disk: stopping it loses every queued message."""

    def __init__(self) -> None:
        self.port = free_port()
        self.url = f"redis://127.0.0.1:{self.port}/0"
        self.process: subprocess.Popen | None = None

    def start(self) -> None:
        self.process = subprocess.Popen(
            ["redis-server", "--port", str(self.port), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no",
             "--daemonize", "no"],
            stdout=subprocess.DEVNULL,
        )  # fmt: skip
        client = redis.Redis(port=self.port)
        for _ in range(100):
            try:
                client.ping()
                return
            except redis.ConnectionError:
                time.sleep(0.05)
        raise RuntimeError(f"redis-server on port {self.port} did not start")

    def stop(self) -> None:
        if self.process and self.process.poll() is None:
            self.process.terminate()
            self.process.wait(10)


class Worker:
    """`celery -A config worker --beat` with a thread pool, in its own process group so that SIGKILL takes the
    embedded beat too; its output goes to `<log_dir>/<name>.log`."""

    def __init__(
        self, name: str, env: dict[str, str], log_dir: Path, *, concurrency: int = 4, loglevel: str = "INFO"
    ) -> None:
        self.log = log_dir / f"{name}.log"
        self.process = subprocess.Popen(
            [str(ROOT / ".venv/bin/celery"), "-A", "config", "worker", "--beat", "--pool=threads",
             f"--concurrency={concurrency}", f"--loglevel={loglevel}", "-n", f"{name}@%h",
             "-s", str(log_dir / f"{name}-beat-schedule"),
             "--without-gossip", "--without-mingle", "--without-heartbeat"],
            cwd=ROOT, env=env, stdout=self.log.open("w"), stderr=subprocess.STDOUT, start_new_session=True,
        )  # fmt: skip

    def kill(self) -> None:
        if self.process.poll() is None:
            os.killpg(self.process.pid, signal.SIGKILL)
            self.process.wait(10)

    def tail(self, lines: int = 40) -> str:
        return "\n".join(self.log.read_text(errors="replace").splitlines()[-lines:])


def worker_env(*, database: dict, broker_url: str, **extra: str) -> dict[str, str]:
    """The environment of a worker on `database` (a DATABASES entry) and `broker_url`, with loopback callbacks on."""
    return {
        **os.environ,
        "DJANGO_SETTINGS_MODULE": "config.settings",
        "DATABASE_URL": f"postgres://{database['USER']}@{database['HOST']}:{database['PORT']}/{database['NAME']}",
        "REDIS_URL": broker_url,
        "WEBHOOKS_ALLOW_LOOPBACK": "1",
        **extra,
    }
