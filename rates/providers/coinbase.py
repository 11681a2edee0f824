"""Coinbase exchange rates: GET /v2/exchange-rates?currency=BTC answers
{"data": {"currency": "BTC", "rates": {"USD": "64250.13", "EUR": "59364.38", ...}}}, strings of units per 1 BTC.

One request per coin gives fiat per coin at the fiat's precision. One more, currency=USD, gives units of each fiat per
USD, which become fiat reference rates. Coins per USD are not used: with eight decimals they are too coarse to invert.
"""

import logging
from concurrent.futures import ThreadPoolExecutor

from rates.errors import ProviderError
from rates.fiat import FIATS
from rates.precision import rate_divide
from rates.providers import http
from rates.providers.base import HttpRateProvider, ProviderRate, json_object

logger = logging.getLogger("rates.providers")

COINS = ("BTC", "LTC", "BCH", "DOGE")


class CoinbaseProvider(HttpRateProvider):
    name = "coinbase"
    base_url = "https://api.coinbase.com"

    def fetch(self) -> list[ProviderRate]:
        bases = (*COINS, "USD")
        with ThreadPoolExecutor(max_workers=len(bases)) as pool:
            answers = dict(zip(bases, pool.map(self._table, bases)))
        tables = {}
        for base, answer in answers.items():
            if isinstance(answer, ProviderError):
                logger.warning("rate provider %s: %s rates skipped: %s", self.name, base, answer)
            else:
                tables[base] = answer
        if not tables:
            raise ProviderError(f"every request failed, the first with: {answers[bases[0]]}")
        rates = self.parsed(
            (base, fiat, table[fiat])
            for base, table in tables.items()
            for fiat in FIATS
            if fiat in table and fiat != base
        )
        # The USD table holds units of each fiat per USD; a reference rate is USD per unit of the fiat.
        return [
            ProviderRate(crypto=item.fiat, fiat="USD", rate=rate_divide(1, item.rate)) if item.crypto == "USD" else item
            for item in rates
        ]

    def _table(self, base: str) -> dict | ProviderError:
        try:
            answer = http.get_json(self.url("/v2/exchange-rates"), params={"currency": base})
            data = json_object(json_object(answer, "the response").get("data"), "data")
            if data.get("currency") != base:
                raise ProviderError(f"asked for {base} rates, got {data.get('currency')!r}")
            return json_object(data.get("rates"), "data.rates")
        except ProviderError as exc:
            return exc
