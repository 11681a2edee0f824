import time

import pytest
from bip_utils import (
    Base58Decoder,
    Base58Encoder,
    BchBech32Decoder,
    Bip44Coins,
    Bip84Coins,
    SegwitBech32Decoder,
)

from chain.currencies import coin_get
from chain.derivation import (
    _PRIVATE_VERSIONS,
    _PUBLIC_VERSIONS,
    derive_address,
    encode_hash160,
    parse_extended_public_key,
)
from chain.errors import ChainError, InvalidExtendedKey, PrivateKeyRefused, UnsupportedNetwork
from tests.chain.keys import (
    BCH_CASHADDR_0,
    BIP44_BTC_ADDRESS_0,
    BIP84_ADDRESSES,
    BIP84_ZPUB,
    reference_address,
    xprv,
    xpub,
)

BTC = coin_get("BTC")
NEVER_HELD = "the platform never holds private keys"


def addresses(code: str, network: str, key: str, count: int = 3) -> list[str]:
    coin = coin_get(code)
    return [derive_address(coin=coin, network=network, extended_key=key, index=i).address for i in range(count)]


# BIP84 / BIP44 published vectors


def test_bip84_zpub_is_account_zero_of_the_test_mnemonic():
    assert xpub(Bip84Coins.BITCOIN) == BIP84_ZPUB


def test_bip84_receive_addresses():
    assert addresses("BTC", "mainnet", BIP84_ZPUB, count=2) == BIP84_ADDRESSES


def test_bip44_legacy_p2pkh_address():
    bsv_style = coin_get("BSV")  # legacy P2PKH with version 0x00, as BTC's BIP44
    key = xpub(Bip44Coins.BITCOIN)
    assert derive_address(coin=bsv_style, network="mainnet", extended_key=key, index=0).address == BIP44_BTC_ADDRESS_0


# Agreement with bip_utils' own encoders, every coin and network


@pytest.mark.parametrize(
    "code, network, reference, prefix",
    [
        ("BTC", "mainnet", Bip84Coins.BITCOIN, "bc1q"),
        ("BTC", "testnet", Bip84Coins.BITCOIN_TESTNET, "tb1q"),
        ("LTC", "mainnet", Bip84Coins.LITECOIN, "ltc1q"),
        ("LTC", "testnet", Bip84Coins.LITECOIN_TESTNET, "tltc1q"),
        ("DOGE", "mainnet", Bip44Coins.DOGECOIN, "D"),
        ("DOGE", "testnet", Bip44Coins.DOGECOIN_TESTNET, "n"),
        ("BCH", "mainnet", Bip44Coins.BITCOIN_CASH, "bitcoincash:q"),
        ("BCH", "testnet", Bip44Coins.BITCOIN_CASH_TESTNET, "bchtest:q"),
        ("BSV", "mainnet", Bip44Coins.BITCOIN_SV, "1"),
        ("BSV", "testnet", Bip44Coins.BITCOIN_SV_TESTNET, None),
    ],
)
def test_addresses_match_bip_utils_reference_derivation(code, network, reference, prefix):
    ours = addresses(code, network, xpub(reference))
    assert ours == [reference_address(reference, i) for i in range(3)]
    assert prefix is None or all(address.startswith(prefix) for address in ours)
    assert len(set(ours)) == 3


def test_bch_cashaddr_of_the_test_mnemonic():
    assert addresses("BCH", "mainnet", xpub(Bip44Coins.BITCOIN_CASH), count=1) == [BCH_CASHADDR_0]


def test_cashaddr_encoding_matches_the_cashaddr_specification_vector():
    hash160 = bytes.fromhex("F5BF48B397DAE70BE82B3CCA4793F8EB2B6CDAC9")
    bch = coin_get("BCH")
    address, script = encode_hash160(coin=bch, params=bch.networks["mainnet"], hash160=hash160)
    assert address == "bitcoincash:qr6m7j9njldwwzlg9v7v53unlr4jkmx6eylep8ekg2"
    assert script == "76a914f5bf48b397dae70be82b3cca4793f8eb2b6cdac988ac"


