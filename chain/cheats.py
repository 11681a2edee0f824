"""Test-network shortcuts for the hosted page: the regtest node's own wallet pays, and it mines on request.

Both refuse unless the coin's node is configured for regtest and says so itself, so no button can ever
spend from, or mine on, a real network's node.
"""

from chain.currencies import REGTEST, coin_get
from chain.errors import UnsupportedNetwork
from chain.nodes import chain_settings, node_client
from chain.regtest import mine_blocks, send_coins
from chain.rpc import NodeRpc


def regtest_pay(*, currency: str, address: str, base_units: int) -> str:
    """Pays `base_units` of the coin to `address` from the regtest node's wallet; returns the txid."""
    coin = coin_get(currency)
    if base_units <= 0:
        raise ValueError(f"a test payment needs a positive amount, got {base_units} base units")
    return send_coins(_regtest_rpc(coin.code), address, coin.to_decimal(base_units))


def regtest_mine(*, currency: str, blocks: int = 1) -> list[str]:
    """Mines `blocks` blocks on the coin's regtest node; returns their hashes."""
    return mine_blocks(_regtest_rpc(coin_get(currency).code), blocks)


def _regtest_rpc(code: str) -> NodeRpc:
    configured = chain_settings(code).network
    if configured != REGTEST:
        raise UnsupportedNetwork(f"the {code} node is configured for {configured}, not regtest")
    rpc = node_client(code)
    info = rpc.call("getblockchaininfo")
    chain = info.get("chain") if isinstance(info, dict) else None
    if chain != REGTEST:
        raise UnsupportedNetwork(f"the node at CHAIN_{code}_RPC_URL is on {chain!r}, not regtest")
    return rpc
