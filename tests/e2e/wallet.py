"""A customer's wallet built from the node's RPC, for payments a plain `sendtoaddress` cannot make."""

from decimal import Decimal


def _varint(n: int) -> str:
    if n < 0xFD:
        return f"{n:02x}"
    return "fd" + n.to_bytes(2, "little").hex()


def send_to_scripts(node, outputs: list[tuple[str, Decimal]]) -> str:
    """Pays several outputs (script hex, amount in coins) in one transaction funded and signed by the node."""
    body = "".join(
        int(amount * 100_000_000).to_bytes(8, "little").hex() + _varint(len(script) // 2) + script
        for script, amount in outputs
    )
    unfunded = "01000000" + "00" + _varint(len(outputs)) + body + "00000000"
    funded = node.rpc.call("fundrawtransaction", unfunded)["hex"]
    signed = node.rpc.call("signrawtransaction", funded)
    assert signed["complete"], signed
    return node.rpc.call("sendrawtransaction", signed["hex"])
