"""Shared fixtures for the integration tests: they drive the real
autodnsfailover binary (and real servers) on 127.0.0.0/8 and high ports.

ADF_BUILD_DIR names the build tree (default: <repo>/build)."""
import contextlib
import json
import os
import shutil
import socket
import subprocess
import time
import uuid
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]
BUILD = Path(os.environ.get("ADF_BUILD_DIR", REPO / "build")).resolve()
BINARY = BUILD / "autodnsfailover"
PLUGIN_DIR = BUILD / "plugins"
TEST_PLUGIN_DIR = BUILD / "test-plugins"
TOOLS_DIR = BUILD / "tests" / "tools"


def free_port(host="127.0.0.1"):
    """A TCP port that is free on `host` right now."""
    with socket.socket(socket.AF_INET6 if ":" in host else socket.AF_INET) as s:
        s.bind((host, 0))
        return s.getsockname()[1]


@contextlib.contextmanager
def silent_tcp_port(host):
    """A port on `host` where connect() hangs: a listener whose accept queue
    is full, so the kernel drops every further SYN. Yields the port."""
    listener = socket.socket(socket.AF_INET6 if ":" in host else socket.AF_INET)
    clients = []
    try:
        listener.bind((host, 0))
        listener.listen(0)
        port = listener.getsockname()[1]
        for _ in range(3):
            client = socket.socket(listener.family)
            client.setblocking(False)
            client.connect_ex((host, port))
            clients.append(client)
        time.sleep(0.1)
        yield port
    finally:
        for client in clients:
            client.close()
        listener.close()


def wait_for_port(host, port, timeout=10.0):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            with socket.create_connection((host, port), timeout=0.2):
                return
        except OSError:
            time.sleep(0.02)
    raise TimeoutError(f"nothing listens on {host}:{port} after {timeout}s")


def base_config(**slots):
    """A complete config whose unused slots are harmless defaults; pass the
    slot you test, e.g. base_config(check={"plugin": "tcp-check", "port": 80})."""
    config = {
        "fqdn": "www.example.test",
        "plugin_dirs": [str(PLUGIN_DIR)],
        "ipaddr": {"plugin": "static", "address": "127.0.0.1"},
        "dns": {"plugin": "zonefile", "path": "/nonexistent/unused.zone", "zone": "example.test"},
        "check": {"plugin": "tcp-check", "port": 9},
        "timer": {"plugin": "fixed-interval", "interval": 1.0, "timeout": 0.5, "retry": 1},
        "logging": {"level": "debug"},
    }
    config.update(slots)
    return config


def write_config(path, config):
    path = Path(path)
    path.write_text(json.dumps(config, indent=2))
    return path


def example_config(tmp_path, name, replacements=()):
    """etc/NAME, a shipped example config, as tmp_path/example.json with each
    (old, new) of `replacements` applied (each must occur) and this build's
    plugin directory added; returns the path."""
    text = (REPO / "etc" / name).read_text()
    for old, new in replacements:
        assert old in text, f"{old!r} is not in etc/{name}"
        text = text.replace(old, new)
    text = text.replace('"fqdn"', f'"plugin_dirs": ["{PLUGIN_DIR}"],\n  "fqdn"', 1)
    path = Path(tmp_path) / "example.json"
    path.write_text(text)
    return path


def run(args, timeout=30, prefix=(), **kwargs):
    """Runs the daemon binary with `args`; returns the CompletedProcess.
    `prefix` is a command the binary runs under, e.g. in_netns(name)."""
    return subprocess.run([*map(str, prefix), str(BINARY), *map(str, args)], capture_output=True,
                          text=True, timeout=timeout, **kwargs)


def probe(tmp_path, config, *args, timeout=30, env=None, prefix=()):
    """`autodnsfailover probe -c CONFIG ARGS...` with `config` written to a file.
    probe ipaddr [--family 4|6]; probe check ADDRESS [--timeout S];
    probe dns read FQDN [--family 4|6]; probe dns add FQDN ADDRESS [--ttl N] [--note T];
    probe dns remove FQDN ADDRESS [--force].
    Exit codes: 0 ok/alive, 1 failed/dead/refused by a safeguard, 2 config or plugin error,
    3 transient, 4 conflict.
    `env` adds variables to ours; `prefix` is a command to run it under (see run)."""
    cfg = write_config(Path(tmp_path) / f"probe-{time.monotonic_ns()}.json", config)
    return run(["probe", "-c", cfg, *args], timeout=timeout, prefix=prefix,
               env=None if env is None else {**os.environ, **env})


