"""Rate errors, kept import-light so any layer (and the API exception handler) can import them."""


class RateUnavailable(Exception):
    def __init__(self, crypto: str, fiat: str) -> None:
        self.crypto = crypto
        self.fiat = fiat
        self.message = f"no fresh spot rate for {crypto}/{fiat}"
        super().__init__(self.message)


class UnknownFiat(Exception):
    def __init__(self, code: str) -> None:
        self.code = code
        self.message = f"unknown currency {code}"
        super().__init__(self.message)


class ProviderError(Exception):
    """A rate provider could not answer usefully: the request failed or the response was not what its API documents."""
