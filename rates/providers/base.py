from abc import ABC, abstractmethod
from dataclasses import dataclass
from decimal import Decimal


@dataclass(frozen=True)
class ProviderRate:
    """`rate` units of `fiat` per 1 `crypto`, as one provider reports it."""

    crypto: str
    fiat: str
    rate: Decimal


class RateProvider(ABC):
    name: str

    @abstractmethod
    def fetch(self) -> list[ProviderRate]:
        """Return the provider's current rates; raise on any failure."""