# Regtest


def test_btc_regtest_addresses_are_bcrt1():
    key = xpub(Bip84Coins.BITCOIN_TESTNET)
    regtest, testnet = addresses("BTC", "regtest", key), addresses("BTC", "testnet", key)
    assert all(address.startswith("bcrt1q") for address in regtest)
    programs = [SegwitBech32Decoder.Decode("bcrt", address) for address in regtest]
    assert programs == [SegwitBech32Decoder.Decode("tb", address) for address in testnet]


@pytest.mark.parametrize("code", ["BSV", "DOGE"])
def test_legacy_regtest_addresses_use_the_test_version_byte(code):
    key = xpub(Bip44Coins.BITCOIN_TESTNET)
    regtest = addresses(code, "regtest", key)
    assert all(address[0] in "mn" for address in regtest)
    assert all(Base58Decoder.CheckDecode(address)[0] == 0x6F for address in regtest)
    assert regtest == [reference_address(Bip44Coins.BITCOIN_TESTNET, i) for i in range(3)]


def test_bch_regtest_addresses_carry_the_bchreg_prefix():
    regtest = addresses("BCH", "regtest", xpub(Bip44Coins.BITCOIN_CASH_TESTNET))
    assert all(address.startswith("bchreg:q") for address in regtest)


def test_ltc_regtest_addresses_are_rltc1():
    assert all(a.startswith("rltc1q") for a in addresses("LTC", "regtest", xpub(Bip84Coins.LITECOIN_TESTNET)))


# Scripts


def test_p2wpkh_script_is_version_zero_push_of_the_key_hash():
    derived = derive_address(coin=BTC, network="mainnet", extended_key=BIP84_ZPUB, index=0)
    _version, program = SegwitBech32Decoder.Decode("bc", derived.address)
    assert derived.script_pubkey == "0014" + program.hex()
    assert derived.script_pubkey == "0014c0cebcd6c3d3ca8c75dc5ec62ebe55330ef910e2"
    assert derived.index == 0


def test_p2pkh_script_is_dup_hash160_equalverify_checksig():
    derived = derive_address(coin=coin_get("BSV"), network="mainnet", extended_key=xpub(Bip44Coins.BITCOIN), index=0)
    key_hash = Base58Decoder.CheckDecode(derived.address)[1:]
    assert derived.script_pubkey == "76a914" + key_hash.hex() + "88ac"


def test_cashaddr_script_is_p2pkh_of_the_same_hash():
    key = xpub(Bip44Coins.BITCOIN_CASH)
    derived = derive_address(coin=coin_get("BCH"), network="mainnet", extended_key=key, index=0)
    key_hash = BchBech32Decoder.Decode("bitcoincash", derived.address)[1]
    assert derived.script_pubkey == "76a914" + key_hash.hex() + "88ac"


# Normalisation


def test_zpub_is_normalised_to_xpub_and_derives_the_same_addresses():
    normalised = parse_extended_public_key(coin=BTC, network="mainnet", text=BIP84_ZPUB)
    assert normalised.startswith("xpub")
    assert Base58Decoder.CheckDecode(normalised)[4:] == Base58Decoder.CheckDecode(BIP84_ZPUB)[4:]
    assert addresses("BTC", "mainnet", normalised, count=2) == BIP84_ADDRESSES
    assert parse_extended_public_key(coin=BTC, network="mainnet", text=normalised) == normalised


@pytest.mark.parametrize(
    "code, network, reference, prefix",
    [
        ("BTC", "regtest", Bip84Coins.BITCOIN_TESTNET, "vpub"),
        ("LTC", "mainnet", Bip84Coins.LITECOIN, "zpub"),
        ("DOGE", "mainnet", Bip44Coins.DOGECOIN, "dgub"),
        ("DOGE", "testnet", Bip44Coins.DOGECOIN_TESTNET, "tgub"),
        ("LTC", "testnet", Bip84Coins.LITECOIN_TESTNET, "ttub"),
    ],
)
def test_slip132_prefixes_are_normalised_to_the_families_standard_prefix(code, network, reference, prefix):
    given = xpub(reference)
    assert given.startswith(prefix)
    normalised = parse_extended_public_key(coin=coin_get(code), network=network, text=given)
    assert normalised[:4] == ("xpub" if network == "mainnet" else "tpub")


