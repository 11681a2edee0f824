"""A broken rates setting stops startup (manage.py check) with the variable's name."""

from rates.checks import rates_settings_check


def messages() -> list[str]:
    return [error.msg for error in rates_settings_check(None)]


def test_the_defaults_pass():
    assert messages() == []


def test_a_provider_that_does_not_import_is_named(settings):
    settings.RATES_PROVIDERS = ["rates.providers.kraken.KrakenProvider", "rates.providers.nowhere.Provider"]

    assert messages() == [messages()[0]]
    assert messages()[0].startswith("RATES_PROVIDERS: cannot import 'rates.providers.nowhere.Provider'")


def test_something_that_is_not_a_provider_is_named(settings):
    settings.RATES_PROVIDERS = ["rates.models.SpotRate"]

    assert messages() == ["RATES_PROVIDERS: 'rates.models.SpotRate' is not a rate provider class"]


def test_no_provider_at_all_is_named(settings):
    settings.RATES_PROVIDERS = []

    assert messages() == ["RATES_PROVIDERS is empty: name at least one provider"]


def test_a_provider_url_that_is_not_http_is_named(settings):
    settings.RATES_PROVIDER_URLS = {"kraken": "ftp://mirror"}

    assert messages() == ["RATES_PROVIDER_URLS: expected name=http(s)://..., got kraken=ftp://mirror"]
