from django.apps import AppConfig


class RatesConfig(AppConfig):
    name = "rates"
    default_auto_field = "django.db.models.BigAutoField"

    def ready(self) -> None:
        from rates import checks  # noqa: F401  (registers the settings check)
