from decimal import Decimal

from django.conf import settings

from rates.fiat import is_fiat
from rates.precision import rate_divide
from rates.providers.base import ProviderRate, RateProvider


class FixedRateProvider(RateProvider):
    """The offline table in settings.RATES_FIXED_USD (USD per unit), crossed through USD."""

    name = "fixed"

    def fetch(self) -> list[ProviderRate]:
        usd_per_unit = {"USD": Decimal(1)}
        usd_per_unit.update({code.upper(): Decimal(value) for code, value in settings.RATES_FIXED_USD.items()})
        fiats = [code for code in usd_per_unit if is_fiat(code)]
        cryptos = [code for code in usd_per_unit if not is_fiat(code)]
        return [
            ProviderRate(crypto=crypto, fiat=fiat, rate=rate_divide(usd_per_unit[crypto], usd_per_unit[fiat]))
            for crypto in cryptos
            for fiat in fiats
        ]
