"""The one module that sends callbacks out, and the judge of which callback URLs may be called.

A callback must never reach the platform's own network. `post` resolves the host once and refuses the request
unless every address the name resolves to is outside BLOCKED; it then connects to one of exactly those checked
addresses, so a name that resolves elsewhere a moment later (DNS rebinding) cannot move the request. Host names
written as numbers (2130706433, 0177.0.0.1, 0x7f.1, [::ffff:127.0.0.1]) are parsed here rather than by the
resolver, so no spelling slips past the check.

The connection is the standard library's http.client with `connect` replaced: it opens the TCP socket to the
checked IP itself and, for https, wraps it in TLS with the URL's host name as SNI and as the name the certificate
must match (the default SSL context: system CAs, hostname checking on); `Host:` carries the same name. http.client
never follows redirects (a 3xx comes back as a Response like any other status) and never reads proxy settings from
the environment. One deadline, WEBHOOKS_TIMEOUT_SECONDS, bounds connecting, sending and every read together, so a
server trickling bytes cannot hold a worker longer; at most WEBHOOKS_MAX_RESPONSE_BYTES of the body are read. Name
resolution is bounded by the system resolver's own timeout.
"""

import base64
import http.client
import io
import re
import socket
import ssl
import time
from dataclasses import dataclass
from functools import partial
from ipaddress import IPv4Address, IPv6Address, ip_address, ip_network
from urllib.parse import unquote, urlsplit

from django.conf import settings

USER_AGENT = "payments-platform-webhooks/1"

# No callback is sent to an address in any of these networks (IPv4-mapped, 6to4 and NAT64 IPv6 addresses are
# judged by the IPv4 address they carry; any other IPv6 address outside 2000::/3 is reserved).
BLOCKED = tuple(
    (ip_network(network), kind)
    for network, kind in (
        ("0.0.0.0/8", "unspecified"),
        ("10.0.0.0/8", "private"),
        ("100.64.0.0/10", "carrier-grade NAT"),
        ("127.0.0.0/8", "loopback"),
        ("169.254.169.254/32", "cloud metadata"),
        ("169.254.0.0/16", "link-local"),
        ("172.16.0.0/12", "private"),
        ("192.0.0.0/24", "reserved"),
        ("192.0.2.0/24", "reserved"),
        ("192.88.99.0/24", "reserved"),
        ("192.168.0.0/16", "private"),
        ("198.18.0.0/15", "reserved"),
        ("198.51.100.0/24", "reserved"),
        ("203.0.113.0/24", "reserved"),
        ("224.0.0.0/4", "multicast"),
        ("240.0.0.0/4", "reserved"),
        ("::/128", "unspecified"),
        ("::1/128", "loopback"),
        ("64:ff9b:1::/48", "private"),
        ("100::/64", "reserved"),
        ("2001::/23", "reserved"),
        ("2001:db8::/32", "reserved"),
        ("fc00::/7", "private"),
        ("fe80::/10", "link-local"),
        ("fec0::/10", "private"),
        ("ff00::/8", "multicast"),
    )
)
_IPV6_GLOBAL_UNICAST = ip_network("2000::/3")
_NAT64 = ip_network("64:ff9b::/96")
_HEX, _OCTAL, _DECIMAL = re.compile(r"0[xX][0-9a-fA-F]*"), re.compile(r"0[0-7]+"), re.compile(r"0|[1-9][0-9]*")
_TLS = ssl.create_default_context()
_READ_CHUNK = 16 * 1024


class RefusedError(Exception):
    """The URL may not be called: not http(s), malformed, or its host is or resolves to a blocked address."""


class TransportError(Exception):
    """No HTTP answer: the name did not resolve, or connecting, TLS, sending or reading failed or timed out."""


@dataclass(frozen=True)
class Response:
    status: int
    body: bytes


@dataclass(frozen=True)
class _Target:
    https: bool
    host: str
    port: int
    path: str
    addresses: list[tuple[int, tuple]]
    authorization: str | None


def url_refusal(url: str) -> str | None:
    """Why a callback to `url` would be refused (bad scheme, malformed, a host that does not resolve or resolves to
    a blocked address), or None when it may be sent. Resolves the host name."""
    try:
        _target(url)
    except (RefusedError, TransportError) as exc:
        return str(exc)
    return None


