"""The one-command local run uses SQLite, where the platform's hot writes take another path than on PostgreSQL
(one statement per row instead of one per invoice, a transaction instead of one query string)."""

import json
import subprocess
import sys
from pathlib import Path

from tests.webhooks.receiver import Answer

ROOT = Path(__file__).resolve().parents[2]


def test_the_embedded_sqlite_platform_creates_delivers_retries_and_expires(receiver, tmp_path):
    receiver.script("/hook", Answer(status=500), Answer(status=200))
    run = subprocess.run(
        [sys.executable, "-m", "tests.e2e.embedded_sqlite", str(tmp_path / "platform.sqlite3"), receiver.url("/hook")],
        cwd=ROOT, capture_output=True, text=True, timeout=180,
    )
    assert run.returncode == 0, run.stderr[-3000:]
    seen = json.loads(run.stdout.strip().splitlines()[-1])

    assert seen["status_code"] == 201
    invoice = seen["invoice"]
    assert invoice["status"] == "unpaid" and invoice["payment_address"].startswith("bc1q")
    assert seen["attempts"] == [[1, 500], [2, 200]]
    assert seen["delivery_state"] == "delivered"
    requests = receiver.received("/hook")
    assert len(requests) == 2
    assert requests[0].headers["webhook-id"] == requests[1].headers["webhook-id"]
    assert requests[0].body == requests[1].body
    body = json.loads(requests[0].body)
    assert (body["event"], body["payload"]["id"], body["payload"]["payment_address"]) == (
        "invoice_created", invoice["id"], invoice["payment_address"])
    assert seen["expired"] == 1
    assert seen["timeline"] == ["unpaid", "expired"]
    assert seen["events"] == ["invoice_created", "invoice_expired"]
    # The expired callback waits in the embedded file broker, not in the suite's Redis.
    assert seen["queued"] >= 1
