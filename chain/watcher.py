"""Follows one coin's node: new blocks, reorganisations, the mempool and confirmations.

Store, verify, process: the watcher reads the node, turns transactions into `SeenOutput`s and hands
them to the registered listeners (the invoices app), which match and record them idempotently.
"""

import fcntl
import logging
import zlib
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from decimal import Decimal

from django.conf import settings
from django.core.cache import cache
from django.db import connection, transaction

from chain.currencies import coin_get
from chain.errors import NodeError, NodeGarbage
from chain.listeners import SeenOutput, listeners
from chain.models import ChainCursor
from chain.nodes import node_client
from chain.rpc import NodeRpc

logger = logging.getLogger(__name__)

RECENT_BLOCKS_KEPT = 100
MEMPOOL_BATCH = 500
TX_NOT_FOUND = -5


@dataclass
class SyncReport:
    currency: str
    tip: int | None = None
    blocks: int = 0
    disconnected: list[str] = field(default_factory=list)
    mempool_transactions: int = 0
    matched: int = 0
    gone: list[str] = field(default_factory=list)
    skipped: bool = False


def chain_sync(*, currency: str) -> SyncReport:
    """Brings the coin's payments up to date with its node; a no-op when another sync is running.

    Takes a per-currency lock for the whole sync. Raises NodeUnavailable when the node is down: the
    cursor then stays where it was, so the next sync resumes without missing a block.
    """
    code = coin_get(currency).code
    report = SyncReport(currency=code)
    with _sync_lock(code) as acquired:
        if not acquired:
            report.skipped = True
            return report
        rpc = node_client(code)
        tip = rpc.call("getblockcount")
        report.tip = tip
        cursor = _cursor(code, rpc, tip)
        fork_height = _find_fork(rpc, cursor, tip)
        if fork_height < cursor.height:
            report.disconnected = _disconnect(code, cursor, fork_height)
        for height in range(cursor.height + 1, tip + 1):
            report.matched += _process_block(code, rpc, cursor, height)
            report.blocks += 1
        for listener in listeners():
            listener.tip_changed(currency=code, height=tip)
        mempool = set(rpc.call("getrawmempool"))
        new_count, matched = _process_mempool(code, rpc, mempool)
        report.mempool_transactions, report.matched = new_count, report.matched + matched
        report.gone = _check_unconfirmed(code, rpc, mempool)
    return report


def outputs_of(transaction_data: dict, *, block_hash: str | None, block_height: int | None) -> list[SeenOutput]:
    """The outputs of a decoded transaction, amounts in exact base units."""
    outputs = []
    for output in transaction_data.get("vout", ()):
        script = output.get("scriptPubKey", {}).get("hex")
        if not script:
            continue
        outputs.append(
            SeenOutput(
                txid=transaction_data["txid"],
                vout=int(output["n"]),
                script_pubkey=script.lower(),
                amount=base_units(output["value"]),
                block_hash=block_hash,
                block_height=block_height,
            )
        )
    return outputs


def base_units(value: Decimal | int | str) -> int:
    """A node amount (coins, 8 decimals) as an integer of base units, exactly; refuses floats and dust below 1e-8."""
    if isinstance(value, float):
        raise NodeGarbage("the node sent an amount as a binary float")
    amount = Decimal(value) * 100_000_000
    if amount != amount.to_integral_value():
        raise NodeGarbage(f"amount {value} has more than 8 decimal places")
    return int(amount)


@contextmanager
def _sync_lock(currency: str) -> Iterator[bool]:
    if connection.vendor == "postgresql":
        key = zlib.crc32(f"chain_sync:{currency}".encode())
        with connection.cursor() as cursor:
            cursor.execute("SELECT pg_try_advisory_lock(%s)", [key])
            acquired = cursor.fetchone()[0]
        try:
            yield acquired
        finally:
            if acquired:
                with connection.cursor() as cursor:
                    cursor.execute("SELECT pg_advisory_unlock(%s)", [key])
        return
    # The embedded SQLite run: a file lock shared by its watcher, beat and regtest_pay processes.
    settings.VAR_DIR.mkdir(parents=True, exist_ok=True)
    with open(settings.VAR_DIR / f"chain_sync_{currency}.lock", "w") as handle:
        try:
            fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            yield False
            return
        try:
            yield True
        finally:
            fcntl.flock(handle, fcntl.LOCK_UN)


def _cursor(currency: str, rpc: NodeRpc, tip: int) -> ChainCursor:
    cursor = ChainCursor.objects.filter(currency=currency).first()
    if cursor is not None:
        return cursor
    start = max(tip - settings.CHAIN_FIRST_SYNC_DEPTH, -1)
    block_hash = rpc.call("getblockhash", start) if start >= 0 else ""
    recent = [[start, block_hash]] if start >= 0 else []
    return ChainCursor.objects.create(currency=currency, height=start, block_hash=block_hash, recent_blocks=recent)


