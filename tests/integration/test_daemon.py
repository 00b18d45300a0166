"""The failover loop and its safeguards, driving the real daemon binary with
two test doubles: dns-memory (records in a JSON state file, with fault
injection and a log of every write) and check-deadlist (a peer is dead when
its address is listed in a file)."""
import json
import os
import re
import signal
import socket
import subprocess
import time

import pytest

from conftest import (PLUGIN_DIR, TEST_PLUGIN_DIR, leftover_processes, run, wait_until,
                      write_config)

from memory_pool import FQDN, SELF, Pool


def test_dead_peer_is_removed_and_self_added(tmp_path):
    pool = Pool(tmp_path, ["127.0.0.12", "127.0.0.13"])
    pool.kill("127.0.0.13")
    result = pool.once()
    assert result.returncode == 0, result.stderr
    assert pool.addresses() == ["127.0.0.11", "127.0.0.12"]
    assert "added myself (127.0.0.11) into DNS" in result.stderr
    assert "peer 127.0.0.13 seems dead, removing it" in result.stderr


def test_min_records_keeps_a_dead_peer(tmp_path):
    pool = Pool(tmp_path, ["127.0.0.11", "127.0.0.12"])
    pool.kill("127.0.0.12")
    result = pool.once(safety={"min_records": 2})
    assert result.returncode == 0, result.stderr
    assert pool.addresses() == ["127.0.0.11", "127.0.0.12"]
    assert "fewer than safety.min_records (2)" in result.stderr
    assert pool.writes() == []


def test_max_removals_per_round_limits_removals(tmp_path):
    pool = Pool(tmp_path, ["127.0.0.11", "127.0.0.12", "127.0.0.13", "127.0.0.14", "127.0.0.15"])
    pool.kill("127.0.0.13", "127.0.0.12")
    result = pool.once(safety={"max_removals_per_round": 1})
    assert result.returncode == 0, result.stderr
    # Numeric order: .12 goes first, .13 waits for the next round.
    assert pool.addresses() == ["127.0.0.11", "127.0.0.13", "127.0.0.14", "127.0.0.15"]
    assert "max_removals_per_round (1) is reached" in result.stderr
    second = pool.once(safety={"max_removals_per_round": 1})
    assert second.returncode == 0, second.stderr
    assert pool.addresses() == ["127.0.0.11", "127.0.0.14", "127.0.0.15"]


def test_partition_guard_without_witnesses_removes_nobody(tmp_path):
    pool = Pool(tmp_path, ["127.0.0.11", "127.0.0.12", "127.0.0.13"])
    pool.kill("127.0.0.12", "127.0.0.13")
    result = pool.once(safety={"max_removals_per_round": 5})
    assert result.returncode == 0, result.stderr
    assert pool.addresses() == ["127.0.0.11", "127.0.0.12", "127.0.0.13"]
    assert "partition guard: 2 of 2 peers failed at once" in result.stderr
    assert pool.writes() == []


def test_partition_guard_with_passing_witnesses_removes(tmp_path):
    pool = Pool(tmp_path, ["127.0.0.11", "127.0.0.12", "127.0.0.13"])
    pool.kill("127.0.0.12", "127.0.0.13")
    result = pool.once(safety={"max_removals_per_round": 5, "witnesses": ["127.0.0.20"]})
    assert result.returncode == 0, result.stderr
    assert "every witness passed" in result.stderr
    assert pool.addresses() == ["127.0.0.11"]


def test_partition_guard_with_failing_witness_removes_nobody(tmp_path):
    pool = Pool(tmp_path, ["127.0.0.11", "127.0.0.12", "127.0.0.13"])
    pool.kill("127.0.0.12", "127.0.0.13", "127.0.0.21")
    result = pool.once(safety={"max_removals_per_round": 5,
                               "witnesses": ["127.0.0.20", "127.0.0.21"]})
    assert result.returncode == 0, result.stderr
    assert "witness 127.0.0.21 failed too" in result.stderr
    assert pool.addresses() == ["127.0.0.11", "127.0.0.12", "127.0.0.13"]


