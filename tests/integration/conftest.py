"""Shared fixtures for the integration tests: they drive the real
autodnsfailover binary (and real servers) on 127.0.0.0/8 and high ports.

ADF_BUILD_DIR names the build tree (default: <repo>/build)."""
import json
import os
import socket
import subprocess
import time
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


def run(args, timeout=30, **kwargs):
    """Runs the daemon binary with `args`; returns the CompletedProcess."""
    return subprocess.run([str(BINARY), *map(str, args)], capture_output=True, text=True,
                          timeout=timeout, **kwargs)


def probe(tmp_path, config, *args, timeout=30, env=None):
    """`autodnsfailover probe -c CONFIG ARGS...` with `config` written to a file.
    probe ipaddr [--family 4|6]; probe check ADDRESS [--timeout S];
    probe dns read FQDN [--family 4|6]; probe dns add FQDN ADDRESS [--ttl N] [--note T];
    probe dns remove FQDN ADDRESS.
    Exit codes: 0 ok/alive, 1 failed/dead, 2 config or plugin error, 3 transient, 4 conflict."""
    cfg = write_config(Path(tmp_path) / f"probe-{time.monotonic_ns()}.json", config)
    return run(["probe", "-c", cfg, *args], timeout=timeout,
               env=None if env is None else {**os.environ, **env})


@pytest.fixture
def adf_binary():
    assert BINARY.exists(), f"build first: {BINARY} is missing"
    return BINARY
