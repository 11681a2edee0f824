import pytest
from rest_framework.test import APIClient

from tests.factories import Tenant, make_tenant

pytest_plugins = ["tests.browser"]


def pytest_sessionstart(session):
    """The suite runs on the real services; without them it stops here instead of passing on a stand-in."""
    from django.conf import settings

    if settings.DATABASES["default"]["ENGINE"] != "django.db.backends.postgresql":
        pytest.exit("the tests need PostgreSQL: set DATABASE_URL=postgres://... (make test does)", returncode=3)
    if not settings.REDIS_URL:
        pytest.exit("the tests need Redis: set REDIS_URL=redis://... (make test does)", returncode=3)
    import redis

    try:
        redis.Redis.from_url(settings.REDIS_URL).ping()
    except redis.RedisError as exc:
        pytest.exit(f"Redis at {settings.REDIS_URL} is not reachable: {exc}", returncode=3)


EXAMPLE_PUBLIC_IP = "93.184.216.34"


@pytest.fixture(autouse=True)
def _example_dns(monkeypatch):
    """Names under example.com resolve to a public address without asking any DNS server."""
    import socket

    real = socket.getaddrinfo

    def getaddrinfo(host, port, *args, **kwargs):
        if isinstance(host, str) and (host == "example.com" or host.endswith(".example.com")):
            return real(EXAMPLE_PUBLIC_IP, port, *args, **kwargs)
        return real(host, port, *args, **kwargs)

    monkeypatch.setattr(socket, "getaddrinfo", getaddrinfo)


@pytest.fixture(autouse=True)
def _clear_cache():
    from django.core.cache import cache

    from rates.selectors import latest_rates_forget

    cache.clear()
    latest_rates_forget()
    yield


@pytest.fixture
def rates(db):
    from rates.services import spot_rates_refresh

    spot_rates_refresh()


@pytest.fixture
def alice(db) -> Tenant:
    """A merchant with BTC and DOGE wallets and a full-access token."""
    return make_tenant("Alice's Shop", "alice@example.com", account=0, wallets=("BTC", "DOGE"))


@pytest.fixture
def bob(db) -> Tenant:
    """Another merchant, who must never see Alice's data nor she his."""
    return make_tenant("Bob's Bikes", "bob@example.com", account=1, wallets=("BTC",))


@pytest.fixture
def client() -> APIClient:
    return APIClient()


@pytest.fixture
def receiver(settings):
    """A callback endpoint on 127.0.0.1, which only a platform with WEBHOOKS_ALLOW_LOOPBACK may call."""
    from tests.webhooks.receiver import Receiver

    settings.WEBHOOKS_ALLOW_LOOPBACK = True
    server = Receiver()
    yield server
    server.close()


@pytest.fixture(scope="session")
def regtest_node():
    """One funded regtest node for the session, started on first use; fails loudly if the node cannot be had."""
    from chain.regtest import RegtestNode

    with RegtestNode() as node:
        node.fund()
        yield node


@pytest.fixture
def bsv_regtest(regtest_node, monkeypatch):
    """The session's regtest node as the platform's BSV node; its wallet plays the customer."""
    import chain.nodes

    monkeypatch.setenv("CHAIN_BSV_RPC_URL", regtest_node.rpc_url)
    monkeypatch.setenv("CHAIN_BSV_NETWORK", "regtest")
    monkeypatch.setenv("CHAIN_BSV_ZMQ_URL", regtest_node.zmq_url)
    chain.nodes._client.cache_clear()
    yield regtest_node
    chain.nodes._client.cache_clear()
