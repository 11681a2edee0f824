"""How the OpenAPI document describes our token authentication: OAuth2 with GoCoin's scopes per call."""

from django.conf import settings
from drf_spectacular.extensions import OpenApiAuthenticationExtension


class AccessTokenScheme(OpenApiAuthenticationExtension):
    target_class = "merchants.authentication.AccessTokenAuthentication"
    name = "oauth2"

    def get_security_requirement(self, auto_schema):
        required = getattr(auto_schema.view, "required_scopes", {})
        alternatives = required.get(auto_schema.method) or required.get("*", ())
        return [{self.name: [scope]} for scope in alternatives]

    def get_security_definition(self, auto_schema):
        return {
            "type": "oauth2",
            "description": "Send the token as `Authorization: Bearer <token>` (or `?access_token=`). "
            "API keys are pre-scoped tokens (`user_read invoice_read_write`).",
            "flows": {
                "authorizationCode": {
                    "authorizationUrl": "/api/v1/oauth/authorize",
                    "tokenUrl": "/api/v1/oauth/token",
                    "scopes": dict(settings.OAUTH2_PROVIDER["SCOPES"]),
                }
            },
        }
