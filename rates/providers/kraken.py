"""Kraken's public ticker: GET /0/public/Ticker?pair=XBTUSD,... answers
{"error": [], "result": {"XXBTZUSD": {"a": [...], "b": [...], "c": ["64251.10000", "0.00120000"], ...}}}.

Kraken calls bitcoin XBT and dogecoin XDG. It is asked by each pair's alternative name (XBTUSD) and answers under
the pair's name, which for older pairs carries X/Z prefixes (XXBTZUSD) and for some has lost them over the years
(XDGUSD, once XXDGZUSD); both names are looked up. The price is "c", the last trade. One unknown pair fails the
whole request, so only listed pairs are asked for.
"""

from rates.errors import ProviderError
from rates.providers import http
from rates.providers.base import HttpRateProvider, ProviderRate, json_object

# Alternative name -> (coin, fiat, prefixed name).
PAIRS = {
    "XBTUSD": ("BTC", "USD", "XXBTZUSD"),
    "XBTEUR": ("BTC", "EUR", "XXBTZEUR"),
    "XBTGBP": ("BTC", "GBP", "XXBTZGBP"),
    "XBTCAD": ("BTC", "CAD", "XXBTZCAD"),
    "XBTJPY": ("BTC", "JPY", "XXBTZJPY"),
    "XBTAUD": ("BTC", "AUD", "XBTAUD"),
    "XBTCHF": ("BTC", "CHF", "XBTCHF"),
    "LTCUSD": ("LTC", "USD", "XLTCZUSD"),
    "LTCEUR": ("LTC", "EUR", "XLTCZEUR"),
    "LTCGBP": ("LTC", "GBP", "LTCGBP"),
    "BCHUSD": ("BCH", "USD", "BCHUSD"),
    "BCHEUR": ("BCH", "EUR", "BCHEUR"),
    "BCHGBP": ("BCH", "GBP", "BCHGBP"),
    "XDGUSD": ("DOGE", "USD", "XXDGZUSD"),
    "XDGEUR": ("DOGE", "EUR", "XXDGZEUR"),
}


class KrakenProvider(HttpRateProvider):
    name = "kraken"
    base_url = "https://api.kraken.com"

    def fetch(self) -> list[ProviderRate]:
        answer = http.get_json(self.url("/0/public/Ticker"), params={"pair": ",".join(PAIRS)})
        answer = json_object(answer, "the response")
        if answer.get("error"):
            raise ProviderError(f"Kraken answered with errors {answer['error']!r}")
        result = json_object(answer.get("result"), "result")
        return self.parsed(
            (coin, fiat, _last_trade(result.get(canonical, result.get(altname))))
            for altname, (coin, fiat, canonical) in PAIRS.items()
        )


def _last_trade(ticker: object) -> object:
    if isinstance(ticker, dict) and isinstance(ticker.get("c"), list) and ticker["c"]:
        return ticker["c"][0]
    return None
