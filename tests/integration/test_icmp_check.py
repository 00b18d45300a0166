"""icmp-check through `autodnsfailover probe check`: echo to loopback (IPv4 and
IPv6), the required/count rule, dead peers within the timeout, concurrent
checks that must not take each other's replies, and the socket choice (raw,
datagram, or an error naming the missing privilege).

Peers that never answer live in a network namespace the test creates (a veth
whose far side has no such address, or a blackhole route) and deletes
afterwards: no packet leaves loopback or that namespace."""
import os
import shutil
import subprocess

import pytest

from conftest import BINARY, base_config, in_netns, ip, network_namespace, probe, write_config
from fixtures_common import elapsed, ipv6_loopback_available

SILENT_PEER = "192.0.2.2"        # behind a veth in the namespace: nobody answers
BLACKHOLED_PEER = "198.51.100.1"  # blackhole route in the namespace
BLACKHOLED_PEER6 = "2001:db8::1"
DROP_CAP_NET_RAW = ["setpriv", "--inh-caps=-net_raw", "--bounding-set=-net_raw"]


def icmp_config(**keys):
    return base_config(check={"plugin": "icmp-check", **keys})


@pytest.fixture
def netns():
    """A network namespace of our own with lo up, a silent peer and blackhole
    routes; always deleted afterwards."""
    with network_namespace("adf-icmp") as name:
        ip("-n", name, "link", "set", "lo", "up")
        # Packets to SILENT_PEER go out of v0 to a made-up MAC and are dropped
        # at v1 (which has no address): sending works, nothing ever answers.
        ip("-n", name, "link", "add", "v0", "type", "veth", "peer", "name", "v1")
        ip("-n", name, "addr", "add", "192.0.2.1/24", "dev", "v0")
        ip("-n", name, "link", "set", "v0", "up")
        ip("-n", name, "link", "set", "v1", "up")
        ip("-n", name, "neigh", "add", SILENT_PEER, "lladdr", "02:00:00:00:00:02", "dev", "v0",
           "nud", "permanent")
        ip("-n", name, "route", "add", "blackhole", f"{BLACKHOLED_PEER}/32")
        yield name


def set_ping_group_range(name, value):
    subprocess.run(in_netns(name, "sysctl", "-q", "-w", f"net.ipv4.ping_group_range={value}"),
                   check=True, capture_output=True)


# --- alive ------------------------------------------------------------------

def test_echo_to_ipv4_loopback_is_alive(tmp_path):
    result = probe(tmp_path, icmp_config(), "check", "127.0.0.1", "--timeout", "2")
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == "alive"


def test_echo_to_ipv6_loopback_is_alive(tmp_path):
    if not ipv6_loopback_available():
        pytest.skip("the kernel has no IPv6 address ::1 on lo")
    result = probe(tmp_path, icmp_config(), "check", "::1", "--timeout", "2")
    assert result.returncode == 0, result.stderr
    assert "ICMPv6" not in result.stderr  # no socket error


def test_all_probes_answered_when_all_are_required(tmp_path):
    config = icmp_config(count=4, required=4, interval=0.05, payload_size=0)
    result = probe(tmp_path, config, "check", "127.0.0.3", "--timeout", "2")
    assert result.returncode == 0, result.stderr
    assert "echo reply 4 from 127.0.0.3" in result.stderr


def test_large_payload_is_echoed_and_matched(tmp_path):
    result = probe(tmp_path, icmp_config(payload_size=1400, count=1), "check", "127.0.0.4",
                   "--timeout", "2")
    assert result.returncode == 0, result.stderr


# --- config -------------------------------------------------------------------

def test_required_above_count_is_a_config_error_naming_both_keys(tmp_path):
    result = probe(tmp_path, icmp_config(count=2, required=3), "check", "127.0.0.1")
    assert result.returncode == 2
    assert "check.required" in result.stderr
    assert "count" in result.stderr.replace("check.required", "")


@pytest.mark.parametrize("keys, path", [
    ({"count": 0}, "check.count"),
    ({"count": 101}, "check.count"),
    ({"required": 0}, "check.required"),
    ({"interval": -0.1}, "check.interval"),
    ({"payload_size": 1401}, "check.payload_size"),
    ({"payload_size": "big"}, "check.payload_size"),
    ({"timeout": 3}, "check.timeout"),
])
def test_bad_keys_are_config_errors_naming_the_key(tmp_path, keys, path):
    result = probe(tmp_path, icmp_config(**keys), "check", "127.0.0.1")
    assert result.returncode == 2
    assert path in result.stderr


