"""Notifications against real receivers started by the tests: mail over
SMTP (aiosmtpd, STARTTLS or implicit TLS, AUTH, the certificate verified
against the test CA) and signed webhooks; coalescing of a flapping peer;
and a receiver that is down or hangs, measured against the same scenario
without one: the failover timeline does not move."""
import statistics
import time

import pytest

from conftest import wait_until
from memory_pool import FQDN, SELF, Pool
from ops_receivers import (HangingReceiver, SmtpReceiver, WebhookReceiver, make_tls_files,
                           running)

# aiosmtpd warns that AUTH without required TLS is unsafe: over implicit TLS
# the whole session is TLS (ops_receivers.SmtpReceiver).
pytestmark = pytest.mark.filterwarnings("ignore:Requiring AUTH while not requiring TLS")

DEAD = "127.0.0.13"
PEERS = [SELF, "127.0.0.12", DEAD]


@pytest.fixture(scope="module")
def tls_files(tmp_path_factory):
    return make_tls_files(tmp_path_factory.mktemp("tls"))


def email_target(smtp, tls_files, tls, password_file, **extra):
    return {"server": smtp.server, "tls": tls, "username": "adf",
            "password": {"file": str(password_file)}, "from": "adf@example.test",
            "to": ["ops@example.test"], "ca_file": str(tls_files[0]), **extra}


def event_of(name):
    return lambda m: m["X-Autodnsfailover-Event"] == name


def test_mails_of_a_removal_a_failed_self_check_and_a_recovery_arrive_over_starttls(
        tmp_path, daemons, tls_files):
    password = tmp_path / "smtp-password"
    password.write_text("s3cret\n")
    with running(SmtpReceiver(tls_files, "starttls")) as smtp:
        pool = Pool(tmp_path, PEERS)
        config = pool.config(notify={
            "host": "web1", "level": "warning",
            "events": ["peer_removed", "self_check_failed", "self_added"],
            "email": email_target(smtp, tls_files, "starttls", password)})
        first = daemons.start(config, tmp_path / "first.log")
        first.wait_for_log("my IPv4 address is")
        pool.kill(DEAD)
        removal = smtp.wait_for(event_of("peer_removed"), what="the removal's mail")
        assert removal["Subject"] == f"autodnsfailover@web1 - notification about {FQDN}"
        assert removal["From"] == "adf@example.test"
        assert removal.envelope_to == ["ops@example.test"]
        assert removal.over_tls
        body = removal.get_content()
        for line in ("removed peer 127.0.0.13", "Address:      127.0.0.13",
                     "Name:         www.example.test A", "Why:          127.0.0.13 is listed in",
                     f"Set before:   {SELF}, 127.0.0.12, 127.0.0.13",
                     f"Set after:    {SELF}, 127.0.0.12", "What it does: keeps checking"):
            assert line in body, body
        assert ("LOGIN", True) in smtp.logins or ("PLAIN", True) in smtp.logins, smtp.logins

        # This host's own check fails: it mails, then exits for its supervisor.
        pool.kill(SELF)
        assert first.wait(timeout=20) == 1
        failed = smtp.wait_for(event_of("self_check_failed"), what="the self-check's mail")
        assert "self-check of my own address 127.0.0.11 failed" in failed.get_content()
        assert "exits with status 1" in failed.get_content()

        # A peer removed it meanwhile; it recovers, and its restarted daemon
        # adds it back: the recovery's mail.
        with pool.locked_state() as state:
            state["records"][f"{FQDN}/A"] = [r for r in state["records"][f"{FQDN}/A"]
                                            if r["address"] != SELF]
        pool.kill()
        daemons.start(config, tmp_path / "second.log")
        recovered = smtp.wait_for(event_of("self_added"), what="the recovery's mail")
        body = recovered.get_content()
        assert "added myself (127.0.0.11) into DNS" in body
        assert "Set before:   127.0.0.12" in body and f"Set after:    {SELF}, 127.0.0.12" in body
        assert len(smtp.messages()) == 3, [m["Subject"] for m in smtp.messages()]


def removal_round_mailing(tmp_path, tls_files, tls, password, **notify):
    """One round removing DEAD, mailing peer_removed through an SmtpReceiver
    (`tls`) with `password`; returns (the round's CompletedProcess, the
    mails received, the pool, the server's HOST:PORT)."""
    password_file = tmp_path / "smtp-password"
    password_file.write_text(password)
    with running(SmtpReceiver(tls_files, tls)) as smtp:
        pool = Pool(tmp_path, PEERS)
        pool.kill(DEAD)
        result = pool.once(notify={"email": email_target(smtp, tls_files, tls, password_file),
                                   "events": ["peer_removed"], **notify})
        return result, smtp.messages(), pool, smtp.server


def test_mail_over_implicit_tls_from_one_round(tmp_path, tls_files):
    result, mails, _, _ = removal_round_mailing(tmp_path, tls_files, "implicit", "s3cret")
    assert result.returncode == 0, result.stderr
    # run --once waits for its notifications before it exits.
    assert [m["X-Autodnsfailover-Event"] for m in mails] == ["peer_removed"], result.stderr
    assert mails[0].over_tls


