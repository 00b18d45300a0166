"""Three daemons on 127.0.0.11-13 against Route 53 (moto behind a proxy that
enforces AWS's change-batch rules): one peer's service stops, the others
remove its record in time, and the set in Route 53 is never empty."""
import subprocess
import threading
import time

import pytest

from aws_fixtures import AwsProxy, MotoRoute53, aws_batch_check, moto_endpoint, unique_zone
from conftest import PLUGIN_DIR, TOOLS_DIR, free_port, wait_until, write_config

__all__ = ["moto_endpoint"]  # the fixture, imported for pytest

PEERS = ["127.0.0.11", "127.0.0.12", "127.0.0.13"]
INTERVAL, TIMEOUT, RETRY = 0.5, 0.3, 2


@pytest.fixture
def atomic_proxy(moto_endpoint):
    """AWS applies a change batch atomically; moto behind a threaded proxy
    would let two daemons' check-then-write interleave, so batches are
    checked and forwarded one at a time."""
    with AwsProxy(moto_endpoint) as proxy:
        lock = threading.Lock()

        def atomic_batches(captured):
            if captured.method != "POST" or not captured.path.endswith("/rrset/"):
                return None
            with lock:
                return aws_batch_check(proxy.route53, captured) or proxy._forward(captured)

        proxy.intercept = atomic_batches
        yield proxy


class SetWatcher(threading.Thread):
    """Reads the record set from moto every 50 ms and keeps every value seen."""

    def __init__(self, route53, zone_id, name):
        super().__init__(daemon=True)
        self.route53, self.zone_id, self.name = route53, zone_id, name
        self.seen = []
        self.stop = threading.Event()

    def current(self):
        found = self.route53.record_set(self.zone_id, self.name)
        return found[1] if found else []

    def run(self):
        while not self.stop.is_set():
            self.seen.append(self.current())
            time.sleep(0.05)


def test_three_daemons_remove_a_dead_peer_and_never_empty_the_set(tmp_path, moto_endpoint,
                                                                  atomic_proxy, daemons):
    route53 = MotoRoute53(moto_endpoint)
    zone = unique_zone()
    zone_id = route53.create_zone(zone)
    name = f"www.{zone}"
    route53.create_set(zone_id, name, "A", 60, PEERS)
    port = free_port()
    services = {p: subprocess.Popen([str(TOOLS_DIR / "adf-test-service"), "--listen",
                                     f"{p}:{port}"]) for p in PEERS}
    watcher = SetWatcher(route53, zone_id, name)
    try:
        started = []
        for peer in PEERS:
            config = write_config(tmp_path / f"{peer}.json", {
                "fqdn": name,
                "plugin_dirs": [str(PLUGIN_DIR)],
                "ipaddr": {"plugin": "static", "address": peer},
                "dns": {"plugin": "route53", "endpoint": atomic_proxy.endpoint, "zone": zone,
                        "access_key_id": "AKIDPOOL", "secret_access_key": "pool-secret"},
                "check": {"plugin": "tcp-check", "port": port},
                "timer": {"plugin": "fixed-interval", "interval": INTERVAL, "timeout": TIMEOUT,
                          "retry": RETRY},
                "safety": {"self_check_failure_delay": 0.2},
            })
            started.append(daemons.start(config, tmp_path / f"{peer}.log"))
        for d in started:
            d.wait_for_log("my IPv4 address is")
        watcher.start()
        services.pop("127.0.0.13").terminate()
        stopped_at = time.monotonic()
        wait_until(lambda: "127.0.0.13" not in watcher.current(), timeout=20,
                   what="127.0.0.13 removed from Route 53")
        took = time.monotonic() - stopped_at
        # interval + retry x timeout, plus a few seconds for the fresh self-check,
        # the read and the signed change batch.
        assert took < INTERVAL + RETRY * TIMEOUT + 3, f"removal took {took:.1f}s"
        time.sleep(2 * INTERVAL)
        watcher.stop.set()
        watcher.join()
        assert all(watcher.seen), "the set was empty at some point"
        assert all({"127.0.0.11", "127.0.0.12"} <= set(s) for s in watcher.seen)
        assert watcher.seen[-1] == ["127.0.0.11", "127.0.0.12"]
        assert started[0].proc.poll() is None and started[1].proc.poll() is None
    finally:
        watcher.stop.set()
        for service in services.values():
            service.terminate()
            service.wait()
