"""`autodnsfailover status` asks the running daemon over its control socket
and shows what it sees now: a dead peer, a removal a safeguard refused, a
provider outage; text for people and --json for machines. The log's
rhythm: a summary per round that changed something, a heartbeat while
nothing does, a persistent error told when it starts, summarised while it
lasts, and when it ends."""
import json
import os
import stat

from conftest import run, wait_until
from memory_pool import FQDN, SELF, Pool

DEAD = "127.0.0.13"


def status(config, *extra):
    return run(["status", "-c", config, *extra], timeout=15)


def status_json(config):
    result = status(config, "--json")
    assert result.returncode == 0, result.stderr
    return json.loads(result.stdout)


def test_status_shows_a_dead_peer_a_refused_removal_and_a_provider_outage(tmp_path, daemons):
    pool = Pool(tmp_path, [SELF, "127.0.0.12", DEAD])
    socket_path = tmp_path / "control.sock"
    config = pool.config(control={"socket": str(socket_path)},
                         safety={"min_records": 3, "self_check_failure_delay": 0.1})
    d = daemons.start(config, tmp_path / "d.log")
    d.wait_for_log(f"answering `status` on {socket_path}")
    assert stat.S_IMODE(os.stat(socket_path).st_mode) == 0o660
    pool.kill(DEAD)
    d.wait_for_log(f"peer {DEAD} seems dead, but it will not be removed")

    s = status_json(config)
    assert s["schema"] == "autodnsfailover.status.v1"
    assert s["pid"] == d.proc.pid
    assert s["rounds"] >= 1 and s["next_round"]["in_seconds"] <= 0.2 + 0.05
    (the_set,) = s["sets"]
    assert (the_set["fqdn"], the_set["type"], the_set["self"]) == (FQDN, "A", SELF)
    assert the_set["records"] == [SELF, "127.0.0.12", DEAD]
    peers = {p["address"]: p for p in the_set["peers"]}
    assert peers["127.0.0.12"]["verdict"] == "alive"
    dead = peers[DEAD]
    assert dead["verdict"] == "dead"
    assert dead["reason"].startswith(f"{DEAD} is listed in")
    assert dead["since"]["age_seconds"] >= 0
    assert dead["action"].startswith("removal refused (min_records): that would leave fewer "
                                     "than safety.min_records (3) records")
    assert s["self_checks"][0]["verdict"] == "alive"
    assert [b["ok"] for b in s["backends"]] == [True]

    text = status(config)
    assert text.returncode == 0, text.stderr
    for line in (f"{FQDN} A: 3 records", f"records: {SELF} (me), 127.0.0.12, {DEAD}",
                 "removal refused (min_records)", "backend dns-memory: ok"):
        assert line in text.stdout, text.stdout
    assert any(line.split()[:2] == [DEAD, "dead"] for line in text.stdout.splitlines()), \
        text.stdout

    # The provider goes down: status says so while it lasts.
    pool.set_flags(fail_read=True, transient=True)
    wait_until(lambda: status_json(config)["sets"][0]["read_error"] != "",
               what="the outage in status")
    s = status_json(config)
    assert s["sets"][0]["read_error"].startswith("fail_read is set in")
    assert s["sets"][0]["read_failures"] >= 1
    (backend,) = s["backends"]
    assert (backend["name"], backend["ok"], backend["last_operation"]) == \
        ("dns-memory", False, "read")
    assert s["last_good_round"]["age_seconds"] < s["last_round"]["age_seconds"] + 60
    text = status(config).stdout
    assert "READ FAILING since" in text and "backend dns-memory: FAILING since" in text, text
    pool.set_flags(fail_read=False)
    wait_until(lambda: status_json(config)["backends"][0]["ok"], what="the backend's recovery")


def test_status_without_a_daemon_says_so(tmp_path):
    pool = Pool(tmp_path, [SELF])
    result = status(pool.config(control={"socket": str(tmp_path / "nobody.sock")}))
    assert result.returncode == 1
    assert "no answer from the daemon: cannot connect to" in result.stderr
    off = status(pool.config(control={"socket": False}))
    assert off.returncode == 2 and "control.socket is false" in off.stderr


def test_the_log_summarises_rounds_beats_when_quiet_and_tells_a_persistent_error_thrice(
        tmp_path, daemons):
    pool = Pool(tmp_path, [SELF, "127.0.0.12", DEAD])
    config = pool.config(logging={"level": "info", "format": "json", "heartbeat": 0.5,
                                  "summary_interval": 1})
    d = daemons.start(config, tmp_path / "d.log")
    pool.kill(DEAD)
    d.wait_for_log("round_summary")
    d.wait_for_log('"event":"heartbeat"')
    pool.set_flags(fail_read=True, transient=True)
    d.wait_for_log('"event":"error_ongoing"')
    pool.set_flags(fail_read=False)
    d.wait_for_log('"event":"error_resolved"')
    lines = [json.loads(line) for line in d.log().splitlines() if line.startswith("{")]
    assert all("event" in line for line in lines)
    events = [line["event"] for line in lines]
    summary = next(line for line in lines if line["event"] == "round_summary")
    assert summary["message"].startswith("round ") and f"removed {DEAD} from {FQDN} A" in \
        summary["message"]
    beat = next(line for line in lines if line["event"] == "heartbeat")
    assert beat["level"] == "info" and "no change" in beat["message"]
    # The failing read: once when it starts, then summaries, then its end,
    # never once per round (the interval is 0.2 s).
    assert events.count("read_failed") == 1, events
    ongoing = next(line for line in lines if line["event"] == "error_ongoing")
    assert ongoing["level"] == "error" and ongoing["message"].startswith("still so for")
    resolved = next(line for line in lines if line["event"] == "error_resolved")
    assert resolved["message"].startswith("no longer so after")
    assert resolved["fqdn"] == FQDN and resolved["family"] == 4