def test_a_wrong_smtp_password_costs_a_log_line_and_nothing_else(tmp_path, tls_files):
    result, mails, pool, server = removal_round_mailing(tmp_path, tls_files, "starttls", "wrong",
                                                        attempts=1)
    assert result.returncode == 0, result.stderr
    assert pool.addresses() == [SELF, "127.0.0.12"]
    assert mails == []
    assert "could not deliver the peer_removed notification by email via " \
        f"{server} after 1 attempt" in result.stderr


def flap(pool, cycles):
    """Kills DEAD until it is removed, then brings it back (its own daemon
    re-adds it), `cycles` times; returns the number of removals."""
    removals = 0
    for _ in range(cycles):
        pool.kill(DEAD)
        wait_until(lambda: DEAD not in pool.addresses(), timeout=10, what="removal")
        removals += 1
        pool.kill()
        pool.add(DEAD)
        time.sleep(0.3)
    return removals


def test_webhooks_are_signed_and_a_flapping_peer_is_coalesced(tmp_path, daemons):
    key = tmp_path / "hmac.key"
    key.write_text("k3y-for-tests\n")
    window = 1.5
    with running(WebhookReceiver("k3y-for-tests")) as hook:
        pool = Pool(tmp_path, PEERS)
        config = pool.config(notify={
            "coalesce": window, "host": "web1",
            "webhooks": [{"url": hook.url, "hmac_key": {"file": str(key)},
                          "headers": {"X-Team": "sre"}, "events": ["peer_removed"]}]})
        d = daemons.start(config, tmp_path / "d.log")
        d.wait_for_log("my IPv4 address is")
        started = time.monotonic()
        removals = flap(pool, 8)
        lasted = time.monotonic() - started
        # The last window closes and sends its summary.
        time.sleep(window + 0.5)
        payloads = hook.payloads("peer_removed")
        assert hook.all_signed()
        # Every removal is in a message, as itself or counted in a summary...
        assert len([p for p in payloads if p["repeats"] == 0]) + \
            sum(p["repeats"] for p in payloads) == removals, payloads
        # ...and they are one message, then at most one summary per window.
        assert len(payloads) <= 2 + lasted / window, (len(payloads), removals, lasted)
        assert len(payloads) < removals
        summary = next(p for p in payloads if p["repeats"] > 0)
        assert summary["message"].startswith("removed peer 127.0.0.13")
        first = payloads[0]
        assert first["schema"] == "autodnsfailover.event.v1"
        assert (first["event"], first["level"], first["host"], first["fqdn"], first["type"],
                first["peer"]) == ("peer_removed", "error", "web1", FQDN, "A", DEAD)
        assert first["set_before"] == PEERS and first["set_after"] == [SELF, "127.0.0.12"]
        assert first["text"].startswith(":red_circle: *autodnsfailover@web1* peer_removed:")
        headers = hook.calls[0][2]
        assert headers["X-Team"] == "sre" and headers["X-Autodnsfailover-Event"] == "peer_removed"
        assert headers["Content-Type"] == "application/json"


def removal_delays(directory, daemons, notify, cycles=4):
    """Seconds from a peer's death to its removal, `cycles` times, for a
    daemon with `notify` (None: no notifications)."""
    directory.mkdir()
    pool = Pool(directory, PEERS)
    overrides = {} if notify is None else {"notify": notify}
    d = daemons.start(pool.config(**overrides), directory / "d.log")
    d.wait_for_log("my IPv4 address is")
    delays = []
    for _ in range(cycles):
        killed = time.monotonic()
        pool.kill(DEAD)
        wait_until(lambda: DEAD not in pool.addresses(), timeout=10, interval=0.01,
                   what="removal")
        delays.append(time.monotonic() - killed)
        pool.kill()
        pool.add(DEAD)
        time.sleep(0.5)
    d.stop()
    return delays, d.log()


def test_a_receiver_that_is_down_or_hangs_leaves_the_failover_timeline_unchanged(
        tmp_path, daemons):
    from conftest import free_port
    with running(HangingReceiver()) as hanging:
        baseline, _ = removal_delays(tmp_path / "none", daemons, None)
        down, down_log = removal_delays(tmp_path / "down", daemons, {
            "attempts": 2, "retry_delay": 0.1,
            "webhooks": {"url": f"http://127.0.0.1:{free_port()}/hook"},
            "email": {"server": f"127.0.0.1:{free_port()}", "tls": "none",
                      "from": "adf@example.test", "to": "ops@example.test"}})
        hung, hung_log = removal_delays(tmp_path / "hangs", daemons, {
            "webhooks": {"url": hanging.url, "timeout": 30}})
        assert hanging.connections >= 1
    print(f"removal after a peer's death (s): no receiver {baseline}, receivers down {down}, "
          f"receiver hangs {hung}")
    # The round's bound: interval + retry x timeout (0.2 + 2 x 0.2 s), plus slack.
    bound = 0.6 + 0.5
    for delays in (baseline, down, hung):
        assert max(delays) <= bound, delays
    assert statistics.median(down) <= statistics.median(baseline) + 0.25
    assert statistics.median(hung) <= statistics.median(baseline) + 0.25
    # What a dead receiver costs: a log line (told once while it lasts).
    assert "could not deliver the peer_removed notification by webhook" in down_log
    assert down_log.count("could not deliver the peer_removed notification by webhook") == 1
    assert "could not deliver" not in hung_log  # still waiting, 30 s per attempt
