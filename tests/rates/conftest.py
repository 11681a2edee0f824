import pytest

from tests.rates.recorded_server import PROVIDERS, RecordedProviders


@pytest.fixture(scope="session")
def recorded_server():
    server = RecordedProviders()
    yield server
    server.close()


@pytest.fixture
def recorded(recorded_server, settings) -> RecordedProviders:
    """Every live provider configured, each answering from its recorded response on 127.0.0.1."""
    recorded_server.reset()
    settings.RATES_PROVIDERS = list(PROVIDERS.values())
    settings.RATES_PROVIDER_URLS = recorded_server.urls()
    return recorded_server
