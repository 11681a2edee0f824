"""Merchant extended public keys: validation, normalisation and receive-address derivation.

The platform holds no private key: anything that is one is refused with a message saying so.
Version prefixes follow SLIP-132; keys are stored with the plain xpub/tpub prefix so that
derivation never depends on which wallet exported them.
"""

import hashlib
import hmac
from dataclasses import dataclass
from functools import lru_cache

from bip_utils import (
    Base58Decoder,
    Base58Encoder,
    BchBech32Encoder,
    Bip32KeyError,
    Bip32KeyNetVersions,
    Bip32Slip10Secp256k1,
    Hash160,
    SegwitBech32Encoder,
)
from coincurve import PublicKey

from chain.currencies import CASHADDR, MAINNET, NETWORKS, P2WPKH, Coin, NetworkParams
from chain.errors import ChainError, InvalidExtendedKey, PrivateKeyRefused, UnsupportedNetwork

_MAIN, _TEST = "main", "test"
_SERIALISED_LENGTH = 78
_KEY_DATA_OFFSET = 45
_HARDENED = 2**31
_MAX_INPUT = 200  # base58 decoding is quadratic; an extended key is 111 characters

_STANDARD = {
    _MAIN: Bip32KeyNetVersions(bytes.fromhex("0488b21e"), bytes.fromhex("0488ade4")),  # xpub / xprv
    _TEST: Bip32KeyNetVersions(bytes.fromhex("043587cf"), bytes.fromhex("04358394")),  # tpub / tprv
}


@dataclass(frozen=True)
class _KeyVersion:
    name: str
    family: str
    used_by: str


_PUBLIC_VERSIONS = {
    bytes.fromhex(version): _KeyVersion(name, family, used_by)
    for version, name, family, used_by in (
        ("0488b21e", "xpub", _MAIN, "any wallet"),
        ("049d7cb2", "ypub", _MAIN, "P2SH-wrapped SegWit (BIP49) wallets"),
        ("04b24746", "zpub", _MAIN, "native SegWit (BIP84) wallets"),
        ("0295b43f", "Ypub", _MAIN, "multisig wallets"),
        ("02aa7ed3", "Zpub", _MAIN, "multisig wallets"),
        ("043587cf", "tpub", _TEST, "any wallet"),
        ("044a5262", "upub", _TEST, "P2SH-wrapped SegWit (BIP49) wallets"),
        ("045f1cf6", "vpub", _TEST, "native SegWit (BIP84) wallets"),
        ("024289ef", "Upub", _TEST, "multisig wallets"),
        ("02575483", "Vpub", _TEST, "multisig wallets"),
        ("019da462", "Ltub", _MAIN, "Litecoin wallets"),
        ("01b26ef6", "Mtub", _MAIN, "Litecoin P2SH-wrapped SegWit (BIP49) wallets"),
        ("0436f6e1", "ttub", _TEST, "Litecoin wallets"),
        ("02facafd", "dgub", _MAIN, "Dogecoin wallets"),
        ("0432a9a8", "tgub", _TEST, "Dogecoin wallets"),
    )
}
_PRIVATE_VERSIONS = {
    bytes.fromhex(version): name
    for version, name in (
        ("0488ade4", "xprv"),
        ("049d7878", "yprv"),
        ("04b2430c", "zprv"),
        ("0295b005", "Yprv"),
        ("02aa7a99", "Zprv"),
        ("04358394", "tprv"),
        ("044a4e28", "uprv"),
        ("045f18bc", "vprv"),
        ("024285b5", "Uprv"),
        ("02575048", "Vprv"),
        ("019d9cfe", "Ltpv"),
        ("01b26792", "Mtpv"),
        ("0436ef7d", "ttpv"),
        ("02fac398", "dgpv"),
        ("0432a243", "tgpv"),
    )
}
_WIF_VERSIONS = {0x80, 0xEF, 0xB0, 0x9E, 0xF1}  # BTC/BCH/BSV main, all tests, LTC, DOGE, DOGE test
_BASE58_ALPHABET = set("123456789ABCDEFGHJKLMNPQRSTUVWXYZabcdefghijkmnopqrstuvwxyz")
_SCHEME_ADDRESSES = {
    P2WPKH: "native SegWit (BIP84) addresses",
    CASHADDR: "CashAddr addresses of a BIP44 account",
}
_LEGACY_ADDRESSES = "legacy P2PKH addresses of a BIP44 account"

_GIVE_XPUB = "give the account's extended public key (111 characters starting with xpub, zpub, tpub, ...)"
NOT_A_KEY = f"this is not an extended public key: {_GIVE_XPUB}"


def _private_key_error(what: str) -> PrivateKeyRefused:
    return PrivateKeyRefused(
        f"this is {what}; give the extended public key (xpub) instead: the platform never holds private keys"
    )


@dataclass(frozen=True)
class DerivedAddress:
    address: str
    script_pubkey: str
    index: int
    network: str


def network_params(coin: Coin, network: str) -> NetworkParams:
    """The coin's parameters on `network`; raises UnsupportedNetwork."""
    try:
        return coin.networks[network]
    except KeyError:
        raise UnsupportedNetwork(
            f"{network!r} is not a network of {coin.code}; choose one of {', '.join(NETWORKS)}"
        ) from None


