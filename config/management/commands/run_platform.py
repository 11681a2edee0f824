import os
import signal
import subprocess
import sys
import time

from django.conf import settings
from django.core.management import call_command
from django.core.management.base import BaseCommand

from chain.nodes import configured_currencies
from chain.regtest import RegtestNode
from config.demo import demo_merchant_ensure

# The regtest defaults of bitcoind, used when free so that URLs stay the same from run to run.
REGTEST_RPC_PORT, REGTEST_P2P_PORT, REGTEST_ZMQ_PORT = 18443, 18444, 28332


class Command(BaseCommand):
    help = (
        "Run the whole platform in the foreground: a BSV regtest node, migrations, demo merchant, web server, "
        "Celery worker and beat, chain watcher."
    )

    def add_arguments(self, parser):
        parser.add_argument("--port", type=int, default=int(os.environ.get("PORT", "8000")))
        parser.add_argument("--no-worker", action="store_true", help="run the web server only")
        parser.add_argument("--no-node", action="store_true", help="start no regtest node (use CHAIN_<CUR>_* nodes, if any)")

    def handle(self, *args, port, no_worker, no_node, **options):
        node = None if no_node else self._node_start()
        try:
            self._run(port=port, no_worker=no_worker, node=node)
        finally:
            if node is not None:
                node.stop()

    def _node_start(self) -> RegtestNode:
        self.stdout.write("Starting the BSV regtest node (the first run downloads it)...")
        self.stdout.flush()
        node = RegtestNode(
            settings.VAR_DIR / "regtest", rpc_port=REGTEST_RPC_PORT, p2p_port=REGTEST_P2P_PORT, zmq_port=REGTEST_ZMQ_PORT
        )
        node.start()
        node.fund()
        # Set before any child process starts, so the web server, the worker and the watcher all use this node.
        os.environ.update(
            {"CHAIN_BSV_RPC_URL": node.rpc_url, "CHAIN_BSV_NETWORK": "regtest", "CHAIN_BSV_ZMQ_URL": node.zmq_url}
        )
        return node

    def _run(self, *, port: int, no_worker: bool, node: RegtestNode | None) -> None:
        for folder in settings.CELERY_BROKER_TRANSPORT_OPTIONS.values():
            if isinstance(folder, str):
                os.makedirs(folder, exist_ok=True)
        os.makedirs(settings.VAR_DIR, exist_ok=True)
        call_command("migrate", interactive=False, verbosity=0)
        call_command("refresh_rates")
        demo = demo_merchant_ensure()
        base = f"http://127.0.0.1:{port}"
        currency = "BSV" if node else "BTC"
        self.stdout.write(
            "\n".join(
                [
                    "",
                    "Platform is starting.",
                    f"  API:          {base}/api/v1   (docs: {base}/api/docs)",
                    f"  Admin:        {base}/admin/   (create a login: .venv/bin/python manage.py createsuperuser)",
                    f"  Demo merchant {demo['merchant_id']}",
                    f"  API token     {demo['access_token']}",
                    "",
                    "Try it:",
                    f"  curl -s -X POST {base}/api/v1/merchants/{demo['merchant_id']}/invoices \\",
                    f"       -H 'Authorization: Bearer {demo['access_token']}' -H 'Content-Type: application/json' \\",
                    f"       -d '{{\"price_currency\": \"{currency}\", \"base_price\": \"134.00\", \"base_price_currency\": \"USD\"}}'",
                    "",
                    *(_pay_help(node) if node else []),
                ]
            )
        )
        self.stdout.flush()
        commands = [[sys.executable, "manage.py", "runserver", "--noreload", f"127.0.0.1:{port}"]]
        if not no_worker:
            commands.append(
                [sys.executable, "-m", "celery", "-A", "config", "worker", "--beat", "--pool=solo",
                 "--loglevel=WARNING", f"--schedule={settings.VAR_DIR / 'celerybeat-schedule'}"]
            )
            if configured_currencies():
                commands.append([sys.executable, "manage.py", "watch_chain"])
        _supervise(commands)


def _pay_help(node: RegtestNode) -> list[str]:
    return [
        f"BSV regtest node: {node.rpc_url} (ZMQ {node.zmq_url}, data in {node.datadir})",
        "Pay a BSV invoice from the node's wallet, confirm it with 2 blocks, and see its status:",
        f"  export CHAIN_BSV_RPC_URL={node.rpc_url} CHAIN_BSV_NETWORK=regtest",
        "  .venv/bin/python manage.py regtest_pay <invoice_id> --confirm 2",
        "",
    ]


def _supervise(commands: list[list[str]]) -> None:
    """Runs the processes together; when one exits or Ctrl-C arrives, stops them all."""
    processes = [subprocess.Popen(command, cwd=settings.BASE_DIR) for command in commands]
    stopping = False

    def stop(*_):
        nonlocal stopping
        stopping = True

    signal.signal(signal.SIGINT, stop)
    signal.signal(signal.SIGTERM, stop)
    while not stopping and all(process.poll() is None for process in processes):
        time.sleep(0.5)
    for process in processes:
        if process.poll() is None:
            process.terminate()
    for process in processes:
        try:
            process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            process.kill()
