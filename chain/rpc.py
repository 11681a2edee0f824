"""One JSON-RPC client for the Bitcoin-family node dialect (Bitcoin Core, SV, Cash, Litecoin, Dogecoin)."""

import itertools
import json
from decimal import Decimal
from typing import Any
from urllib.parse import urlsplit, urlunsplit

import requests

from chain.errors import NodeError, NodeGarbage, NodeUnavailable

# A block of 10,000 outputs at verbosity 2 is several megabytes; anything far beyond is not a node talking.
MAX_RESPONSE_BYTES = 512 * 1024 * 1024


class NodeRpc:
    """A pooled, timed JSON-RPC session to one node. Amounts come back as Decimal, never float."""

    def __init__(self, url: str, *, timeout: float = 30.0) -> None:
        parts = urlsplit(url)
        if parts.scheme not in ("http", "https") or not parts.hostname:
            raise ValueError(f"node URL must be http(s)://user:password@host:port, got {url!r}")
        netloc = parts.hostname + (f":{parts.port}" if parts.port else "")
        self.url = urlunsplit((parts.scheme, netloc, parts.path or "/", "", ""))
        self.timeout = timeout
        self._ids = itertools.count(1)
        self._session = requests.Session()
        if parts.username:
            self._session.auth = (parts.username, parts.password or "")

    def call(self, method: str, *params: Any) -> Any:
        request_id = next(self._ids)
        answer = self._post({"jsonrpc": "1.0", "id": request_id, "method": method, "params": list(params)}, method)
        if not isinstance(answer, dict) or "result" not in answer:
            raise NodeGarbage(f"{method}: the node's answer is not a JSON-RPC response")
        return _result(method, answer)

    def batch(self, calls: list[tuple[str, list]]) -> list[Any]:
        """Sends several calls in one HTTP request; results come back in the calls' order."""
        if not calls:
            return []
        first = next(self._ids)
        payload = [{"jsonrpc": "1.0", "id": first + i, "method": m, "params": p} for i, (m, p) in enumerate(calls)]
        for _ in calls[1:]:
            next(self._ids)
        answers = self._post(payload, calls[0][0])
        if not isinstance(answers, list) or len(answers) != len(calls):
            raise NodeGarbage("batch: the node's answer does not match the calls sent")
        by_id = {answer.get("id"): answer for answer in answers if isinstance(answer, dict)}
        return [_result(method, by_id.get(first + i, {})) for i, (method, _params) in enumerate(calls)]

    def _post(self, payload: Any, method: str) -> Any:
        try:
            response = self._session.post(
                # A fresh connection per call: on a kept-alive one the node's chunked answer waits ~40 ms for
                # a delayed ACK, which a local connect (well under 1 ms) avoids.
                self.url, data=json.dumps(payload), headers={"Content-Type": "application/json", "Connection": "close"},
                timeout=self.timeout, allow_redirects=False,
            )
        except requests.RequestException as exc:
            raise NodeUnavailable(f"{method}: node at {self.url} unreachable: {exc.__class__.__name__}") from None
        if response.status_code in (401, 403):
            raise NodeUnavailable(f"{method}: node at {self.url} refused the credentials (HTTP {response.status_code})")
        if len(response.content) > MAX_RESPONSE_BYTES:
            raise NodeGarbage(f"{method}: the node's answer is larger than {MAX_RESPONSE_BYTES} bytes")
        try:
            # Nodes answer RPC errors with HTTP 404/500 and a JSON body, so the body decides, not the status.
            return json.loads(response.content, parse_float=Decimal)
        except ValueError:
            raise NodeGarbage(f"{method}: the node answered HTTP {response.status_code} with a body that is not JSON") from None

    def close(self) -> None:
        self._session.close()


def _result(method: str, answer: dict) -> Any:
    error = answer.get("error")
    if error:
        code = error.get("code") if isinstance(error, dict) else None
        message = error.get("message", str(error)) if isinstance(error, dict) else str(error)
        raise NodeError(method, code, message)
    if "result" not in answer:
        raise NodeGarbage(f"{method}: the node's answer has no result")
    return answer["result"]
