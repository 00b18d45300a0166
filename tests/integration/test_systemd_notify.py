"""The systemd notification protocol, seen by a listener in the test on
the daemon's NOTIFY_SOCKET (as systemd's own): READY=1 after the first
complete round, STATUS= lines, RELOADING=1 then READY=1 around SIGHUP,
STOPPING=1, and WATCHDOG=1 only while the loop makes progress: a loop
stuck in a plugin call (dns-memory's hang_read) stops the pings. And the
journal's priority prefixes when stderr is the journal's stream."""
import os
import re
import signal
import socket
import subprocess
import threading
import time

from conftest import BINARY, wait_until
from memory_pool import SELF, Pool

WATCHDOG_SECONDS = 0.6  # the daemon pings every third of it


class NotifyListener:
    """A datagram socket at `path` keeping (monotonic time, message)."""

    def __init__(self, path):
        self.path = str(path)
        self.sock = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
        self.sock.bind(self.path)
        self.sock.settimeout(0.1)
        self.messages = []
        self._stop = threading.Event()
        self.thread = threading.Thread(target=self._receive, daemon=True)
        self.thread.start()

    def _receive(self):
        while not self._stop.is_set():
            try:
                data = self.sock.recv(4096).decode()
            except socket.timeout:
                continue
            self.messages.append((time.monotonic(), data))

    def assignments(self, key):
        """[(time, value)] of every KEY=value received."""
        out = []
        for when, message in list(self.messages):
            for line in message.split("\n"):
                if line.startswith(key + "="):
                    out.append((when, line[len(key) + 1:]))
        return out

    def wait_for(self, key, value=None, after=0.0, timeout=15):
        def found():
            return [when for when, v in self.assignments(key)
                    if when > after and (value is None or v == value)]
        return wait_until(found, timeout=timeout, what=f"{key}={value or '...'}")[0]

    def close(self):
        self._stop.set()
        self.thread.join()
        self.sock.close()


def test_ready_reloading_stopping_and_a_watchdog_that_stops_when_the_loop_stalls(
        tmp_path, daemons):
    listener = NotifyListener(tmp_path / "notify.sock")
    try:
        pool = Pool(tmp_path, ["127.0.0.12"])  # this host adds itself in its first round
        d = daemons.start(pool.config(), tmp_path / "d.log",
                          env={"NOTIFY_SOCKET": listener.path,
                               "WATCHDOG_USEC": str(int(WATCHDOG_SECONDS * 1e6))})
        ready = listener.wait_for("READY", "1")
        # READY=1 comes after the first complete round, not before.
        assert SELF in pool.addresses()
        assert "added myself" in d.log()
        assert any(v.startswith("round 1: www.example.test A 2 records")
                   for _, v in listener.assignments("STATUS")), listener.messages
        # The notification variables are the daemon's alone, not its check helper's.
        helper = int(re.search(r"helper pid (\d+)", d.log()).group(1))
        environment = open(f"/proc/{helper}/environ", "rb").read().split(b"\0")
        assert not [v for v in environment if v.startswith((b"NOTIFY_SOCKET=", b"WATCHDOG_"))]

        # While rounds run, the watchdog is fed at least every WatchdogSec/2.
        time.sleep(1.5)
        pings = [when for when, _ in listener.assignments("WATCHDOG") if when > ready]
        assert len(pings) >= 4, listener.messages
        assert max(b - a for a, b in zip(pings, pings[1:])) < WATCHDOG_SECONDS / 2 + 0.15

        # The loop stalls inside a plugin call: no more pings.
        pool.set_flags(hang_read=True)
        time.sleep(0.5)
        stalled = time.monotonic()
        time.sleep(3 * WATCHDOG_SECONDS)
        assert [w for w, _ in listener.assignments("WATCHDOG") if w > stalled] == [], \
            "WATCHDOG=1 kept coming from a stalled loop"
        pool.set_flags(hang_read=False)
        listener.wait_for("WATCHDOG", "1", after=time.monotonic(), timeout=5)

        # SIGHUP: RELOADING=1, then READY=1.
        reload_sent = time.monotonic()
        d.signal(signal.SIGHUP)
        reloading = listener.wait_for("RELOADING", "1", after=reload_sent)
        listener.wait_for("READY", "1", after=reloading)
        d.wait_for_log("configuration reloaded")

        # SIGTERM: STOPPING=1 with a status saying why.
        stop_sent = time.monotonic()
        d.signal(signal.SIGTERM)
        assert d.wait(timeout=15) == 0
        listener.wait_for("STOPPING", "1", after=stop_sent, timeout=5)
        assert any("stopping on signal 15" in v for _, v in listener.assignments("STATUS"))
    finally:
        listener.close()


def test_lines_carry_syslog_priorities_when_stderr_is_the_journal(tmp_path):
    pool = Pool(tmp_path, ["127.0.0.12", "127.0.0.13"])
    pool.kill("127.0.0.13")
    log_path = tmp_path / "journal.log"
    with open(log_path, "w") as journal:
        info = os.fstat(journal.fileno())
        result = subprocess.run([str(BINARY), "run", "--once", "-c", str(pool.config())],
                                stderr=journal, timeout=30,
                                env={**os.environ,
                                     "JOURNAL_STREAM": f"{info.st_dev}:{info.st_ino}"})
    assert result.returncode == 0
    lines = log_path.read_text().splitlines()
    assert "<4>WARNING added myself (127.0.0.11) into DNS fqdn=www.example.test " \
        "peer=127.0.0.11 plugin=dns-memory" in lines
    assert any(line.startswith("<3>ERROR   removed peer 127.0.0.13") for line in lines), lines
    assert all(line[:3] in ("<7>", "<6>", "<4>", "<3>", "<2>") for line in lines), lines
