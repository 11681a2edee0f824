import socket
import uuid

import pytest
from django.db import transaction

from config.celery import app as celery_app
from webhooks.models import Delivery
from webhooks.services import event_emit


class FakeDns:
    """Name resolution from a table only, so that nothing leaves the machine; every lookup is recorded."""

    def __init__(self) -> None:
        self.names: dict[str, list[str]] = {}
        self.after_first_lookup: dict[str, list[str]] = {}
        self.lookups: list[str] = []

    def getaddrinfo(self, host, port, family=0, type=0, proto=0, flags=0):
        addresses = self.after_first_lookup.get(host) if host in self.lookups else None
        addresses = addresses or self.names.get(host)
        self.lookups.append(host)
        if not addresses:
            raise socket.gaierror(socket.EAI_NONAME, "Name or service not known")
        return [
            (socket.AF_INET6, socket.SOCK_STREAM, 6, "", (ip, port, 0, 0))
            if ":" in ip
            else (socket.AF_INET, socket.SOCK_STREAM, 6, "", (ip, port))
            for ip in addresses
        ]


@pytest.fixture
def dns(monkeypatch) -> FakeDns:
    fake = FakeDns()
    monkeypatch.setattr(socket, "getaddrinfo", fake.getaddrinfo)
    return fake


@pytest.fixture
def queued(monkeypatch) -> list[int]:
    """The delivery ids handed to the task queue, kept here instead of going to Redis."""
    sent: list[int] = []

    def send_task(name, args=(), **options):
        assert name == "webhooks.tasks.delivery_attempt_task"
        sent.extend(args)

    monkeypatch.setattr(celery_app, "send_task", send_task)
    return sent


def emit(merchant, url: str | None, *, name: str = "invoice_created", body: dict | None = None, invoice_id=None):
    """One event as a status change emits it, in its own transaction; returns its delivery (None without a URL)."""
    with transaction.atomic():
        event = event_emit(
            merchant=merchant,
            url=url,
            name=name,
            event_id=uuid.uuid4(),
            body=body if body is not None else {"event": name, "payload": {"status": "unpaid"}},
            invoice_id=invoice_id,
        )
    return Delivery.objects.filter(event=event).first()
