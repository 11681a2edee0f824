"""Callbacks never reach the platform's own network, whatever the URL spells or its name resolves to.

DNS is stubbed in every test here (the `dns` fixture), so nothing leaves the machine."""

import socket
import ssl
import subprocess
import threading
import time

import pytest

from tests.webhooks.receiver import Answer
from webhooks import safe_http
from webhooks.safe_http import RefusedError, TransportError, post, url_refusal

BLOCKED_URLS = [
    ("http://2130706433/", "is 127.0.0.1, a loopback address"),
    ("http://0177.0.0.1/", "is 127.0.0.1, a loopback address"),
    ("http://0x7f.0.0.1/", "is 127.0.0.1, a loopback address"),
    ("http://0x7f000001/", "is 127.0.0.1, a loopback address"),
    ("http://127.1/", "is 127.0.0.1, a loopback address"),
    ("http://127.0.0.1./", "is 127.0.0.1, a loopback address"),
    ("http://[::ffff:127.0.0.1]/", "a loopback address"),
    ("http://[::ffff:7f00:1]/", "a loopback address"),
    ("http://[::1]:8080/", "a loopback address"),
    ("http://[2002:7f00:1::]/", "a loopback address"),
    ("http://169.254.169.254/latest/meta-data/", "a cloud metadata address"),
    ("http://0251.0376.0251.0376/", "is 169.254.169.254, a cloud metadata address"),
    ("http://[::ffff:169.254.169.254]/", "a cloud metadata address"),
    ("http://169.254.1.1/", "a link-local address"),
    ("http://[fe80::1]/", "a link-local address"),
    ("http://10.0.0.1/", "a private address"),
    ("http://10.255.255.255/", "a private address"),
    ("http://172.16.0.1/", "a private address"),
    ("http://172.31.255.254/", "a private address"),
    ("http://192.168.1.1/", "a private address"),
    ("http://[fd00:ec2::254]/", "a private address"),
    ("http://[64:ff9b::a00:1]/", "a private address"),
    ("http://100.64.0.1/", "a carrier-grade NAT address"),
    ("http://100.127.255.254/", "a carrier-grade NAT address"),
    ("http://224.0.0.1/", "a multicast address"),
    ("http://239.255.255.250/", "a multicast address"),
    ("http://[ff02::1]/", "a multicast address"),
    ("http://0.0.0.0/", "an unspecified address"),
    ("http://0/", "is 0.0.0.0, an unspecified address"),
    ("http://[::]/", "an unspecified address"),
    ("http://255.255.255.255/", "a reserved address"),
    ("http://240.0.0.1/", "a reserved address"),
    ("http://192.0.2.1/", "a reserved address"),
    ("http://[2001:db8::1]/", "a reserved address"),
    ("http://[::127.0.0.1]/", "a reserved address"),
]


@pytest.mark.parametrize(("url", "reason"), BLOCKED_URLS)
def test_urls_that_spell_a_blocked_address_are_refused_without_a_lookup(dns, settings, url, reason):
    settings.WEBHOOKS_ALLOW_LOOPBACK = False

    assert reason in url_refusal(url)
    assert dns.lookups == []


@pytest.mark.parametrize("address", ["10.0.0.5", "172.20.1.1", "192.168.0.10", "127.0.0.1", "169.254.169.254", "::1"])
def test_a_name_that_resolves_to_a_blocked_address_is_refused(dns, address):
    dns.names["shop.example"] = [address]

    assert f"callback URL host shop.example resolves to {address}" in url_refusal("https://shop.example/callback")


def test_every_address_of_a_name_must_be_allowed(dns):
    dns.names["shop.example"] = ["93.184.216.34", "192.168.0.10"]

    assert "resolves to 192.168.0.10, a private address" in url_refusal("https://shop.example/callback")


@pytest.mark.parametrize(
    "url", ["https://shop.example/callback?order=1", "http://93.184.216.34:8080/", "https://[2606:4700:4700::1111]/"]
)
def test_public_addresses_are_allowed(dns, url):
    dns.names["shop.example"] = ["93.184.216.34", "2606:2800:220:1:248:1893:25c8:1946"]

    assert url_refusal(url) is None