def test_ltub_is_accepted_for_litecoin():
    ltub = Base58Encoder.CheckEncode(bytes.fromhex("019da462") + Base58Decoder.CheckDecode(BIP84_ZPUB)[4:])
    assert ltub.startswith("Ltub")
    assert addresses("LTC", "mainnet", ltub) == addresses("LTC", "mainnet", BIP84_ZPUB)


def test_surrounding_whitespace_is_ignored():
    assert addresses("BTC", "mainnet", f"  {BIP84_ZPUB}\n", count=2) == BIP84_ADDRESSES


def test_slip132_version_table_matches_the_prefixes_it_names():
    for version, key in _PUBLIC_VERSIONS.items():
        assert Base58Encoder.CheckEncode(version + bytes(41) + b"\x02" + bytes(32)).startswith(key.name)
    for version, name in _PRIVATE_VERSIONS.items():
        assert Base58Encoder.CheckEncode(version + bytes(78 - 4)).startswith(name)


# Refusals


@pytest.mark.parametrize(
    "code, network, reference, prefix",
    [
        ("BSV", "mainnet", Bip44Coins.BITCOIN, "xprv"),
        ("BTC", "mainnet", Bip84Coins.BITCOIN, "zprv"),
        ("BSV", "testnet", Bip44Coins.BITCOIN_TESTNET, "tprv"),
        ("BTC", "regtest", Bip84Coins.BITCOIN_TESTNET, "vprv"),
        ("DOGE", "mainnet", Bip44Coins.DOGECOIN, "dgpv"),
    ],
)
def test_extended_private_keys_are_refused_with_a_clear_message(code, network, reference, prefix):
    private = xprv(reference)
    assert private.startswith(prefix)
    with pytest.raises(PrivateKeyRefused) as exc:
        parse_extended_public_key(coin=coin_get(code), network=network, text=private)
    assert f"extended private key ({prefix})" in exc.value.message
    assert NEVER_HELD in exc.value.message
    assert private not in exc.value.message


def test_a_private_key_under_a_public_prefix_is_refused():
    private_payload = Base58Decoder.CheckDecode(xprv(Bip84Coins.BITCOIN))
    disguised = Base58Encoder.CheckEncode(bytes.fromhex("0488b21e") + private_payload[4:])
    assert disguised.startswith("xpub")
    with pytest.raises(PrivateKeyRefused, match=NEVER_HELD):
        parse_extended_public_key(coin=BTC, network="mainnet", text=disguised)


def test_a_mistyped_private_key_is_still_called_a_private_key():
    private = xprv(Bip84Coins.BITCOIN)
    with pytest.raises(PrivateKeyRefused):
        parse_extended_public_key(coin=BTC, network="mainnet", text=private[:-1] + ("1" if private[-1] != "1" else "2"))


def test_a_wif_private_key_is_refused():
    wif = "KwDiBf89QgGbjEhKnhXJuH7LrciVrZi3qYjgd9M7rFU73sVHnoWn"  # private key 1, compressed
    with pytest.raises(PrivateKeyRefused, match=r"private key \(WIF\)"):
        parse_extended_public_key(coin=BTC, network="mainnet", text=wif)


def test_a_seed_phrase_is_refused():
    with pytest.raises(PrivateKeyRefused, match="seed phrase"):
        parse_extended_public_key(coin=BTC, network="mainnet", text="abandon " * 11 + "about")


@pytest.mark.parametrize(
    "garbage", ["", "   ", "hello world", "xpub", "0" * 111, "xpub" + "1" * 107, "x" * 5000, BIP84_ADDRESSES[0]]
)
def test_garbage_is_refused(garbage):
    with pytest.raises(InvalidExtendedKey) as exc:
        parse_extended_public_key(coin=BTC, network="mainnet", text=garbage)
    assert not isinstance(exc.value, PrivateKeyRefused)
    assert "extended public key" in exc.value.message or "checksum" in exc.value.message


