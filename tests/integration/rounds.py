"""Helpers for the tests of malformed answers and plugin-level safeguards.

One daemon round (`autodnsfailover run --once`) for the tests that show a
malformed answer changes nothing: a host whose own check passes, under one
name, with the dns section the test gives. Every peer passes its check
(check-deadlist with an empty list), so a round that read its set would
add this host at once: a write request that never comes shows the read
failed instead of coming back short."""
import subprocess

from conftest import PLUGIN_DIR, TEST_PLUGIN_DIR, TOOLS_DIR, run, write_config

SELF = "127.0.0.11"


def round_config(tmp_path, dns, fqdn, dead=(), read_from=None, address=SELF, interval=1.0,
                 timeout=0.5, name="round"):
    """A daemon config for `address` under `fqdn` with `dns`, where the
    peers in `dead` fail their checks (check-deadlist) and all others pass;
    written to tmp_path/NAME.json, whose path it returns."""
    dead_file = tmp_path / f"{name}-dead.txt"
    dead_file.write_text("".join(a + "\n" for a in dead))
    config = {
        "fqdn": fqdn,
        "plugin_dirs": [str(PLUGIN_DIR), str(TEST_PLUGIN_DIR)],
        "ipaddr": {"plugin": "static", "address": address},
        "dns": dns,
        "check": {"plugin": "check-deadlist", "dead_file": str(dead_file)},
        "timer": {"plugin": "fixed-interval", "interval": interval, "timeout": timeout,
                  "retry": 1},
        "safety": {"self_check_failure_delay": 0.1},
        "logging": {"level": "debug"},
        "families": [4],
    }
    if read_from is not None:
        config["read_from"] = read_from
    return write_config(tmp_path / f"{name}.json", config)


def one_round(tmp_path, dns, fqdn, read_from=None, address=SELF, name="round"):
    """Runs one round; returns the CompletedProcess (its stderr is the log)."""
    config = round_config(tmp_path, dns, fqdn, read_from=read_from, address=address, name=name)
    return run(["run", "--once", "-c", config])


def assert_round_read_nothing(result):
    """The round ran, failed its read, and says so (exit status 3: the round
    could not do its job); it added nothing."""
    assert result.returncode == 3, result.stderr
    assert "cannot read the A records" in result.stderr, result.stderr
    assert "added myself" not in result.stderr, result.stderr


def dns_call(tmp_path, config, fqdn, address):
    """`adf-dns-call -c CONFIG remove FQDN ADDRESS`: the dns plugin of
    `config` asked to remove `address` from the set it reads, with none of
    the host's safeguards (the daemon and `probe` never ask for the last
    record); returns the CompletedProcess."""
    path = write_config(tmp_path / "dns-call.json", config)
    return subprocess.run([str(TOOLS_DIR / "adf-dns-call"), "-c", str(path), "remove", fqdn,
                           address], capture_output=True, text=True, timeout=60)
