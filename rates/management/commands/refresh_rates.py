from django.core.management.base import BaseCommand

from rates.providers import providers_load
from rates.providers.fixed import FixedRateProvider
from rates.services import spot_rates_refresh


class Command(BaseCommand):
    help = "Fetch every configured rate provider once and store the spot rates."

    def handle(self, *args, **options) -> None:
        count = spot_rates_refresh()
        self.stdout.write(self.style.SUCCESS(f"Stored {count} spot rates."))
        providers = providers_load()
        if providers and all(isinstance(provider, FixedRateProvider) for provider in providers):
            self.stdout.write("They come from the fixed offline table (settings.RATES_FIXED_USD), not a live market.")
