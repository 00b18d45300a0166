"""The rfc2136 dns plugin through `autodnsfailover probe` against real BIND 9
and Knot DNS servers (dns_servers.py): reads, compare-and-swap updates with
prerequisites, TSIG (wrong secret, unknown key, no key), servers that do not
answer, truncation, and config errors."""
import socket
import subprocess
import time

import pytest

from conftest import (BINARY, base_config, example_config, free_port, probe, record_ttls, run,
                      write_config)
from dns_servers import bind_server, dns_server, generate_key
from rounds import assert_round_read_nothing, dns_call, one_round
from scripted_dns import ScriptedDns

FQDN = "www.example.test"
POOL = ["www 120 IN A 192.0.2.1", "www 120 IN A 192.0.2.2", "www 120 IN AAAA 2001:db8::1"]
BOTH = ["bind", "knot"]


def ttls(server, name, rdtype="A"):
    """{address: ttl} as the server answers a direct query."""
    answer = server.query(name, rdtype)
    return {rdata.to_text(): rrset.ttl for rrset in answer.answer for rdata in rrset}


def rfc2136_config(server, fqdn=FQDN, **keys):
    return base_config(fqdn=fqdn, dns=server.plugin_config(**keys))


@pytest.fixture(params=BOTH)
def server(request, tmp_path, adf_binary):
    """A BIND or a Knot serving example.test with POOL, updates signed with a key."""
    with dns_server(request.param, tmp_path, records=POOL) as running:
        yield running


@pytest.mark.parametrize("kind", BOTH)
def test_read_lists_the_set_with_its_ttl_and_empty_names_read_empty(tmp_path, adf_binary, kind):
    with dns_server(kind, tmp_path, records=POOL + ["only6 60 IN AAAA 2001:db8::2"]) as server:
        config = rfc2136_config(server)
        assert record_ttls(probe(tmp_path, config, "dns", "read", FQDN)) == {
            "192.0.2.1": 120, "192.0.2.2": 120}
        assert record_ttls(probe(tmp_path, config, "dns", "read", FQDN, "--family", "6")) == {
            "2001:db8::1": 120}
        # NXDOMAIN and NODATA are both an empty set, not an error.
        assert record_ttls(probe(tmp_path, config, "dns", "read", "nothing.example.test")) == {}
        assert record_ttls(probe(tmp_path, config, "dns", "read", "only6.example.test")) == {}


def test_first_add_creates_the_set_with_the_configured_ttl(tmp_path, server):
    config = rfc2136_config(server, ttl=33)
    result = probe(tmp_path, config, "dns", "add", "new.example.test", "192.0.2.9")
    assert result.returncode == 0, result.stderr
    assert "added 192.0.2.9 to new.example.test A (TTL 33)" in result.stderr
    assert ttls(server, "new.example.test") == {"192.0.2.9": 33}


def test_second_add_joins_the_set_with_the_sets_own_ttl(tmp_path, server):
    config = rfc2136_config(server, ttl=33)
    result = probe(tmp_path, config, "dns", "add", FQDN, "192.0.2.3")
    assert result.returncode == 0, result.stderr
    assert ttls(server, FQDN) == {"192.0.2.1": 120, "192.0.2.2": 120, "192.0.2.3": 120}
    assert server.dig(FQDN, "AAAA") == {"2001:db8::1"}


def test_remove_takes_one_address_out(tmp_path, server):
    config = rfc2136_config(server)
    result = probe(tmp_path, config, "dns", "remove", FQDN, "192.0.2.1")
    assert result.returncode == 0, result.stderr
    assert "removed 192.0.2.1 from www.example.test A" in result.stderr
    assert server.dig(FQDN) == {"192.0.2.2"}
    assert server.dig(FQDN, "AAAA") == {"2001:db8::1"}