# --- dead ---------------------------------------------------------------------

def test_silent_peer_is_dead_within_the_timeout(tmp_path, netns):
    result, seconds = elapsed(probe, tmp_path, icmp_config(), "check", SILENT_PEER,
                              "--timeout", "0.5", prefix=in_netns(netns))
    assert result.returncode == 1, result.stderr
    assert f"dead: no echo reply from {SILENT_PEER} within 0.5 s" in result.stdout
    assert seconds < 2.0  # the check stops itself at 0.5 s; the rest is process start-up


def test_blackholed_peer_is_dead_with_the_send_error(tmp_path, netns):
    result = probe(tmp_path, icmp_config(count=2, required=2), "check", BLACKHOLED_PEER,
                   "--timeout", "0.5", prefix=in_netns(netns))
    assert result.returncode == 1
    assert f"cannot send echo requests to {BLACKHOLED_PEER}" in result.stdout
    assert "blackhole" in result.stdout


def test_blackholed_ipv6_peer_is_dead(tmp_path, netns):
    if not ipv6_loopback_available():
        pytest.skip("the kernel has no IPv6")
    ip("-n", netns, "-6", "route", "add", "blackhole", f"{BLACKHOLED_PEER6}/128")
    result = probe(tmp_path, icmp_config(), "check", BLACKHOLED_PEER6, "--timeout", "0.5",
                   prefix=in_netns(netns))
    assert result.returncode == 1
    assert f"cannot send echo requests to {BLACKHOLED_PEER6}" in result.stdout


# --- concurrency ----------------------------------------------------------------

def test_parallel_checks_take_only_their_own_replies(tmp_path, netns):
    # 20 checks at once in one namespace, on raw sockets that each see every
    # ICMP packet there: the 15 live peers must get all 5 of their own replies
    # (required 5), and the 5 silent ones none of anybody else's.
    config = write_config(tmp_path / "parallel.json",
                          icmp_config(count=5, required=5, interval=0.05))
    live = [f"127.0.0.{10 + i}" for i in range(15)]
    for i in range(5):  # five silent peers behind the veth
        ip("-n", netns, "neigh", "replace", f"192.0.2.{10 + i}", "lladdr", "02:00:00:00:00:02",
           "dev", "v0", "nud", "permanent")
    silent = [f"192.0.2.{10 + i}" for i in range(5)]
    runs = {address: subprocess.Popen(
        in_netns(netns, str(BINARY), "probe", "-c", str(config), "check", address,
                 "--timeout", "2"), stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        for address in live + silent}
    results = {address: (run.wait(timeout=30), *run.communicate()) for address, run in runs.items()}
    for address in live:
        code, out, err = results[address]
        assert code == 0, (address, out, err)
    for address in silent:
        code, out, err = results[address]
        assert code == 1, (address, out, err)
        assert f"no echo reply from {address}" in out


# --- privileges -------------------------------------------------------------------

def test_without_cap_net_raw_uses_a_datagram_socket_where_ping_group_range_allows(
        tmp_path, netns):
    if shutil.which("setpriv") is None:
        pytest.skip("setpriv (util-linux) is needed to drop CAP_NET_RAW")
    set_ping_group_range(netns, f"{os.getegid()} {os.getegid()}")
    result = probe(tmp_path, icmp_config(count=2, required=2, interval=0.05), "check",
                   "127.0.0.1", "--timeout", "2", prefix=in_netns(netns, *DROP_CAP_NET_RAW))
    assert result.returncode == 0, result.stdout + result.stderr
    assert "datagram socket" in result.stderr
    if ipv6_loopback_available():
        result = probe(tmp_path, icmp_config(), "check", "::1", "--timeout", "2",
                       prefix=in_netns(netns, *DROP_CAP_NET_RAW))
        assert result.returncode == 0, result.stdout + result.stderr


def test_without_any_icmp_privilege_the_error_names_what_is_missing(tmp_path, netns):
    if shutil.which("setpriv") is None:
        pytest.skip("setpriv (util-linux) is needed to drop CAP_NET_RAW")
    set_ping_group_range(netns, "1 0")  # the kernel default: nobody
    result = probe(tmp_path, icmp_config(), "check", "127.0.0.1", "--timeout", "1",
                   prefix=in_netns(netns, *DROP_CAP_NET_RAW))
    assert result.returncode == 1
    assert "CAP_NET_RAW" in result.stdout
    assert 'net.ipv4.ping_group_range is "1 0"' in result.stdout
    assert f"group {os.getegid()}" in result.stdout
