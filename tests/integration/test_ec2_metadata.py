"""The ec2-metadata ipaddr plugin through `autodnsfailover probe ipaddr`,
against moto's instance metadata and a scripted fake (FakeImds) for what
moto does not do: 401, 403, 404 pages, HTML bodies, unanswered token PUTs."""
import signal
import socket
import subprocess
import urllib.request

import pytest

from aws_fixtures import FakeImds, MotoRoute53, moto_endpoint, unique_zone, wait_until
from conftest import BINARY, base_config, free_port, probe, write_config

__all__ = ["moto_endpoint"]  # the fixture, imported for pytest

PUBLIC = "/latest/meta-data/public-ipv4"
TOKEN = FakeImds.TOKEN_PATH


def ipaddr_config(endpoint, **keys):
    return base_config(ipaddr={"plugin": "ec2-metadata", "endpoint": endpoint, **keys})


def test_public_ipv4_from_moto(tmp_path, moto_endpoint):
    expected = urllib.request.urlopen(moto_endpoint + PUBLIC, timeout=10).read().decode().strip()
    result = probe(tmp_path, ipaddr_config(moto_endpoint), "ipaddr")
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == expected


def test_local_ipv4_from_moto(tmp_path, moto_endpoint):
    expected = urllib.request.urlopen(moto_endpoint + "/latest/meta-data/local-ipv4",
                                      timeout=10).read().decode().strip()
    result = probe(tmp_path, ipaddr_config(moto_endpoint, address="local-ipv4"), "ipaddr")
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == expected


def test_token_request_and_use(tmp_path):
    with FakeImds({PUBLIC: [(200, "203.0.113.7\n")]}) as imds:
        result = probe(tmp_path, ipaddr_config(imds.endpoint, token_ttl=300), "ipaddr")
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == "203.0.113.7"
    (put,) = imds.requests("PUT", TOKEN)
    assert put[2]["x-aws-ec2-metadata-token-ttl-seconds"] == "300"
    (get,) = imds.requests("GET", PUBLIC)
    assert get[2]["x-aws-ec2-metadata-token"] == "token-1"


def test_ipv6_address(tmp_path):
    with FakeImds({"/latest/meta-data/ipv6": [(200, "2001:DB8:0::5")]}) as imds:
        config = ipaddr_config(imds.endpoint, address="ipv6")
        result = probe(tmp_path, config, "ipaddr", "--family", "6")
        assert result.returncode == 0, result.stderr
        assert result.stdout.strip() == "2001:db8::5"
        # The family it does not serve is absent, without asking.
        asked = len(imds.log)
        result = probe(tmp_path, config, "ipaddr", "--family", "4")
        assert result.returncode != 0 and "absent" in result.stderr
        assert len(imds.log) == asked


def test_public_ipv4_has_no_ipv6(tmp_path):
    with FakeImds({}) as imds:
        result = probe(tmp_path, ipaddr_config(imds.endpoint), "ipaddr", "--family", "6")
    assert result.returncode != 0 and "absent" in result.stderr
    assert imds.log == []


def test_404_is_absent(tmp_path):
    with FakeImds({}) as imds:  # every metadata path answers EC2's HTML 404 page
        result = probe(tmp_path, ipaddr_config(imds.endpoint), "ipaddr")
    assert result.returncode != 0 and "absent" in result.stderr
    assert result.stdout.strip() == ""


def test_an_html_body_is_an_error_never_an_address(tmp_path):
    page = "<html><body><h1>Maintenance</h1></body></html>"
    with FakeImds({PUBLIC: [(200, page)]}) as imds:
        result = probe(tmp_path, ipaddr_config(imds.endpoint), "ipaddr")
    assert result.returncode == 1, result.stderr
    assert "not an IPv4 address" in result.stderr and "<html>" in result.stderr
    assert result.stdout.strip() == ""