def test_remove_of_the_last_record_is_refused_by_the_plugin_itself(tmp_path, server):
    config = rfc2136_config(server)
    result = dns_call(tmp_path, config, FQDN, "2001:db8::1")
    assert result.returncode == 1, result.stderr
    assert (f"refusing to remove 2001:db8::1, the last record of {FQDN} AAAA: a pool is never "
            "emptied") in result.stderr
    assert server.dig(FQDN, "AAAA") == {"2001:db8::1"}


def test_aaaa_records_are_added_and_removed(tmp_path, server):
    config = rfc2136_config(server)
    for address in ("2001:db8::2", "2001:DB8:0:0::3"):
        result = probe(tmp_path, config, "dns", "add", FQDN, address)
        assert result.returncode == 0, result.stderr
    assert server.dig(FQDN, "AAAA") == {"2001:db8::1", "2001:db8::2", "2001:db8::3"}
    result = probe(tmp_path, config, "dns", "remove", FQDN, "2001:db8::1")
    assert result.returncode == 0, result.stderr
    assert record_ttls(probe(tmp_path, config, "dns", "read", FQDN, "--family", "6")) == {
        "2001:db8::2": 120, "2001:db8::3": 120}
    assert server.dig(FQDN) == {"192.0.2.1", "192.0.2.2"}


def test_add_of_an_address_already_there_is_a_conflict(tmp_path, server):
    result = probe(tmp_path, rfc2136_config(server), "dns", "add", FQDN, "192.0.2.1")
    assert result.returncode == 4, result.stderr
    assert "already holds 192.0.2.1" in result.stderr