def test_one_dead_peer_of_two_is_not_a_partition(tmp_path):
    pool = Pool(tmp_path, ["127.0.0.11", "127.0.0.12", "127.0.0.13"])
    pool.kill("127.0.0.13")
    result = pool.once()
    assert result.returncode == 0, result.stderr
    assert pool.addresses() == ["127.0.0.11", "127.0.0.12"]


def test_failed_self_check_exits_1_after_the_delay_and_changes_nothing(tmp_path):
    pool = Pool(tmp_path, ["127.0.0.11", "127.0.0.12"])
    pool.kill("127.0.0.11", "127.0.0.12")
    started = time.monotonic()
    result = pool.once(safety={"self_check_failure_delay": 0.5})
    assert result.returncode == 1, result.stderr
    assert time.monotonic() - started >= 0.5
    assert "self-check of my own address 127.0.0.11 failed" in result.stderr
    assert "self-check failed; waiting 0.5 s and exiting" in result.stderr
    assert pool.writes() == []


def test_failed_read_is_never_taken_as_empty(tmp_path):
    pool = Pool(tmp_path, ["127.0.0.12"], fail_read=True)
    result = pool.once()
    assert result.returncode == 3, result.stderr  # the round could not do its job
    assert "cannot read the A records" in result.stderr
    assert "added myself" not in result.stderr
    assert pool.writes() == []
    assert pool.addresses() == ["127.0.0.12"]


def test_failed_write_is_logged_and_retried_next_round(tmp_path, daemons):
    pool = Pool(tmp_path, ["127.0.0.12"], fail_write=True, transient=True)
    d = daemons.start(pool.config(), tmp_path / "d.log")
    d.wait_for_log("cannot add myself (127.0.0.11) into DNS: transient")
    state = pool.state()
    state["fail_write"] = False
    pool.write_state(state)
    wait_until(lambda: "127.0.0.11" in pool.addresses(), what="self re-added")
    assert d.proc.poll() is None


def test_dry_run_changes_nothing(tmp_path):
    pool = Pool(tmp_path, ["127.0.0.12", "127.0.0.13"])
    pool.kill("127.0.0.13")
    result = pool.once("--dry-run")
    assert result.returncode == 0, result.stderr
    assert "dry run: would add myself (127.0.0.11)" in result.stderr
    assert "dry run: would remove it" in result.stderr
    assert pool.addresses() == ["127.0.0.12", "127.0.0.13"]
    assert pool.writes() == []


def test_set_changed_between_read_and_removal_is_a_conflict(tmp_path):
    # Another daemon adds .99 right after our fresh read (the second read of
    # the round): the conditional removal must fail and change nothing.
    pool = Pool(tmp_path, ["127.0.0.11", "127.0.0.12", "127.0.0.13"],
                inject={"after_read": 2, "address": "127.0.0.99"})
    pool.kill("127.0.0.13")
    result = pool.once()
    assert result.returncode == 4, result.stderr  # a conflict the round did not settle
    assert "could not remove peer 127.0.0.13: conflict" in result.stderr
    assert pool.addresses() == ["127.0.0.11", "127.0.0.12", "127.0.0.13", "127.0.0.99"]
    assert [w["op"] for w in pool.writes()] == ["injected"]


def log_time(line):
    """Seconds of the day of a text log line's UTC timestamp."""
    stamp = line.split()[0]
    hours, minutes, seconds = stamp.split("T")[1].rstrip("Z").split(":")
    return int(hours) * 3600 + int(minutes) * 60 + float(seconds)