def origin(url: str) -> str:
    """`scheme://host:port` of `url`: the endpoint whose requests in flight are counted; "" for a malformed URL."""
    try:
        parts = urlsplit(url)
        port = parts.port or (443 if parts.scheme == "https" else 80)
    except ValueError:
        return ""
    host = parts.hostname or ""
    return f"{parts.scheme}://{f'[{host}]' if ':' in host else host}:{port}"


def post(url: str, *, body: bytes, headers: dict[str, str]) -> Response:
    """POST `body` (JSON) to `url` as the module docstring describes and return the answer, whatever its status.

    Raises RefusedError for a URL that may not be called and TransportError when no HTTP answer came in time.
    """
    target = _target(url)
    timeout = settings.WEBHOOKS_TIMEOUT_SECONDS
    deadline = time.monotonic() + timeout
    request_headers = {**headers, "Content-Type": "application/json", "User-Agent": USER_AGENT, "Connection": "close"}
    if target.authorization:
        request_headers["Authorization"] = target.authorization
    connection = _PinnedConnection(target, deadline)
    try:
        connection.connect()
        connection.sock.settimeout(_remaining(deadline))
        connection.request("POST", target.path, body=body, headers=request_headers)
        response = connection.getresponse()
        return Response(status=response.status, body=_read_capped(response, settings.WEBHOOKS_MAX_RESPONSE_BYTES))
    except TimeoutError:
        raise TransportError(f"no answer within {timeout} s") from None
    except ssl.SSLCertVerificationError as exc:
        raise TransportError(f"TLS certificate refused: {exc.verify_message}") from None
    except ConnectionRefusedError:
        raise TransportError("connection refused") from None
    except (OSError, http.client.HTTPException) as exc:
        raise TransportError(f"{type(exc).__name__}: {exc}".rstrip(": ")) from None
    finally:
        connection.close()


def _target(url: str) -> _Target:
    try:
        parts = urlsplit(url)
        port = parts.port
    except ValueError as exc:
        raise RefusedError(f"callback URL is malformed: {exc}") from None
    if parts.scheme not in ("http", "https"):
        raise RefusedError("callback URL must start with http:// or https://")
    host = parts.hostname
    if not host:
        raise RefusedError("callback URL has no host")
    https = parts.scheme == "https"
    port = port or (443 if https else 80)
    literal = _ip_literal(host)
    addresses = _addresses(host, port) if literal is None else [_sockaddr(literal, port)]
    for _family, sockaddr in addresses:
        ip = ip_address(sockaddr[0])
        kind = _blocked_kind(ip)
        if kind and not (kind == "loopback" and settings.WEBHOOKS_ALLOW_LOOPBACK):
            what = f"{'an' if kind[0] in 'aeiou' else 'a'} {kind} address"
            if host == str(ip):
                raise RefusedError(f"callback URL host {host} is {what}")
            verb = "resolves to" if literal is None else "is"
            raise RefusedError(f"callback URL host {host} {verb} {ip}, {what}")
    authorization = None
    if parts.username is not None:
        credentials = f"{unquote(parts.username)}:{unquote(parts.password or '')}".encode()
        authorization = "Basic " + base64.b64encode(credentials).decode("ascii")
    path = (parts.path or "/") + (f"?{parts.query}" if parts.query else "")
    return _Target(https=https, host=host, port=port, path=path, addresses=addresses, authorization=authorization)


def _sockaddr(ip: IPv4Address | IPv6Address, port: int) -> tuple[int, tuple]:
    if ip.version == 6:
        return socket.AF_INET6, (str(ip), port, 0, 0)
    return socket.AF_INET, (str(ip), port)


def _addresses(host: str, port: int) -> list[tuple[int, tuple]]:
    """(family, sockaddr) of every address the name `host` resolves to."""
    try:
        infos = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)
    except (OSError, UnicodeError) as exc:
        raise TransportError(f"callback URL host {host} does not resolve: {exc}") from None
    addresses = []
    for family, _type, _proto, _name, sockaddr in infos:
        if family in (socket.AF_INET, socket.AF_INET6) and (family, sockaddr) not in addresses:
            addresses.append((family, sockaddr))
    if not addresses:
        raise TransportError(f"callback URL host {host} has no IP address")
    return addresses


