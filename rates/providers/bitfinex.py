"""Bitfinex's public tickers: GET /v2/tickers?symbols=tBTCUSD,... answers one JSON array per market,
[SYMBOL, BID, BID_SIZE, ASK, ASK_SIZE, DAILY_CHANGE, DAILY_CHANGE_RELATIVE, LAST_PRICE, VOLUME, HIGH, LOW],
with JSON numbers; an error is ["error", CODE, "message"].

Symbols longer than three letters take a colon (tDOGE:USD), and Bitfinex calls Bitcoin Cash BCHN. The price is
LAST_PRICE. Unknown symbols are left out of the answer rather than failing it.
"""

from rates.errors import ProviderError
from rates.providers import http
from rates.providers.base import HttpRateProvider, ProviderRate

SYMBOLS = {
    "tBTCUSD": ("BTC", "USD"),
    "tBTCEUR": ("BTC", "EUR"),
    "tBTCGBP": ("BTC", "GBP"),
    "tBTCJPY": ("BTC", "JPY"),
    "tLTCUSD": ("LTC", "USD"),
    "tBCHN:USD": ("BCH", "USD"),
    "tBSVUSD": ("BSV", "USD"),
    "tDOGE:USD": ("DOGE", "USD"),
}
_LAST_PRICE = 7


class BitfinexProvider(HttpRateProvider):
    name = "bitfinex"
    base_url = "https://api-pub.bitfinex.com"

    def fetch(self) -> list[ProviderRate]:
        rows = http.get_json(self.url("/v2/tickers"), params={"symbols": ",".join(SYMBOLS)})
        if not isinstance(rows, list):
            raise ProviderError(f"expected a list of tickers, got {type(rows).__name__}")
        if rows and rows[0] == "error":
            raise ProviderError(f"Bitfinex answered with an error {rows!r}")
        last_prices = {
            row[0]: row[_LAST_PRICE]
            for row in rows
            if isinstance(row, list) and len(row) > _LAST_PRICE and isinstance(row[0], str)
        }
        return self.parsed((coin, fiat, last_prices.get(symbol)) for symbol, (coin, fiat) in SYMBOLS.items())
