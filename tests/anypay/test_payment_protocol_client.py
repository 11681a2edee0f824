"""The published JSON Payment Protocol client (npm `payment-protocol` 0.3.0, written by Anypay, not by us) walks its
four steps against the running server and pays an invoice on the regtest node."""

import fcntl
import json
import os
import random
import shutil
import subprocess
from pathlib import Path

import pytest

from chain.regtest import cache_dir
from chain.watcher import chain_sync
from invoices.models import Invoice
from tests.anypay.conftest import basic_client
from tests.anypay.wallet import in_mempool, pay_addresses, txid_of
from tests.factories import make_tenant

CLIENT_PACKAGE = "payment-protocol@0.3.0"
SCRIPT = Path(__file__).with_name("paypro_client.js")


@pytest.fixture(scope="session")
def paypro_client_modules() -> Path:
    """The npm package installed once into the platform's cache folder (never into the source tree)."""
    if shutil.which("node") is None or shutil.which("npm") is None:
        pytest.fail("the payment protocol client test needs Node.js and npm on PATH")
    folder = cache_dir().parent / "npm" / CLIENT_PACKAGE.replace("@", "-")
    folder.mkdir(parents=True, exist_ok=True)
    with open(folder / ".lock", "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        if not (folder / "node_modules" / "payment-protocol" / "package.json").is_file():
            subprocess.run(
                ["npm", "install", "--no-save", "--no-audit", "--no-fund", "--prefix", str(folder), CLIENT_PACKAGE],
                check=True, capture_output=True, timeout=300,
            )
    return folder / "node_modules"


def run_client(modules: Path, *args: str) -> dict:
    completed = subprocess.run(
        ["node", str(SCRIPT), *args], capture_output=True, text=True, timeout=120,
        env={**os.environ, "NODE_PATH": str(modules)},
    )
    assert completed.stdout, completed.stderr
    return json.loads(completed.stdout)


@pytest.fixture
def shop(transactional_db, bsv_regtest, rates):
    tenant = make_tenant("Node Shop", "node@example.com", account=random.randrange(2**30), wallets=("BSV",), network="regtest")
    chain_sync(currency="BSV")
    return tenant


def test_the_published_client_walks_the_four_json_v2_steps(shop, bsv_regtest, live_server, paypro_client_modules, settings):
    settings.PUBLIC_BASE_URL = live_server.url
    uid = basic_client(shop.token).post("/anypay/invoices", {"amount": "4.50"}, format="json").json()["uid"]
    url = f"{live_server.url}/anypay/r/{uid}"

    selected = run_client(paypro_client_modules, "select", url, "BSV")
    outputs = selected["request"]["instructions"][0]["outputs"]
    signed = pay_addresses(bsv_regtest, outputs)
    paid = run_client(paypro_client_modules, "pay", url, "BSV", signed)

    option = Invoice.objects.get(uid=uid).payment_options.get()
    assert selected["options"]["paymentUrl"] == url
    assert [o["currency"] for o in selected["options"]["paymentOptions"]] == ["BSV"]
    assert outputs == [{"amount": option.amount_due, "address": option.address}]
    assert paid["verification"]["memo"] == "Un-Signed Transaction Validated with Success"
    assert paid["paid"]["memo"] == "Transactions accepted and broadcast to the network"
    assert in_mempool(bsv_regtest, txid_of(bsv_regtest, signed))
    assert Invoice.objects.get(uid=uid).status == "paid"


def test_the_published_client_sees_a_refused_payment_as_400(shop, bsv_regtest, live_server, paypro_client_modules):
    uid = basic_client(shop.token).post("/anypay/invoices", {"amount": "4.50"}, format="json").json()["uid"]
    url = f"{live_server.url}/anypay/r/{uid}"
    outputs = run_client(paypro_client_modules, "select", url, "BSV")["request"]["instructions"][0]["outputs"]
    short = pay_addresses(bsv_regtest, [{**outputs[0], "amount": outputs[0]["amount"] - 1}])

    answer = run_client(paypro_client_modules, "pay", url, "BSV", short)

    assert answer["error"]["status"] == 400
    assert answer["error"]["data"]["error"].startswith("the transaction pays")
    assert not in_mempool(bsv_regtest, txid_of(bsv_regtest, short))