def _ip_literal(host: str) -> IPv4Address | IPv6Address | None:
    """The address `host` spells in any form inet_aton takes (2130706433, 0177.0.0.1, 0x7f.1, 127.1), or an IPv6
    address; None for a name."""
    if ":" in host:
        try:
            return ip_address(host)
        except ValueError:
            raise RefusedError(f"callback URL host {host} is not a valid IPv6 address") from None
    numbers = [_ipv4_number(label) for label in host.removesuffix(".").split(".")]
    if None in numbers:
        return None
    last = numbers[-1]
    if len(numbers) > 4 or any(n > 255 for n in numbers[:-1]) or last >= 256 ** (5 - len(numbers)):
        raise RefusedError(f"callback URL host {host} is not a valid IPv4 address")
    return IPv4Address(sum(n << (8 * (3 - i)) for i, n in enumerate(numbers[:-1])) + last)


def _ipv4_number(label: str) -> int | None:
    if _HEX.fullmatch(label):
        return int(label[2:] or "0", 16)
    if _OCTAL.fullmatch(label):
        return int(label, 8)
    if _DECIMAL.fullmatch(label):
        return int(label)
    return None


def _blocked_kind(ip: IPv4Address | IPv6Address) -> str | None:
    for network, kind in BLOCKED:
        if ip in network:
            return kind
    if ip.version == 6:
        embedded = ip.ipv4_mapped or ip.sixtofour or (IPv4Address(int(ip) & 0xFFFFFFFF) if ip in _NAT64 else None)
        if embedded is not None:
            return _blocked_kind(embedded)
        if ip not in _IPV6_GLOBAL_UNICAST:
            return "reserved"
    return None


def _remaining(deadline: float) -> float:
    left = deadline - time.monotonic()
    if left <= 0:
        raise TimeoutError
    return left


def _connect(addresses: list[tuple[int, tuple]], deadline: float) -> socket.socket:
    """A TCP connection to the first of the checked `addresses` that takes one (no second name resolution)."""
    error: OSError = TimeoutError()
    for family, sockaddr in addresses:
        sock = socket.socket(family, socket.SOCK_STREAM)
        try:
            sock.settimeout(_remaining(deadline))
            sock.connect(sockaddr)
            sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
            return sock
        except OSError as exc:
            sock.close()
            error = exc
    raise error


class _PinnedConnection(http.client.HTTPConnection):
    """http.client's connection opened to the target's checked address, with TLS for https, reading by a deadline."""

    def __init__(self, target: _Target, deadline: float) -> None:
        super().__init__(target.host, target.port)
        # Host: carries the port only when it is not the scheme's own.
        self.default_port = 443 if target.https else 80
        self.response_class = partial(_DeadlineResponse, deadline=deadline)
        self._target = target
        self._deadline = deadline

    def connect(self) -> None:
        sock = _connect(self._target.addresses, self._deadline)
        if self._target.https:
            try:
                sock.settimeout(_remaining(self._deadline))
                sock = _TLS.wrap_socket(sock, server_hostname=self._target.host)
            except BaseException:
                sock.close()
                raise
        self.sock = sock


class _DeadlineResponse(http.client.HTTPResponse):
    def __init__(self, sock: socket.socket, *args, deadline: float, **kwargs) -> None:
        super().__init__(_DeadlineReader(sock, deadline), *args, **kwargs)


class _DeadlineReader(io.RawIOBase):
    """The socket as HTTPResponse reads it, each read given only the time left before the deadline."""

    def __init__(self, sock: socket.socket, deadline: float) -> None:
        super().__init__()
        self._sock = sock
        self._deadline = deadline

    def makefile(self, mode: str) -> io.BufferedReader:
        return io.BufferedReader(self)

    def readable(self) -> bool:
        return True

    def readinto(self, buffer) -> int:
        self._sock.settimeout(_remaining(self._deadline))
        return self._sock.recv_into(buffer)


def _read_capped(response: http.client.HTTPResponse, cap: int) -> bytes:
    body = bytearray()
    try:
        while len(body) < cap:
            chunk = response.read(min(_READ_CHUNK, cap - len(body)))
            if not chunk:
                break
            body += chunk
    except (OSError, http.client.HTTPException):
        # The status line is the answer; a body cut short (timeout, reset) only shortens the logged excerpt.
        pass
    return bytes(body)