def _find_fork(rpc: NodeRpc, cursor: ChainCursor, tip: int) -> int:
    """The highest stored height whose block the node still has on its best chain."""
    for height, stored_hash in reversed(cursor.recent_blocks):
        if height > tip:
            continue
        if _block_hash(rpc, height) == stored_hash:
            return height
    if cursor.recent_blocks:
        oldest = cursor.recent_blocks[0][0]
        logger.error("%s reorganisation deeper than %d stored blocks; rescanning from %d", cursor.currency, len(cursor.recent_blocks), oldest - 1)
        return oldest - 1
    return cursor.height


def _block_hash(rpc: NodeRpc, height: int) -> str | None:
    try:
        return rpc.call("getblockhash", height)
    except NodeError:
        return None


def _disconnect(currency: str, cursor: ChainCursor, fork_height: int) -> list[str]:
    gone = [block_hash for height, block_hash in cursor.recent_blocks if height > fork_height]
    with transaction.atomic():
        for listener in listeners():
            listener.blocks_disconnected(currency=currency, block_hashes=gone)
        cursor.recent_blocks = [[h, b] for h, b in cursor.recent_blocks if h <= fork_height]
        cursor.height = fork_height
        cursor.block_hash = cursor.recent_blocks[-1][1] if cursor.recent_blocks else ""
        cursor.save()
    logger.warning("%s reorganisation: %d block(s) above height %d left the chain", currency, len(gone), fork_height)
    return gone


def _process_block(currency: str, rpc: NodeRpc, cursor: ChainCursor, height: int) -> int:
    block_hash = rpc.call("getblockhash", height)
    block = rpc.call("getblock", block_hash, 2)
    if not isinstance(block, dict) or not isinstance(block.get("tx"), list):
        raise NodeGarbage(f"getblock {block_hash}: no decoded transactions in the answer")
    outputs = [
        output
        for tx in block["tx"]
        for output in outputs_of(tx, block_hash=block_hash, block_height=height)
    ]
    with transaction.atomic():
        matched = sum(listener.outputs_seen(currency=currency, outputs=outputs) for listener in listeners())
        cursor.height = height
        cursor.block_hash = block_hash
        cursor.recent_blocks = [*cursor.recent_blocks, [height, block_hash]][-RECENT_BLOCKS_KEPT:]
        cursor.save()
    return matched


def _process_mempool(currency: str, rpc: NodeRpc, mempool: set[str]) -> tuple[int, int]:
    """Decodes mempool transactions not seen before; returns (new transactions, matched outputs)."""
    keys = {f"chain:mempool:{currency}:{txid}": txid for txid in mempool}
    known = cache.get_many(list(keys))
    fresh = [txid for key, txid in keys.items() if key not in known]
    matched = 0
    for start in range(0, len(fresh), MEMPOOL_BATCH):
        chunk = fresh[start : start + MEMPOOL_BATCH]
        decoded = _decode_transactions(rpc, chunk)
        outputs = [output for tx in decoded for output in outputs_of(tx, block_hash=None, block_height=None)]
        with transaction.atomic():
            matched += sum(listener.outputs_seen(currency=currency, outputs=outputs) for listener in listeners())
        cache.set_many({f"chain:mempool:{currency}:{tx['txid']}": 1 for tx in decoded}, timeout=settings.CHAIN_MEMPOOL_MEMORY_SECONDS)
    return len(fresh), matched


def _decode_transactions(rpc: NodeRpc, txids: list[str]) -> list[dict]:
    try:
        answers = rpc.batch([("getrawtransaction", [txid, 1]) for txid in txids])
    except NodeError:
        # A transaction left the mempool between the listing and the lookup: fetch one by one, skip it.
        answers = []
        for txid in txids:
            try:
                answers.append(rpc.call("getrawtransaction", txid, 1))
            except NodeError as exc:
                if exc.code != TX_NOT_FOUND:
                    raise
    return [answer for answer in answers if isinstance(answer, dict) and "txid" in answer]


def _check_unconfirmed(currency: str, rpc: NodeRpc, mempool: set[str]) -> list[str]:
    """Unconfirmed payments whose transaction is neither in the mempool nor in a block were replaced."""
    gone = []
    for listener in listeners():
        for txid in listener.unconfirmed_txids(currency=currency):
            if txid in mempool:
                continue
            try:
                rpc.call("getrawtransaction", txid, 1)
            except NodeError as exc:
                if exc.code == TX_NOT_FOUND:
                    gone.append(txid)
                    continue
                raise
        if gone:
            listener.transactions_gone(currency=currency, txids=gone)
    return gone
