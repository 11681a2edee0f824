from django.conf import settings
from django.utils.module_loading import import_string

from rates.providers.base import ProviderRate, RateProvider

DEFAULT_PROVIDERS = ["rates.providers.fixed.FixedRateProvider"]


def providers_load() -> list[RateProvider]:
    paths = getattr(settings, "RATES_PROVIDERS", DEFAULT_PROVIDERS)
    return [import_string(path)() for path in paths]


__all__ = ["DEFAULT_PROVIDERS", "ProviderRate", "RateProvider", "providers_load"]