def parse_extended_public_key(*, coin: Coin, network: str, text: str) -> str:
    """Validate a merchant's extended public key for `coin` on `network`; return it re-serialised as xpub/tpub.

    Raises InvalidExtendedKey (private keys, seed phrases, garbage, bad checksum, a key of the
    wrong network or address type) or UnsupportedNetwork.
    """
    params = network_params(coin, network)
    payload = _decode(text)
    version = _PUBLIC_VERSIONS.get(payload[:4])
    if version is None:
        raise InvalidExtendedKey(f"this extended key has an unknown version prefix: {_GIVE_XPUB}")
    family = _MAIN if network == MAINNET else _TEST
    if version.family != family:
        wanted = "a mainnet extended public key (xpub)" if family == _MAIN else "a testnet extended public key (tpub)"
        raise InvalidExtendedKey(
            f"this is a {'mainnet' if version.family == _MAIN else 'testnet'} key ({version.name}) "
            f"but this {coin.code} wallet is on {network}: give {wanted}"
        )
    if version.name not in params.xpub_versions:
        addresses = _SCHEME_ADDRESSES.get(coin.scheme, _LEGACY_ADDRESSES)
        raise InvalidExtendedKey(
            f"a {version.name} is for {version.used_by}, but {coin.name} payments here go to {addresses}: "
            f"give that account's extended public key ({', '.join(params.xpub_versions)})"
        )
    normalised = Base58Encoder.CheckEncode(_STANDARD[family].Public() + payload[4:])
    try:
        _external_chain(normalised)
    except Bip32KeyError:
        raise InvalidExtendedKey(
            "this extended public key does not hold a valid public key; check that it was copied exactly"
        ) from None
    return normalised


def derive_address(*, coin: Coin, network: str, extended_key: str, index: int) -> DerivedAddress:
    """The receive address m/.../0/index of an account-level extended public key."""
    if not 0 <= index < _HARDENED:
        raise ChainError(f"address index {index} is out of range: this wallet has no unhardened addresses left")
    params = network_params(coin, network)
    pubkey = _external_chain(_parse_cached(coin, network, extended_key)).child_public_key(index)
    address, script_pubkey = encode_hash160(coin=coin, params=params, hash160=Hash160.QuickDigest(pubkey))
    return DerivedAddress(address=address, script_pubkey=script_pubkey, index=index, network=network)


def encode_hash160(*, coin: Coin, params: NetworkParams, hash160: bytes) -> tuple[str, str]:
    """(address, script_pubkey hex) paying to a public-key hash in the coin's address scheme."""
    if coin.scheme == P2WPKH:
        return SegwitBech32Encoder.Encode(params.segwit_hrp, 0, hash160), "0014" + hash160.hex()
    script = "76a914" + hash160.hex() + "88ac"
    if coin.scheme == CASHADDR:
        return BchBech32Encoder.Encode(params.cashaddr_prefix, b"\x00", hash160), script
    return Base58Encoder.CheckEncode(bytes([params.p2pkh_version]) + hash160), script


def _decode(text: str) -> bytes:
    if not isinstance(text, str) or not text.strip():
        raise InvalidExtendedKey(NOT_A_KEY)
    text = text.strip()
    words = text.split()
    if len(words) >= 12 and all(word.isalpha() for word in words):
        raise _private_key_error("a seed phrase")
    if len(text) > _MAX_INPUT or not set(text) <= _BASE58_ALPHABET:
        raise InvalidExtendedKey(NOT_A_KEY)
    raw = Base58Decoder.Decode(text)
    payload, checksum = raw[:-4], raw[-4:]
    checksum_ok = len(raw) > 4 and hashlib.sha256(hashlib.sha256(payload).digest()).digest()[:4] == checksum
    if checksum_ok and len(payload) in (33, 34) and payload[0] in _WIF_VERSIONS:
        raise _private_key_error("a private key (WIF)")
    if len(payload) != _SERIALISED_LENGTH:
        raise InvalidExtendedKey(NOT_A_KEY)
    # A private key is refused even when mistyped: saying so matters more than the checksum.
    private_name = _PRIVATE_VERSIONS.get(payload[:4])
    if private_name:
        raise _private_key_error(f"an extended private key ({private_name})")
    if payload[_KEY_DATA_OFFSET] == 0:
        raise _private_key_error("an extended private key")
    if not checksum_ok:
        raise InvalidExtendedKey("this key's checksum does not match: check that it was copied completely and exactly")
    return payload


@lru_cache(maxsize=4096)
def _parse_cached(coin: Coin, network: str, text: str) -> str:
    return parse_extended_public_key(coin=coin, network=network, text=text)


@dataclass(frozen=True)
class _ExternalChain:
    public_key: PublicKey
    compressed: bytes
    chain_code: bytes

    def child_public_key(self, index: int) -> bytes:
        """BIP32 CKDpub, straight on libsecp256k1: bip_utils' key objects cost three times as much per address."""
        digest = hmac.digest(self.chain_code, self.compressed + index.to_bytes(4, "big"), "sha512")
        try:
            return self.public_key.add(digest[:32]).format(compressed=True)
        except ValueError:  # the tweak is not below the curve order (odds 1 in 2**127): BIP32 skips such an index
            raise ChainError(f"address index {index} derives no valid key; it cannot be used") from None


@lru_cache(maxsize=4096)
def _external_chain(normalised: str) -> _ExternalChain:
    """The account key's external chain (child 0), from which receive addresses are derived."""
    family = _MAIN if normalised.startswith("xpub") else _TEST
    chain = Bip32Slip10Secp256k1.FromExtendedKey(normalised, _STANDARD[family]).ChildKey(0)
    compressed = chain.PublicKey().RawCompressed().ToBytes()
    return _ExternalChain(PublicKey(compressed), compressed, chain.ChainCode().ToBytes())
