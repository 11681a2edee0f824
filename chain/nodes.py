"""Which node serves each coin: `CHAIN_<CUR>_RPC_URL`, `CHAIN_<CUR>_NETWORK`, `CHAIN_<CUR>_ZMQ_URL`."""

import os
from dataclasses import dataclass
from functools import lru_cache

from chain.currencies import NETWORKS, coin_codes, coin_get
from chain.errors import ChainNotConfigured, UnsupportedNetwork
from chain.rpc import NodeRpc


@dataclass(frozen=True)
class ChainSettings:
    currency: str
    rpc_url: str
    network: str
    zmq_url: str | None


def chain_settings(currency: str) -> ChainSettings:
    code = coin_get(currency).code
    rpc_url = os.environ.get(f"CHAIN_{code}_RPC_URL", "").strip()
    if not rpc_url:
        raise ChainNotConfigured(code)
    network = os.environ.get(f"CHAIN_{code}_NETWORK", "mainnet").strip() or "mainnet"
    if network not in NETWORKS:
        raise UnsupportedNetwork(f"CHAIN_{code}_NETWORK must be one of {', '.join(NETWORKS)}, got {network!r}")
    zmq_url = os.environ.get(f"CHAIN_{code}_ZMQ_URL", "").strip() or None
    return ChainSettings(currency=code, rpc_url=rpc_url, network=network, zmq_url=zmq_url)


def configured_currencies() -> list[str]:
    return [code for code in coin_codes() if os.environ.get(f"CHAIN_{code}_RPC_URL", "").strip()]


@lru_cache(maxsize=None)
def _client(rpc_url: str) -> NodeRpc:
    return NodeRpc(rpc_url)


def node_client(currency: str) -> NodeRpc:
    """The pooled RPC client of the coin's configured node (one per URL and process)."""
    return _client(chain_settings(currency).rpc_url)
