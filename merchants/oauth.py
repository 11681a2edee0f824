import json

from oauth2_provider.oauth2_backends import OAuthLibCore


class JSONOrFormOAuthLibCore(OAuthLibCore):
    """Accepts token requests as JSON (what every GoCoin client sends) or as a form."""

    def extract_body(self, request):
        if request.content_type == "application/json":
            try:
                body = json.loads(request.body.decode("utf-8") or "{}")
            except (ValueError, UnicodeDecodeError):
                return ""
            if not isinstance(body, dict):
                return ""
            return [(key, "" if value is None else str(value)) for key, value in body.items()]
        return super().extract_body(request)