def test_an_address_of_the_wrong_family_is_an_error(tmp_path):
    with FakeImds({PUBLIC: [(200, "2001:db8::1")]}) as imds:
        result = probe(tmp_path, ipaddr_config(imds.endpoint), "ipaddr")
    assert result.returncode == 1, result.stderr
    assert "not an IPv4 address" in result.stderr


@pytest.mark.parametrize("route", [PUBLIC, f"PUT {TOKEN}"])
def test_403_means_metadata_is_disabled(tmp_path, route):
    with FakeImds({route: [(403, "Forbidden")]}) as imds:
        result = probe(tmp_path, ipaddr_config(imds.endpoint), "ipaddr")
    assert result.returncode == 1, result.stderr
    assert "instance metadata is disabled" in result.stderr


def test_401_renews_the_token_once(tmp_path):
    with FakeImds({PUBLIC: [(401, ""), (200, "203.0.113.7")]}) as imds:
        result = probe(tmp_path, ipaddr_config(imds.endpoint), "ipaddr")
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == "203.0.113.7"
    assert len(imds.requests("PUT", TOKEN)) == 2
    assert [h["x-aws-ec2-metadata-token"] for _, _, h in imds.requests("GET")] == ["token-1",
                                                                                  "token-2"]


def test_401_for_a_fresh_token_fails(tmp_path):
    with FakeImds({PUBLIC: [(401, "")]}) as imds:
        result = probe(tmp_path, ipaddr_config(imds.endpoint), "ipaddr")
    assert result.returncode == 1, result.stderr
    assert "401" in result.stderr
    assert len(imds.requests("PUT", TOKEN)) == 2


def test_unanswered_token_request_is_transient_without_imdsv1(tmp_path):
    with FakeImds({f"PUT {TOKEN}": ["hangup"], PUBLIC: [(200, "203.0.113.7")]}) as imds:
        result = probe(tmp_path, ipaddr_config(imds.endpoint), "ipaddr")
    assert result.returncode == 3, result.stderr
    assert "hop limit" in result.stderr and "allow_imdsv1" in result.stderr
    assert imds.requests("GET") == []


def test_imdsv1_fallback_when_allowed_and_the_token_request_is_unanswered(tmp_path):
    with FakeImds({f"PUT {TOKEN}": ["hangup"], PUBLIC: [(200, "203.0.113.7")]}) as imds:
        result = probe(tmp_path, ipaddr_config(imds.endpoint, allow_imdsv1=True), "ipaddr")
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == "203.0.113.7"
    (get,) = imds.requests("GET", PUBLIC)
    assert "x-aws-ec2-metadata-token" not in get[2]


def test_no_imdsv1_fallback_when_the_token_request_is_refused(tmp_path):
    with FakeImds({f"PUT {TOKEN}": [(400, "Bad Request")], PUBLIC: [(200, "203.0.113.7")]}) as imds:
        result = probe(tmp_path, ipaddr_config(imds.endpoint, allow_imdsv1=True), "ipaddr")
    assert result.returncode == 1, result.stderr
    assert "HTTP 400" in result.stderr
    assert imds.requests("GET") == []


def test_no_answer_is_transient(tmp_path):
    port = free_port()  # nothing listens there
    result = probe(tmp_path, ipaddr_config(f"http://127.0.0.1:{port}", request_timeout=0.5),
                   "ipaddr")
    assert result.returncode == 3, result.stderr
    assert f"127.0.0.1:{port}" in result.stderr


@pytest.mark.parametrize("keys, path", [
    ({"address": "elastic-ip"}, "ipaddr.address"),
    ({"endpoint": "169.254.169.254"}, "ipaddr.endpoint"),
    ({"token_ttl": 0}, "ipaddr.token_ttl"),
    ({"token_ttl": 21601}, "ipaddr.token_ttl"),
    ({"allow_imdsv1": "yes"}, "ipaddr.allow_imdsv1"),
])
def test_config_errors_name_the_key(tmp_path, keys, path):
    config = base_config(ipaddr={"plugin": "ec2-metadata", **keys})
    result = probe(tmp_path, config, "ipaddr")
    assert result.returncode == 2, result.stderr
    assert path in result.stderr


