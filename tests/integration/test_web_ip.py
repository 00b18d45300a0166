"""The web-ip plugin: `autodnsfailover probe ipaddr` against small HTTP(S)
servers of the test's own on 127.0.0.21 and ::1."""
import contextlib
import socket
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest

from conftest import base_config, probe
from fixtures_common import elapsed, ipv6_loopback_available, no_proxy_environment  # noqa: F401
from http_fixtures import self_signed_certificate, tls_server_context

HOST = "127.0.0.21"

pytestmark = pytest.mark.usefixtures("no_proxy_environment")


class Handler(BaseHTTPRequestHandler):
    def log_message(self, fmt, *args):
        pass

    def do_GET(self):
        server = self.server
        server.requests.append({"path": self.path, "client": self.client_address[0],
                                "headers": dict(self.headers)})
        if server.delay:
            server.release.wait(server.delay)
        if self.path == "/moved":
            self.send_response(302)
            self.send_header("Location", "/")
            self.send_header("Content-Length", "0")
            self.end_headers()
            return
        body = server.body.encode() if isinstance(server.body, str) else server.body
        self.send_response(server.status)
        self.send_header("Content-Type", "text/plain")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)


class IpServer(ThreadingHTTPServer):
    """Answers every GET with `status` and `body`, after `delay` seconds."""
    daemon_threads = True

    def __init__(self, host, port=0):
        self.address_family = socket.AF_INET6 if ":" in host else socket.AF_INET
        super().__init__((host, port), Handler)
        self.status, self.body, self.delay = 200, "192.0.2.44\n", 0
        self.requests = []
        self.release = threading.Event()
        self.scheme = "http"

    @property
    def url(self):
        host, port = self.server_address[:2]
        host = f"[{host}]" if ":" in host else host
        return f"{self.scheme}://{host}:{port}/"


@contextlib.contextmanager
def running(server, tls_context=None):
    """Serves `server` (over TLS with a context) until the block ends, then
    releases a delayed answer, stops and closes it."""
    if tls_context is not None:
        server.socket = tls_context.wrap_socket(server.socket, server_side=True)
        server.scheme = "https"
    threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        yield server
    finally:
        server.release.set()
        server.shutdown()
        server.server_close()


@pytest.fixture
def server():
    with running(IpServer(HOST)) as s:
        yield s


@pytest.fixture
def server_v6():
    with running(IpServer("::1")) as s:
        yield s


@pytest.fixture(scope="module")
def certificate(tmp_path_factory):
    return self_signed_certificate(tmp_path_factory.mktemp("tls"), HOST)


@pytest.fixture
def tls_server(certificate):
    with running(IpServer(HOST), tls_server_context(*certificate)) as s:
        yield s


def config(**ipaddr):
    section = {"plugin": "web-ip", **ipaddr}
    return base_config(ipaddr={k: v for k, v in section.items() if v is not None})


def own(tmp_path, ask=4, env=None, **ipaddr):
    """The own address of family `ask` with an ipaddr section of `ipaddr`."""
    return probe(tmp_path, config(**ipaddr), "ipaddr", "--family", str(ask), env=env)


def test_plain_address(server, tmp_path):
    server.body = "192.0.2.44"
    result = own(tmp_path, url=server.url)
    assert result.returncode == 0, result.stderr
    assert result.stdout == "192.0.2.44\n"
    assert len(server.requests) == 1


def test_address_with_whitespace_and_newline(server, tmp_path):
    server.body = " \t192.0.2.45 \r\n\n"
    result = own(tmp_path, url=server.url)
    assert result.returncode == 0, result.stderr
    assert result.stdout == "192.0.2.45\n"


def test_ipv6_answer_is_canonicalised(server, tmp_path):
    server.body = "2001:DB8:0:0::0:1\n"
    result = own(tmp_path, ask=6, url=server.url)
    assert result.returncode == 0, result.stderr
    assert result.stdout == "2001:db8::1\n"


def test_html_body_is_an_error_naming_url_and_quoting_60_bytes(server, tmp_path):
    server.body = ("<html><head><title>404 Not Found</title></head><body>"
                   "<h1>Not Found</h1>THE-REST-IS-NOT-QUOTED</body></html>")
    result = own(tmp_path, url=server.url)
    assert result.returncode == 1
    assert server.url in result.stderr
    assert '"' + server.body[:60].replace('"', '\\"') + '"' in result.stderr
    assert "THE-REST-IS-NOT-QUOTED" not in result.stderr
    assert "not an IPv4 address" in result.stderr


