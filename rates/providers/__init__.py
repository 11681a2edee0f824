from django.conf import settings
from django.utils.module_loading import import_string

from rates.providers.base import ProviderRate, RateProvider


def providers_load() -> list[RateProvider]:
    """One instance of each provider class named in settings.RATES_PROVIDERS."""
    return [import_string(path)() for path in settings.RATES_PROVIDERS]


__all__ = ["ProviderRate", "RateProvider", "providers_load"]
