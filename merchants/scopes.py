"""GoCoin's OAuth scopes and which of them each kind of access needs."""

from django.conf import settings

API_KEY_DEFAULT_SCOPE = "user_read invoice_read_write"

USER_READ = ("user_read", "user_read_write")
MERCHANT_READ = ("merchant_read", "merchant_read_write")
MERCHANT_WRITE = ("merchant_read_write",)
INVOICE_READ = ("invoice_read", "invoice_read_write")
INVOICE_CREATE = ("invoice_write", "invoice_read_write")


def known_scopes() -> list[str]:
    return list(settings.OAUTH2_PROVIDER["SCOPES"])


def scope_parse(scope: str) -> list[str]:
    """Splits a space-separated scope string, refusing unknown scopes with a message naming them."""
    requested = scope.split()
    unknown = [item for item in requested if item not in settings.OAUTH2_PROVIDER["SCOPES"]]
    if unknown:
        raise ValueError(f"unknown scope {', '.join(unknown)}; known scopes: {' '.join(known_scopes())}")
    if not requested:
        raise ValueError("at least one scope is required")
    return list(dict.fromkeys(requested))
