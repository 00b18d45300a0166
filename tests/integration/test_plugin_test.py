"""`autodnsfailover plugin-test`: the in-tree plugins and the SDK examples
pass it; plugins that break a rule of plugin.h (test plugins that do so on
purpose) are caught, each with a FAIL line naming the rule and exit status 1;
setup problems exit 2."""
import json
import subprocess

import pytest

from conftest import BUILD, PLUGIN_DIR, REPO, TEST_PLUGIN_DIR, run, silent_tcp_port
from sdk_examples import EXAMPLES, build_example, exported_symbols

ZONE = """$ORIGIN example.test.
$TTL 60
@    IN SOA ns1.example.test. hostmaster.example.test. 1 3600 600 86400 60
@    IN NS  ns1.example.test.
ns1  IN A   127.0.0.53
"""


def plugin_test(tmp_path, plugin, section=None, *args, timeout=120):
    """Runs plugin-test on `plugin` with `section` (a dict) as its config."""
    command = ["plugin-test", str(plugin)]
    if section is not None:
        path = tmp_path / f"section-{len(list(tmp_path.glob('section-*')))}.json"
        path.write_text(json.dumps(section))
        command += ["-c", str(path)]
    return run([*command, *map(str, args)], timeout=timeout)


def lines(result, tag):
    """The report lines of one tag ("ok", "FAIL", "warn", "skip")."""
    return [line.strip()[len(tag):].strip() for line in result.stdout.splitlines()
            if line.strip().startswith(tag + " ")]


def assert_holds(result):
    assert result.returncode == 0, result.stdout + result.stderr
    assert lines(result, "FAIL") == []
    assert "result: " in result.stdout and " 0 fail" in result.stdout


def assert_caught(result, *fragments):
    assert result.returncode == 1, result.stdout + result.stderr
    failures = "\n".join(lines(result, "FAIL"))
    for fragment in fragments:
        assert fragment in failures, result.stdout


@pytest.fixture(scope="module")
def sdk_examples(tmp_path_factory):
    """Both examples, built against the SDK installed with
    `cmake --install --component dev --prefix` (not the source tree)."""
    root = tmp_path_factory.mktemp("sdk")
    prefix = root / "prefix"
    install = subprocess.run(["cmake", "--install", str(BUILD), "--prefix", str(prefix),
                              "--component", "dev"], capture_output=True, text=True, timeout=300)
    assert install.returncode == 0, install.stderr
    examples = prefix / "share" / "doc" / "autodnsfailover-dev" / "examples"
    return {name: build_example(examples / name, root / name, prefix) for name in EXAMPLES}


# --- dns --------------------------------------------------------------------

def test_zonefile_keeps_the_dns_contract(tmp_path):
    zone = tmp_path / "example.test.zone"
    zone.write_text(ZONE)
    result = plugin_test(tmp_path, PLUGIN_DIR / "zonefile.so",
                         {"plugin": "zonefile", "path": str(zone), "zone": "example.test"},
                         "--name", "scratch.example.test")
    assert_holds(result)
    oks = "\n".join(lines(result, "ok"))
    for rule in ("add 192.0.2.3 expecting the stale {192.0.2.1}: conflict, nothing changed",
                 "remove 192.0.2.1 expecting the stale {192.0.2.1 192.0.2.3}: conflict",
                 "add 2001:db8::1 to the empty scratch.example.test AAAA",
                 "changes to AAAA leave the A set alone",
                 "five more reads open no more descriptors"):
        assert rule in oks, result.stdout


def test_dns_memory_keeps_notes_and_is_warned_for_removing_the_last_record(tmp_path):
    state = tmp_path / "state.json"
    state.write_text(json.dumps({"records": {}}))
    result = plugin_test(tmp_path, TEST_PLUGIN_DIR / "dns-memory.so", {"state": str(state)},
                         "--name", "scratch.example.test")
    assert_holds(result)
    assert any("the note is kept (ADF_DNS_NOTES)" in line for line in lines(result, "ok"))
    assert any("removed the last record" in line for line in lines(result, "warn"))
    assert json.loads(state.read_text())["records"].get("scratch.example.test/A", []) == []


