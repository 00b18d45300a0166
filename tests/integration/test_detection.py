"""The whole daemon against peers that really go silent. In a network
namespace, tcp-check probes a real service (adf-test-service) on 127.0.0.11-30;
a peer goes silent when a /32 route sends its packets into a tun device that
nobody reads: like a host that died, it neither refuses nor answers. Default
safety settings and parallelism, with the timer of a fast pool (interval 1 s,
timeout 0.5 s, retry 2): a dead peer is detected within interval + retry x
timeout = 2 s, and removed in the round that finds it."""
import json
import re
import subprocess
import time

import pytest

from conftest import (BINARY, PLUGIN_DIR, TEST_PLUGIN_DIR, TOOLS_DIR, free_port, in_netns, ip,
                      network_namespace, stop_process, wait_until, write_config)

FQDN = "www.example.test"
SELF = "127.0.0.11"
PEERS = [f"127.0.0.{i}" for i in range(12, 31)]  # with SELF, twenty records
INTERVAL, TIMEOUT, RETRY = 1.0, 0.5, 2
DETECTION_BOUND = INTERVAL + RETRY * TIMEOUT
BLACKHOLE = "adf-bh"


class SilentPool:
    """Twenty records in a dns-memory state file, a service answering for
    every address in the namespace, and a daemon (this host is SELF)."""

    def __init__(self, tmp_path, netns):
        self.netns = netns
        self.dir = tmp_path
        self.state_path = tmp_path / "state.json"
        records = [{"address": a, "ttl": 60, "note": ""} for a in [SELF, *PEERS]]
        self.state_path.write_text(json.dumps({"records": {f"{FQDN}/A": records}}))
        ip("-n", netns, "link", "set", "lo", "up")
        ip("-n", netns, "tuntap", "add", "dev", BLACKHOLE, "mode", "tun")
        ip("-n", netns, "link", "set", BLACKHOLE, "up")
        for device in ("all", BLACKHOLE):
            subprocess.run(in_netns(netns, "sysctl", "-q", "-w",
                                    f"net.ipv4.conf.{device}.route_localnet=1"), check=True)
        self.port = free_port()
        self.service = subprocess.Popen(
            in_netns(netns, str(TOOLS_DIR / "adf-test-service"), "--listen",
                     f"0.0.0.0:{self.port}"))
        self.daemon = None
        self.log_path = tmp_path / "daemon.log"

    def start(self, **safety):
        config = write_config(self.dir / "config.json", {
            "fqdn": FQDN,
            "plugin_dirs": [str(PLUGIN_DIR), str(TEST_PLUGIN_DIR)],
            "ipaddr": {"plugin": "static", "address": SELF},
            "dns": {"plugin": "dns-memory", "state": str(self.state_path)},
            "check": {"plugin": "tcp-check", "port": self.port},
            "timer": {"plugin": "fixed-interval", "interval": INTERVAL, "timeout": TIMEOUT,
                      "retry": RETRY},
            "safety": {"self_check_failure_delay": 0.1, **safety},
            "families": [4],
            "logging": {"level": "debug"},
        })
        self.log_file = open(self.log_path, "w")
        self.daemon = subprocess.Popen(in_netns(self.netns, str(BINARY), "run", "-c", str(config)),
                                       stdout=self.log_file, stderr=subprocess.STDOUT)

    def log(self):
        return self.log_path.read_text()

    def rounds(self):
        """(checked, failed) of every round finished so far."""
        return [(int(c), int(f)) for c, f in
                re.findall(r"round finished in [0-9.]+ s: .*?(\d+) checks? of peers, (\d+) dead",
                           self.log())]

    def silence(self, *addresses):
        for address in addresses:
            ip("-n", self.netns, "route", "add", f"{address}/32", "dev", BLACKHOLE, "table",
               "local", "src", "127.0.0.1")

    def between_rounds(self):
        """Returns right after a round finished, so what follows happens
        while the daemon sleeps until the next one."""
        seen = len(self.rounds())
        wait_until(lambda: len(self.rounds()) > seen, what="a round finished")

    def addresses(self):
        state = json.loads(self.state_path.read_text())
        return sorted(r["address"] for r in state["records"][f"{FQDN}/A"])

    def writes(self):
        return json.loads(self.state_path.read_text()).get("log", [])

    def stop(self):
        if self.daemon:
            stop_process(self.daemon)
            self.log_file.close()
        stop_process(self.service)


@pytest.fixture
def pool(tmp_path):
    with network_namespace("adf-detect") as netns:
        p = SilentPool(tmp_path, netns)
        try:
            yield p
        finally:
            p.stop()


def test_five_silent_peers_of_twenty_go_within_one_detection_bound(pool):
    pool.start()
    pool.between_rounds()
    assert pool.rounds()[-1] == (19, 0), pool.log()
    dead = ["127.0.0.14", "127.0.0.17", "127.0.0.20", "127.0.0.23", "127.0.0.26"]
    silent_since = time.monotonic()
    pool.silence(*dead)
    wait_until(lambda: not set(dead) & set(pool.addresses()), timeout=10 * DETECTION_BOUND,
               what="the five silent peers removed")
    elapsed = time.monotonic() - silent_since
    # All five in the round that found them, in one atomic write: no peer
    # waits for a later round.
    assert [w["op"] for w in pool.writes()] == ["remove_many"]
    assert pool.rounds().count((19, 5)) == 1, pool.log()
    assert pool.addresses() == sorted(set([SELF, *PEERS]) - set(dead))
    # The bound is interval + retry x timeout; twice that leaves room for a
    # loaded machine's scheduling, and is still far from five rounds.
    assert elapsed < 2 * DETECTION_BOUND, pool.log()


def test_min_records_holds_when_many_go_in_one_round(pool):
    pool.start(min_records=17)
    pool.between_rounds()
    dead = ["127.0.0.14", "127.0.0.17", "127.0.0.20", "127.0.0.23", "127.0.0.26"]
    pool.silence(*dead)
    wait_until(lambda: "fewer than safety.min_records (17)" in pool.log(),
               what="min_records refusing")
    # Numeric order: the first three go together; the set keeps seventeen.
    wait_until(lambda: len(pool.addresses()) == 17, what="three removed")
    assert set(pool.addresses()).isdisjoint(dead[:3])
    assert set(dead[3:]) <= set(pool.addresses())
    pool.between_rounds()
    assert len(pool.addresses()) == 17


def test_partition_guard_holds_when_most_peers_go_silent(pool):
    pool.start()
    pool.between_rounds()
    pool.silence(*PEERS[:10])  # 10 of 19 peers: more than max_dead_fraction 0.5
    wait_until(lambda: (19, 10) in pool.rounds(), what="a round seeing ten dead")
    pool.between_rounds()
    assert "partition guard: 10 of 19 peers failed at once" in pool.log()
    assert pool.writes() == []
    assert len(pool.addresses()) == 20
