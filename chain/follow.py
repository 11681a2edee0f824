"""Keeps the watcher close to the nodes: a sync on every ZMQ notification, and a poll as a fallback.

A notification is only a trigger: the sync reads everything from the node itself, so a lost, late
or malformed message costs at most one poll interval, never a payment.
"""

import logging
import threading
import time
from collections.abc import Callable, Iterable

import zmq
from django.db import close_old_connections, connection

from chain.errors import ChainError, NodeUnavailable
from chain.nodes import chain_settings
from chain.watcher import chain_sync

logger = logging.getLogger(__name__)

TOPICS = (b"hashblock", b"rawblock", b"hashtx", b"rawtx")
MAX_BACKOFF_SECONDS = 30.0
# How long the loop may sleep before it notices the stop event.
STOP_CHECK_SECONDS = 0.5
# Messages closer together than this belong to one burst (a block and its transactions, a mined batch).
BURST_GAP_SECONDS = 0.01
# A burst is cut after this, so a notification waits at most that long for its sync however busy the chain is.
BURST_MAX_SECONDS = 0.25


def follow(
    currencies: Iterable[str],
    *,
    stop_event: threading.Event,
    sync: Callable[..., object] = chain_sync,
    poll_seconds: float = 5.0,
) -> None:
    """Follows each coin's node in its own thread until `stop_event` is set.

    Each follower calls `sync(currency=...)` at once, after every burst of notifications from the
    node's `CHAIN_<CUR>_ZMQ_URL` (when set), and at least every `poll_seconds`. A node outage or a
    bad answer is logged and retried with a backoff of up to 30 s; nothing stops a follower but the
    event. Raises ChainNotConfigured or UnknownCurrency before starting if a coin has no node.
    """
    configured = [chain_settings(currency) for currency in currencies]
    context = zmq.Context()
    threads = [
        threading.Thread(
            target=_follow_one, name=f"follow-{node.currency}", daemon=True,
            args=(node.currency, node.zmq_url, context, sync, stop_event, poll_seconds),
        )
        for node in configured
    ]
    for thread in threads:
        thread.start()
    try:
        while any(thread.is_alive() for thread in threads):
            for thread in threads:
                thread.join(STOP_CHECK_SECONDS)
    finally:
        stop_event.set()
        for thread in threads:
            thread.join()
        context.term()


def _follow_one(
    currency: str,
    zmq_url: str | None,
    context: zmq.Context,
    sync: Callable[..., object],
    stop_event: threading.Event,
    poll_seconds: float,
) -> None:
    notifications = _Notifications(context, zmq_url)
    failures = 0
    try:
        while not stop_event.is_set():
            failures = _sync_once(currency, sync, failures)
            delay = poll_seconds if not failures else min(2 ** (failures - 1), MAX_BACKOFF_SECONDS)
            notifications.wait(delay, stop_event)
    finally:
        notifications.close()
        connection.close()


def _sync_once(currency: str, sync: Callable[..., object], failures: int) -> int:
    """One sync; returns the number of consecutive failures, logging one line when an outage starts and ends."""
    close_old_connections()
    try:
        sync(currency=currency)
    except NodeUnavailable as exc:
        if not failures:
            logger.warning("%s node unavailable, retrying with backoff: %s", currency, exc.message)
        return failures + 1
    except ChainError as exc:
        logger.warning("%s sync failed, retrying with backoff: %s", currency, exc.message)
        return failures + 1
    except Exception:
        # A bug or a database outage must not end the watcher: log it whole, back off, try again.
        logger.exception("%s sync failed unexpectedly, retrying with backoff", currency)
        return failures + 1
    if failures:
        logger.info("%s sync works again after %d failed attempt(s)", currency, failures)
    return 0


class _Notifications:
    """A SUB socket on the node's ZMQ publisher; without a URL, waiting is plain sleeping."""

    def __init__(self, context: zmq.Context, url: str | None) -> None:
        self.socket: zmq.Socket | None = None
        if url:
            self.socket = context.socket(zmq.SUB)
            self.socket.setsockopt(zmq.LINGER, 0)
            for topic in TOPICS:
                self.socket.setsockopt(zmq.SUBSCRIBE, topic)
            # The socket reconnects by itself when the node restarts.
            self.socket.connect(url)

    def wait(self, timeout: float, stop_event: threading.Event) -> None:
        """Returns after a burst of notifications, after `timeout` seconds, or soon after `stop_event` is set."""
        deadline = time.monotonic() + timeout
        while not stop_event.is_set():
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                return
            if self.socket is None:
                stop_event.wait(remaining)
                continue
            try:
                if self.socket.poll(min(remaining, STOP_CHECK_SECONDS) * 1000):
                    self._drain_burst()
                    return
            except zmq.ZMQError as exc:
                logger.warning("ZMQ notifications failed, polling only from now on: %s", exc)
                self.close()

    def _drain_burst(self) -> None:
        give_up = time.monotonic() + BURST_MAX_SECONDS
        while True:
            try:
                while True:
                    self.socket.recv_multipart(zmq.NOBLOCK)
            except zmq.Again:
                pass
            if time.monotonic() >= give_up or not self.socket.poll(BURST_GAP_SECONDS * 1000):
                return

    def close(self) -> None:
        if self.socket is not None:
            self.socket.close()
            self.socket = None
