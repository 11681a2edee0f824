from django.db import models


class SpotRate(models.Model):
    """One aggregated price: `rate` units of `fiat` per 1 `crypto`, as of `fetched_at`."""

    crypto = models.CharField(max_length=10)
    fiat = models.CharField(max_length=3)
    rate = models.DecimalField(max_digits=40, decimal_places=18)
    sources = models.JSONField(default=list)
    fetched_at = models.DateTimeField(db_index=True)

    class Meta:
        indexes = [models.Index(fields=["crypto", "fiat", "-fetched_at"], name="rates_spot_pair_latest")]

    def __str__(self) -> str:
        return f"{self.crypto}/{self.fiat} {self.rate} @ {self.fetched_at:%Y-%m-%d %H:%M:%S}"