@pytest.mark.parametrize(
    ("url", "reason"),
    [
        ("ftp://shop.example/", "must start with http:// or https://"),
        ("file:///etc/passwd", "must start with http:// or https://"),
        ("http:///callback", "has no host"),
        ("http://shop.example:99999/", "malformed"),
        ("http://1.2.3.4.5/", "not a valid IPv4 address"),
        ("http://256.0.0.1/", "not a valid IPv4 address"),
        ("http://nowhere.example/", "does not resolve"),
    ],
)
def test_malformed_and_unresolvable_urls_are_refused(dns, url, reason):
    assert reason in url_refusal(url)


def test_allowing_loopback_allows_loopback_only(dns, settings):
    settings.WEBHOOKS_ALLOW_LOOPBACK = True
    dns.names["localhost"] = ["127.0.0.1", "::1"]

    for url in ["http://127.0.0.1:8000/", "http://2130706433/", "http://[::1]/", "http://localhost/"]:
        assert url_refusal(url) is None, url
    for url in ["http://10.0.0.1/", "http://169.254.169.254/", "http://0.0.0.0/", "http://[::]/"]:
        assert url_refusal(url) is not None, url


def test_loopback_is_refused_by_default(dns):
    dns.names["localhost"] = ["127.0.0.1"]

    assert "a loopback address" in url_refusal("http://localhost:8000/")


def test_a_refused_url_is_never_connected_to(dns, receiver, settings):
    settings.WEBHOOKS_ALLOW_LOOPBACK = False

    with pytest.raises(RefusedError):
        post(receiver.url(), body=b"{}", headers={})
    assert receiver.received() == []


def test_the_checked_address_is_the_one_connected_to(dns, receiver):
    dns.names["callback.example"] = ["127.0.0.1"]
    # Were the name resolved again at connect time, it would now say 10.0.0.1 (DNS rebinding).
    dns.after_first_lookup["callback.example"] = ["10.0.0.1"]

    response = post(f"http://callback.example:{receiver.port}/hook", body=b'{"a":1}', headers={"webhook-id": "x"})

    assert response.status == 200
    assert dns.lookups == ["callback.example"]
    [request] = receiver.received()
    assert request.headers["host"] == f"callback.example:{receiver.port}"
    assert request.headers["content-type"] == "application/json"
    assert request.headers["user-agent"] == safe_http.USER_AGENT
    assert request.body == b'{"a":1}'


def test_a_redirect_is_returned_not_followed(dns, receiver):
    receiver.script("/hook", Answer(status=302, headers={"Location": "http://169.254.169.254/latest/meta-data/"}))

    response = post(receiver.url("/hook"), body=b"{}", headers={})

    assert response.status == 302
    assert [request.path for request in receiver.received()] == ["/hook"]
    assert dns.lookups == []


def test_at_most_the_configured_bytes_of_an_answer_are_read(dns, receiver, settings):
    settings.WEBHOOKS_MAX_RESPONSE_BYTES = 4096
    receiver.script("/hook", Answer(body=b"x" * 2_000_000))

    response = post(receiver.url("/hook"), body=b"{}", headers={})

    assert response.status == 200
    assert len(response.body) == 4096


def test_an_endpoint_that_does_not_answer_in_time_is_a_transport_error(dns, receiver, settings):
    settings.WEBHOOKS_TIMEOUT_SECONDS = 1
    receiver.script("/slow", Answer(delay=3))

    started = time.monotonic()
    with pytest.raises(TransportError, match="no answer within 1 s"):
        post(receiver.url("/slow"), body=b"{}", headers={})
    assert time.monotonic() - started < 1.5


