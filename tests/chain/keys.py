"""Keys of the BIP39 test mnemonic, derived with bip_utils' own BIP44/BIP84 classes (the reference)."""

from functools import lru_cache

from bip_utils import Bip39SeedGenerator, Bip44, Bip44Changes, Bip44Coins, Bip84, Bip84Coins

MNEMONIC = "abandon abandon abandon abandon abandon abandon abandon abandon abandon abandon abandon about"
# From BIP84's test vectors: account 0 of MNEMONIC, and its first two receive addresses.
BIP84_ZPUB = (
    "zpub6rFR7y4Q2AijBEqTUquhVz398htDFrtymD9xYYfG1m4wAcvPhXNfE3EfH1r1ADqtfSdVCToUG868RvUUkgDKf31mGDtKsAYz2oz2AGutZYs"
)
BIP84_ADDRESSES = ["bc1qcr8te4kr609gcawutmrza0j4xv80jy8z306fyu", "bc1qnjg0jd8228aq7egyzacy8cys3knf9xvrerkf9g"]
# m/44'/0'/0'/0/0 of MNEMONIC.
BIP44_BTC_ADDRESS_0 = "1LqBGSKuX5yYUonjxT5qGfpUsXKYYWeabA"
# m/44'/145'/0'/0/0 of MNEMONIC, as published by BCH wallets' test suites.
BCH_CASHADDR_0 = "bitcoincash:qqyx49mu0kkn9ftfj6hje6g2wfer34yfnq5tahq3q6"


@lru_cache(maxsize=None)
def _seed() -> bytes:
    return Bip39SeedGenerator(MNEMONIC).Generate()


@lru_cache(maxsize=None)
def account(coin: Bip44Coins | Bip84Coins, number: int = 0):
    """The account node m/purpose'/coin'/number' (BIP84 for Bip84Coins, else BIP44)."""
    bip = Bip84 if isinstance(coin, Bip84Coins) else Bip44
    return bip.FromSeed(_seed(), coin).Purpose().Coin().Account(number)


def xpub(coin: Bip44Coins | Bip84Coins, number: int = 0) -> str:
    return account(coin, number).PublicKey().ToExtended()


def xprv(coin: Bip44Coins | Bip84Coins, number: int = 0) -> str:
    return account(coin, number).PrivateKey().ToExtended()


def reference_address(coin: Bip44Coins | Bip84Coins, index: int, number: int = 0) -> str:
    return account(coin, number).Change(Bip44Changes.CHAIN_EXT).AddressIndex(index).PublicKey().ToAddress()