def test_peers_are_checked_concurrently(tmp_path):
    # Twenty peers, ten dead, 0.3 s per attempt and two attempts: one after
    # another the checks would take 20 x 0.3 + 10 x 0.3 = 9 s; concurrently
    # about 0.6 s. Measured between the daemon's own log lines, so a slow
    # process start does not count.
    peers = [f"127.0.0.{i}" for i in range(12, 32)]
    pool = Pool(tmp_path, ["127.0.0.11", *peers])
    pool.kill(*peers[:10])
    result = pool.once(check={"delay": 0.3}, timer={"interval": 5, "timeout": 1, "retry": 2})
    assert result.returncode == 0, result.stderr
    lines = result.stderr.splitlines()
    start = log_time(next(l for l in lines if "my IPv4 address is" in l))
    verdicts = [log_time(l) for l in lines if "giving up" in l]
    assert len(verdicts) == 10
    assert max(verdicts) - start < 3.0, result.stderr
    # Half of the peers is not more than max_dead_fraction: every dead one
    # goes in this same round.
    assert pool.addresses() == ["127.0.0.11", *peers[10:]]


def test_peer_dies_and_comes_back(tmp_path, daemons):
    pool = Pool(tmp_path, ["127.0.0.11", "127.0.0.12", "127.0.0.13"])
    a = daemons.start(pool.config("127.0.0.11", "a"), tmp_path / "a.log")
    b = daemons.start(pool.config("127.0.0.12", "b"), tmp_path / "b.log")
    seen_sizes = set()

    def watch(predicate):
        def probe():
            seen_sizes.add(len(pool.addresses()))
            return predicate()
        return probe

    time.sleep(0.5)
    pool.kill("127.0.0.12")
    wait_until(watch(lambda: "127.0.0.12" not in pool.addresses()), what="dead peer removed")
    # The dead host's own daemon fails its self-check and exits 1.
    assert b.wait(timeout=10) == 1
    pool.kill()
    b2 = daemons.start(pool.config("127.0.0.12", "b"), tmp_path / "b2.log")
    wait_until(watch(lambda: "127.0.0.12" in pool.addresses()), what="peer re-added")
    b2.wait_for_log("added myself (127.0.0.12) into DNS")
    assert 0 not in seen_sizes
    assert a.proc.poll() is None


def test_sigterm_ends_cleanly(tmp_path, daemons):
    pool = Pool(tmp_path, ["127.0.0.11"])
    d = daemons.start(pool.config(), tmp_path / "d.log")
    d.wait_for_log("my IPv4 address is 127.0.0.11")
    d.signal(signal.SIGTERM)
    assert d.wait() == 0
    assert "stopping on signal 15" in d.log()


def test_sighup_reloads_a_good_config_and_refuses_a_bad_one(tmp_path, daemons):
    pool = Pool(tmp_path, ["127.0.0.11", "127.0.0.12"])
    config_path = pool.config()
    d = daemons.start(config_path, tmp_path / "d.log")
    d.wait_for_log("my IPv4 address is 127.0.0.11")
    # Good: the new config adds a second name, which the daemon then manages.
    good = json.loads(config_path.read_text())
    good["fqdn"] = [FQDN, "api.example.test"]
    config_path.write_text(json.dumps(good))
    d.signal(signal.SIGHUP)
    d.wait_for_log("configuration reloaded")
    wait_until(lambda: "api.example.test/A" in pool.state()["records"], what="second name managed")
    # Bad: refused, the running config stays and rounds go on.
    config_path.write_text('{"fqdn": "www.example.test", "dns": 42}')
    d.signal(signal.SIGHUP)
    d.wait_for_log("reload refused, the running configuration stays")
    d.wait_for_log("dns: ")
    pool.kill("127.0.0.12")
    wait_until(lambda: "127.0.0.12" not in pool.addresses(), what="removal after bad reload")
    assert d.proc.poll() is None


@pytest.mark.parametrize("plugin,reason", [
    ("check-segfault", "killed by signal 11"),
    ("check-abort", "killed by signal 6"),
    ("check-throw", "killed by signal 6"),
    ("check-hang", "timed out after 0.3 s"),
    ("check-orphan", None),
])
def test_misbehaving_check_plugin_costs_one_check(tmp_path, plugin, reason):
    marker = f"adf-orphan-{tmp_path.name}"
    config = {
        "fqdn": FQDN,
        "plugin_dirs": [str(PLUGIN_DIR), str(TEST_PLUGIN_DIR)],
        "ipaddr": {"plugin": "static", "address": SELF},
        "dns": {"plugin": "dns-memory", "state": str(tmp_path / "state.json")},
        "check": {"plugin": plugin},
        "timer": {"plugin": "fixed-interval", "interval": 1, "timeout": 0.3, "retry": 1},
    }
    started = time.monotonic()
    result = run(["probe", "-c", write_config(tmp_path / "c.json", config), "check", "127.0.0.12"])
    assert time.monotonic() - started < 5
    if reason:
        assert result.returncode == 1, result.stdout + result.stderr
        assert reason in result.stdout
    assert leftover_processes("check-orphan-sleeper") == []
    del marker


