import json
from decimal import Decimal

from django.conf import settings
from django.http import QueryDict
from rest_framework.exceptions import ParseError
from rest_framework.parsers import JSONParser


class DecimalJSONParser(JSONParser):
    """Parses JSON numbers as Decimal, so `134.00` keeps its digits and never passes through a float."""

    def parse(self, stream, media_type=None, parser_context=None):
        encoding = (parser_context or {}).get("encoding", settings.DEFAULT_CHARSET)
        raw = stream.read() if stream is not None else b""
        if not raw.strip():
            return {}
        try:
            return json.loads(raw.decode(encoding), parse_float=Decimal)
        except (ValueError, UnicodeDecodeError) as exc:
            raise ParseError(f"malformed JSON: {exc}") from None


def body_object(data) -> dict | None:
    """A parsed request body as one flat object: a form's last value per key, a JSON object as is; None for any
    other JSON (a list, a string), which the caller refuses in its API's own error shape."""
    if isinstance(data, QueryDict):
        return {key: values[-1] for key, values in data.lists()}
    return data if isinstance(data, dict) else None
