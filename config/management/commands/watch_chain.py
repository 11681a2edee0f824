import logging
import signal
import threading

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError

from chain.currencies import coin_get
from chain.errors import ChainError
from chain.follow import follow
from chain.nodes import configured_currencies


class Command(BaseCommand):
    help = (
        "Follow the chain nodes until stopped: sync on each ZMQ notification (CHAIN_<CUR>_ZMQ_URL) "
        "and every CHAIN_POLL_SECONDS (default 5)."
    )

    def add_arguments(self, parser):
        parser.add_argument("--currency", help="follow this coin only (default: every coin with CHAIN_<CUR>_RPC_URL set)")

    def handle(self, *args, currency, **options):
        poll_seconds = settings.CHAIN_POLL_SECONDS
        try:
            currencies = [coin_get(currency).code] if currency else configured_currencies()
        except ChainError as exc:
            raise CommandError(f"--currency: {exc.message}") from None
        if not currencies:
            raise CommandError("no chain node is configured: set CHAIN_<CUR>_RPC_URL, e.g. CHAIN_BSV_RPC_URL")
        stop_event = threading.Event()
        for signum in (signal.SIGINT, signal.SIGTERM):
            signal.signal(signum, lambda *_: stop_event.set())
        logging.getLogger(__name__).info("following %s (poll every %d s)", ", ".join(currencies), poll_seconds)
        try:
            follow(currencies, stop_event=stop_event, poll_seconds=poll_seconds)
        except ChainError as exc:
            raise CommandError(exc.message) from None
