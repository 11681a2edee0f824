"""Startup checks of the rates settings, naming the variable at fault."""

from django.conf import settings
from django.core.checks import Error, register
from django.utils.module_loading import import_string

from rates.providers.base import RateProvider


@register()
def rates_settings_check(app_configs: object, **kwargs: object) -> list[Error]:
    errors = []
    if not settings.RATES_PROVIDERS:
        errors.append(Error("RATES_PROVIDERS is empty: name at least one provider", id="rates.E001"))
    for path in settings.RATES_PROVIDERS:
        try:
            provider = import_string(path)
        except ImportError as exc:
            errors.append(Error(f"RATES_PROVIDERS: cannot import {path!r}: {exc}", id="rates.E002"))
            continue
        if not (isinstance(provider, type) and issubclass(provider, RateProvider)):
            errors.append(Error(f"RATES_PROVIDERS: {path!r} is not a rate provider class", id="rates.E003"))
    for name, url in settings.RATES_PROVIDER_URLS.items():
        if not name or not url.startswith(("http://", "https://")):
            errors.append(Error(f"RATES_PROVIDER_URLS: expected name=http(s)://..., got {name}={url}", id="rates.E004"))
    return errors