def test_a_dns_plugin_without_compare_and_swap_is_caught(tmp_path):
    state = tmp_path / "state.json"
    state.write_text(json.dumps({"records": {}, "ignore_expected": True}))
    result = plugin_test(tmp_path, TEST_PLUGIN_DIR / "dns-memory.so", {"state": str(state)},
                         "--name", "scratch.example.test")
    assert_caught(result,
                  "add 192.0.2.3 expecting the stale {192.0.2.1}: returned ok",
                  "it must return conflict and change nothing")


def test_a_scratch_name_with_records_is_refused_with_exit_2(tmp_path):
    state = tmp_path / "state.json"
    state.write_text(json.dumps({"records": {"www.example.test/A": [
        {"address": "127.0.0.11", "ttl": 60, "note": ""}]}}))
    result = plugin_test(tmp_path, TEST_PLUGIN_DIR / "dns-memory.so", {"state": str(state)},
                         "--name", "www.example.test")
    assert result.returncode == 2
    assert "www.example.test A has records (127.0.0.11)" in result.stderr
    assert len(json.loads(state.read_text())["records"]["www.example.test/A"]) == 1


def test_setup_errors_exit_2_naming_what_is_wrong(tmp_path):
    no_name = plugin_test(tmp_path, TEST_PLUGIN_DIR / "dns-memory.so", {"state": "/tmp/x"})
    assert no_name.returncode == 2 and "--name" in no_name.stderr
    bad_key = plugin_test(tmp_path, PLUGIN_DIR / "tcp-check.so", {"prot": 80})
    assert bad_key.returncode == 2 and "check.prot" in bad_key.stderr
    not_plugin = plugin_test(tmp_path, TEST_PLUGIN_DIR / "not-elf.so")
    assert not_plugin.returncode == 2 and "not a loadable shared object" in not_plugin.stderr
    (tmp_path / "broken.json").write_text("{")
    bad_json = run(["plugin-test", PLUGIN_DIR / "static.so", "-c", tmp_path / "broken.json"])
    assert bad_json.returncode == 2 and "broken.json" in bad_json.stderr


# --- check ------------------------------------------------------------------

def test_tcp_check_keeps_its_timeout_on_a_silent_peer(tmp_path):
    with silent_tcp_port("127.0.0.14") as port:
        result = plugin_test(tmp_path, PLUGIN_DIR / "tcp-check.so", {"port": port},
                             "--address", "127.0.0.1", "--address", "::1",
                             "--silent-address", "127.0.0.14", "--timeout", "0.5")
    assert_holds(result)
    oks = "\n".join(lines(result, "ok"))
    assert "check 127.0.0.14 returned within its timeout" in oks
    assert "check 127.0.0.14 (silent) is dead" in oks
    assert "check 127.0.0.1 left no process behind" in oks


def test_without_a_silent_address_the_timeout_rule_is_skipped(tmp_path):
    result = plugin_test(tmp_path, PLUGIN_DIR / "tcp-check.so", {"port": 9})
    assert_holds(result)
    assert any("--silent-address" in line for line in lines(result, "skip"))


def test_exec_check_replacing_itself_with_a_program_is_understood(tmp_path):
    result = plugin_test(tmp_path, PLUGIN_DIR / "exec-check.so", {"command": ["/bin/false"]})
    assert_holds(result)
    assert "dead" in result.stdout


def test_a_check_that_execs_a_program_is_judged_by_its_exit_status(tmp_path):
    result = plugin_test(tmp_path, TEST_PLUGIN_DIR / "check-rulebreaker.so", {"fault": "execve"})
    assert_holds(result)
    assert "replaced itself with a program (execve), which exited with status 1: dead" in \
        result.stdout


def test_a_check_that_ignores_its_timeout_is_caught(tmp_path):
    result = plugin_test(tmp_path, TEST_PLUGIN_DIR / "check-hang.so", None, "--timeout", "0.3")
    assert_caught(result, "check 127.0.0.1 did not return within its timeout of 0.30 s")


