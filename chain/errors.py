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


class NodeUnavailable(ChainError):
    """The node could not be reached or did not answer in time; the caller retries later."""


class NodeError(ChainError):
    """The node answered with a JSON-RPC error."""

    def __init__(self, method: str, code: int | None, message: str) -> None:
        super().__init__(f"{method}: node error {code}: {message}")
        self.method = method
        self.code = code


class NodeGarbage(ChainError):
    """The node's answer was not the JSON-RPC we expect."""


class ChainNotConfigured(ChainError):
    def __init__(self, currency: str) -> None:
        super().__init__(f"no node is configured for {currency}: set CHAIN_{currency}_RPC_URL")
        self.currency = currency