@pytest.mark.parametrize("how,reason", [
    ("segfault", "killed by signal 11"),
    ("abort", "killed by signal 6"),
    ("hang", "timed out after 0.2 s"),
    ("throw", "check-deadlist threw on purpose"),
])
def test_running_daemon_survives_a_misbehaving_check(tmp_path, daemons, how, reason):
    pool = Pool(tmp_path, ["127.0.0.11", "127.0.0.12", "127.0.0.13"])
    config = pool.config(check={"misbehave": {"127.0.0.13": how}})
    d = daemons.start(config, tmp_path / "d.log")
    # The check of .13 fails in its own process: .13 counts as dead and is
    # removed, and the daemon goes on with its rounds.
    wait_until(lambda: "127.0.0.13" not in pool.addresses(), what="misbehaving peer removed")
    assert reason in d.log()
    pool.kill("127.0.0.12")
    wait_until(lambda: "127.0.0.12" not in pool.addresses(), what="next removal")
    assert d.proc.poll() is None
    # Check children are forks of the daemon, with its command line: once it
    # has stopped, none may be left.
    d.signal(signal.SIGTERM)
    assert d.wait() == 0
    assert leftover_processes(str(config)) == []


def test_crashing_check_fails_the_self_check_and_the_daemon_exits_1(tmp_path):
    pool = Pool(tmp_path, ["127.0.0.11", "127.0.0.12"])
    result = pool.once(check={"plugin": "check-segfault"})
    assert result.returncode == 1, result.stderr
    assert "killed by signal 11" in result.stderr
    assert pool.writes() == []


def test_config_errors_name_the_json_path(tmp_path):
    pool = Pool(tmp_path, ["127.0.0.11"])
    cfg = pool.config(safety={"max_dead_fraction": 2})
    result = run(["check-config", "-c", cfg])
    assert result.returncode == 2
    assert "safety.max_dead_fraction" in result.stderr
    cfg = pool.config(check={"plugin": "check-deadlist", "dead_fil": "x"})
    result = run(["check-config", "-c", cfg])
    assert result.returncode == 2
    assert "check.dead_fil" in result.stderr
    result = run(["run", "--once", "-c", cfg])
    assert result.returncode == 2
    assert "check.dead_fil" in result.stderr


def test_refused_plugin_exits_2_naming_the_file(tmp_path):
    pool = Pool(tmp_path, ["127.0.0.11"])
    cfg = pool.config(check={"plugin": "abi-major"})
    result = run(["run", "--once", "-c", cfg])
    assert result.returncode == 2
    assert "abi-major.so" in result.stderr
    assert "ABI" in result.stderr


def test_check_config_accepts_a_good_config(tmp_path):
    pool = Pool(tmp_path, ["127.0.0.11"])
    result = run(["check-config", "-c", pool.config()])
    assert result.returncode == 0, result.stderr
    assert "configuration OK" in result.stdout


def test_plugins_json_lists_kind_name_version_and_abi():
    result = run(["plugins", "--json", "--plugin-dir", str(PLUGIN_DIR)])
    assert result.returncode == 0, result.stderr
    rows = {row["name"]: row for row in json.loads(result.stdout)}
    for name, kind in [("fixed-interval", "timer"), ("static", "ipaddr"), ("ifaddr", "ipaddr"),
                       ("tcp-check", "check"), ("zonefile", "dns")]:
        assert rows[name]["kind"] == kind
        assert rows[name]["abi_version"] == "1.1"
        assert rows[name]["version"]
        assert rows[name]["usable"] is True


