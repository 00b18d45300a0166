"""A whole pool on one machine: `autodnsfailover run` daemons on 127.0.0.11,
.12, ... each health-checking the others' adf-test-service with tcp-check,
keeping www.example.test in a real BIND through the rfc2136 plugin. What
`dig` sees at the server is what the world would see."""
import subprocess
import time

import pytest

from conftest import (BINARY, PLUGIN_DIR, TOOLS_DIR, free_port, wait_for_port, wait_until,
                      write_config)
from dns_servers import bind_server

FQDN = "www.example.test"
INTERVAL, TIMEOUT, RETRY = 0.5, 0.3, 2


class Services:
    """adf-test-service processes standing in for each host's real service."""

    def __init__(self, port):
        self.port = port
        self.running = {}

    def start(self, address):
        process = subprocess.Popen([str(TOOLS_DIR / "adf-test-service"), "--listen",
                                    f"{address}:{self.port}"],
                                   stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        self.running[address] = process
        wait_for_port(address, self.port)

    def stop(self, address):
        process = self.running.pop(address)
        process.terminate()
        process.wait(timeout=10)

    def stop_all(self):
        for address in list(self.running):
            self.stop(address)


@pytest.fixture
def services(adf_binary):
    running = Services(free_port())
    yield running
    running.stop_all()


def daemon_config(tmp_path, server, address, service_port, **safety):
    config = {
        "fqdn": FQDN,
        "plugin_dirs": [str(PLUGIN_DIR)],
        "ipaddr": {"plugin": "static", "address": address},
        "dns": server.plugin_config(),
        "check": {"plugin": "tcp-check", "port": service_port},
        "timer": {"plugin": "fixed-interval", "interval": INTERVAL, "timeout": TIMEOUT,
                  "retry": RETRY},
        "safety": {"self_check_failure_delay": 0.1, **safety},
        "logging": {"level": "debug"},
    }
    return write_config(tmp_path / f"daemon-{address}.json", config)


def test_dead_peer_is_removed_within_interval_plus_retries_as_dig_sees_it(
        tmp_path, services, daemons):
    hosts = ["127.0.0.11", "127.0.0.12", "127.0.0.13"]
    with bind_server(tmp_path) as server:
        running = {}
        for host in hosts:
            services.start(host)
            running[host] = daemons.start(daemon_config(tmp_path, server, host, services.port),
                                          tmp_path / f"{host}.log")
        # Three daemons add themselves to an empty set at once: the losers of
        # each "RRset does not exist" / "RRset exists" race read again and retry.
        wait_until(lambda: server.dig(FQDN) == set(hosts), timeout=15,
                   what=f"all three daemons in DNS (dig: {server.dig(FQDN)})")

        services.stop("127.0.0.13")
        stopped = time.monotonic()
        bound = INTERVAL + RETRY * TIMEOUT + 1.0
        wait_until(lambda: server.dig(FQDN) == {"127.0.0.11", "127.0.0.12"}, timeout=bound,
                   interval=0.02, what="127.0.0.13 removed from DNS")
        assert time.monotonic() - stopped <= bound

        # The dead host's own daemon failed its self-check and left; the
        # survivors' logs say who removed it.
        assert running["127.0.0.13"].wait(timeout=10) == 1
        removers = [h for h in hosts[:2]
                    if "peer 127.0.0.13 seems dead, removing it" in running[h].log()]
        assert removers, running["127.0.0.11"].log() + running["127.0.0.12"].log()
        time.sleep(INTERVAL * 2)
        assert server.dig(FQDN) == {"127.0.0.11", "127.0.0.12"}
        # Every state BIND committed after the pool was complete: exactly one
        # removal, of the dead host.
        states = server.journal_sets(FQDN)
        complete = states.index(frozenset(hosts))
        assert states[complete:] == [frozenset(hosts), frozenset({"127.0.0.11", "127.0.0.12"})]


def test_two_daemons_removing_dead_peers_at_once_never_empty_the_set_or_drop_a_live_one(
        tmp_path, services, daemons):
    live = {"127.0.0.11", "127.0.0.12"}
    dead = {"127.0.0.13", "127.0.0.14", "127.0.0.15"}
    pool = live | dead
    with bind_server(tmp_path, records=[f"www 60 IN A {a}" for a in sorted(pool)]) as server:
        for host in sorted(live):
            services.start(host)
        # Both act in the same round: up to three removals each, and three
        # dead of four peers is not taken for a partition.
        configs = [daemon_config(tmp_path, server, host, services.port,
                                 max_removals_per_round=3, max_dead_fraction=1.0)
                   for host in sorted(live)]
        running = [daemons.start(config, tmp_path / f"{config.stem}.log") for config in configs]

        seen = []
        settled_at = None
        deadline = time.monotonic() + 15
        while time.monotonic() < deadline:
            current = server.dig(FQDN)
            seen.append(current)
            assert current, f"the set was empty; seen so far: {seen}"
            assert current >= live, f"a live peer is missing from {current}"
            if current == live:
                settled_at = settled_at or time.monotonic()
                if time.monotonic() - settled_at > 2 * INTERVAL:
                    break
            else:
                settled_at = None
        assert seen[-1] == live, f"dead peers still in DNS: {seen[-1]}"

        # Every state BIND committed, not only the polled ones: the three dead
        # peers left together, in one update (remove_many), and no other went
        # through.
        states = server.journal_sets(FQDN, initial=pool)
        assert states == [frozenset(pool), frozenset(live)], states
        for state in states:
            assert state >= live, states
        logs = "".join(d.log() for d in running)
        for host in live:
            assert f"peer {host} seems dead" not in logs
        for host in dead:
            assert f"peer {host} seems dead, removing it" in logs


def test_simultaneous_rounds_remove_the_dead_once_and_the_loser_changes_nothing(
        tmp_path, services):
    """The same pool, one round at a time: both daemons start `run --once` at
    the same moment, again and again, so that their removals race in every
    way. Each daemon removes every dead peer in one update; whatever the
    interleaving, BIND commits exactly one such update per round (the other
    daemon finds the peers gone, or gets a conflict and changes nothing), and
    no committed state lacks a live peer or holds only some of the dead. At
    least once both daemons try to write and the server refuses the second."""
    live = {"127.0.0.11", "127.0.0.12"}
    dead = ["127.0.0.13", "127.0.0.14", "127.0.0.15"]
    with bind_server(tmp_path, records=[f"www 60 IN A {a}" for a in sorted(live) + dead]) \
            as server:
        for host in sorted(live):
            services.start(host)
        configs = [daemon_config(tmp_path, server, host, services.port,
                                 max_removals_per_round=3, max_dead_fraction=1.0)
                   for host in sorted(live)]
        removal_updates = restores = conflicts = 0
        for attempt in range(30):
            rounds = [subprocess.Popen([str(BINARY), "run", "--once", "-c", str(config)],
                                       stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                                       text=True)
                      for config in configs]
            logs = [r.communicate(timeout=30)[0] for r in rounds]
            # A round whose write lost the race exits 4 (a conflict it did
            # not settle), every other one 0.
            assert [r.returncode for r in rounds] == [
                4 if ": conflict (it is checked again next round)" in log else 0
                for log in logs], logs
            removal_updates += 1
            assert server.dig(FQDN) == live, (attempt, logs)
            removals = [log.count("removed peer ") for log in logs]
            assert sorted(removals) == [0, len(dead)], (attempt, logs)
            conflicts += sum(": conflict (it is checked again next round)" in log for log in logs)
            if conflicts and attempt >= 4:
                break
            server.nsupdate(*[f"update add {FQDN} 60 A {a}" for a in dead])
            restores += 1
        # One committed update per round's removal and per restore: no
        # conflicting update ever went through.
        states = server.journal_sets(FQDN, initial=live | set(dead))
        assert len(states) - 1 == removal_updates + restores
        for state in states:
            assert state in (frozenset(live), frozenset(live | set(dead))), states
        assert conflicts, "the two daemons never raced for the same removal"