def test_big_html_page_is_an_error(server, tmp_path):
    server.body = "<!DOCTYPE html>\n<html>" + "<p>padding</p>" * 200 + "</html>"
    result = own(tmp_path, url=server.url)
    assert result.returncode == 1
    assert server.url in result.stderr and '"<!DOCTYPE html>\\n<html>' in result.stderr


def test_empty_body_is_an_error(server, tmp_path):
    server.body = "\n"
    result = own(tmp_path, url=server.url)
    assert result.returncode == 1
    assert "empty body" in result.stderr and server.url in result.stderr


def test_http_500_is_a_transient_error(server, tmp_path):
    server.status, server.body = 500, "192.0.2.44"
    result = own(tmp_path, url=server.url)
    assert result.returncode == 3
    assert "HTTP 500" in result.stderr and server.url in result.stderr
    assert result.stdout == ""


def test_http_404_is_an_error_even_with_an_address_body(server, tmp_path):
    server.status, server.body = 404, "192.0.2.44"
    result = own(tmp_path, url=server.url)
    assert result.returncode == 1
    assert "HTTP 404" in result.stderr


def test_redirect_is_followed(server, tmp_path):
    result = own(tmp_path, url=server.url + "moved")
    assert result.returncode == 0, result.stderr
    assert result.stdout == "192.0.2.44\n"
    assert [r["path"] for r in server.requests] == ["/moved", "/"]


def test_slow_server_fails_within_timeout(server, tmp_path):
    server.delay = 20
    result, seconds = elapsed(own, tmp_path, url=server.url, timeout=0.5)
    assert result.returncode == 3
    assert "Timeout was reached" in result.stderr or "timed out" in result.stderr
    assert seconds < 1.5


def test_answer_of_other_family_than_configured_is_an_error(server, tmp_path):
    server.body = "2001:db8::9"
    result = own(tmp_path, url=server.url, family=4)
    assert result.returncode == 1
    assert "an IPv6 address, but \"family\" is 4" in result.stderr
    assert server.url in result.stderr


def test_without_family_an_ipv4_answer_means_no_ipv6_address(server, tmp_path):
    result = own(tmp_path, ask=6, url=server.url)
    assert result.returncode == 1
    assert "absent" in result.stderr and "no IPv6 address" in result.stderr
    assert result.stdout == ""


def test_configured_family_makes_the_other_absent_without_asking(server, tmp_path):
    result = probe(tmp_path, config(url=server.url, family=4), "ipaddr", "--family", "6")
    assert result.returncode == 1
    assert "absent" in result.stderr and "IPv4 only" in result.stderr
    assert server.requests == []


def test_family_6_connects_over_ipv6(server_v6, tmp_path):
    server_v6.body = "2001:db8::6"
    result = probe(tmp_path, config(url=server_v6.url, family=6), "ipaddr", "--family", "6")
    assert result.returncode == 0, result.stderr
    assert result.stdout == "2001:db8::6\n"
    assert [r["client"] for r in server_v6.requests] == ["::1"]


@pytest.fixture
def dual_stack_port():
    """One port of "localhost" served twice: 127.0.0.1 answers 192.0.2.4 and
    ::1 answers 2001:db8::6, so the answer tells which family was used."""
    if not ipv6_loopback_available():
        pytest.skip("no IPv6 on loopback here")
    for _ in range(20):  # the port ::1 got may be taken on 127.0.0.1
        v6 = IpServer("::1")
        try:
            v4 = IpServer("127.0.0.1", port=v6.server_address[1])
            break
        except OSError:
            v6.server_close()
    else:
        pytest.fail("found no port free on both 127.0.0.1 and ::1")
    v4.body, v6.body = "192.0.2.4", "2001:db8::6"
    with running(v4), running(v6):
        yield v6.server_address[1]


@pytest.mark.parametrize("family, answer", [(4, "192.0.2.4"), (6, "2001:db8::6")])
def test_family_connects_over_that_family_to_a_dual_stack_name(dual_stack_port, tmp_path,
                                                                 family, answer):
    url = f"http://localhost:{dual_stack_port}/"
    result = probe(tmp_path, config(url=url, family=family), "ipaddr", "--family", str(family))
    assert result.returncode == 0, result.stderr
    assert result.stdout == answer + "\n"


