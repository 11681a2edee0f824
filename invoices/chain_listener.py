"""The invoices app's answer to the chain watcher: it turns what the node shows into payments."""

from chain.listeners import SeenOutput
from invoices import payments


class InvoicePaymentsListener:
    def outputs_seen(self, *, currency: str, outputs: list[SeenOutput]) -> int:
        return payments.outputs_record(currency=currency, outputs=outputs)

    def blocks_disconnected(self, *, currency: str, block_hashes: list[str]) -> None:
        payments.blocks_disconnect(currency=currency, block_hashes=block_hashes)

    def tip_changed(self, *, currency: str, height: int) -> None:
        payments.confirmations_update(currency=currency, height=height)

    def unconfirmed_txids(self, *, currency: str) -> list[str]:
        return payments.unconfirmed_txids(currency=currency)

    def transactions_gone(self, *, currency: str, txids: list[str]) -> None:
        payments.transactions_gone(currency=currency, txids=txids)


listener = InvoicePaymentsListener()
