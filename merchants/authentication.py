from oauth2_provider.contrib.rest_framework import OAuth2Authentication
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
