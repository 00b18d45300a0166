"""Removal by agreement on loopback: real daemons of one pool (dns-memory,
check-deadlist with a dead list of their own each, so that one observer can
see a peer dead that the others see alive), each answering on its own
127.0.0.x at one UDP port. The protocol side is driven by an independent
Python implementation of sdk/peer-protocol.md: it asks the daemon, checks
the answer's MAC, and sends what must be refused (a stranger's question, a
forged, replayed, stale and oversized one), each refusal then read from the
daemon's metrics."""
import base64
import hashlib
import hmac
import os
import secrets
import signal
import socket
import struct
import time
import urllib.request

from prometheus_client.parser import text_string_to_metric_families

from conftest import free_port, run, wait_until
from memory_pool import FQDN, SELF, Pool

MEMBER = "127.0.0.12"
OTHER = "127.0.0.13"
SILENT = "127.0.0.14"   # listed, runs no daemon


def pool_key(path):
    path.write_text(base64.b64encode(secrets.token_bytes(32)).decode() + "\n")
    return path


def address_bytes(text):
    return bytes([4]) + socket.inet_aton(text) + bytes(12)


def question(key, subject, sent_at_ms=None, max_age_ms=5000, wait_ms=1000, nonce=None):
    """A question of version 1, signed with `key` (raw bytes)."""
    sent_at_ms = int(time.time() * 1000) if sent_at_ms is None else sent_at_ms
    nonce = os.urandom(16) if nonce is None else nonce
    body = (b"ADFP" + bytes([1, 1, 0, 0]) + struct.pack(">Q", sent_at_ms) + nonce +
            address_bytes(subject) + struct.pack(">II", max_age_ms, wait_ms) +
            bytes([len(FQDN)]) + FQDN.encode())
    return body + hmac.new(key, body, hashlib.sha256).digest(), nonce


def read_answer(key, data, nonce):
    """(verdict, observer, reason) of an answer to the question of `nonce`."""
    body, mac = data[:-32], data[-32:]
    assert hmac.compare_digest(hmac.new(key, body, hashlib.sha256).digest(), mac)
    assert body[:8] == b"ADFP" + bytes([1, 2, 0, 0])
    assert body[16:32] == nonce
    verdict = body[32 + 17]
    observer = socket.inet_ntoa(body[32 + 17 + 5 + 1:32 + 17 + 5 + 5])
    reason = body[32 + 17 + 5 + 17 + 1:].decode()
    return verdict, observer, reason


def ask(port, data, source, timeout=0.5):
    """Sends `data` from `source` to the daemon at SELF:`port`; the reply, or None."""
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as s:
        s.bind((source, 0))
        s.settimeout(timeout)
        s.sendto(data, (SELF, port))
        try:
            return s.recv(2048)
        except socket.timeout:
            return None


def refused(metrics_port):
    with urllib.request.urlopen(f"http://127.0.0.1:{metrics_port}/metrics", timeout=5) as r:
        text = r.read().decode()
    out = {}
    for family in text_string_to_metric_families(text):
        for s in family.samples:
            if s.name == "autodnsfailover_peer_messages_refused_total":
                out[(s.labels["side"], s.labels["reason"])] = s.value
    return out


def peers_section(key_path, port, address):
    return {"key": {"file": str(key_path)}, "listen": address, "port": port}


def test_the_daemon_answers_members_and_refuses_strangers_forgeries_replays_stale_and_oversized(
        tmp_path, daemons):
    pool = Pool(tmp_path, [SELF, MEMBER, OTHER])
    key_path = pool_key(tmp_path / "pool.key")
    key = base64.b64decode(key_path.read_text())
    port, metrics_port = free_port(), free_port()
    d = daemons.start(pool.config(peers=peers_section(key_path, port, SELF),
                                  metrics={"listen": f"127.0.0.1:{metrics_port}"}),
                      tmp_path / "d.log")
    d.wait_for_log(f"answering the pool's questions on UDP port {port}")
    d.wait_for_log("round finished")

    # A member asks about a peer the daemon checks: a signed answer, alive.
    data, nonce = question(key, OTHER)
    reply = ask(port, data, MEMBER)
    assert reply is not None, d.log()
    verdict, observer, _ = read_answer(key, reply, nonce)
    assert (verdict, observer) == (1, SELF)
    # The same datagram again: a replay.
    assert ask(port, data, MEMBER) is None
    # A stranger (127.0.0.1 is in no record set), another pool's key, a
    # question sent 60 s ago, a datagram longer than any message.
    assert ask(port, question(key, OTHER)[0], "127.0.0.1") is None
    assert ask(port, question(secrets.token_bytes(32), OTHER)[0], MEMBER) is None
    stale = question(key, OTHER, sent_at_ms=int(time.time() * 1000) - 60000)[0]
    assert ask(port, stale, MEMBER) is None
    assert ask(port, b"ADFP" + bytes(400), MEMBER) is None

    counts = wait_until(lambda: (lambda c: c if len(c) >= 5 else None)(refused(metrics_port)),
                        what="five refusals counted")
    for reason in ("replayed", "unknown_sender", "bad_mac", "stale", "oversized"):
        assert counts.get(("server", reason)) == 1, (reason, counts)
    # A peer nobody listed is not tracked.
    data, nonce = question(key, "127.0.0.99")
    verdict, _, reason = read_answer(key, ask(port, data, MEMBER), nonce)
    assert verdict == 6, reason