@pytest.fixture
def listener():
    """A TCP port on 127.0.0.1 that accepts: the daemon's self-check target."""
    with socket.socket() as server:
        server.bind(("127.0.0.1", 0))
        server.listen(64)
        yield server.getsockname()[1]


def test_the_daemon_reuses_one_token_every_round(tmp_path, moto_endpoint, listener):
    """End to end: the daemon asks for its address every round; the token is
    fetched once and reused, and the address lands in Route 53 (moto)."""
    route53 = MotoRoute53(moto_endpoint)
    zone = unique_zone()
    zone_id = route53.create_zone(zone)
    fqdn = f"www.{zone}"
    with FakeImds({PUBLIC: [(200, "127.0.0.1")]}) as imds:
        config = base_config(
            fqdn=fqdn,
            ipaddr={"plugin": "ec2-metadata", "endpoint": imds.endpoint},
            dns={"plugin": "route53", "endpoint": moto_endpoint, "hosted_zone_id": zone_id,
                 "access_key_id": "AKIDDAEMONTEST", "secret_access_key": "daemon-test-secret"},
            check={"plugin": "tcp-check", "port": listener},
            timer={"plugin": "fixed-interval", "interval": 0.3, "timeout": 0.25, "retry": 1})
        path = write_config(tmp_path / "daemon.json", config)
        log = open(tmp_path / "daemon.log", "w")
        daemon = subprocess.Popen([str(BINARY), "run", "-c", str(path)], stdout=log,
                                  stderr=subprocess.STDOUT)
        try:
            wait_until(lambda: len(imds.requests("GET", PUBLIC)) >= 4 or daemon.poll() is not None,
                       timeout=20)
            rounds = len(imds.requests("GET", PUBLIC)) >= 4
        finally:
            daemon.send_signal(signal.SIGTERM)
            daemon.wait(timeout=10)
            log.close()
        output = (tmp_path / "daemon.log").read_text()
        assert rounds, output
        assert len(imds.requests("PUT", TOKEN)) == 1, output
        assert {h["x-aws-ec2-metadata-token"] for _, _, h in imds.requests("GET")} == {"token-1"}
    assert route53.record_set(zone_id, fqdn) == (60, ["127.0.0.1"]), output


@pytest.mark.parametrize("body", ["203.0.113.7\x00junk", "203.0.113.7 junk", "0.0.0.0"])
def test_an_address_with_a_tail_or_the_unspecified_one_is_an_error(tmp_path, body):
    with FakeImds({PUBLIC: [(200, body)]}) as imds:
        result = probe(tmp_path, ipaddr_config(imds.endpoint), "ipaddr")
    assert result.returncode == 1, result.stderr
    assert result.stdout.strip() == ""
    assert ("which is not an IPv4 address" in result.stderr or
            "the unspecified address, which is never this instance's own" in result.stderr)


@pytest.mark.parametrize("token", ["token-1\r\nX-Injected: yes", "token-1\nHost: evil",
                                   "tok en", "token-\x7f"])
def test_a_token_that_would_inject_headers_is_refused_and_never_sent(tmp_path, token):
    with FakeImds({f"PUT {TOKEN}": [(200, token)], PUBLIC: [(200, "203.0.113.7")]}) as imds:
        result = probe(tmp_path, ipaddr_config(imds.endpoint), "ipaddr")
        assert result.returncode == 1, result.stderr
        assert (f"the IMDSv2 token from PUT {imds.endpoint}{TOKEN} holds a control character, "
                "space or non-ASCII byte") in result.stderr
        assert "so it is not sent on as a header" in result.stderr
        assert imds.requests("GET") == []
