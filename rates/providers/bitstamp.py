"""Bitstamp's tickers of every market: GET /api/v2/ticker/ answers a list of
{"timestamp": "1763630400", "open": ..., "last": "64248", "bid": ..., "ask": ..., "pair": "BTC/USD", ...}, all strings.

The price is "last". Coins against fiats are kept, and Bitstamp's fiat markets against USD (EUR/USD, GBP/USD) as
fiat reference rates.
"""

from rates.errors import ProviderError
from rates.fiat import is_fiat
from rates.providers import http
from rates.providers.base import HttpRateProvider, ProviderRate

COINS = ("BTC", "LTC", "BCH", "BSV", "DOGE")


class BitstampProvider(HttpRateProvider):
    name = "bitstamp"
    base_url = "https://www.bitstamp.net"

    def fetch(self) -> list[ProviderRate]:
        tickers = http.get_json(self.url("/api/v2/ticker/"))
        if not isinstance(tickers, list):
            raise ProviderError(f"expected a list of tickers, got {type(tickers).__name__}")
        return self.parsed(
            (base, quote, ticker.get("last"))
            for ticker in tickers
            if isinstance(ticker, dict) and isinstance(ticker.get("pair"), str)
            for base, _, quote in [ticker["pair"].partition("/")]
            if (base in COINS and is_fiat(quote)) or (is_fiat(base) and base != "USD" and quote == "USD")
        )
