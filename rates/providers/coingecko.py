"""CoinGecko's simple price: GET /api/v3/simple/price?ids=bitcoin,...&vs_currencies=usd,...&precision=full answers
{"bitcoin": {"usd": 64252.4, "eur": 59367.1, ...}, ...} with JSON numbers, keyed by CoinGecko's coin ids and
lower-case currency codes. Every fiat of the registry is asked for.
"""

from rates.fiat import FIATS
from rates.providers import http
from rates.providers.base import HttpRateProvider, ProviderRate, json_object

IDS = {
    "bitcoin": "BTC",
    "litecoin": "LTC",
    "bitcoin-cash": "BCH",
    "bitcoin-cash-sv": "BSV",
    "dogecoin": "DOGE",
}


class CoinGeckoProvider(HttpRateProvider):
    name = "coingecko"
    base_url = "https://api.coingecko.com"

    def fetch(self) -> list[ProviderRate]:
        params = {"ids": ",".join(IDS), "vs_currencies": ",".join(code.lower() for code in FIATS), "precision": "full"}
        prices = json_object(http.get_json(self.url("/api/v3/simple/price"), params=params), "the response")
        return self.parsed(
            (coin, fiat, json_object(prices[coin_id], coin_id).get(fiat.lower()) if coin_id in prices else None)
            for coin_id, coin in IDS.items()
            for fiat in FIATS
        )
