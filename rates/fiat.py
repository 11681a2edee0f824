"""ISO 4217 fiat currencies the platform prices in."""

import re
from dataclasses import dataclass

from rates.errors import UnknownFiat


@dataclass(frozen=True)
class Fiat:
    code: str
    name: str
    symbol: str
    precision: int
    sort_order: int

    def detail(self) -> dict:
        """GoCoin's currency detail shape."""
        return {
            "id": self.code,
            "name": self.name,
            "symbol": self.symbol,
            "is_crypto": False,
            "sort_order": self.sort_order,
            "precision": self.precision,
            "aliases": [],
        }


_TABLE: list[tuple[str, str, str, int]] = [
    ("USD", "US Dollar", "$", 2),
    ("EUR", "Euro", "€", 2),
    ("GBP", "Pound Sterling", "£", 2),
    ("CAD", "Canadian Dollar", "$", 2),
    ("AUD", "Australian Dollar", "$", 2),
    ("CHF", "Swiss Franc", "CHF", 2),
    ("JPY", "Yen", "¥", 0),
    ("CNY", "Yuan Renminbi", "¥", 2),
    ("NZD", "New Zealand Dollar", "$", 2),
    ("SEK", "Swedish Krona", "kr", 2),
    ("NOK", "Norwegian Krone", "kr", 2),
    ("DKK", "Danish Krone", "kr", 2),
    ("PLN", "Zloty", "zł", 2),
    ("CZK", "Czech Koruna", "Kč", 2),
    ("HUF", "Forint", "Ft", 2),
    ("MXN", "Mexican Peso", "$", 2),
    ("BRL", "Brazilian Real", "R$", 2),
    ("INR", "Indian Rupee", "₹", 2),
    ("KRW", "Won", "₩", 0),
    ("SGD", "Singapore Dollar", "$", 2),
    ("HKD", "Hong Kong Dollar", "$", 2),
    ("ZAR", "Rand", "R", 2),
    ("TRY", "Turkish Lira", "₺", 2),
    ("ILS", "New Israeli Sheqel", "₪", 2),
    ("THB", "Baht", "฿", 2),
    ("PHP", "Philippine Peso", "₱", 2),
    ("IDR", "Rupiah", "Rp", 2),
    ("MYR", "Malaysian Ringgit", "RM", 2),
    ("AED", "UAE Dirham", "د.إ", 2),
]

# Fiats sort after the cryptos in GoCoin's currency list, hence from 100.
FIATS: dict[str, Fiat] = {
    code: Fiat(code=code, name=name, symbol=symbol, precision=precision, sort_order=100 + index)
    for index, (code, name, symbol, precision) in enumerate(_TABLE)
}


def fiat_get(code: str) -> Fiat:
    try:
        return FIATS[code.strip().upper()]
    except (KeyError, AttributeError):
        raise UnknownFiat(str(code)) from None


def fiat_list() -> list[Fiat]:
    return sorted(FIATS.values(), key=lambda fiat: fiat.sort_order)


def is_fiat(code: str) -> bool:
    return code.upper() in FIATS


_COIN_CODE = re.compile(r"[A-Z0-9]{2,10}")


def is_quotable_pair(base: str, quote: str) -> bool:
    """A pair a SpotRate can hold: a coin against a fiat, or a fiat against USD (a fiat reference rate)."""
    if not is_fiat(quote):
        return False
    if is_fiat(base):
        return quote == "USD" and base != "USD"
    return bool(_COIN_CODE.fullmatch(base))
