"""Reads over plain DNS (the "read_from" key): each round starts from a
non-recursive DNS query to the zone's authoritative servers (Knot and BIND,
started here on loopback) instead of a read through the dns plugin, while
writes still go through the plugin. Peers are dead when listed in a file
(check-deadlist); dns-memory stands for an API backend whose reads can be
made to fail."""
import json
import socket

import pytest

from conftest import base_config, free_port, run, wait_until, write_config
from dns_servers import bind_server, knot_server, static_server, zone_text
from rounds import assert_round_read_nothing, one_round, round_config
from scripted_dns import ScriptedDns

FQDN = "www.example.test"
SELF = "127.0.0.11"


def where(server):
    return f"127.0.0.1:{server.port}"


class MemoryBackend:
    """dns-memory's state file: records per name, fault flags, write log."""

    def __init__(self, path, fqdn=FQDN, addresses=(), **flags):
        self.path = path
        self.fqdn = fqdn
        records = [{"address": a, "ttl": 60, "note": ""} for a in addresses]
        path.write_text(json.dumps({"records": {f"{fqdn}/A": records}, **flags}))

    def config(self):
        return {"plugin": "dns-memory", "state": str(self.path)}

    def addresses(self):
        state = json.loads(self.path.read_text())
        return sorted(r["address"] for r in state["records"].get(f"{self.fqdn}/A", []))

    def writes(self):
        return json.loads(self.path.read_text()).get("log", [])


def daemon_config(tmp_path, dns, servers, dead=(), fqdn=FQDN, timeout=1, name="daemon"):
    """A daemon for SELF under `fqdn` reading over DNS from `servers` (None:
    no read_from); the peers in `dead` fail their checks."""
    read_from = None if servers is None else {"servers": servers, "timeout": timeout}
    return round_config(tmp_path, dns, fqdn, dead=dead, read_from=read_from, address=SELF,
                        interval=0.2, timeout=0.2, name=name)


def run_once(config_path):
    return run(["run", "--once", "-c", config_path])


def read_line(server, *addresses):
    """What the daemon logs (debug) for a read over DNS."""
    return (f"read {len(addresses)} A record(s) over DNS from {where(server)}: "
            + ", ".join(addresses))


PAIR = ["www 60 IN A 127.0.0.12", "www 60 IN A 127.0.0.13"]


def assert_writes_are_read_back(tmp_path, server, dns):
    """A round that reads PAIR from `server`, adds SELF and removes the dead
    127.0.0.13 through `dns`; then a round that reads the result from
    `server` and has nothing to do."""
    config = daemon_config(tmp_path, dns, [where(server)], dead=["127.0.0.13"])
    result = run_once(config)
    assert result.returncode == 0, result.stderr
    assert read_line(server, "127.0.0.12", "127.0.0.13") in result.stderr
    assert "added myself (127.0.0.11) into DNS" in result.stderr
    assert "peer 127.0.0.13 seems dead, removing it" in result.stderr
    assert server.dig(FQDN) == {"127.0.0.11", "127.0.0.12"}

    again = run_once(config)
    assert again.returncode == 0, again.stderr
    assert read_line(server, "127.0.0.11", "127.0.0.12") in again.stderr
    assert "added myself" not in again.stderr and "removing" not in again.stderr


def test_zonefile_writes_are_read_back_over_dns_from_knot(tmp_path, adf_binary):
    zone = tmp_path / "example.test.db"
    zone.write_text(zone_text("example.test", PAIR))
    with knot_server(tmp_path, zone_file=zone, key=None, allow_update="none") as server:
        dns = {"plugin": "zonefile", "path": str(zone), "zone": "example.test",
               "reload_command": server.reload_command}
        assert_writes_are_read_back(tmp_path, server, dns)


def test_rfc2136_writes_are_read_back_over_dns_from_bind(tmp_path, adf_binary):
    with bind_server(tmp_path, "example.test", PAIR) as server:
        assert_writes_are_read_back(tmp_path, server, server.plugin_config())


def test_lagging_answer_makes_the_conditional_write_conflict(tmp_path, adf_binary):
    # The primary (written with RFC 2136) already holds this host; a
    # secondary that has not caught up yet answers the older set. The add
    # the stale set invites is conditional on it, so the primary refuses it,
    # and the daemon reads the set again from the backend: all is well.
    with bind_server(tmp_path, "example.test", ["www 60 IN A 127.0.0.11",
                                                "www 60 IN A 127.0.0.12"]) as primary, \
            static_server("knot", tmp_path, "example.test",
                          ["www 60 IN A 127.0.0.12"]) as lagging:
        result = run_once(daemon_config(tmp_path, primary.plugin_config(), [where(lagging)]))
        assert result.returncode == 0, result.stderr
        assert read_line(lagging, "127.0.0.12") in result.stderr
        assert "the record set changed while adding myself; reading it again" in result.stderr
        assert "added myself" not in result.stderr
        assert "cannot" not in result.stderr
        assert primary.dig(FQDN) == {"127.0.0.11", "127.0.0.12"}


def test_steady_state_spends_no_backend_reads(tmp_path, daemons):
    # Every read through the backend fails: only reads over DNS can succeed.
    backend = MemoryBackend(tmp_path / "state.json", addresses=[SELF, "127.0.0.12"],
                            fail_read=True)
    without = run_once(daemon_config(tmp_path, backend.config(), None, name="without"))
    assert "cannot read the A records" in without.stderr  # the backend really fails reads
    with static_server("bind", tmp_path, "example.test",
                       ["www 60 IN A 127.0.0.11", "www 60 IN A 127.0.0.12"]) as server:
        d = daemons.start(daemon_config(tmp_path, backend.config(), [where(server)]),
                          tmp_path / "d.log")
        line = read_line(server, "127.0.0.11", "127.0.0.12")
        wait_until(lambda: d.log().count(line) >= 4, what="four rounds read over DNS")
        assert d.proc.poll() is None
    assert "cannot read" not in d.log()
    assert backend.writes() == []
    assert backend.addresses() == ["127.0.0.11", "127.0.0.12"]


