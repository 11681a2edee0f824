import hashlib
import json

from django.http import JsonResponse
from oauth2_provider.models import AccessToken
from oauth2_provider.views import TokenView

INVALID_GRANT_DESCRIPTION = (
    "The provided authorization grant is invalid, expired, revoked, does not match the redirection URI "
    "used in the authorization request, or was issued to another client."
)
_UNAUTHORIZED_ERRORS = {"invalid_grant", "invalid_client", "unauthorized_client"}


class GoCoinTokenView(TokenView):
    """The token endpoint in GoCoin's shape: `{access_token, token_type: "bearer", scope}`, errors as 401/400."""

    def post(self, request, *args, **kwargs):
        _url, _headers, body, status = self.create_token_response(request)
        try:
            payload = json.loads(body or "{}")
        except ValueError:
            payload = {}
        if status == 200 and "access_token" in payload:
            _keep_only_newest_token(payload["access_token"])
            response = JsonResponse(
                {"access_token": payload["access_token"], "token_type": "bearer", "scope": payload.get("scope", "")}
            )
        else:
            error = payload.get("error", "invalid_request")
            description = payload.get("error_description") or (
                INVALID_GRANT_DESCRIPTION if error == "invalid_grant" else error.replace("_", " ")
            )
            status = 401 if error in _UNAUTHORIZED_ERRORS else 400
            response = JsonResponse(
                {"status": status, "message": description, "error": error, "error_description": description},
                status=status,
            )
        response["Cache-Control"] = "no-store"
        return response


def _keep_only_newest_token(token: str) -> None:
    """GoCoin allows one access token per user and application: a new one invalidates the earlier ones."""
    checksum = hashlib.sha256(token.encode("utf-8")).hexdigest()
    issued = AccessToken.objects.filter(token_checksum=checksum).values("id", "user_id", "application_id").first()
    if issued and issued["application_id"]:
        AccessToken.objects.filter(user_id=issued["user_id"], application_id=issued["application_id"]).exclude(
            pk=issued["id"]
        ).delete()