def test_family_6_with_an_ipv4_url_is_a_config_error(server, tmp_path):
    result = probe(tmp_path, config(url=server.url, family=6), "ipaddr", "--family", "6")
    assert result.returncode == 2
    assert "ipaddr.family" in result.stderr and "IPv4 address 127.0.0.21" in result.stderr
    assert server.requests == []


def test_proxy_from_environment_is_ignored_unless_use_proxy(server, tmp_path):
    with running(IpServer("127.0.0.22")) as proxy:
        proxy.body = "192.0.2.99"
        env = {"http_proxy": proxy.url, "HTTP_PROXY": proxy.url, "no_proxy": "", "NO_PROXY": ""}
        direct = own(tmp_path, url=server.url, env=env)
        assert direct.returncode == 0, direct.stderr
        assert direct.stdout == "192.0.2.44\n" and proxy.requests == []
        proxied = own(tmp_path, url=server.url, use_proxy=True, env=env)
        assert proxied.returncode == 0, proxied.stderr
        assert proxied.stdout == "192.0.2.99\n"
        assert [r["path"] for r in proxy.requests] == [server.url]  # absolute: a proxy request


def test_tls_certificate_is_verified_by_default(tls_server, tmp_path):
    result = own(tmp_path, url=tls_server.url)
    assert result.returncode == 1
    assert "certificate" in result.stderr and tls_server.url in result.stderr
    unverified = own(tmp_path, url=tls_server.url, verify_tls=False)
    assert unverified.returncode == 0, unverified.stderr
    assert unverified.stdout == "192.0.2.44\n"


@pytest.mark.parametrize("ipaddr, path", [
    ({}, "ipaddr.url"),
    ({"url": "ftp://127.0.0.21/ip"}, "ipaddr.url"),
    ({"url": "not a url"}, "ipaddr.url"),
    ({"url": 42}, "ipaddr.url"),
    ({"url": "http://127.0.0.21/", "family": 5}, "ipaddr.family"),
    ({"url": "http://127.0.0.21/", "family": "6"}, "ipaddr.family"),
    ({"url": "http://127.0.0.21/", "timeout": 0}, "ipaddr.timeout"),
    ({"url": "http://127.0.0.21/", "verify_tls": "yes"}, "ipaddr.verify_tls"),
    ({"url": "http://127.0.0.21/", "use_proxy": 1}, "ipaddr.use_proxy"),
    ({"url": "http://127.0.0.21/", "adress_family": 4}, "ipaddr.adress_family"),
])
def test_config_errors_exit_2_naming_the_key(tmp_path, ipaddr, path):
    result = probe(tmp_path, config(**ipaddr), "ipaddr")
    assert result.returncode == 2
    assert path in result.stderr


@pytest.mark.parametrize("body", [b"127.0.0.1\x00junk", b"127.0.0.1\x00", b"192.0.2.44 junk",
                                  b"192.0.2.44\n\nsecond line"])
def test_an_address_with_anything_after_it_is_an_error(server, tmp_path, body):
    # "127.0.0.1\0junk" read as a C string is 127.0.0.1: it must not be.
    server.body = body
    result = own(tmp_path, url=server.url)
    assert result.returncode == 1, result.stderr
    assert result.stdout == ""
    assert "which is not an IPv4 address" in result.stderr


@pytest.mark.parametrize("body, ask", [("0.0.0.0", 4), ("::", 6), ("0:0::0", 6)])
def test_the_unspecified_address_is_never_the_own_address(server, tmp_path, body, ask):
    server.body = body + "\n"
    result = own(tmp_path, ask=ask, url=server.url)
    assert result.returncode == 1, result.stderr
    assert result.stdout == ""
    assert "the unspecified address, which is never this host's own" in result.stderr


def test_a_multicast_answer_is_refused_by_the_host(server, tmp_path):
    server.body = "224.0.0.251\n"
    result = own(tmp_path, url=server.url)
    assert result.returncode == 1, result.stderr
    assert ("plugin web-ip answered 224.0.0.251, a multicast address, which is never this "
            "host's own address") in result.stderr
