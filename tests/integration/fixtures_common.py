"""Helpers shared by the plugin tests beyond what conftest.py offers: timing
a call, IPv6 loopback detection, a fake provider API run as a process and an
environment without proxies. (stop_process comes from conftest.py; some
modules import it from here.)"""
import json
import socket
import subprocess
import sys
import time
import urllib.request

import pytest

from conftest import free_port, stop_process

PROXY_VARIABLES = ("http_proxy", "https_proxy", "HTTP_PROXY", "HTTPS_PROXY", "all_proxy",
                   "ALL_PROXY", "no_proxy", "NO_PROXY")


def elapsed(function, *args, **kwargs):
    """(result, seconds) of one call."""
    start = time.monotonic()
    result = function(*args, **kwargs)
    return result, time.monotonic() - start


def ipv6_loopback_available():
    """True when a socket can bind ::1 (IPv6 enabled, lo has ::1)."""
    try:
        with socket.socket(socket.AF_INET6) as s:
            s.bind(("::1", 0))
        return True
    except OSError:
        return False


class FakeService:
    """A fake provider API (a tests/fakes/*.py script) running as a process on
    127.0.0.1 and a free port, started with `args` after its --port; ready
    once it prints "listening". control() drives its /_control/ interface.
    Use it as a context manager, or call stop()."""

    def __init__(self, script, *args):
        port = free_port()
        self.base = f"http://127.0.0.1:{port}"
        self.process = subprocess.Popen(
            [sys.executable, str(script), "--port", str(port), *map(str, args)],
            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        if "listening" not in self.process.stdout.readline():
            self.stop()
            raise AssertionError(f"{script} did not start: {self.process.stderr.read()}")

    def control(self, command, payload=None):
        """GET (without payload) or POST (JSON payload) /_control/COMMAND;
        returns the decoded JSON answer."""
        data = None if payload is None else json.dumps(payload).encode()
        request = urllib.request.Request(f"{self.base}/_control/{command}", data=data,
                                         method="GET" if data is None else "POST")
        with urllib.request.urlopen(request, timeout=5) as answer:
            return json.loads(answer.read() or b"{}")

    def stop(self):
        stop_process(self.process, timeout=5)

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.stop()


@pytest.fixture
def no_proxy_environment(monkeypatch):
    """No *_proxy variables, so that requests to the test's own loopback
    servers never go to a proxy the machine happens to configure. Import it
    into a test module and mark that module with
    pytestmark = pytest.mark.usefixtures("no_proxy_environment")."""
    for name in PROXY_VARIABLES:
        monkeypatch.delenv(name, raising=False)