def test_usage_errors_exit_2_and_version_prints():
    assert run(["run"]).returncode == 2
    assert run(["no-such-command"]).returncode == 2
    version = run(["--version"])
    assert version.returncode == 0 and "plugin ABI 1.1" in version.stdout


def test_a_and_aaaa_are_managed_alike(tmp_path):
    pool = Pool(tmp_path, ["127.0.0.12"])
    state = pool.state()
    state["records"][f"{FQDN}/AAAA"] = [{"address": "fd00::12", "ttl": 60, "note": ""},
                                        {"address": "fd00::13", "ttl": 60, "note": ""}]
    pool.write_state(state)
    pool.kill("fd00::13")
    result = pool.once(ipaddr={"address": ["127.0.0.11", "::1"]})
    assert result.returncode == 0, result.stderr
    records = pool.state()["records"]
    assert sorted(r["address"] for r in records[f"{FQDN}/A"]) == ["127.0.0.11", "127.0.0.12"]
    assert sorted(r["address"] for r in records[f"{FQDN}/AAAA"]) == ["::1", "fd00::12"]
    assert "my IPv6 address is ::1" in result.stderr


def test_own_record_carries_the_rendered_note(tmp_path):
    pool = Pool(tmp_path, ["127.0.0.12"])
    result = pool.once(note="{hostname} serves {fqdn}")
    assert result.returncode == 0, result.stderr
    mine = [r for r in pool.state()["records"][f"{FQDN}/A"] if r["address"] == SELF][0]
    assert mine["note"] == f"{socket.gethostname().split('.')[0]} serves {FQDN}"


# --- probe dns remove goes through the daemon's safeguards ---------------------

def probe_remove(pool, address, *extra, **overrides):
    return run(["probe", "-c", pool.config(name="probe", **overrides), "dns", "remove", FQDN,
                address, *extra])


@pytest.mark.parametrize("force", [False, True])
def test_probe_never_removes_the_last_record_even_forced(tmp_path, force):
    # dns-memory itself would remove it: the refusal is the host's.
    pool = Pool(tmp_path, ["127.0.0.12"])
    result = probe_remove(pool, "127.0.0.12", *(["--force"] if force else []))
    assert result.returncode == 1, result.stderr
    assert ("remove 127.0.0.12 from www.example.test A: refused: it is the last record, and a "
            "pool is never emptied (even with --force)") in result.stderr
    assert pool.addresses() == ["127.0.0.12"]
    assert pool.writes() == []


def test_probe_keeps_min_records_unless_forced_and_logs_the_forced_removal(tmp_path):
    pool = Pool(tmp_path, ["127.0.0.12", "127.0.0.13"])
    refused = probe_remove(pool, "127.0.0.13", safety={"min_records": 2})
    assert refused.returncode == 1, refused.stderr
    assert ("refused: that would leave fewer than safety.min_records (2) records "
            "(--force overrides this)") in refused.stderr
    assert pool.writes() == []

    forced = probe_remove(pool, "127.0.0.13", "--force", safety={"min_records": 2})
    assert forced.returncode == 0, forced.stderr
    [warning] = [line for line in forced.stderr.splitlines() if "--force" in line]
    assert "WARNING" in warning
    assert ("remove 127.0.0.13 from www.example.test A: forced (--force) below "
            "safety.min_records (2): 1 record(s) will be left") in warning
    assert "peer=127.0.0.13" in warning
    assert pool.addresses() == ["127.0.0.12"]


def test_probe_removal_within_the_floor_needs_no_force(tmp_path):
    pool = Pool(tmp_path, ["127.0.0.12", "127.0.0.13"])
    # max_removals_per_round is the daemon's per-round limit, not the probe's.
    result = probe_remove(pool, "127.0.0.13", safety={"max_removals_per_round": 0})
    assert result.returncode == 0, result.stderr
    assert "--force" not in result.stderr
    assert pool.addresses() == ["127.0.0.12"]


