"""A 127.0.0.1 HTTP server that answers like the real rate providers, from the recordings in recordings/.

Each provider lives under its own prefix (http://127.0.0.1:PORT/kraken/...), which is what RATES_PROVIDER_URLS
points the real provider code at. A provider can be told to fail (HTTP 500, a malformed or empty body, a redirect, or
an answer only after a delay), and a recording can be replaced by another body.
"""

import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from urllib.parse import parse_qs, urlsplit

RECORDINGS = Path(__file__).resolve().parent / "recordings"

PROVIDERS = {
    "coinbase": "rates.providers.coinbase.CoinbaseProvider",
    "kraken": "rates.providers.kraken.KrakenProvider",
    "bitstamp": "rates.providers.bitstamp.BitstampProvider",
    "bitfinex": "rates.providers.bitfinex.BitfinexProvider",
    "coingecko": "rates.providers.coingecko.CoinGeckoProvider",
    "ecb": "rates.providers.ecb.EcbProvider",
}

# (provider, path) -> recording; "{currency}" is filled from the query string.
ROUTES = {
    ("coinbase", "/v2/exchange-rates"): "coinbase-exchange-rates-{currency}.json",
    ("kraken", "/0/public/Ticker"): "kraken-ticker.json",
    ("bitstamp", "/api/v2/ticker/"): "bitstamp-ticker.json",
    ("bitfinex", "/v2/tickers"): "bitfinex-tickers.json",
    ("coingecko", "/api/v3/simple/price"): "coingecko-simple-price.json",
    ("ecb", "/stats/eurofxref/eurofxref-daily.xml"): "ecb-eurofxref-daily.xml",
}

HTTP_500 = "http_500"
MALFORMED = "malformed"
EMPTY = "empty"
SLOW = "slow"
REDIRECT = "redirect"
UNSIZED = "unsized"  # no Content-Length: the body runs until the connection closes


def recording(name: str) -> str:
    return (RECORDINGS / name).read_text()


class RecordedProviders:
    def __init__(self, *, delay_seconds: float = 0.0) -> None:
        self.delay_seconds = delay_seconds
        self.slow_seconds = 3.0
        self.faults: dict[str, str] = {}  # provider -> fault
        self.bodies: dict[str, str] = {}  # recording file -> body served instead
        self.requests: list[str] = []
        self._server = ThreadingHTTPServer(("127.0.0.1", 0), self._handler_class())
        self._server.daemon_threads = True
        self._thread = threading.Thread(target=self._server.serve_forever, daemon=True)
        self._thread.start()

    def url(self, provider: str) -> str:
        return f"http://127.0.0.1:{self._server.server_address[1]}/{provider}"

    def urls(self) -> dict[str, str]:
        return {provider: self.url(provider) for provider in PROVIDERS}

    def reset(self) -> None:
        self.faults.clear()
        self.bodies.clear()
        self.requests.clear()

    def close(self) -> None:
        self._server.shutdown()
        self._server.server_close()

    def answer(self, target: str) -> tuple[int, bytes, dict[str, str]]:
        self.requests.append(target)
        parts = urlsplit(target)
        provider, _, path = parts.path.lstrip("/").partition("/")
        query = {key: values[0] for key, values in parse_qs(parts.query).items()}
        route = ROUTES.get((provider, "/" + path))
        if route is None:
            return 404, b'{"error": "not found"}', {"Content-Type": "application/json"}
        headers = {"Content-Type": "text/xml" if route.endswith(".xml") else "application/json"}
        fault = self.faults.get(provider)
        if fault == HTTP_500:
            return 500, b'{"error": "internal server error"}', headers
        if fault == REDIRECT:
            return 302, b"", {**headers, "Location": self.url("elsewhere") + "/" + path}
        if fault == SLOW:
            time.sleep(self.slow_seconds)
        try:
            name = route.format(**query)
            body = self.bodies.get(name) or recording(name)
        except (KeyError, FileNotFoundError):
            return 404, b'{"error": "unknown currency"}', headers
        if fault == MALFORMED:
            body = body[: len(body) // 2]
        if fault == EMPTY:
            body = ""
        return 200, body.encode(), headers

    def _handler_class(self) -> type[BaseHTTPRequestHandler]:
        providers = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"
            # Headers and body go out in two writes; with Nagle on, the body waits ~40 ms for a delayed ACK.
            disable_nagle_algorithm = True

            def do_GET(self) -> None:
                if providers.delay_seconds:
                    time.sleep(providers.delay_seconds)
                status, body, headers = providers.answer(self.path)
                unsized = providers.faults.get(self.path.lstrip("/").partition("/")[0]) == UNSIZED
                try:
                    self.send_response(status)
                    for name, value in headers.items():
                        self.send_header(name, value)
                    if unsized:
                        self.send_header("Connection", "close")
                        self.close_connection = True
                    else:
                        self.send_header("Content-Length", str(len(body)))
                    self.end_headers()
                    self.wfile.write(body)
                except (BrokenPipeError, ConnectionResetError):
                    pass  # the client gave up waiting, as a timeout test wants

            def log_message(self, format: str, *args: object) -> None:
                pass

        return Handler
