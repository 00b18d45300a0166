"""tcp-check through `autodnsfailover probe check`, against TCP servers the
tests start on loopback (127.0.0.x and ::1, free ports)."""
import socket
import threading
import time

import pytest

from conftest import base_config, free_port, probe, silent_tcp_port
from fixtures_common import elapsed, ipv6_loopback_available

TIMEOUT = "1"  # seconds per check: plenty on loopback, short enough for the slow cases


class TcpServer:
    """A listening socket whose accepted connections are handed to
    `handler(connection)` in a thread; connections stay open until stop()."""

    def __init__(self, host="127.0.0.1", handler=None, backlog=16):
        family = socket.AF_INET6 if ":" in host else socket.AF_INET
        self.listener = socket.socket(family, socket.SOCK_STREAM)
        self.listener.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        self.listener.bind((host, 0))
        self.listener.listen(backlog)
        self.host, self.port = host, self.listener.getsockname()[1]
        self.handler = handler
        self.connections = []
        self.received = []
        self.stopping = threading.Event()
        self.thread = threading.Thread(target=self._serve, daemon=True)
        if handler is not None:
            self.thread.start()

    def _serve(self):
        self.listener.settimeout(0.1)
        while not self.stopping.is_set():
            try:
                connection, _ = self.listener.accept()
            except socket.timeout:
                continue
            except OSError:
                return
            self.connections.append(connection)
            threading.Thread(target=self._handle, args=(connection,), daemon=True).start()

    def _handle(self, connection):
        try:
            self.handler(self, connection)
        except OSError:
            pass  # the check hung up first: that is its right

    def stop(self):
        self.stopping.set()
        if self.thread.is_alive():
            self.thread.join(timeout=2)
        for connection in self.connections:
            connection.close()
        self.listener.close()


@pytest.fixture
def tcp_server():
    servers = []

    def start(**kwargs):
        server = TcpServer(**kwargs)
        servers.append(server)
        return server

    yield start
    for server in servers:
        server.stop()


def stay_silent(server, connection):
    server.stopping.wait()


def greet_with(banner):
    def handler(server, connection):
        connection.sendall(banner)
        server.stopping.wait()
    return handler


def hang_up(server, connection):
    connection.close()


def answer_ping(server, connection):
    """Reads one line; answers +PONG to PING and -ERR to anything else."""
    line = b""
    while not line.endswith(b"\r\n"):
        chunk = connection.recv(64)
        if not chunk:
            return
        line += chunk
    server.received.append(line)
    connection.sendall(b"+PONG\r\n" if line == b"PING\r\n" else b"-ERR unknown command\r\n")
    server.stopping.wait()


def check_config(port, **keys):
    return base_config(check={"plugin": "tcp-check", "port": port, **keys})


def run_check(tmp_path, address, port, **keys):
    return probe(tmp_path, check_config(port, **keys), "check", address, "--timeout", TIMEOUT)


def test_alive_when_the_port_accepts_connections(tmp_path, tcp_server):
    server = tcp_server(host="127.0.0.11", handler=stay_silent)
    result = run_check(tmp_path, "127.0.0.11", server.port)
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == "alive"


def test_dead_with_connection_refused_on_a_closed_port(tmp_path):
    result = run_check(tmp_path, "127.0.0.12", free_port("127.0.0.12"))
    assert result.returncode == 1
    assert result.stdout.strip() == "dead: connection refused"


def test_dead_within_the_timeout_when_the_banner_never_comes(tmp_path, tcp_server):
    server = tcp_server(host="127.0.0.13", handler=stay_silent)
    result, seconds = elapsed(run_check, tmp_path, "127.0.0.13", server.port, expect="SSH-2.0")
    assert result.returncode == 1
    # The plugin's own reason, not the host killing it at the timeout.
    assert result.stdout.startswith("dead: no banner after "), result.stdout
    assert seconds < 10  # bounded by the 1 s timeout, with room for a loaded machine


def test_dead_when_the_connect_times_out(tmp_path):
    # A listener whose accept queue is full drops further SYNs: connect() hangs.
    with silent_tcp_port("127.0.0.14") as port:
        result = run_check(tmp_path, "127.0.0.14", port)
    assert result.returncode == 1
    assert result.stdout.startswith("dead: connect timed out after "), result.stdout


def test_alive_when_the_banner_matches(tmp_path, tcp_server):
    server = tcp_server(host="127.0.0.15", handler=greet_with(b"SSH-2.0-OpenSSH_9.2p1\r\n"))
    result = run_check(tmp_path, "127.0.0.15", server.port, expect="SSH-2.0")
    assert result.returncode == 0, result.stdout + result.stderr
    assert result.stdout.strip() == "alive"


@pytest.mark.parametrize("address, handler, expect, reason", [
    pytest.param("127.0.0.16", greet_with(b"xyz\r\n"), "SSH-2.0",
                 'banner "xyz" does not start with "SSH-2.0"', id="banner-differs"),
    pytest.param("127.0.0.19", greet_with(b'\x16\x03\x01"x'), "220 ",
                 'banner "\\x16\\x03\\x01\\"x" does not start with "220 "',
                 id="binary-banner-quoted-escaped"),
    pytest.param("127.0.0.17", hang_up, "220 ", "connection closed before the banner",
                 id="connection-closed-before-the-banner"),
])
def test_dead_naming_what_was_wrong_with_the_banner(tmp_path, tcp_server, address, handler,
                                                    expect, reason):
    server = tcp_server(host=address, handler=handler)
    result = run_check(tmp_path, address, server.port, expect=expect)
    assert result.returncode == 1
    assert result.stdout.strip() == "dead: " + reason


def test_send_then_expect_round_trip(tmp_path, tcp_server):
    server = tcp_server(host="127.0.0.18", handler=answer_ping)
    result = run_check(tmp_path, "127.0.0.18", server.port, send="PING\r\n", expect="+PONG")
    assert result.returncode == 0, result.stdout + result.stderr
    assert server.received == [b"PING\r\n"]

    result = run_check(tmp_path, "127.0.0.18", server.port, send="QUIT\r\n", expect="+PONG")
    assert result.returncode == 1
    assert result.stdout.strip() == 'dead: banner "-ERR unknown command" does not start with "+PONG"'


@pytest.mark.skipif(not ipv6_loopback_available(), reason="no IPv6 loopback (::1) on this machine")
def test_ipv6_alive_and_refused_on_loopback(tmp_path, tcp_server):
    server = tcp_server(host="::1", handler=greet_with(b"220 ready\r\n"))
    result = run_check(tmp_path, "::1", server.port, expect="220 ")
    assert result.returncode == 0, result.stdout + result.stderr

    result = run_check(tmp_path, "::1", free_port("::1"))
    assert result.returncode == 1
    assert result.stdout.strip() == "dead: connection refused"


@pytest.mark.parametrize("keys, path", [
    ({}, "check.port"),
    ({"port": 0}, "check.port"),
    ({"port": 65536}, "check.port"),
    ({"port": "ssh"}, "check.port"),
    ({"port": 22, "expect": ""}, "check.expect"),
    ({"port": 22, "expect": 7}, "check.expect"),
    ({"port": 22, "send": ["PING"]}, "check.send"),
    ({"port": 22, "expct": "SSH-2.0"}, "check.expct"),
])
def test_config_errors_exit_2_naming_the_key(tmp_path, keys, path):
    config = base_config(check={"plugin": "tcp-check", **keys})
    result = probe(tmp_path, config, "check", "127.0.0.1")
    assert result.returncode == 2
    assert path in result.stderr