def test_probe_read_prints_one_line_per_record_whatever_the_note(tmp_path):
    pool = Pool(tmp_path, [])
    pool.write_state({"records": {f"{FQDN}/A": [
        {"address": "127.0.0.12", "ttl": 60, "note": "a\n127.0.0.66 60 injected"}]}})
    result = run(["probe", "-c", pool.config(), "dns", "read", FQDN])
    assert result.returncode == 0, result.stderr
    assert result.stdout == "127.0.0.12 60 a\\n127.0.0.66 60 injected\n"


# --- every error at once, and reloads that are refused --------------------------

def test_every_plugin_section_is_checked_and_all_errors_reported_together(tmp_path):
    pool = Pool(tmp_path, ["127.0.0.11"])
    cfg = pool.config(check={"plugin": "check-deadlist", "dead_fil": "x"},
                      dns={"plugin": "dns-memory", "stat": "x"},
                      timer={"plugin": "fixed-interval", "intervall": 1},
                      safety={"max_dead_fraction": 2})
    for command in (["check-config", "-c", cfg], ["run", "--once", "-c", cfg]):
        result = run(command)
        assert result.returncode == 2, result.stderr
        for error in ("safety.max_dead_fraction: expected a number from 0 to 1, got 2",
                      "dns.stat: unknown key for plugin dns-memory",
                      "check.dead_fil: unknown key for plugin check-deadlist",
                      "timer.intervall: unknown key for plugin fixed-interval"):
            assert error in result.stderr, (command, result.stderr)
    assert pool.writes() == []


def test_a_refused_plugin_does_not_hide_the_other_sections_errors(tmp_path):
    pool = Pool(tmp_path, ["127.0.0.11"])
    cfg = pool.config(check={"plugin": "abi-major"}, dns={"plugin": "dns-memory", "stat": "x"})
    result = run(["check-config", "-c", cfg])
    assert result.returncode == 2
    assert "abi-major.so" in result.stderr and "ABI version 99.1" in result.stderr
    assert "dns.stat: unknown key for plugin dns-memory" in result.stderr


def deep_config_text():
    """A config of 200 KB whose plugin section nests a value 100,000 deep."""
    return ('{"fqdn": "www.example.test", "check": {"plugin": "check-deadlist", "x": '
            + "[" * 100000 + "]" * 100000 + "}}")


@pytest.mark.parametrize("bad", ["deep", "fifo", "dev-zero", "directory", "oversized"])
def test_sighup_refuses_a_bad_config_file_and_keeps_running(tmp_path, daemons, bad):
    pool = Pool(tmp_path, ["127.0.0.11", "127.0.0.12"])
    config_path = pool.config()
    good_text = config_path.read_text()
    d = daemons.start(config_path, tmp_path / "d.log")
    d.wait_for_log("my IPv4 address is 127.0.0.11")
    config_path.unlink()
    expected = {
        "deep": "JSON nested deeper than 64 levels",
        "fifo": "is a FIFO: only regular files are read",
        "dev-zero": "is a character device: only regular files are read",
        "directory": "is a directory: only regular files are read",
        "oversized": "more than the limit of 1048576 bytes",
    }[bad]
    if bad == "deep":
        config_path.write_text(deep_config_text())
    elif bad == "fifo":
        os.mkfifo(config_path)
    elif bad == "dev-zero":
        config_path.symlink_to("/dev/zero")
    elif bad == "directory":
        config_path.mkdir()
    else:
        config_path.write_text(good_text + "//" + "x" * (1 << 20))
    d.signal(signal.SIGHUP)
    d.wait_for_log("reload refused, the running configuration stays")
    assert expected in d.log()
    # Still running, on the old config: it removes a dead peer.
    pool.kill("127.0.0.12")
    wait_until(lambda: "127.0.0.12" not in pool.addresses(), what="removal after refused reload")
    assert d.proc.poll() is None


def helper_pid(text):
    """The check helper's pid as the last "helper pid N" of a log says."""
    found = re.findall(r"helper pid (\d+)", text)
    assert found, text
    return int(found[-1])


def children_of(pid):
    out = subprocess.run(["pgrep", "-P", str(pid)], capture_output=True, text=True)
    return [int(p) for p in out.stdout.split()]


