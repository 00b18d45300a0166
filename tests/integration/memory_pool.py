"""A pool on the two test doubles of the loop tests: dns-memory (records in
a JSON state file, with fault injection and a log of every write) and
check-deadlist (a peer is dead while its address is listed in a file). The
daemon tests and the operations tests (notifications, metrics, status,
systemd) drive the real daemon on it."""
import contextlib
import fcntl
import json

from conftest import PLUGIN_DIR, TEST_PLUGIN_DIR, run, write_config

FQDN = "www.example.test"
SELF = "127.0.0.11"


class Pool:
    """The state of one test pool: records, dead list and configs."""

    def __init__(self, tmp_path, addresses, **state):
        self.dir = tmp_path
        self.state_path = tmp_path / "state.json"
        self.dead_path = tmp_path / "dead.txt"
        records = [{"address": a, "ttl": 60, "note": ""} for a in addresses]
        self.write_state({"records": {f"{FQDN}/A": records}, **state})
        self.dead_path.write_text("")

    def write_state(self, state):
        self.state_path.write_text(json.dumps(state))

    @contextlib.contextmanager
    def locked_state(self):
        """The state under the plugin's own lock (as a daemon of the pool
        would change it); written back when the block ends."""
        with open(f"{self.state_path}.lock", "a") as lock:
            fcntl.flock(lock, fcntl.LOCK_EX)
            state = self.state()
            yield state
            self.write_state(state)

    def add(self, address):
        """Puts `address` back into the set, as its own daemon would."""
        with self.locked_state() as state:
            records = state["records"].setdefault(f"{FQDN}/A", [])
            if all(r["address"] != address for r in records):
                records.append({"address": address, "ttl": 60, "note": ""})

    def set_flags(self, **flags):
        """Sets dns-memory's fault flags (fail_read, hang_read, ...)."""
        with self.locked_state() as state:
            state.update(flags)

    def state(self):
        return json.loads(self.state_path.read_text())

    def addresses(self):
        records = self.state()["records"].get(f"{FQDN}/A", [])
        return sorted(r["address"] for r in records)

    def writes(self):
        return self.state().get("log", [])

    def kill(self, *addresses):
        self.dead_path.write_text("".join(a + "\n" for a in addresses))

    def config(self, self_address=SELF, name="daemon", **overrides):
        config = {
            "fqdn": FQDN,
            "plugin_dirs": [str(PLUGIN_DIR), str(TEST_PLUGIN_DIR)],
            "ipaddr": {"plugin": "static", "address": self_address},
            "dns": {"plugin": "dns-memory", "state": str(self.state_path)},
            "check": {"plugin": "check-deadlist", "dead_file": str(self.dead_path)},
            "timer": {"plugin": "fixed-interval", "interval": 0.2, "timeout": 0.2, "retry": 2},
            "safety": {"self_check_failure_delay": 0.1},
            "logging": {"level": "debug"},
        }
        for key, value in overrides.items():
            base = config.get(key)
            same_plugin = isinstance(base, dict) and value.get("plugin", base.get("plugin")) == \
                base.get("plugin")
            if isinstance(value, dict) and same_plugin:
                config[key] = {**config[key], **value}
            else:
                config[key] = value
        return write_config(self.dir / f"{name}.json", config)

    def once(self, *extra, **overrides):
        return run(["run", "--once", "-c", self.config(**overrides), *extra])
