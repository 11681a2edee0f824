"""A customer's wallet built from the node's RPC: it builds, funds and signs a payment, and leaves the broadcast to
whoever it hands the transaction to (the platform, through the payment protocol)."""

from decimal import Decimal

SATOSHIS = Decimal(100_000_000)


def _varint(n: int) -> str:
    if n < 0xFD:
        return f"{n:02x}"
    return "fd" + n.to_bytes(2, "little").hex()


def _signed(node, unfunded: str) -> str:
    funded = node.rpc.call("fundrawtransaction", unfunded)["hex"]
    signed = node.rpc.call("signrawtransaction", funded)
    assert signed["complete"], signed
    return signed["hex"]


def pay_addresses(node, outputs: list[dict]) -> str:
    """A signed transaction paying JSON Payment Protocol outputs (`{"address", "amount"}` in satoshis)."""
    amounts: dict[str, Decimal] = {}
    for output in outputs:
        amounts[output["address"]] = amounts.get(output["address"], Decimal(0)) + Decimal(output["amount"]) / SATOSHIS
    unfunded = node.rpc.call("createrawtransaction", [], {address: str(amount) for address, amount in amounts.items()})
    return _signed(node, unfunded)


def pay_scripts(node, outputs: list[dict]) -> str:
    """A signed transaction paying BIP270 outputs (`{"script", "amount"}` in satoshis)."""
    body = "".join(
        int(output["amount"]).to_bytes(8, "little").hex() + _varint(len(output["script"]) // 2) + output["script"]
        for output in outputs
    )
    return _signed(node, "01000000" + "00" + _varint(len(outputs)) + body + "00000000")


def txid_of(node, transaction_hex: str) -> str:
    return node.rpc.call("decoderawtransaction", transaction_hex)["txid"]


def in_mempool(node, txid: str) -> bool:
    return txid in node.rpc.call("getrawmempool")
