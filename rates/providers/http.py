"""The one way rate providers reach the network: a pooled session, timeouts, no redirects, a size cap.

Every failure comes out as ProviderError with a reason fit for the log.
"""

import json
import time
from decimal import Decimal
from typing import Any

import requests
from django.conf import settings
from requests.adapters import HTTPAdapter

from rates.errors import ProviderError

MAX_RESPONSE_BYTES = 2 * 1024 * 1024
_CHUNK_BYTES = 64 * 1024

_session = requests.Session()
# Enough pooled connections for every provider's requests of one refresh running at once; never a silent retry.
for _scheme in ("https://", "http://"):
    _session.mount(_scheme, HTTPAdapter(pool_connections=16, pool_maxsize=16, max_retries=0))
_session.headers.update({"User-Agent": "payments-platform-rates/1"})


def get(url: str, *, params: dict[str, str] | None = None) -> bytes:
    """The body of a 200 answer to GET `url`, read within RATES_PROVIDER_TIMEOUT_SECONDS and MAX_RESPONSE_BYTES."""
    timeout = settings.RATES_PROVIDER_TIMEOUT_SECONDS
    deadline = time.monotonic() + timeout
    body = bytearray()
    try:
        with _session.get(url, params=params, timeout=(timeout, timeout), stream=True, allow_redirects=False) as response:
            if response.status_code != 200:
                raise ProviderError(f"HTTP {response.status_code} from {response.url}")
            declared = response.headers.get("Content-Length", "")
            if declared.isdigit() and int(declared) > MAX_RESPONSE_BYTES:
                raise ProviderError(f"response from {url} is over {MAX_RESPONSE_BYTES} bytes ({declared} declared)")
            for chunk in response.iter_content(_CHUNK_BYTES):
                body += chunk
                if len(body) > MAX_RESPONSE_BYTES:
                    raise ProviderError(f"response from {url} is over {MAX_RESPONSE_BYTES} bytes")
                # A server trickling bytes never trips the read timeout; the deadline bounds the whole answer.
                if time.monotonic() > deadline:
                    raise ProviderError(f"response from {url} took over {timeout} s")
    except requests.Timeout:
        raise ProviderError(f"no answer from {url} within {timeout} s") from None
    except requests.RequestException as exc:
        raise ProviderError(f"request to {url} failed: {exc}") from None
    if not body:
        raise ProviderError(f"empty response from {url}")
    return bytes(body)


def get_json(url: str, *, params: dict[str, str] | None = None) -> Any:
    """The JSON document at `url` with every non-integer number as an exact Decimal (never a float)."""
    body = get(url, params=params)
    try:
        return json.loads(body, parse_float=Decimal, parse_constant=_refuse_constant)
    except (ValueError, RecursionError) as exc:
        raise ProviderError(f"malformed JSON from {url}: {exc}") from None


def _refuse_constant(name: str) -> None:
    raise ValueError(f"{name} is not a number")