def session_members(session):
    """Processes left in the check helper's session (it leads one)."""
    out = subprocess.run(["pgrep", "-s", str(session)], capture_output=True, text=True)
    return [int(p) for p in out.stdout.split()]


def test_the_daemon_forks_no_check_itself(tmp_path, daemons):
    pool = Pool(tmp_path, ["127.0.0.11", "127.0.0.12", "127.0.0.13"])
    d = daemons.start(pool.config(check={"delay": 2}, timer={"interval": 5, "timeout": 3}),
                      tmp_path / "d.log")
    d.wait_for_log("helper pid")
    helper = helper_pid(d.log())
    # While checks run, the daemon's only child is the helper; the checks
    # are the helper's children.
    wait_until(lambda: children_of(helper), what="a check running")
    assert children_of(d.proc.pid) == [helper]


def test_killed_check_helper_fails_its_checks_and_a_new_one_serves_the_next_round(tmp_path,
                                                                                 daemons):
    pool = Pool(tmp_path, ["127.0.0.11", "127.0.0.12", "127.0.0.13"])
    config = pool.config(check={"delay": 1}, timer={"interval": 2, "timeout": 1.5, "retry": 1})
    d = daemons.start(config, tmp_path / "d.log")
    d.wait_for_log("helper pid")
    old = helper_pid(d.log())
    wait_until(lambda: children_of(old), what="checks in flight")
    os.kill(old, signal.SIGKILL)
    d.wait_for_log("the check helper died (killed by signal 9); a new one is started")
    d.wait_for_log("a new check helper is running")
    new = helper_pid(d.log())
    assert new != old
    # The checks it had in flight failed with that reason, as host faults:
    # no peer is judged on them, so nobody was removed.
    assert re.search(r"could not be made.*reason=\"the check helper died \(killed by signal 9\)",
                     d.log())
    assert pool.writes() == []
    # Nothing of the old helper is left, and the new one serves the rounds.
    wait_until(lambda: session_members(old) == [], what="the old helper's checks gone")
    pool.kill("127.0.0.13")
    wait_until(lambda: "127.0.0.13" not in pool.addresses(), what="removal by the new helper")
    assert d.log().count("ERROR   the check helper died") == 1
    assert d.proc.poll() is None


def test_reload_replaces_the_check_helper(tmp_path, daemons):
    pool = Pool(tmp_path, ["127.0.0.11", "127.0.0.12", "127.0.0.13"])
    config_path = pool.config()
    d = daemons.start(config_path, tmp_path / "d.log")
    d.wait_for_log("my IPv4 address is 127.0.0.11")
    old = helper_pid(d.log())
    # The new check section lists .12 as dead in another file: only a new
    # helper, created from it, can know.
    other_dead = tmp_path / "other-dead.txt"
    other_dead.write_text("127.0.0.12\n")
    config = json.loads(config_path.read_text())
    config["check"]["dead_file"] = str(other_dead)
    config_path.write_text(json.dumps(config))
    d.signal(signal.SIGHUP)
    d.wait_for_log("configuration reloaded")
    new = helper_pid(d.log())
    assert new != old
    wait_until(lambda: not os.path.exists(f"/proc/{old}"), what="the old helper gone")
    assert session_members(old) == []
    wait_until(lambda: "127.0.0.12" not in pool.addresses(), what="the new section in effect")
    assert pool.addresses() == ["127.0.0.11", "127.0.0.13"]


def test_sigterm_during_a_round_logs_one_line(tmp_path, daemons):
    peers = [f"127.0.0.{i}" for i in range(12, 42)]
    pool = Pool(tmp_path, ["127.0.0.11", *peers])
    config = pool.config(check={"misbehave": {p: "hang" for p in peers}},
                         timer={"interval": 20, "timeout": 15, "retry": 2})
    d = daemons.start(config, tmp_path / "d.log")
    d.wait_for_log("helper pid")
    helper = helper_pid(d.log())
    wait_until(lambda: len(children_of(helper)) == len(peers), what="every peer's check running")
    d.signal(signal.SIGTERM)
    assert d.wait() == 0
    log = d.log()
    assert "stopping on signal 15 (Terminated) during a round: 30 check(s) were cancelled" in log
    assert "interrupted" not in log
    assert "giving up" not in log and "could not be made" not in log
    assert session_members(helper) == []
    assert pool.writes() == []


