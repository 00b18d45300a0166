"""http-check plugin: `autodnsfailover probe check ADDRESS` against real HTTP
servers (Python http.server, nginx) on loopback."""
import pytest

from conftest import base_config, free_port, probe
from fixtures_common import elapsed, ipv6_loopback_available
from http_fixtures import (http_server, nginx_vhosts, self_signed_certificate, silent_server,
                           tls_server_context)

V4 = "127.0.0.12"
VHOST = "www.example.test"


def http_check(**keys):
    return base_config(check={"plugin": "http-check", **keys})


def run_check(tmp_path, address, timeout=2.0, **keys):
    result = probe(tmp_path, http_check(**keys), "check", address, "--timeout", str(timeout))
    result.output = result.stdout + result.stderr
    return result


def assert_alive(result):
    assert result.returncode == 0, result.output
    assert "alive" in result.stdout, result.output


def assert_dead(result, reason):
    assert result.returncode == 1, result.output
    assert reason in result.output, result.output


@pytest.fixture
def server():
    with http_server(V4) as (srv, port):
        yield srv, port


@pytest.fixture(scope="module")
def certificate(tmp_path_factory):
    return self_signed_certificate(tmp_path_factory.mktemp("tls"), VHOST)


@pytest.fixture
def tls_server(certificate):
    with http_server(V4, tls_server_context(*certificate)) as (srv, port):
        yield srv, port


# --- status codes -----------------------------------------------------------

def test_status_200_is_alive(tmp_path, server):
    assert_alive(run_check(tmp_path, V4, port=server[1]))


def test_status_503_is_dead_with_the_status_in_the_reason(tmp_path, server):
    assert_dead(run_check(tmp_path, V4, port=server[1], path="/down"),
                "HTTP status 503 (expected 200, 302)")


def test_redirect_302_is_alive_by_default_and_not_followed(tmp_path, server):
    # /moved-to-down leads to a 503: alive proves the 302 itself was judged.
    assert_alive(run_check(tmp_path, V4, port=server[1], path="/moved-to-down"))


def test_redirect_not_followed_is_judged_by_its_own_status(tmp_path, server):
    assert_dead(run_check(tmp_path, V4, port=server[1], path="/moved", valid_status=[200]),
                "HTTP status 302 (expected 200)")


def test_follow_redirects_judges_the_final_answer(tmp_path, server):
    port = server[1]
    assert_alive(run_check(tmp_path, V4, port=port, path="/moved", valid_status=[200],
                           follow_redirects=True))
    assert_dead(run_check(tmp_path, V4, port=port, path="/moved-to-down", follow_redirects=True),
                "HTTP status 503 (expected 200, 302)")


def test_proxy_environment_is_ignored(tmp_path, server):
    proxy = f"http://127.0.0.1:{free_port()}"
    result = probe(tmp_path, http_check(port=server[1]), "check", V4, "--timeout", "2",
                   env={"http_proxy": proxy, "HTTP_PROXY": proxy, "all_proxy": proxy,
                        "ALL_PROXY": proxy, "https_proxy": proxy})
    assert result.returncode == 0, result.stdout + result.stderr


def test_custom_valid_status(tmp_path, server):
    port = server[1]
    assert_alive(run_check(tmp_path, V4, port=port, path="/created", valid_status=[201, 204]))
    assert_dead(run_check(tmp_path, V4, port=port, valid_status=[201, 204]),
                "HTTP status 200 (expected 201, 204)")
    assert_alive(run_check(tmp_path, V4, port=port, path="/down", valid_status=[503]))


# --- timeouts and connection failures ---------------------------------------

def test_slow_response_is_dead_within_the_timeout(tmp_path, server):
    result, seconds = elapsed(run_check, tmp_path, V4, timeout=0.5, port=server[1], path="/slow")
    assert_dead(result, "timed out")
    assert seconds < 0.5 + 1.5, f"the probe took {seconds:.2f} s for a 0.5 s timeout"


