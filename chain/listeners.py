"""How the watcher reports what it sees without knowing who listens (the invoices app registers itself).

Import-light on purpose: no Django models, so `chain` never depends on the apps that use it.
"""

from dataclasses import dataclass
from datetime import datetime
from typing import Protocol


@dataclass(frozen=True)
class SeenOutput:
    txid: str
    vout: int
    script_pubkey: str
    amount: int
    block_hash: str | None = None
    block_height: int | None = None
    # When the payment was handed over, if that was before it is recorded (a wallet's payment, checked and broadcast
    # in between): that moment, not the recording, decides whether it came in time.
    seen_at: datetime | None = None


class ChainListener(Protocol):
    def outputs_seen(self, *, currency: str, outputs: list[SeenOutput]) -> int: ...

    def blocks_disconnected(self, *, currency: str, block_hashes: list[str]) -> None: ...

    def tip_changed(self, *, currency: str, height: int) -> None: ...

    def unconfirmed_txids(self, *, currency: str) -> list[str]: ...

    def transactions_gone(self, *, currency: str, txids: list[str]) -> None: ...


_listeners: list[ChainListener] = []


def listener_register(listener: ChainListener) -> None:
    if listener not in _listeners:
        _listeners.append(listener)


def listeners() -> list[ChainListener]:
    return list(_listeners)
