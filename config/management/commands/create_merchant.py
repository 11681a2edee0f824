import json

from django.core.management.base import BaseCommand, CommandError
from django.db import transaction

from chain.errors import ChainError
from chain.services import wallet_create
from merchants.scopes import API_KEY_DEFAULT_SCOPE
from merchants.services import api_key_create, merchant_create


class Command(BaseCommand):
    help = "Create a merchant with its owner user, wallets and an API key; prints {merchant_id, user_id, access_token}."

    def add_arguments(self, parser):
        parser.add_argument("--name", required=True)
        parser.add_argument("--email", required=True, help="the owner's email (an existing user is reused)")
        parser.add_argument(
            "--wallet", action="append", default=[], metavar="CUR=XPUB",
            help="a wallet: currency code and account-level extended public key; repeat for more coins",
        )
        parser.add_argument("--scopes", default=API_KEY_DEFAULT_SCOPE, help=f'API key scopes (default "{API_KEY_DEFAULT_SCOPE}")')

    def handle(self, *args, name, email, wallet, scopes, **options):
        wallets = [_parse_wallet(item) for item in wallet]
        try:
            with transaction.atomic():
                merchant, owner = merchant_create(name=name, owner_email=email)
                for currency, key in wallets:
                    wallet_create(merchant=merchant, currency=currency, extended_public_key=key)
                _api_key, secret = api_key_create(merchant=merchant, user=owner, scope=scopes)
        except ChainError as exc:
            raise CommandError(f"--wallet: {exc.message}") from None
        except ValueError as exc:
            raise CommandError(f"--scopes: {exc}") from None
        self.stdout.write(json.dumps({"merchant_id": str(merchant.id), "user_id": str(owner.id), "access_token": secret}))


def _parse_wallet(text: str) -> tuple[str, str]:
    currency, sep, key = text.partition("=")
    if not sep or not currency.strip() or not key.strip():
        raise CommandError(f"--wallet must look like CUR=XPUB, got {text!r}")
    return currency.strip().upper(), key.strip()