def test_a_bad_checksum_is_refused():
    last = BIP84_ZPUB[-1]
    mistyped = BIP84_ZPUB[:-1] + ("t" if last != "t" else "u")
    with pytest.raises(InvalidExtendedKey, match="checksum does not match"):
        parse_extended_public_key(coin=BTC, network="mainnet", text=mistyped)


def test_a_key_that_is_not_on_the_curve_is_refused():
    payload = Base58Decoder.CheckDecode(BIP84_ZPUB)
    off_curve = Base58Encoder.CheckEncode(payload[:45] + b"\x02" + bytes(32))
    with pytest.raises(InvalidExtendedKey, match="does not hold a valid public key"):
        parse_extended_public_key(coin=BTC, network="mainnet", text=off_curve)


def test_an_unknown_version_is_refused():
    unknown = Base58Encoder.CheckEncode(b"\x01\x02\x03\x04" + Base58Decoder.CheckDecode(BIP84_ZPUB)[4:])
    with pytest.raises(InvalidExtendedKey, match="unknown version"):
        parse_extended_public_key(coin=BTC, network="mainnet", text=unknown)


@pytest.mark.parametrize("network", ["testnet", "regtest"])
def test_a_mainnet_key_is_refused_on_a_test_network(network):
    with pytest.raises(InvalidExtendedKey, match=f"mainnet key \\(zpub\\) but this BTC wallet is on {network}"):
        parse_extended_public_key(coin=BTC, network=network, text=BIP84_ZPUB)


def test_a_test_key_is_refused_on_mainnet():
    with pytest.raises(InvalidExtendedKey, match=r"testnet key \(tpub\) but this BSV wallet is on mainnet"):
        parse_extended_public_key(coin=coin_get("BSV"), network="mainnet", text=xpub(Bip44Coins.BITCOIN_TESTNET))


def test_a_key_for_another_address_type_is_refused():
    ypub = Base58Encoder.CheckEncode(bytes.fromhex("049d7cb2") + Base58Decoder.CheckDecode(BIP84_ZPUB)[4:])
    with pytest.raises(InvalidExtendedKey, match=r"a ypub is for P2SH-wrapped SegWit \(BIP49\) wallets") as exc:
        parse_extended_public_key(coin=BTC, network="mainnet", text=ypub)
    assert "(xpub, zpub)" in exc.value.message


def test_a_segwit_key_is_refused_for_a_legacy_coin():
    with pytest.raises(InvalidExtendedKey, match="Dogecoin payments here go to legacy P2PKH"):
        parse_extended_public_key(coin=coin_get("DOGE"), network="mainnet", text=BIP84_ZPUB)


def test_an_unknown_network_is_refused():
    with pytest.raises(UnsupportedNetwork, match="'signet' is not a network of BTC"):
        parse_extended_public_key(coin=BTC, network="signet", text=BIP84_ZPUB)


@pytest.mark.parametrize("index", [-1, 2**31])
def test_indexes_outside_the_unhardened_range_are_refused(index):
    with pytest.raises(ChainError, match="out of range"):
        derive_address(coin=BTC, network="mainnet", extended_key=BIP84_ZPUB, index=index)


def test_derivation_refuses_a_private_key_too():
    with pytest.raises(PrivateKeyRefused):
        derive_address(coin=BTC, network="mainnet", extended_key=xprv(Bip84Coins.BITCOIN), index=0)


# Speed


def test_deriving_an_address_takes_well_under_a_millisecond():
    derive_address(coin=BTC, network="mainnet", extended_key=BIP84_ZPUB, index=0)  # parse and cache the key
    count = 500
    started = time.perf_counter()
    for index in range(count):
        derive_address(coin=BTC, network="mainnet", extended_key=BIP84_ZPUB, index=index)
    assert (time.perf_counter() - started) / count < 0.001
