import os
import signal
import subprocess
import sys
import time

from django.conf import settings
from django.core.management import call_command
from django.core.management.base import BaseCommand

from config.demo import demo_merchant_ensure


class Command(BaseCommand):
    help = "Run the whole platform in the foreground: migrations, demo merchant, web server, Celery worker and beat."

    def add_arguments(self, parser):
        parser.add_argument("--port", type=int, default=int(os.environ.get("PORT", "8000")))
        parser.add_argument("--no-worker", action="store_true", help="run the web server only")

    def handle(self, *args, port, no_worker, **options):
        for folder in settings.CELERY_BROKER_TRANSPORT_OPTIONS.values():
            if isinstance(folder, str):
                os.makedirs(folder, exist_ok=True)
        os.makedirs(settings.VAR_DIR, exist_ok=True)
        call_command("migrate", interactive=False, verbosity=0)
        call_command("refresh_rates")
        demo = demo_merchant_ensure()
        base = f"http://127.0.0.1:{port}"
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
                    "       -d '{\"price_currency\": \"BTC\", \"base_price\": \"134.00\", \"base_price_currency\": \"USD\"}'",
                    "",
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
        _supervise(commands)


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