def test_server_that_never_answers_is_dead_within_the_timeout(tmp_path):
    with silent_server(V4) as port:
        result, seconds = elapsed(run_check, tmp_path, V4, timeout=0.5, port=port)
    assert_dead(result, "timed out")
    assert seconds < 0.5 + 1.5, f"the probe took {seconds:.2f} s for a 0.5 s timeout"


def test_closed_port_is_dead_connection_refused(tmp_path):
    port = free_port(V4)
    assert_dead(run_check(tmp_path, V4, port=port), f"connect to {V4}:{port} refused")


# --- TLS ----------------------------------------------------------------------

def test_tls_self_signed_with_verification_is_dead(tmp_path, tls_server):
    assert_dead(run_check(tmp_path, V4, https=True, port=tls_server[1],
                          headers={"Host": VHOST}),
                "TLS certificate verify failed")


def test_tls_self_signed_without_verification_is_alive(tmp_path, tls_server):
    assert_alive(run_check(tmp_path, V4, https=True, port=tls_server[1], verify_tls=False))


def test_tls_verified_with_ca_file_and_host_header_is_alive_and_sends_sni(
        tmp_path, certificate, tls_server):
    srv, port = tls_server
    assert_alive(run_check(tmp_path, V4, https=True, port=port, ca_file=str(certificate[0]),
                           headers={"Host": VHOST}))
    assert VHOST in srv.sni_names


def test_tls_host_name_is_verified_too(tmp_path, certificate, tls_server):
    port = tls_server[1]
    # Trusted certificate, but neither the bare address nor another name is in it.
    assert_dead(run_check(tmp_path, V4, https=True, port=port, ca_file=str(certificate[0])),
                "TLS certificate verify failed")
    assert_dead(run_check(tmp_path, V4, https=True, port=port, ca_file=str(certificate[0]),
                          headers={"Host": "other.example.test"}),
                "TLS certificate verify failed")


# --- virtual hosts, body, methods -------------------------------------------

def test_host_header_selects_the_virtual_host(tmp_path):
    vhosts = {"alpha.example.test": "alpha here", "beta.example.test": "beta here"}
    with nginx_vhosts(tmp_path, V4, vhosts) as port:
        assert_alive(run_check(tmp_path, V4, port=port, headers={"Host": "alpha.example.test"},
                               expect_body="alpha here"))
        assert_alive(run_check(tmp_path, V4, port=port, headers={"Host": "beta.example.test"},
                               expect_body="beta here"))
        assert_dead(run_check(tmp_path, V4, port=port, headers={"Host": "beta.example.test"},
                              expect_body="alpha here"),
                    "body does not contain \"alpha here\" in its first 5120 bytes")
        assert_dead(run_check(tmp_path, V4, port=port), "HTTP status 404 (expected 200, 302)")


def test_expect_body_present_is_alive(tmp_path, server):
    assert_alive(run_check(tmp_path, V4, port=server[1], expect_body="all ok"))


def test_expect_body_absent_is_dead(tmp_path, server):
    assert_dead(run_check(tmp_path, V4, port=server[1], expect_body="missing"),
                "body does not contain \"missing\" in its first 5120 bytes")


def test_expect_body_only_searches_the_first_bytes(tmp_path, server):
    port = server[1]
    assert_dead(run_check(tmp_path, V4, port=port, path="/late-marker", expect_body="MARKER",
                          expect_body_bytes=50),
                "body does not contain \"MARKER\" in its first 50 bytes")
    assert_alive(run_check(tmp_path, V4, port=port, path="/late-marker", expect_body="MARKER",
                           expect_body_bytes=200))


def test_body_is_read_only_up_to_expect_body_bytes(tmp_path, server):
    # The server sends 6000 bytes of a longer body and stalls: reading on would
    # time out, so alive proves the check stopped after its 5120 bytes.
    port = server[1]
    assert_alive(run_check(tmp_path, V4, timeout=1.0, port=port, path="/stalls-after-6k"))
    assert_alive(run_check(tmp_path, V4, timeout=1.0, port=port, path="/stalls-after-6k",
                           expect_body="ok"))
    assert_dead(run_check(tmp_path, V4, timeout=0.5, port=port, path="/stalls-after-6k",
                          expect_body_bytes=8000),
                "timed out")