@pytest.fixture
def silent_udp_port():
    """A UDP port on 127.0.0.1 that takes queries and never answers."""
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as s:
        s.bind(("127.0.0.1", 0))
        yield s.getsockname()[1]


def test_all_servers_down_fails_the_read_and_writes_nothing(tmp_path, silent_udp_port):
    # The backend could answer, and would take this host in: a failed read
    # over DNS must stop the round, never pass for an empty set.
    backend = MemoryBackend(tmp_path / "state.json", addresses=["127.0.0.12"])
    refused = f"127.0.0.1:{free_port()}"
    silent = f"127.0.0.1:{silent_udp_port}"
    result = run_once(daemon_config(tmp_path, backend.config(), [refused, silent], timeout=0.3))
    assert result.returncode == 3, result.stderr
    assert "cannot read the A records: transient" in result.stderr
    assert f"read over DNS from {refused} failed: nothing listens on UDP port" in result.stderr
    assert f"read over DNS from {silent} failed: no answer within 0.3 s" in result.stderr
    assert "added myself" not in result.stderr
    assert backend.writes() == []
    assert backend.addresses() == ["127.0.0.12"]


def test_non_authoritative_answer_is_refused(tmp_path, adf_binary):
    # Knot serves the parent zone, which delegates sub.example.test: its answer
    # for a name there is a referral (NOERROR without the AA bit).
    fqdn = "www.sub.example.test"
    backend = MemoryBackend(tmp_path / "state.json", fqdn=fqdn, addresses=["127.0.0.12"])
    with static_server("knot", tmp_path, "example.test",
                       ["sub IN NS ns.sub", "ns.sub IN A 127.0.0.1"]) as parent:
        result = run_once(daemon_config(tmp_path, backend.config(), [where(parent)], fqdn=fqdn))
        assert result.returncode == 3, result.stderr
        assert "cannot read the A records: failed" in result.stderr
        assert (f"read over DNS from {where(parent)} failed: the answer is not authoritative "
                "(AA bit clear): a referral") in result.stderr
        assert "added myself" not in result.stderr
        assert backend.writes() == []

        # With the child zone's own server listed next, the read moves on to it.
        with static_server("bind", tmp_path, "sub.example.test",
                           ["www 60 IN A 127.0.0.11", "www 60 IN A 127.0.0.12"]) as child:
            result = run_once(daemon_config(tmp_path, backend.config(),
                                            [where(parent), where(child)], fqdn=fqdn))
            assert result.returncode == 0, result.stderr
            assert (f"read the A records over DNS from {where(child)} after 1 other server(s) "
                    "failed") in result.stderr
            assert read_line(child, "127.0.0.11", "127.0.0.12") in result.stderr
            assert "cannot read" not in result.stderr


def test_check_config_lists_the_read_from_servers(tmp_path, adf_binary):
    zone = tmp_path / "example.test.db"
    zone.write_text(zone_text("example.test", []))
    config = base_config(dns={"plugin": "zonefile", "path": str(zone), "zone": "example.test"},
                         read_from={"servers": ["127.0.0.1:53053", "[::1]:5353", "192.0.2.1"],
                                    "tcp": True})
    result = run(["check-config", "-c", write_config(tmp_path / "c.json", config)])
    assert result.returncode == 0, result.stderr
    assert ("read_from: 127.0.0.1:53053, [::1]:5353, 192.0.2.1:53 (TCP; timeout 2 s per query)"
            in result.stdout)


def test_bad_read_from_is_a_config_error_naming_the_path(tmp_path, adf_binary):
    zone = tmp_path / "example.test.db"
    zone.write_text(zone_text("example.test", []))
    config = base_config(dns={"plugin": "zonefile", "path": str(zone), "zone": "example.test"},
                         read_from={"servers": ["127.0.0.1", "ns1.example.test:53"],
                                    "timeout": "2"})
    path = write_config(tmp_path / "c.json", config)
    for args in (["check-config", "-c", path], ["run", "--once", "-c", path]):
        result = run(args)
        assert result.returncode == 2, result.stderr
        assert "read_from.servers[1]: \"ns1.example.test:53\": not an IP address" in result.stderr
        assert "read_from.timeout: expected a number" in result.stderr


@pytest.mark.parametrize("record, named", [
    (("other.example.test.", "IN", "A", "127.0.0.12"), "other.example.test IN A"),
    (("www.example.test.", "IN", "AAAA", "2001:db8::12"), "www.example.test IN AAAA"),
    (("www.example.test.", "CH", "A", "127.0.0.12"), "www.example.test CH A"),
], ids=["another-name", "aaaa-for-an-a-query", "class-ch"])
def test_an_answer_holding_other_records_fails_the_read_and_writes_nothing(tmp_path, record,
                                                                           named):
    # Authoritative NOERROR, but nothing of our set in it: taken as "no
    # records", the round would add this host through the backend.
    backend = MemoryBackend(tmp_path / "state.json", addresses=["127.0.0.12"])
    with ScriptedDns([record]) as server:
        result = one_round(tmp_path, backend.config(), FQDN,
                           read_from={"servers": [server.address], "timeout": 1})
    assert_round_read_nothing(result)
    assert (f"read over DNS from {server.address} failed: a malformed answer, nothing is "
            f"trusted: the answer holds a record of {named}, where only {FQDN} A IN records "
            "belong") in result.stderr
    assert backend.writes() == []
    assert backend.addresses() == ["127.0.0.12"]
