"""The European Central Bank's daily reference rates: GET /stats/eurofxref/eurofxref-daily.xml answers a gesmes
envelope whose <Cube time="..."> holds <Cube currency="USD" rate="1.0823"/>, units of each currency per 1 EUR.

They become fiat reference rates, USD per unit of each fiat: EUR/USD as published, every other fiat F as
USD-per-EUR / F-per-EUR, rounded once.
"""

from xml.etree import ElementTree

from rates.errors import ProviderError
from rates.fiat import FIATS
from rates.precision import rate_divide
from rates.providers import http
from rates.providers.base import HttpRateProvider, ProviderRate

_CUBE = "{http://www.ecb.int/vocabulary/2002-08-01/eurofxref}Cube"


class EcbProvider(HttpRateProvider):
    name = "ecb"
    base_url = "https://www.ecb.europa.eu"

    def fetch(self) -> list[ProviderRate]:
        body = http.get(self.url("/stats/eurofxref/eurofxref-daily.xml"))
        # The published document has no DTD; refusing one keeps entity expansion out of the parser.
        if b"<!DOCTYPE" in body or b"<!ENTITY" in body:
            raise ProviderError("the XML carries a DTD, which the ECB document never does")
        try:
            root = ElementTree.fromstring(body)
        except ElementTree.ParseError as exc:
            raise ProviderError(f"malformed XML: {exc}") from None
        published = {cube.get("currency"): cube.get("rate") for cube in root.iter(_CUBE) if cube.get("currency")}
        asked = [code for code in FIATS if code in published or code == "USD"]
        per_eur = {item.fiat: item.rate for item in self.parsed(("EUR", code, published.get(code)) for code in asked)}
        if "USD" not in per_eur:
            raise ProviderError("no usable USD rate, so no rate can be expressed in USD")
        usd_per_eur = per_eur.pop("USD")
        return [ProviderRate(crypto="EUR", fiat="USD", rate=usd_per_eur)] + [
            ProviderRate(crypto=code, fiat="USD", rate=rate_divide(usd_per_eur, rate)) for code, rate in per_eur.items()
        ]