def test_a_check_that_leaves_a_process_is_caught(tmp_path):
    result = plugin_test(tmp_path, TEST_PLUGIN_DIR / "check-orphan.so")
    assert_caught(result, "check 127.0.0.1 left process(es) running in its process group")


@pytest.mark.parametrize("fault, caught", [
    ("leak_fd", "check 127.0.0.1 left descriptors open: "),
    ("leave_thread", "check 127.0.0.1 left 1 thread(s) running"),
    ("no_reason", "check 127.0.0.1 said dead without set_error()"),
    ("late", "check 127.0.0.1 returned after "),
    ("inherited_fd", "create() keeps descriptor(s) without FD_CLOEXEC: "),
    ("thread_in_create", "create() left 1 thread(s) running"),
    ("leak_in_destroy", "after destroy(), descriptors are still open: "),
])
def test_each_broken_rule_is_caught(tmp_path, fault, caught):
    result = plugin_test(tmp_path, TEST_PLUGIN_DIR / "check-rulebreaker.so", {"fault": fault},
                         "--timeout", "0.3")
    assert_caught(result, caught)


def test_a_slow_create_is_a_warning_and_a_clean_check_passes(tmp_path):
    slow = plugin_test(tmp_path, TEST_PLUGIN_DIR / "check-rulebreaker.so",
                       {"fault": "slow_create"})
    assert_holds(slow)
    assert any(line.startswith("create() took 1.") for line in lines(slow, "warn"))
    assert_holds(plugin_test(tmp_path, TEST_PLUGIN_DIR / "check-rulebreaker.so",
                             {"fault": "none"}))


# --- ipaddr, timer ------------------------------------------------------------

def test_static_and_fixed_interval_keep_their_contracts(tmp_path):
    static = plugin_test(tmp_path, PLUGIN_DIR / "static.so", {"address": "192.0.2.11"})
    assert_holds(static)
    assert "own IPv4 address: 192.0.2.11" in static.stdout
    assert "own IPv6 address: absent" in static.stdout
    timer = plugin_test(tmp_path, PLUGIN_DIR / "fixed-interval.so",
                        {"interval": 10, "timeout": 2, "retry": 3})
    assert_holds(timer)
    assert "check_timeout() is 2.00 s" in timer.stdout and "retry() is 3" in timer.stdout


# --- the SDK examples -------------------------------------------------------------

def test_sdk_examples_export_only_their_descriptor(sdk_examples):
    for plugin in sdk_examples.values():
        exported = [s for s in exported_symbols(plugin) if not s.startswith("_")]
        assert exported == ["autodnsfailover_plugin"], (plugin, exported)


def test_sdk_check_example_passes_plugin_test(tmp_path, sdk_examples):
    with silent_tcp_port("127.0.0.14") as port:
        result = plugin_test(tmp_path, sdk_examples["port-check"], {"port": port},
                             "--silent-address", "127.0.0.14", "--timeout", "0.5")
    assert_holds(result)
    assert "check 127.0.0.14 (silent) is dead" in result.stdout


def test_sdk_dns_example_passes_plugin_test_with_a_real_compare_and_swap(tmp_path, sdk_examples):
    database = tmp_path / "pool.db"
    result = plugin_test(tmp_path, sdk_examples["sqlite-dns"], {"path": str(database)},
                         "--name", "scratch.example.test")
    assert_holds(result)
    oks = "\n".join(lines(result, "ok"))
    assert "conflict, nothing changed" in oks
    assert "refuses to remove the last record" in oks
    assert "the note is kept (ADF_DNS_NOTES)" in oks


def test_sdk_example_build_files_are_short_and_use_the_installed_package():
    for name in EXAMPLES:
        lists = (REPO / "sdk" / "examples" / name / "CMakeLists.txt").read_text()
        assert "find_package(AutoDnsFailoverSDK REQUIRED)" in lists
        assert len([l for l in lists.splitlines() if l and not l.startswith("#")]) <= 10