def test_head_method_is_sent(tmp_path, server):
    port = server[1]
    assert_alive(run_check(tmp_path, V4, port=port, path="/head-only", method="HEAD"))
    assert_alive(run_check(tmp_path, V4, port=port, path="/head-only", method="head"))
    assert_dead(run_check(tmp_path, V4, port=port, path="/head-only"),
                "HTTP status 405 (expected 200, 302)")


def test_post_sends_body_headers_and_user_agent(tmp_path, server):
    port = server[1]
    assert_alive(run_check(tmp_path, V4, port=port, path="/echo", method="POST", body="ping",
                           headers={"X-Check": "yes"},
                           expect_body="method=POST body=ping host=127.0.0.12:"))
    assert_alive(run_check(tmp_path, V4, port=port, path="/echo", method="PUT", body="p",
                           expect_body="method=PUT body=p"))
    assert_alive(run_check(tmp_path, V4, port=port, path="/echo", method="POST",
                           headers={"X-Check": "yes"}, expect_body="ua=autodnsfailover/"))
    assert_alive(run_check(tmp_path, V4, port=port, path="/echo", method="POST",
                           user_agent="probe/1", headers={"X-Check": "yes"},
                           expect_body="ua=probe/1 x-check=yes"))


@pytest.mark.skipif(not ipv6_loopback_available(), reason="no IPv6 on loopback here")
def test_ipv6_loopback(tmp_path):
    with http_server("::1") as (_, port):
        assert_alive(run_check(tmp_path, "::1", port=port, expect_body="all ok"))
        assert_alive(run_check(tmp_path, "::1", port=port, headers={"Host": VHOST},
                               path="/echo", method="POST", expect_body=f"host={VHOST}"))
    assert_dead(run_check(tmp_path, "::1", port=port), f"connect to [::1]:{port} refused")


# --- configuration errors ---------------------------------------------------

@pytest.mark.parametrize("keys, key", [
    ({"method": "GE T"}, "check.method"),
    ({"method": 5}, "check.method"),
    ({"path": "health"}, "check.path"),
    ({"path": "/with space"}, "check.path"),
    ({"body": 5}, "check.body"),
    ({"headers": ["Host: x"]}, "check.headers"),
    ({"headers": {"Bad Name": "x"}}, "check.headers"),
    ({"headers": {"X-Number": 5}}, "check.headers"),
    ({"headers": {"Host": "bad host"}}, "check.headers"),
    ({"port": 0}, "check.port"),
    ({"port": "80"}, "check.port"),
    ({"https": "yes"}, "check.https"),
    ({"verify_tls": 1}, "check.verify_tls"),
    ({"ca_file": "/nonexistent/ca.pem"}, "check.ca_file"),
    ({"valid_status": 200}, "check.valid_status"),
    ({"valid_status": []}, "check.valid_status"),
    ({"valid_status": [99]}, "check.valid_status"),
    ({"valid_status": ["200"]}, "check.valid_status"),
    ({"expect_body": ""}, "check.expect_body"),
    ({"expect_body": "ok", "method": "HEAD"}, "check.expect_body"),
    ({"expect_body": "long", "expect_body_bytes": 2}, "check.expect_body"),
    ({"expect_body_bytes": 0}, "check.expect_body_bytes"),
    ({"follow_redirects": "no"}, "check.follow_redirects"),
    ({"user_agent": 5}, "check.user_agent"),
    ({"timeout_ms": 500}, "check.timeout_ms"),
])
def test_config_errors_exit_2_naming_the_key(tmp_path, keys, key):
    result = run_check(tmp_path, V4, **keys)
    assert result.returncode == 2, result.output
    assert key in result.stderr, result.output
