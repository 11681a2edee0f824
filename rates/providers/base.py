import logging
import re
from abc import ABC, abstractmethod
from collections.abc import Iterable
from dataclasses import dataclass
from decimal import Decimal

from django.conf import settings

from rates.errors import ProviderError

logger = logging.getLogger("rates.providers")

_PLAIN_NUMBER = re.compile(r"[0-9]+(\.[0-9]+)?")


@dataclass(frozen=True)
class ProviderRate:
    """`rate` units of `fiat` per 1 `crypto`, as one provider reports it.

    For a fiat reference rate `crypto` holds the fiat and `fiat` is USD: USD per 1 unit of that fiat.
    """

    crypto: str
    fiat: str
    rate: Decimal


class RateProvider(ABC):
    name: str

    @abstractmethod
    def fetch(self) -> list[ProviderRate]:
        """Return the provider's current rates; raise on any failure."""


class HttpRateProvider(RateProvider):
    """A provider behind a public HTTP API. settings.RATES_PROVIDER_URLS[name], when set, replaces `base_url`."""

    base_url: str

    def url(self, path: str) -> str:
        return (settings.RATES_PROVIDER_URLS.get(self.name) or self.base_url).rstrip("/") + path

    def parsed(self, reported: Iterable[tuple[str, str, object]]) -> list[ProviderRate]:
        """(crypto, fiat, value) triples as ProviderRates. A value that is missing (None) or not a positive number
        drops its pair with a logged reason; a response with no usable pair at all fails the fetch."""
        rates = []
        for crypto, fiat, value in reported:
            try:
                rates.append(ProviderRate(crypto=crypto, fiat=fiat, rate=positive_decimal(value)))
            except ValueError as exc:
                logger.warning("rate provider %s: dropped %s/%s: %s", self.name, crypto, fiat, exc)
        if not rates:
            raise ProviderError("no usable rate in the response")
        return rates


def positive_decimal(value: object) -> Decimal:
    """A JSON number (already a Decimal or int, see rates.providers.http) or a plain decimal string, which must be
    positive; ValueError saying why otherwise."""
    if value is None:
        raise ValueError("missing")
    if isinstance(value, str):
        if not _PLAIN_NUMBER.fullmatch(value):
            raise ValueError(f"{value!r} is not a plain decimal number")
        value = Decimal(value)
    if isinstance(value, bool) or not isinstance(value, (Decimal, int)):
        raise ValueError(f"{value!r} is not a number")
    number = Decimal(value)
    if not number.is_finite() or number <= 0:
        raise ValueError(f"{value} is not a positive number")
    return number


def json_object(value: object, what: str) -> dict:
    """`value` if it is a JSON object, else ProviderError naming what was expected."""
    if not isinstance(value, dict):
        raise ProviderError(f"expected {what} to be an object, got {type(value).__name__}")
    return value