def test_a_server_trickling_its_answer_is_cut_off_at_the_deadline(dns, settings):
    settings.WEBHOOKS_ALLOW_LOOPBACK = True
    settings.WEBHOOKS_TIMEOUT_SECONDS = 1
    listener = socket.create_server(("127.0.0.1", 0))

    def trickle() -> None:
        connection, _ = listener.accept()
        connection.recv(65536)
        try:
            for byte in b"HTTP/1.1 200 OK\r\nX-Slow: " + b"a" * 100:
                connection.sendall(bytes([byte]))
                time.sleep(0.2)
        except OSError:
            pass
        connection.close()

    threading.Thread(target=trickle, daemon=True).start()
    started = time.monotonic()
    with pytest.raises(TransportError):
        post(f"http://127.0.0.1:{listener.getsockname()[1]}/", body=b"{}", headers={})
    assert time.monotonic() - started < 1.5
    listener.close()


def test_a_closed_port_is_a_transport_error(dns, settings):
    settings.WEBHOOKS_ALLOW_LOOPBACK = True
    with socket.create_server(("127.0.0.1", 0)) as listener:
        port = listener.getsockname()[1]

    with pytest.raises(TransportError, match="connection refused"):
        post(f"http://127.0.0.1:{port}/", body=b"{}", headers={})


@pytest.fixture
def tls_endpoint(tmp_path, monkeypatch, settings):
    """An HTTPS endpoint on 127.0.0.1 with a certificate for callback.example, trusted by the sender; the names
    that reached it by SNI are recorded."""
    settings.WEBHOOKS_ALLOW_LOOPBACK = True
    cert, key = tmp_path / "cert.pem", tmp_path / "key.pem"
    subprocess.run(
        ["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "1", "-subj", "/CN=callback.example",
         "-addext", "subjectAltName=DNS:callback.example", "-keyout", str(key), "-out", str(cert)],
        check=True, capture_output=True,
    )  # fmt: skip
    monkeypatch.setattr(safe_http, "_TLS", ssl.create_default_context(cafile=str(cert)))
    server_context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    server_context.load_cert_chain(cert, key)
    server_names: list[str | None] = []
    server_context.sni_callback = lambda sock, name, context: server_names.append(name)
    listener = socket.create_server(("127.0.0.1", 0))

    def serve() -> None:
        while True:
            try:
                connection, _ = listener.accept()
            except OSError:
                return
            try:
                with server_context.wrap_socket(connection, server_side=True) as tls:
                    request = b""
                    while b"\r\n\r\n" not in request:
                        request += tls.recv(65536)
                    head, _, body = request.partition(b"\r\n\r\n")
                    headers = dict(line.split(b": ", 1) for line in head.split(b"\r\n")[1:])
                    # All of it is read: closing with bytes unread would reset the connection under the answer.
                    while len(body) < int(headers[b"Content-Length"]):
                        body += tls.recv(65536)
                    server_names.append(headers[b"Host"].decode())
                    tls.sendall(b"HTTP/1.1 204 No Content\r\nContent-Length: 0\r\n\r\n")
            except OSError:
                pass  # the client refused the certificate

    threading.Thread(target=serve, daemon=True).start()
    yield listener.getsockname()[1], server_names
    listener.close()


def test_https_is_pinned_to_the_checked_address_and_verified_against_the_host_name(dns, tls_endpoint):
    port, server_names = tls_endpoint
    dns.names["callback.example"] = ["127.0.0.1"]

    response = post(f"https://callback.example:{port}/hook", body=b"{}", headers={})

    assert response.status == 204
    assert server_names == ["callback.example", f"callback.example:{port}"]


def test_https_to_a_host_the_certificate_does_not_name_fails(dns, tls_endpoint):
    port, _ = tls_endpoint
    dns.names["other.example"] = ["127.0.0.1"]

    with pytest.raises(TransportError, match="TLS certificate refused"):
        post(f"https://other.example:{port}/hook", body=b"{}", headers={})


@pytest.mark.parametrize(
    ("url", "endpoint"),
    [
        ("https://Shop.Example/callback?order=1", "https://shop.example:443"),
        ("http://shop.example:8080/a", "http://shop.example:8080"),
        ("http://[2606:4700::1111]/", "http://[2606:4700::1111]:80"),
        ("http://shop.example:99999/", ""),
    ],
)
def test_an_endpoint_is_its_scheme_host_and_port(url, endpoint):
    assert safe_http.origin(url) == endpoint