def start_pool(tmp_path, daemons, observers, listed):
    """Daemons at `observers` (each with its own dead list and control
    socket) in a pool that lists `listed`; returns (pool, {address:
    (daemon, dead list path)})."""
    pool = Pool(tmp_path, listed)
    key_path = pool_key(tmp_path / "pool.key")
    port = free_port()
    started = {}
    for address in observers:
        dead = tmp_path / f"dead-{address}.txt"
        dead.write_text("")
        config = pool.config(self_address=address, name=f"d-{address}",
                             ipaddr={"plugin": "static", "address": address},
                             check={"plugin": "check-deadlist", "dead_file": str(dead)},
                             peers=peers_section(key_path, port, address),
                             control={"socket": str(tmp_path / f"{address}.sock")})
        started[address] = (daemons.start(config, tmp_path / f"{address}.log"), dead)
    for d, _ in started.values():
        d.wait_for_log("round finished")
    return pool, started


def test_one_observer_that_sees_a_healthy_peer_dead_is_outvoted_and_a_dead_one_goes(
        tmp_path, daemons):
    observers = [SELF, MEMBER, OTHER]
    pool, started = start_pool(tmp_path, daemons, observers, observers + [SILENT])
    # Only SELF's checks fail on MEMBER (its route to it, say): the others
    # see it alive, so it stays, and SELF says why.
    started[SELF][1].write_text(MEMBER + "\n")
    d = started[SELF][0]
    d.wait_for_log(f"peer {MEMBER} seems dead to me, but it stays")
    time.sleep(2.0)   # ten rounds
    assert MEMBER in pool.addresses(), d.log()
    assert "1 of 2 observers (this one included) see it out; 1 see it alive" in d.log()
    started[SELF][1].write_text("")
    # SILENT's service dies for everyone: confirmed and removed.
    for _, dead in started.values():
        dead.write_text(SILENT + "\n")
    wait_until(lambda: SILENT not in pool.addresses(), what="the dead peer removed")
    assert pool.addresses() == sorted(observers)
    assert any(f"peer {SILENT} is dead:" in started[a][0].log() for a in observers)


def test_a_host_its_peers_see_dead_does_not_re_add_itself_until_they_see_it_again(
        tmp_path, daemons):
    observers = [SELF, MEMBER, OTHER]
    pool, started = start_pool(tmp_path, daemons, observers, observers)
    # MEMBER and OTHER see SELF dead; SELF's own check passes. They remove it.
    for address in (MEMBER, OTHER):
        started[address][1].write_text(SELF + "\n")
    wait_until(lambda: SELF not in pool.addresses(), what=f"{SELF} removed")
    d = started[SELF][0]
    d.wait_for_log("2 of 2 peers cannot reach me: not re-adding myself; check this host's network")
    time.sleep(1.0)   # five rounds: it stays out
    assert SELF not in pool.addresses(), d.log()
    shown = run(["status", "-c", str(tmp_path / f"d-{SELF}.json")])
    assert "STAYING OUT since" in shown.stdout, shown.stdout + shown.stderr
    assert "2 of 2 peers cannot reach me" in shown.stdout
    # They see it again: after `rise` good checks it re-adds itself.
    for address in (MEMBER, OTHER):
        started[address][1].write_text("")
    wait_until(lambda: SELF in pool.addresses(), what=f"{SELF} back")
    assert "added myself" in d.log()


def test_a_reload_keeps_the_listener_says_what_needs_a_restart_and_can_stop_it(
        tmp_path, daemons):
    pool = Pool(tmp_path, [SELF, MEMBER])
    key_path = pool_key(tmp_path / "pool.key")
    key = base64.b64decode(key_path.read_text())
    port = free_port()
    d = daemons.start(pool.config(peers=peers_section(key_path, port, SELF)), tmp_path / "d.log")
    d.wait_for_log("round finished")
    # Another port and rule: the rule applies, the port waits for a restart.
    pool.config(peers={**peers_section(key_path, free_port(), SELF), "agreement": 1})
    d.signal(signal.SIGHUP)
    d.wait_for_log("peers.port changed: the peer server keeps the old value until the daemon "
                   "is restarted")
    data, nonce = question(key, MEMBER)
    assert read_answer(key, ask(port, data, MEMBER), nonce)[0] == 1
    # No peers section: the server stops, the daemon decides alone.
    pool.config()
    d.signal(signal.SIGHUP)
    d.wait_for_log("peers section gone")
    wait_until(lambda: ask(port, question(key, MEMBER)[0], MEMBER, timeout=0.2) is None,
               what="the peer server stopped")


def test_a_question_that_wants_a_fresher_verdict_is_answered_by_a_check_made_now(
        tmp_path, daemons):
    """MEMBER runs a round every 30 s, so its verdict on OTHER is older than
    SELF's questions allow (SELF runs every 0.2 s): it checks OTHER when
    asked, and SELF removes OTHER on their agreement, not by falling back
    to its own view."""
    pool = Pool(tmp_path, [SELF, MEMBER, OTHER])
    key_path = pool_key(tmp_path / "pool.key")
    port = free_port()
    started = {}
    for address, interval in ((SELF, 0.2), (MEMBER, 30)):
        config = pool.config(self_address=address, name=f"d-{address}",
                             ipaddr={"plugin": "static", "address": address},
                             timer={"interval": interval},
                             peers=peers_section(key_path, port, address))
        started[address] = daemons.start(config, tmp_path / f"{address}.log")
    for d in started.values():
        d.wait_for_log("round finished")
    time.sleep(2.5)   # MEMBER's verdicts are older than SELF's questions allow
    pool.kill(OTHER)
    wait_until(lambda: OTHER not in pool.addresses(), what=f"{OTHER} removed")
    log = started[SELF].log()
    assert f"peer {OTHER} is dead: 2 of 2 observers (this one included) see it out" in log, log
    assert "agreement_fallback" not in log and "single-observer rule decides" not in log, log
