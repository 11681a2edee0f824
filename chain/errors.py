"""Domain errors of the chain app. Import-light: no Django, no other app.

Messages are user-facing and never repeat the key that was given (it may be a private one).
"""


class ChainError(Exception):
    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message


class UnknownCurrency(ChainError):
    def __init__(self, code: object) -> None:
        super().__init__(f"{code!r} is not a supported currency")
        self.code = code


class InvalidExtendedKey(ChainError):
    pass


class PrivateKeyRefused(InvalidExtendedKey):
    """What was given is private key material; callers must not echo it back."""


class UnsupportedNetwork(ChainError):
    pass


class NoWallet(ChainError):
    def __init__(self, currency: str) -> None:
        super().__init__(f"the merchant has no {currency} wallet")
        self.currency = currency


class WalletExists(ChainError):
    def __init__(self, currency: str) -> None:
        super().__init__(f"the merchant already has a {currency} wallet")
        self.currency = currency
