import uuid

from django.db import models

from chain.currencies import COINS, NETWORKS, coin_get
from chain.derivation import parse_extended_public_key


class Wallet(models.Model):
    """A merchant's receiving wallet for one currency: an account-level extended public key."""

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    merchant = models.ForeignKey("merchants.Merchant", on_delete=models.CASCADE, related_name="wallets")
    currency = models.CharField(max_length=8, choices=[(code, coin.name) for code, coin in COINS.items()])
    network = models.CharField(max_length=8, choices=[(network, network) for network in NETWORKS], default="mainnet")
    extended_public_key = models.CharField(max_length=120)
    derivation_scheme = models.CharField(max_length=16, editable=False)
    next_index = models.PositiveIntegerField(default=0)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["merchant", "currency"], name="wallet_unique_merchant_currency")]

    def __str__(self) -> str:
        return f"{self.currency} wallet ({self.network})"

    def save(self, *args, **kwargs) -> None:
        # Every path that stores a key goes through the parser, so no private key is ever written.
        coin = coin_get(self.currency)
        self.currency = coin.code
        self.extended_public_key = parse_extended_public_key(
            coin=coin, network=self.network, text=self.extended_public_key
        )
        self.derivation_scheme = coin.scheme
        super().save(*args, **kwargs)


class ChainCursor(models.Model):
    """How far the watcher has followed one coin's chain, with recent block hashes to detect reorganisations."""

    currency = models.CharField(max_length=8, unique=True)
    height = models.IntegerField()
    block_hash = models.CharField(max_length=64)
    # [[height, hash], ...] of the last blocks processed, oldest first.
    recent_blocks = models.JSONField(default=list)
    updated_at = models.DateTimeField(auto_now=True)

    def __str__(self) -> str:
        return f"{self.currency} at {self.height}"
