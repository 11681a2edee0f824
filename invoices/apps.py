from django.apps import AppConfig


class InvoicesConfig(AppConfig):
    name = "invoices"
    default_auto_field = "django.db.models.BigAutoField"

    def ready(self) -> None:
        from chain.listeners import listener_register
        from invoices.chain_listener import listener

        listener_register(listener)
