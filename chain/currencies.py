"""The coin registry: what each supported coin is and how its addresses look on each network.

Import-light on purpose (no Django), so any module can use it.
"""

from dataclasses import dataclass, field
from decimal import Decimal, InvalidOperation
from types import MappingProxyType
from typing import Mapping
from urllib.parse import quote

from chain.errors import UnknownCurrency

MAINNET = "mainnet"
TESTNET = "testnet"
REGTEST = "regtest"
NETWORKS = (MAINNET, TESTNET, REGTEST)

P2WPKH = "p2wpkh"
P2PKH = "p2pkh"
CASHADDR = "cashaddr"


@dataclass(frozen=True)
class NetworkParams:
    p2pkh_version: int
    segwit_hrp: str | None = None
    cashaddr_prefix: str | None = None
    # SLIP-132 names of the extended public keys a merchant may give (see chain.derivation).
    xpub_versions: tuple[str, ...] = ("xpub",)


@dataclass(frozen=True)
class Coin:
    code: str
    name: str
    symbol: str
    decimals: int
    scheme: str
    uri_scheme: str
    default_confirmations: int
    sort_order: int
    aliases: tuple[str, ...]
    networks: Mapping[str, NetworkParams] = field(hash=False, repr=False)

    def detail(self) -> dict:
        """GoCoin's currency detail object (`price_currency_detail` and friends)."""
        return {
            "id": self.code,
            "name": self.name,
            "symbol": self.symbol,
            "is_crypto": True,
            "sort_order": self.sort_order,
            "precision": self.decimals,
            "aliases": list(self.aliases),
        }

    def to_decimal(self, base_units: int) -> Decimal:
        """Base units (satoshis) -> coins, exactly, with `decimals` places: 100 -> Decimal('0.00000100')."""
        if isinstance(base_units, bool) or not isinstance(base_units, int):
            raise TypeError(f"base units must be an int, got {type(base_units).__name__}")
        return Decimal(base_units).scaleb(-self.decimals).quantize(Decimal(1).scaleb(-self.decimals))

    def to_base_units(self, amount: Decimal | str | int) -> int:
        """Coins -> base units, refusing floats and anything finer than the coin's precision."""
        if isinstance(amount, (float, bool)):
            raise TypeError("amounts must be Decimal, str or int, never float")
        try:
            value = Decimal(amount)
        except InvalidOperation:
            raise ValueError(f"{amount!r} is not a number") from None
        if not value.is_finite():
            raise ValueError(f"{amount!r} is not a finite amount")
        scaled = value.scaleb(self.decimals)
        if scaled != scaled.to_integral_value():
            raise ValueError(f"{amount} {self.code} has more than {self.decimals} decimal places")
        return int(scaled)

    def format(self, base_units: int) -> str:
        """The amount as a fixed-point string with all `decimals` places: 100 -> '0.00000100'."""
        return format(self.to_decimal(base_units), "f")

    def uri(self, address: str, base_units: int | None = None, label: str | None = None) -> str:
        """A BIP21-style payment URI. CashAddr addresses already carry their prefix, which is the scheme."""
        target = address if ":" in address else f"{self.uri_scheme}:{address}"
        params = []
        if base_units is not None:
            params.append(f"amount={self.to_decimal(base_units).normalize():f}")
        if label:
            params.append(f"label={quote(label, safe='')}")
        return f"{target}?{'&'.join(params)}" if params else target


def _networks(**params: NetworkParams) -> Mapping[str, NetworkParams]:
    return MappingProxyType(params)


_BTC_TEST_KEYS = ("tpub", "vpub")

COINS: Mapping[str, Coin] = MappingProxyType(
    {
        coin.code: coin
        for coin in (
            Coin(
                code="BTC",
                name="Bitcoin",
                symbol="Ƀ",
                decimals=8,
                scheme=P2WPKH,
                uri_scheme="bitcoin",
                default_confirmations=2,
                sort_order=1,
                aliases=("XBT",),
                networks=_networks(
                    mainnet=NetworkParams(0x00, segwit_hrp="bc", xpub_versions=("xpub", "zpub")),
                    testnet=NetworkParams(0x6F, segwit_hrp="tb", xpub_versions=_BTC_TEST_KEYS),
                    regtest=NetworkParams(0x6F, segwit_hrp="bcrt", xpub_versions=_BTC_TEST_KEYS),
                ),
            ),
            Coin(
                code="LTC",
                name="Litecoin",
                symbol="Ł",
                decimals=8,
                scheme=P2WPKH,
                uri_scheme="litecoin",
                default_confirmations=6,
                sort_order=2,
                aliases=(),
                networks=_networks(
                    mainnet=NetworkParams(0x30, segwit_hrp="ltc", xpub_versions=("xpub", "zpub", "Ltub")),
                    testnet=NetworkParams(0x6F, segwit_hrp="tltc", xpub_versions=(*_BTC_TEST_KEYS, "ttub")),
                    regtest=NetworkParams(0x6F, segwit_hrp="rltc", xpub_versions=(*_BTC_TEST_KEYS, "ttub")),
                ),
            ),
            Coin(
                code="DOGE",
                name="Dogecoin",
                symbol="Ð",
                decimals=8,
                scheme=P2PKH,
                uri_scheme="dogecoin",
                default_confirmations=6,
                sort_order=3,
                aliases=("XDG",),
                networks=_networks(
                    mainnet=NetworkParams(0x1E, xpub_versions=("xpub", "dgub")),
                    testnet=NetworkParams(0x71, xpub_versions=("tpub", "tgub")),
                    regtest=NetworkParams(0x6F, xpub_versions=("tpub", "tgub")),
                ),
            ),
            Coin(
                code="BCH",
                name="Bitcoin Cash",
                symbol="BCH",
                decimals=8,
                scheme=CASHADDR,
                uri_scheme="bitcoincash",
                default_confirmations=6,
                sort_order=4,
                aliases=(),
                networks=_networks(
                    mainnet=NetworkParams(0x00, cashaddr_prefix="bitcoincash"),
                    testnet=NetworkParams(0x6F, cashaddr_prefix="bchtest", xpub_versions=("tpub",)),
                    regtest=NetworkParams(0x6F, cashaddr_prefix="bchreg", xpub_versions=("tpub",)),
                ),
            ),
            Coin(
                code="BSV",
                name="Bitcoin SV",
                symbol="BSV",
                decimals=8,
                scheme=P2PKH,
                uri_scheme="bitcoin",
                default_confirmations=6,
                sort_order=5,
                aliases=(),
                networks=_networks(
                    mainnet=NetworkParams(0x00),
                    testnet=NetworkParams(0x6F, xpub_versions=("tpub",)),
                    regtest=NetworkParams(0x6F, xpub_versions=("tpub",)),
                ),
            ),
        )
    }
)

_BY_NAME = {name.upper(): coin for coin in COINS.values() for name in (coin.code, *coin.aliases)}


def coin_get(code: str) -> Coin:
    """The coin for a code or alias, case-insensitive ('xdg' -> DOGE); raises UnknownCurrency."""
    coin = _BY_NAME.get(code.strip().upper()) if isinstance(code, str) else None
    if coin is None:
        raise UnknownCurrency(code)
    return coin


def coin_codes() -> list[str]:
    """Codes of every supported coin, in display order."""
    return [coin.code for coin in sorted(COINS.values(), key=lambda coin: coin.sort_order)]
