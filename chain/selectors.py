from chain.currencies import COINS, coin_get
from chain.models import Wallet
from merchants.models import Merchant


def _display_order(code: str) -> tuple[int, str]:
    coin = COINS.get(code)
    return (coin.sort_order if coin else len(COINS) + 1, code)


def wallet_list(*, merchant: Merchant) -> list[Wallet]:
    """The merchant's wallets in the registry's display order."""
    return sorted(Wallet.objects.filter(merchant=merchant), key=lambda wallet: _display_order(wallet.currency))


def wallet_currencies(*, merchant: Merchant) -> list[str]:
    """Codes of the currencies the merchant can be paid in, in display order."""
    return sorted(Wallet.objects.filter(merchant=merchant).values_list("currency", flat=True), key=_display_order)


def wallet_get(*, merchant: Merchant, currency: str) -> Wallet | None:
    """The merchant's wallet for `currency` (code or alias), or None; raises UnknownCurrency."""
    return Wallet.objects.filter(merchant=merchant, currency=coin_get(currency).code).first()