@pytest.mark.parametrize("plugin,writes", [
    ("dns-memory", ["remove_many"]),              # ABI 1.1: one atomic write
    ("dns-memory-abi10", ["remove"] * 3),         # built against 1.0: one at a time
])
def test_every_dead_peer_goes_in_the_round_that_finds_it(tmp_path, plugin, writes):
    peers = [f"127.0.0.{i}" for i in range(12, 20)]
    pool = Pool(tmp_path, ["127.0.0.11", *peers])
    pool.kill("127.0.0.19", "127.0.0.13", "127.0.0.15")
    result = pool.once(dns={"plugin": plugin, "state": str(pool.state_path)})
    assert result.returncode == 0, result.stderr
    assert pool.addresses() == ["127.0.0.11", "127.0.0.12", "127.0.0.14", "127.0.0.16",
                                "127.0.0.17", "127.0.0.18"]
    assert [w["op"] for w in pool.writes()] == writes
    for peer in ("127.0.0.13", "127.0.0.15", "127.0.0.19"):
        assert f"removed peer {peer}" in result.stderr


def test_removals_in_one_round_stop_at_min_records(tmp_path):
    pool = Pool(tmp_path, ["127.0.0.11", "127.0.0.12", "127.0.0.13", "127.0.0.14", "127.0.0.15"])
    pool.kill("127.0.0.12", "127.0.0.13", "127.0.0.14")
    result = pool.once(safety={"min_records": 3, "max_dead_fraction": 0.9})
    assert result.returncode == 0, result.stderr
    # Numeric order: .12 and .13 go (in one write), .14 would leave 2 < 3.
    assert pool.addresses() == ["127.0.0.11", "127.0.0.14", "127.0.0.15"]
    assert [w["op"] for w in pool.writes()] == ["remove_many"]
    assert "peer 127.0.0.14 seems dead, but it will not be removed: that would leave fewer " \
           "than safety.min_records (3) records" in result.stderr


# --- names derived from the host name ------------------------------------------

def test_a_name_derived_from_the_host_name_is_managed_and_shown_by_check_config(tmp_path):
    # web-3 of a pool web-1..web-N manages "web.example.test", the fork's
    # sed rule; the note keeps the host's own name.
    pool = Pool(tmp_path, ["127.0.0.12"])
    derived = {"fqdn": "{hostname}.example.test", "hostname": "web-3",
               "hostname_rewrite": "s/-[0-9]+$//", "note": "{hostname}"}
    checked = run(["check-config", "-c", pool.config(name="check", **derived)])
    assert checked.returncode == 0, checked.stderr
    assert "fqdn: web.example.test" in checked.stdout
    assert "hostname: web-3 -> web (hostname_rewrite s/-[0-9]+$//)" in checked.stdout
    result = pool.once(**derived)
    assert result.returncode == 0, result.stderr
    assert pool.state()["records"]["web.example.test/A"] == [
        {"address": SELF, "ttl": 60, "note": "web-3"}]
    assert pool.addresses() == ["127.0.0.12"]  # www.example.test is not this config's name


def test_a_host_name_that_makes_no_valid_name_fails_check_config_and_run(tmp_path):
    pool = Pool(tmp_path, ["127.0.0.12"])
    cfg = pool.config(name="bad", fqdn="{hostname}.example.test", hostname="web-3",
                      hostname_rewrite="s/-[0-9]+$/!/")
    for command in (["check-config", "-c", cfg], ["run", "--once", "-c", cfg]):
        result = run(command)
        assert result.returncode == 2, result.stderr
        assert ('fqdn: "{hostname}.example.test" gives "web!.example.test" on host name "web!", '
                'which is not a host name (see hostname and hostname_rewrite)') in result.stderr
    assert pool.writes() == []
