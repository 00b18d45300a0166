"""The metrics a running daemon serves on metrics.listen (and writes to a
node_exporter textfile), scraped after a scripted sequence (a peer dies and
is removed, a conditional write conflicts, the provider fails a read) and
checked value by value, the exposition read by real parsers: Prometheus'
`promtool check metrics` and the Python client's text parser."""
import shutil
import subprocess
import time
import urllib.request

import pytest
from prometheus_client.parser import text_string_to_metric_families

from conftest import free_port, wait_until
from memory_pool import FQDN, SELF, Pool

SET = {"fqdn": FQDN, "type": "A"}


def samples(text):
    """{(name, frozenset(labels)): value} of an exposition."""
    out = {}
    for family in text_string_to_metric_families(text):
        for s in family.samples:
            out[(s.name, frozenset(s.labels.items()))] = s.value
    return out


def value(parsed, name, **labels):
    return parsed.get((name, frozenset(labels.items())))


def scrape(port):
    with urllib.request.urlopen(f"http://127.0.0.1:{port}/metrics", timeout=5) as answer:
        assert answer.headers["Content-Type"].startswith("text/plain; version=0.0.4")
        return answer.read().decode()


def test_metrics_after_a_removal_a_conflict_and_a_provider_error(tmp_path, daemons):
    if shutil.which("promtool") is None:
        pytest.fail("promtool is missing: make deps-test installs Debian's prometheus package")
    pool = Pool(tmp_path, [SELF, "127.0.0.12", "127.0.0.13", "127.0.0.14"])
    port = free_port()
    textfile = tmp_path / "autodnsfailover.prom"
    started = time.time()
    d = daemons.start(pool.config(metrics={"listen": f"127.0.0.1:{port}",
                                           "textfile": str(textfile)}),
                      tmp_path / "d.log")
    d.wait_for_log(f"serving metrics on http://127.0.0.1:{port}/metrics")
    # A peer dies and is removed.
    pool.kill("127.0.0.13")
    wait_until(lambda: "127.0.0.13" not in pool.addresses(), what="the first removal")
    # Another dies; the first write to remove it conflicts, the next round's works.
    pool.set_flags(conflict_next_write=True)
    pool.kill("127.0.0.14")
    wait_until(lambda: "127.0.0.14" not in pool.addresses(), what="the second removal")
    assert [w["op"] for w in pool.writes()] == ["remove", "conflicted", "remove"]
    # The provider fails reads for a while.
    pool.kill()
    pool.set_flags(fail_read=True, transient=True)
    d.wait_for_log("cannot read the A records: transient")
    pool.set_flags(fail_read=False)
    d.wait_for_log("no longer so after")
    time.sleep(0.5)  # a round or two after it: the gauges are the set's again

    text = scrape(port)
    check = subprocess.run(["promtool", "check", "metrics"], input=text, capture_output=True,
                           text=True, timeout=30)
    assert check.returncode == 0, check.stdout + check.stderr
    m = samples(text)
    assert value(m, "autodnsfailover_removals_total", **SET) == 2
    assert value(m, "autodnsfailover_conflicts_total", operation="remove", **SET) == 1
    assert value(m, "autodnsfailover_provider_errors_total", backend="dns-memory",
                 operation="read", kind="transient") >= 1
    assert value(m, "autodnsfailover_events_total", event="peer_removed") == 2
    assert value(m, "autodnsfailover_events_total", event="read_failed") >= 1
    assert value(m, "autodnsfailover_rounds_total", result="failed") >= 1
    assert value(m, "autodnsfailover_rounds_total", result="ok") >= 3
    assert value(m, "autodnsfailover_records", **SET) == 2
    assert value(m, "autodnsfailover_peers", state="alive", **SET) == 1
    assert value(m, "autodnsfailover_peers", state="dead", **SET) == 0
    assert value(m, "autodnsfailover_checks_total", plugin="check-deadlist", result="dead") >= 2
    assert value(m, "autodnsfailover_checks_total", plugin="check-deadlist", result="alive") >= 3
    assert value(m, "autodnsfailover_removals_refused_total", reason="min_records", **SET) is None
    assert value(m, "autodnsfailover_self_check_failures_total") == 0
    assert value(m, "autodnsfailover_notifications_total", channel="webhook",
                 result="delivered") == 0
    assert started <= value(m, "autodnsfailover_last_successful_round_timestamp_seconds") \
        <= time.time()
    assert value(m, "autodnsfailover_round_duration_seconds_count") >= 3
    assert value(m, "autodnsfailover_build_info", version="0.1.0", abi="1.1") == 1

    # The textfile holds the same model, written whole after each round.
    wait_until(textfile.exists, what="the textfile")
    t = samples(textfile.read_text())
    assert value(t, "autodnsfailover_removals_total", **SET) == 2
    assert not (tmp_path / "autodnsfailover.prom.tmp").exists()

    with urllib.request.urlopen(f"http://127.0.0.1:{port}/", timeout=5) as answer:
        assert b"/metrics" in answer.read()
    with pytest.raises(urllib.error.HTTPError) as missing:
        urllib.request.urlopen(f"http://127.0.0.1:{port}/nothing", timeout=5)
    assert missing.value.code == 404


def test_a_metrics_address_in_use_is_a_start_error(tmp_path):
    import socket
    with socket.socket() as busy:
        busy.bind(("127.0.0.1", 0))
        busy.listen(1)
        port = busy.getsockname()[1]
        pool = Pool(tmp_path, [SELF])
        result = pool.once(metrics={"listen": f"127.0.0.1:{port}"})
    assert result.returncode == 2, result.stderr
    assert f"metrics.listen: cannot listen on 127.0.0.1:{port}: Address already in use" in \
        result.stderr


def test_a_reload_moves_the_metrics_listener_and_a_refused_one_keeps_it(tmp_path, daemons):
    import signal
    import socket
    pool = Pool(tmp_path, [SELF, "127.0.0.12"])
    first, second = free_port(), free_port()
    config = pool.config(metrics={"listen": f"127.0.0.1:{first}"})
    d = daemons.start(config, tmp_path / "d.log")
    d.wait_for_log(f"serving metrics on http://127.0.0.1:{first}/metrics")
    assert "autodnsfailover_rounds_total" in scrape(first)
    # A reload naming an address in use is refused; the listener stays.
    with socket.socket() as busy:
        busy.bind(("127.0.0.1", 0))
        busy.listen(1)
        pool.config(metrics={"listen": f"127.0.0.1:{busy.getsockname()[1]}"})
        d.signal(signal.SIGHUP)
        d.wait_for_log("reload refused, the running configuration stays")
        assert "metrics.listen: cannot listen on" in d.log()
        assert "autodnsfailover_rounds_total" in scrape(first)
    pool.config(metrics={"listen": f"127.0.0.1:{second}"})
    d.signal(signal.SIGHUP)
    d.wait_for_log(f"serving metrics on http://127.0.0.1:{second}/metrics")
    assert "autodnsfailover_rounds_total" in scrape(second)
    with pytest.raises(OSError):
        scrape(first)
