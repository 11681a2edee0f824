"""Standard Webhooks signatures (https://www.standardwebhooks.com/): `webhook-id`, `webhook-timestamp` and
`webhook-signature: v1,<base64 HMAC-SHA256(key, "<id>.<timestamp>.<body>")>`, one signature per valid secret,
space-separated. A secret is `whsec_` followed by the base64 of its key bytes."""

import base64
import hashlib
import hmac
from secrets import token_bytes

SECRET_PREFIX = "whsec_"
_KEY_BYTES = 32


def secret_generate() -> str:
    return SECRET_PREFIX + base64.b64encode(token_bytes(_KEY_BYTES)).decode("ascii")


def signature(*, secret: str, webhook_id: str, timestamp: int, body: str) -> str:
    key = base64.b64decode(secret.removeprefix(SECRET_PREFIX))
    digest = hmac.new(key, f"{webhook_id}.{timestamp}.{body}".encode(), hashlib.sha256).digest()
    return "v1," + base64.b64encode(digest).decode("ascii")


def signed_headers(*, secrets: list[str], webhook_id: str, timestamp: int, body: str) -> dict[str, str]:
    """The three Standard Webhooks headers for `body` sent at `timestamp` (unix seconds), signed with each secret."""
    signatures = " ".join(
        signature(secret=secret, webhook_id=webhook_id, timestamp=timestamp, body=body) for secret in secrets
    )
    return {"webhook-id": webhook_id, "webhook-timestamp": str(timestamp), "webhook-signature": signatures}