@pytest.mark.parametrize("kind", BOTH)
def test_concurrent_adds_conflict_and_the_set_holds_exactly_the_winners(tmp_path, adf_binary,
                                                                        kind):
    """Two probes add different addresses to one set at the same moment. Both
    read the same set; when their updates cross, the server applies one and
    refuses the other's stale prerequisite (exit 4). Whatever the timing, the
    set ends with exactly the addresses whose probe succeeded."""
    initial = {"192.0.2.1"}
    contenders = ["192.0.2.10", "192.0.2.11"]
    with dns_server(kind, tmp_path, records=[f"www 60 IN A {a}" for a in initial]) as server:
        config = write_config(tmp_path / "race.json", rfc2136_config(server))
        conflicts = 0
        for attempt in range(40):
            probes = [subprocess.Popen([str(BINARY), "probe", "-c", str(config), "dns", "add",
                                        FQDN, address],
                                       stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
                      for address in contenders]
            outcomes = [(p.wait(timeout=30), p.communicate()[1]) for p in probes]
            codes = [code for code, _ in outcomes]
            assert set(codes) <= {0, 4}, outcomes
            assert 0 in codes, outcomes
            for code, stderr in outcomes:
                if code == 4:
                    assert "changed since it was read" in stderr, stderr
            winners = {a for a, code in zip(contenders, codes) if code == 0}
            assert server.dig(FQDN) == initial | winners, (attempt, outcomes)
            conflicts += codes.count(4)
            server.nsupdate(*[f"update delete {FQDN} A {a}" for a in winners])
            if conflicts and attempt >= 4:
                break
        assert conflicts >= 1, "no add ever lost the race in 40 attempts"


@pytest.mark.parametrize("kind", BOTH)
def test_wrong_secret_is_badsig_exit_1(tmp_path, adf_binary, kind):
    with dns_server(kind, tmp_path, records=POOL) as server:
        wrong = generate_key(server.key_name).secret
        config = rfc2136_config(server, key_secret=wrong)
        for args in (("read", FQDN), ("add", FQDN, "192.0.2.3")):
            result = probe(tmp_path, config, "dns", *args)
            assert result.returncode == 1, result.stderr
            assert "BADSIG" in result.stderr
            assert "key_secret" in result.stderr
            assert wrong not in result.stderr
        assert server.dig(FQDN) == {"192.0.2.1", "192.0.2.2"}


@pytest.mark.parametrize("kind", BOTH)
def test_unknown_key_name_is_badkey_exit_1(tmp_path, adf_binary, kind):
    with dns_server(kind, tmp_path, records=POOL) as server:
        config = rfc2136_config(server, key_name="no-such-key")
        result = probe(tmp_path, config, "dns", "add", FQDN, "192.0.2.3")
        assert result.returncode == 1, result.stderr
        assert "BADKEY" in result.stderr
        assert "no-such-key" in result.stderr and "key_name" in result.stderr
        assert server.dig(FQDN) == {"192.0.2.1", "192.0.2.2"}


@pytest.mark.parametrize("kind, rcode", [("bind", "REFUSED"), ("knot", "NOTAUTH")])
def test_unsigned_update_is_refused_exit_1_saying_to_configure_the_key(tmp_path, adf_binary,
                                                                       kind, rcode):
    with dns_server(kind, tmp_path, records=POOL) as server:
        config = base_config(dns={"plugin": "rfc2136", "server": "127.0.0.1",
                                  "port": server.port, "zone": "example.test"})
        assert record_ttls(probe(tmp_path, config, "dns", "read", FQDN)) == {
            "192.0.2.1": 120, "192.0.2.2": 120}
        result = probe(tmp_path, config, "dns", "add", FQDN, "192.0.2.3")
        assert result.returncode == 1, result.stderr
        assert f"answered {rcode}" in result.stderr
        assert "key_name and key_secret" in result.stderr
        assert server.dig(FQDN) == {"192.0.2.1", "192.0.2.2"}


@pytest.mark.parametrize("kind", BOTH)
def test_unsigned_updates_work_where_the_server_allows_the_address(tmp_path, adf_binary, kind):
    with dns_server(kind, tmp_path, records=POOL, key=None, allow_update="address") as server:
        config = rfc2136_config(server)
        assert "key_name" not in config["dns"]
        result = probe(tmp_path, config, "dns", "add", FQDN, "192.0.2.3")
        assert result.returncode == 0, result.stderr
        result = probe(tmp_path, config, "dns", "remove", FQDN, "192.0.2.1")
        assert result.returncode == 0, result.stderr
        assert server.dig(FQDN) == {"192.0.2.2", "192.0.2.3"}


@pytest.mark.parametrize("algorithm", ["hmac-sha512", "hmac-sha1", "hmac-md5"])
def test_other_tsig_algorithms_sign_and_verify(tmp_path, adf_binary, algorithm):
    key = generate_key("alg-key", algorithm)
    with bind_server(tmp_path, records=POOL, key=key) as server:
        config = rfc2136_config(server)
        assert config["dns"]["key_algorithm"] == algorithm
        result = probe(tmp_path, config, "dns", "add", FQDN, "192.0.2.3")
        assert result.returncode == 0, result.stderr
        assert server.dig(FQDN) == {"192.0.2.1", "192.0.2.2", "192.0.2.3"}


def test_secret_from_the_environment(tmp_path, adf_binary):
    with bind_server(tmp_path, records=POOL) as server:
        config = rfc2136_config(server, key_secret={"env": "ADF_TEST_TSIG_SECRET"})
        result = probe(tmp_path, config, "dns", "add", FQDN, "192.0.2.3",
                       env={"ADF_TEST_TSIG_SECRET": server.secret})
        assert result.returncode == 0, result.stderr
        assert "192.0.2.3" in server.dig(FQDN)


@pytest.fixture
def silent_udp():
    """A UDP port that takes datagrams and never answers."""
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as s:
        s.bind(("127.0.0.1", 0))
        yield s.getsockname()[1]


@pytest.fixture
def silent_tcp():
    """A TCP port that accepts connections and never answers."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        s.listen(16)
        yield s.getsockname()[1]


def silent_config(port, **keys):
    return base_config(dns={"plugin": "rfc2136", "server": "127.0.0.1", "port": port,
                            "zone": "example.test", "timeout": 1, **keys})


@pytest.mark.parametrize("args", [("read", FQDN), ("add", FQDN, "192.0.2.3")])
def test_server_that_does_not_answer_is_transient_exit_3_within_the_timeout(
        tmp_path, adf_binary, silent_udp, args):
    start = time.monotonic()
    result = probe(tmp_path, silent_config(silent_udp), "dns", *args)
    elapsed = time.monotonic() - start
    assert result.returncode == 3, result.stderr
    assert f"no answer from 127.0.0.1:{silent_udp} over UDP" in result.stderr
    assert 0.9 <= elapsed < 2.0


def test_tcp_mode_uses_tcp_and_times_out_alike(tmp_path, adf_binary, silent_tcp):
    start = time.monotonic()
    result = probe(tmp_path, silent_config(silent_tcp, tcp=True), "dns", "read", FQDN)
    elapsed = time.monotonic() - start
    assert result.returncode == 3, result.stderr
    assert "over TCP" in result.stderr
    assert 0.9 <= elapsed < 2.0


def test_nothing_listening_is_transient_exit_3_at_once(tmp_path, adf_binary):
    port = free_port()
    for keys, refusal in (({}, "refused the UDP query"),
                          ({"tcp": True}, "refused the TCP connection")):
        start = time.monotonic()
        result = probe(tmp_path, silent_config(port, **keys), "dns", "read", FQDN)
        assert result.returncode == 3, result.stderr
        assert f"127.0.0.1:{port} {refusal}" in result.stderr
        assert "no DNS server listens there" in result.stderr
        assert time.monotonic() - start < 1.0


@pytest.mark.parametrize("kind", BOTH)
def test_server_on_an_ipv6_address(tmp_path, adf_binary, kind):
    with dns_server(kind, tmp_path, records=POOL, address="::1") as server:
        config = rfc2136_config(server)
        assert config["dns"]["server"] == "::1"
        result = probe(tmp_path, config, "dns", "add", FQDN, "192.0.2.3")
        assert result.returncode == 0, result.stderr
        assert f"at [::1]:{server.port}" in result.stderr
        result = probe(tmp_path, rfc2136_config(server, tcp=True), "dns", "remove", FQDN,
                       "192.0.2.1")
        assert result.returncode == 0, result.stderr
        assert server.dig(FQDN) == {"192.0.2.2", "192.0.2.3"}


@pytest.mark.parametrize("kind", BOTH)
def test_tcp_mode_reads_and_updates(tmp_path, adf_binary, kind):
    with dns_server(kind, tmp_path, records=POOL) as server:
        config = rfc2136_config(server, tcp=True)
        result = probe(tmp_path, config, "dns", "add", FQDN, "192.0.2.3")
        assert result.returncode == 0, result.stderr
        result = probe(tmp_path, config, "dns", "remove", FQDN, "192.0.2.2")
        assert result.returncode == 0, result.stderr
        assert record_ttls(probe(tmp_path, config, "dns", "read", FQDN)) == {
            "192.0.2.1": 120, "192.0.2.3": 120}


@pytest.mark.parametrize("kind", BOTH)
def test_large_sets_go_over_tcp_truncated_reads_and_large_updates(tmp_path, adf_binary, kind):
    """40 A records do not fit in 512 bytes: the UDP answer comes back
    truncated and the read repeats over TCP; the update, whose prerequisite
    holds all 40, is too large for UDP and goes over TCP directly."""
    pool = [f"192.0.2.{i}" for i in range(100, 140)]
    with dns_server(kind, tmp_path, records=[f"www 60 IN A {a}" for a in pool]) as server:
        config = rfc2136_config(server)
        assert set(record_ttls(probe(tmp_path, config, "dns", "read", FQDN))) == set(pool)
        result = probe(tmp_path, config, "dns", "add", FQDN, "192.0.2.200")
        assert result.returncode == 0, result.stderr
        result = probe(tmp_path, config, "dns", "remove", FQDN, "192.0.2.100")
        assert result.returncode == 0, result.stderr
        assert set(record_ttls(probe(tmp_path, config, "dns", "read", FQDN))) == \
            set(pool[1:]) | {"192.0.2.200"}


@pytest.mark.parametrize("kind", BOTH)
def test_name_below_a_delegation_is_an_error_not_an_empty_set(tmp_path, adf_binary, kind):
    """The server holds only a referral for sub.example.test: no AA bit."""
    with dns_server(kind, tmp_path, records=POOL + ["sub IN NS ns.elsewhere.test."]) as server:
        result = probe(tmp_path, rfc2136_config(server), "dns", "read", "www.sub.example.test")
        assert result.returncode == 1, result.stderr
        assert "not authoritative for www.sub.example.test" in result.stderr
        assert result.stdout.strip() == ""


def test_cname_is_an_error_naming_its_target(tmp_path, adf_binary):
    with bind_server(tmp_path, records=POOL + ["alias IN CNAME www"]) as server:
        result = probe(tmp_path, rfc2136_config(server), "dns", "read", "alias.example.test")
        assert result.returncode == 1, result.stderr
        assert "alias.example.test is a CNAME to www.example.test" in result.stderr


def test_name_outside_the_zone_is_exit_1_naming_both(tmp_path, adf_binary):
    result = probe(tmp_path, silent_config(53), "dns", "read", "www.other.test")
    assert result.returncode == 1, result.stderr
    assert "www.other.test is not in zone example.test" in result.stderr


def test_a_configured_name_outside_the_zone_fails_check_config(tmp_path, adf_binary):
    config = silent_config(53)
    config["fqdn"] = ["www.example.test", "www.other.test"]
    result = run(["check-config", "-c", write_config(tmp_path / "outside.json", config)])
    assert result.returncode == 2, result.stderr
    assert ("fqdn[1]: plugin rfc2136 (dns) cannot manage www.other.test: www.other.test is not "
            "in zone example.test (the dns plugin's \"zone\")") in result.stderr


def test_zone_the_server_does_not_serve_is_refused_exit_1(tmp_path, adf_binary):
    with bind_server(tmp_path, records=POOL) as server:
        config = rfc2136_config(server, zone="other.test", fqdn="www.other.test")
        result = probe(tmp_path, config, "dns", "read", "www.other.test")
        assert result.returncode == 1, result.stderr
        assert "REFUSED" in result.stderr and "other.test" in result.stderr


@pytest.mark.parametrize("keys, named, words", [
    ({"server": None}, "dns.server", "required"),
    ({"zone": None}, "dns.zone", "required"),
    ({"server": "ns1.example.test"}, "dns.server", "not an IP address"),
    ({"port": 0}, "dns.port", ""),
    ({"zone": "bad..zone"}, "dns.zone", "not a valid domain name"),
    ({"key_secret": None}, "dns.key_secret", "required with key_name"),
    ({"key_name": None}, "dns.key_name", "required with key_secret"),
    ({"key_secret": "not base64!"}, "dns.key_secret", "base64"),
    ({"key_algorithm": "hmac-sha999"}, "dns.key_algorithm", "hmac-sha256"),
    ({"key_algorithm": "hmac-sha384"}, "dns.key_algorithm", "libldns"),
    ({"timeout": 0}, "dns.timeout", ""),
    ({"ttl": 0}, "dns.ttl", ""),
    ({"tcp": "yes"}, "dns.tcp", ""),
    ({"keyname": "x"}, "dns.keyname", ""),
])
def test_bad_config_is_exit_2_naming_the_key(tmp_path, adf_binary, keys, named, words):
    dns = {"plugin": "rfc2136", "server": "127.0.0.1", "port": 53053, "zone": "example.test",
           "key_name": "ddns-key", "key_secret": "c2VjcmV0c2VjcmV0c2VjcmV0"}
    dns.update(keys)
    dns = {k: v for k, v in dns.items() if v is not None}
    result = probe(tmp_path, base_config(dns=dns), "dns", "read", FQDN)
    assert result.returncode == 2, result.stderr
    assert named in result.stderr
    assert words in result.stderr
    assert "c2VjcmV0c2VjcmV0c2VjcmV0" not in result.stderr


def test_key_algorithm_without_a_key_is_exit_2(tmp_path, adf_binary):
    config = base_config(dns={"plugin": "rfc2136", "server": "127.0.0.1", "zone": "example.test",
                              "key_algorithm": "hmac-sha256"})
    result = probe(tmp_path, config, "dns", "read", FQDN)
    assert result.returncode == 2, result.stderr
    assert "dns.key_algorithm" in result.stderr


def test_plugin_is_listed_as_a_dns_plugin(tmp_path, adf_binary):
    result = run(["plugins", "-c", write_config(tmp_path / "list.json", base_config())])
    assert result.returncode == 0, result.stderr
    assert "rfc2136" in result.stdout


def test_example_config_passes_check_config(tmp_path, adf_binary):
    """etc/rfc2136-example.json, with its secret file moved to tmp_path."""
    secret = tmp_path / "tsig.secret"
    secret.write_text(generate_key().secret + "\n")
    config = example_config(tmp_path, "rfc2136-example.json",
                            [("/etc/autodnsfailover/tsig.secret", str(secret))])
    result = run(["check-config", "-c", config])
    assert result.returncode == 0, result.stderr
    assert "dns: rfc2136" in result.stdout


# --- malformed answers: a read is complete or an error ----------------------

MALFORMED_ANSWERS = [
    ("another-name", ("other.example.test.", "IN", "A", "192.0.2.9"), "other.example.test IN A"),
    ("aaaa-for-an-a-query", ("www.example.test.", "IN", "AAAA", "2001:db8::1"),
     "www.example.test IN AAAA"),
    ("class-ch", ("www.example.test.", "CH", "A", "192.0.2.1"), "www.example.test CH A"),
]


@pytest.mark.parametrize("record, named", [m[1:] for m in MALFORMED_ANSWERS],
                         ids=[m[0] for m in MALFORMED_ANSWERS])
def test_an_answer_holding_other_records_fails_the_read_and_the_round_updates_nothing(
        tmp_path, adf_binary, record, named):
    # An authoritative NOERROR whose answer section holds none of our set:
    # read as "no records", the round would add itself to an empty set.
    with ScriptedDns([record]) as server:
        dns = {"plugin": "rfc2136", "server": "127.0.0.1", "port": server.port,
               "zone": "example.test", "timeout": 1}
        read = probe(tmp_path, base_config(dns=dns), "dns", "read", FQDN)
        assert read.returncode == 1, read.stderr
        assert (f"answered the query for {FQDN} A with a malformed answer, nothing is trusted: "
                f"the answer holds a record of {named}, where only {FQDN} A IN records "
                "belong") in read.stderr
        assert read.stdout == ""

        result = one_round(tmp_path, dns, FQDN)
        assert_round_read_nothing(result)
        assert "UPDATE" not in server.opcodes()
        assert set(server.opcodes()) == {"QUERY"}


def test_the_scripted_answer_alone_is_read_and_the_round_updates(tmp_path, adf_binary):
    """The other half: the same responder with our record in its answer."""
    with ScriptedDns([("www.example.test.", "IN", "A", "192.0.2.9")]) as server:
        dns = {"plugin": "rfc2136", "server": "127.0.0.1", "port": server.port,
               "zone": "example.test", "timeout": 1}
        read = probe(tmp_path, base_config(dns=dns), "dns", "read", FQDN)
        assert read.returncode == 0, read.stderr
        assert read.stdout == "192.0.2.9 60 \n"
        one_round(tmp_path, dns, FQDN)
        assert "UPDATE" in server.opcodes()