def record_ttls(result):
    """{address: ttl} from the output of `probe dns read` ("ADDRESS TTL NOTE"
    lines), which must have succeeded."""
    assert result.returncode == 0, result.stderr
    out = {}
    for line in result.stdout.splitlines():
        fields = line.split()
        if fields:
            out[fields[0]] = int(fields[1])
    return out


def stop_process(process, timeout=10):
    """Terminates a helper process (a daemon, a server, a fake API), killing
    it when it does not end within `timeout` seconds, and reaps it."""
    if process.poll() is None:
        process.terminate()
    try:
        process.wait(timeout)
    except subprocess.TimeoutExpired:
        process.kill()
        process.wait()


@pytest.fixture
def adf_binary():
    assert BINARY.exists(), f"build first: {BINARY} is missing"
    return BINARY


class Daemon:
    """A running `autodnsfailover run` process; its stderr goes to a log file."""

    def __init__(self, config_path, log_path, *extra, env=None):
        self.config_path = Path(config_path)
        self.log_path = Path(log_path)
        self._log = open(self.log_path, "w")
        self.proc = subprocess.Popen([str(BINARY), "run", "-c", str(config_path), *extra],
                                     stdout=self._log, stderr=subprocess.STDOUT,
                                     env=None if env is None else {**os.environ, **env})

    def log(self):
        return self.log_path.read_text()

    def wait_for_log(self, text, timeout=15.0):
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if text in self.log():
                return
            if self.proc.poll() is not None and text not in self.log():
                break
            time.sleep(0.05)
        raise AssertionError(f"{text!r} not logged within {timeout}s; log:\n{self.log()}")

    def signal(self, sig):
        self.proc.send_signal(sig)

    def wait(self, timeout=15.0):
        return self.proc.wait(timeout=timeout)

    def stop(self):
        stop_process(self.proc)
        self._log.close()


@pytest.fixture
def daemons():
    """Start daemons with daemons.start(config_path, log_path, *args, env=...)
    (`env` adds variables to ours); all are stopped at the end of the test."""
    started = []

    class Starter:
        def start(self, config_path, log_path, *extra, env=None):
            d = Daemon(config_path, log_path, *extra, env=env)
            started.append(d)
            return d

    yield Starter()
    for d in started:
        d.stop()


def wait_until(predicate, timeout=15.0, interval=0.05, what="condition"):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = predicate()
        if value:
            return value
        time.sleep(interval)
    raise AssertionError(f"{what} not reached within {timeout}s")


def leftover_processes(marker):
    """PIDs of processes whose command line contains `marker`."""
    out = subprocess.run(["pgrep", "-f", marker], capture_output=True, text=True)
    return [int(p) for p in out.stdout.split()]


# --- network namespaces ------------------------------------------------------

def ip(*args):
    """Runs iproute2's `ip ARGS...`; a failure raises with its stderr."""
    subprocess.run(["ip", *args], check=True, capture_output=True, text=True, timeout=10)


def in_netns(name, *command):
    """`command` run inside network namespace `name` (a prefix for run/probe
    when `command` is empty)."""
    return ["ip", "netns", "exec", name, *command]


@contextlib.contextmanager
def network_namespace(prefix):
    """A new network namespace (its name starts with `prefix`) with nothing
    but a loopback that is still down; yields its name and always deletes it.
    Skips the test without root or iproute2, or where namespaces are refused."""
    if os.geteuid() != 0 or shutil.which("ip") is None:
        pytest.skip("network namespaces need root and iproute2")
    name = f"{prefix}-{uuid.uuid4().hex[:10]}"
    try:
        ip("netns", "add", name)
    except subprocess.CalledProcessError as error:
        pytest.skip(f"cannot create a network namespace: {error.stderr.strip()}")
    try:
        yield name
    finally:
        subprocess.run(["ip", "netns", "del", name], capture_output=True, timeout=10)
