import base64
import binascii
import hashlib

from oauth2_provider.contrib.rest_framework import OAuth2Authentication
from oauth2_provider.models import AccessToken
from rest_framework.authentication import BaseAuthentication, get_authorization_header
from rest_framework.exceptions import AuthenticationFailed


class AccessTokenAuthentication(OAuth2Authentication):
    """OAuth2 bearer tokens, from the `Authorization: Bearer` header or the `access_token` query parameter."""

    www_authenticate_realm = "api"

    def authenticate(self, request):
        result = super().authenticate(request)
        if result is None and _presented_token(request):
            raise AuthenticationFailed("the access token is invalid, expired or revoked")
        return result


def _presented_token(request) -> bool:
    header = request.META.get("HTTP_AUTHORIZATION", "")
    return header.lower().startswith("bearer ") or "access_token" in request.query_params


class BasicAccessTokenAuthentication(BaseAuthentication):
    """Anypay's HTTP Basic: the access token as user name, the password ignored (clients send an empty one)."""

    def authenticate(self, request):
        parts = get_authorization_header(request).split()
        if not parts or parts[0].lower() != b"basic":
            return None
        if len(parts) != 2:
            raise AuthenticationFailed("Bad username or password")
        try:
            token = base64.b64decode(parts[1], validate=True).decode("utf-8").partition(":")[0]
        except (binascii.Error, UnicodeDecodeError):
            raise AuthenticationFailed("Bad username or password") from None
        # django-oauth-toolkit finds tokens by the SHA-256 of their text, as its own bearer validation does.
        checksum = hashlib.sha256(token.encode("utf-8")).hexdigest()
        access_token = AccessToken.objects.select_related("user").filter(token_checksum=checksum).first()
        if (not token or access_token is None or not access_token.is_valid() or access_token.user is None
                or not access_token.user.is_active):
            raise AuthenticationFailed("Bad username or password")
        return access_token.user, access_token

    def authenticate_header(self, request) -> str:
        return 'Basic realm="anypay"'
