"""The zonefile dns plugin through `autodnsfailover probe`: reads and writes
of a real RFC 1035 zone file, the flock-guarded compare-and-swap, config
errors, the reload command, and real DNS servers (Knot, BIND) serving what
the plugin wrote."""
import fcntl
import os
import shutil
import subprocess
import time
from pathlib import Path

import dns.zone
import pytest

from conftest import (BINARY, base_config, example_config, free_port, probe, record_ttls, run,
                      stop_process, wait_for_port, write_config)
from rounds import dns_call

ZONE = """$TTL 300
$ORIGIN example.test.
; the pool and its neighbours
@       IN SOA ns1 hostmaster ( 2024010101 3600 600 86400 60 )
        IN NS  ns1
ns1     IN A   127.0.0.1
www 120 IN A   192.0.2.1      ; web-1
www 120 IN A   192.0.2.2
www     IN AAAA 2001:db8::1
txt     IN TXT "hello; world"
"""


@pytest.fixture
def zone_file(tmp_path, adf_binary):
    path = tmp_path / "example.test.db"
    path.write_text(ZONE)
    return path


def zonefile_config(path, **keys):
    return base_config(dns={"plugin": "zonefile", "path": str(path), "zone": "example.test",
                            **keys})


def serial(path):
    zone = dns.zone.from_file(str(path), origin="example.test", relativize=False)
    return zone.find_rdataset("example.test.", "SOA")[0].serial


def every_record(path, leave_out=()):
    """The zone's records as comparable tuples, without the SOA and the
    (name, type) pairs in `leave_out`: what must stay untouched."""
    zone = dns.zone.from_file(str(path), origin="example.test", relativize=False)
    out = set()
    for name, ttl, rdata in zone.iterate_rdatas():
        key = (name.to_text().lower(), dns.rdatatype.to_text(rdata.rdtype))
        if key[1] != "SOA" and key not in leave_out:
            out.add((*key, ttl, rdata.to_text()))
    return out


def test_read_prints_a_and_aaaa_records_with_their_ttl(tmp_path, zone_file):
    config = zonefile_config(zone_file)
    assert record_ttls(probe(tmp_path, config, "dns", "read", "www.example.test")) == {
        "192.0.2.1": 120, "192.0.2.2": 120}
    aaaa = probe(tmp_path, config, "dns", "read", "WWW.example.test", "--family", "6")
    assert record_ttls(aaaa) == {"2001:db8::1": 300}
    assert record_ttls(probe(tmp_path, config, "dns", "read", "none.example.test")) == {}


def test_add_joins_the_set_with_its_ttl_and_bumps_the_serial(tmp_path, zone_file):
    config = zonefile_config(zone_file)
    untouched = every_record(zone_file, leave_out={("www.example.test.", "A")})
    result = probe(tmp_path, config, "dns", "add", "www.example.test", "192.0.2.3")
    assert result.returncode == 0, result.stderr
    assert record_ttls(probe(tmp_path, config, "dns", "read", "www.example.test")) == {
        "192.0.2.1": 120, "192.0.2.2": 120, "192.0.2.3": 120}
    assert serial(zone_file) == 2024010102
    assert every_record(zone_file, leave_out={("www.example.test.", "A")}) == untouched


def test_add_to_a_new_name_uses_the_configured_ttl(tmp_path, zone_file):
    config = zonefile_config(zone_file, ttl=33)
    result = probe(tmp_path, config, "dns", "add", "new.example.test", "192.0.2.9")
    assert result.returncode == 0, result.stderr
    assert record_ttls(probe(tmp_path, config, "dns", "read", "new.example.test")) == {
        "192.0.2.9": 33}


def test_remove_takes_the_address_out(tmp_path, zone_file):
    config = zonefile_config(zone_file)
    result = probe(tmp_path, config, "dns", "remove", "www.example.test", "192.0.2.1")
    assert result.returncode == 0, result.stderr
    assert record_ttls(probe(tmp_path, config, "dns", "read", "www.example.test")) == {
        "192.0.2.2": 120}
    assert serial(zone_file) == 2024010102


def test_remove_of_an_absent_address_is_a_conflict(tmp_path, zone_file):
    result = probe(tmp_path, zonefile_config(zone_file), "dns", "remove", "www.example.test",
                   "192.0.2.77")
    assert result.returncode == 4, result.stderr
    assert "192.0.2.77" in result.stderr
    assert zone_file.read_text() == ZONE


def _opened_by(pid, path):
    fd_dir = Path(f"/proc/{pid}/fd")
    try:
        return any(os.path.realpath(fd) == str(path) for fd in fd_dir.iterdir())
    except OSError:
        return False


def test_set_changed_while_waiting_for_the_lock_is_a_conflict_exit_4(tmp_path, zone_file):
    """A true compare-and-swap: the probe reads the set, then waits for the
    lock another writer holds; that writer changes the set; the probe's add
    must then be refused and write nothing."""
    lock_path = tmp_path / "zone.lock"
    config = zonefile_config(zone_file, lock_path=str(lock_path), lock_timeout=20)
    config_path = write_config(tmp_path / "race.json", config)
    with open(lock_path, "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        child = subprocess.Popen([str(BINARY), "probe", "-c", str(config_path), "dns", "add",
                                  "www.example.test", "192.0.2.3"],
                                 stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        try:
            deadline = time.monotonic() + 15
            # The plugin opens the lock file only after the host read the set.
            while not _opened_by(child.pid, lock_path):
                assert child.poll() is None, child.communicate()
                assert time.monotonic() < deadline, "the probe never reached the lock"
                time.sleep(0.01)
            zone_file.write_text(ZONE + "www 120 IN A 192.0.2.4\n")
        finally:
            fcntl.flock(lock, fcntl.LOCK_UN)
        out, err = child.communicate(timeout=30)
    assert child.returncode == 4, err
    assert "192.0.2.4" in err
    assert zone_file.read_text() == ZONE + "www 120 IN A 192.0.2.4\n"


def test_missing_zone_file_is_a_failure_exit_1(tmp_path):
    missing = tmp_path / "missing.db"
    result = probe(tmp_path, zonefile_config(missing), "dns", "read", "www.example.test")
    assert result.returncode == 1, result.stderr
    assert str(missing) in result.stderr
    assert result.stdout.strip() == ""


def test_garbage_zone_file_is_a_failure_naming_the_line(tmp_path, zone_file):
    zone_file.write_text(ZONE + "bad IN A 999.1.1.1\n")
    result = probe(tmp_path, zonefile_config(zone_file), "dns", "read", "www.example.test")
    assert result.returncode == 1, result.stderr
    assert "line 11" in result.stderr
    assert result.stdout.strip() == ""


def test_remove_of_the_last_record_is_refused_by_the_plugin_itself(tmp_path, zone_file):
    before = zone_file.read_text()
    result = dns_call(tmp_path, zonefile_config(zone_file), "www.example.test", "2001:db8::1")
    assert result.returncode == 1, result.stderr
    assert "refusing to remove 2001:db8::1, the last" in result.stderr
    assert "a pool is never emptied" in result.stderr
    assert zone_file.read_text() == before


@pytest.mark.parametrize("fqdn, path", [("www.other.test", "fqdn"),
                                        (["www.example.test", "www.example.testing"], "fqdn[1]")])
def test_a_configured_name_outside_the_zone_fails_check_config(tmp_path, zone_file, fqdn, path):
    config = zonefile_config(zone_file)
    config["fqdn"] = fqdn
    result = run(["check-config", "-c", write_config(tmp_path / "outside.json", config)])
    assert result.returncode == 2, result.stderr
    outside = fqdn if isinstance(fqdn, str) else fqdn[1]
    assert (f"{path}: plugin zonefile (dns) cannot manage {outside}: {outside} is outside the "
            f"zone example.test of zone file {zone_file}") in result.stderr


def test_name_outside_the_zone_is_a_failure_naming_both(tmp_path, zone_file):
    result = probe(tmp_path, zonefile_config(zone_file), "dns", "read", "www.other.test")
    assert result.returncode == 1
    assert "www.other.test" in result.stderr and "example.test" in result.stderr


@pytest.mark.parametrize("keys, named", [
    ({"pathh": "x"}, "dns.pathh"),
    ({"ttl": 0}, "dns.ttl"),
    ({"reload_command": "knotc zone-reload example.test"}, "dns.reload_command"),
    ({"reload_command": []}, "dns.reload_command"),
])
def test_bad_config_is_exit_2_naming_the_key(tmp_path, zone_file, keys, named):
    result = probe(tmp_path, zonefile_config(zone_file, **keys), "dns", "read", "www.example.test")
    assert result.returncode == 2
    assert named in result.stderr


def test_missing_required_keys_and_directory_are_exit_2(tmp_path, adf_binary):
    config = base_config(dns={"plugin": "zonefile"})
    result = probe(tmp_path, config, "dns", "read", "www.example.test")
    assert result.returncode == 2
    assert "dns.path" in result.stderr and "dns.zone" in result.stderr
    result = probe(tmp_path, zonefile_config(tmp_path / "no-such-dir" / "z.db"), "dns", "read",
                   "www.example.test")
    assert result.returncode == 2
    assert "dns.path" in result.stderr and "no-such-dir" in result.stderr


def test_reload_command_runs_after_a_change(tmp_path, zone_file):
    marker = tmp_path / "reloaded"
    config = zonefile_config(zone_file, reload_command=["touch", str(marker)])
    result = probe(tmp_path, config, "dns", "add", "www.example.test", "192.0.2.3")
    assert result.returncode == 0, result.stderr
    assert marker.exists()


def test_reload_command_failure_is_a_warning_and_the_change_stands(tmp_path, zone_file):
    config = zonefile_config(zone_file, reload_command=["sh", "-c", "echo no server >&2; exit 7"])
    result = probe(tmp_path, config, "dns", "add", "www.example.test", "192.0.2.3")
    assert result.returncode == 0, result.stderr
    log = result.stdout + result.stderr
    assert "status 7" in log and "no server" in log
    assert "192.0.2.3" in record_ttls(probe(tmp_path, zonefile_config(zone_file), "dns", "read",
                                            "www.example.test"))


def dig(port, name, rdtype="A"):
    result = subprocess.run(["dig", f"@127.0.0.1", "-p", str(port), name, rdtype, "+short",
                             "+time=2", "+tries=2"], capture_output=True, text=True, timeout=15)
    assert result.returncode == 0, result.stdout + result.stderr
    return set(result.stdout.split())


def wait_for_answer(port, name, wanted, timeout=10.0):
    deadline = time.monotonic() + timeout
    while True:
        got = dig(port, name)
        if got == wanted or time.monotonic() > deadline:
            return got
        time.sleep(0.05)


@pytest.fixture
def knot(tmp_path, zone_file):
    """knotd serving zone_file on a high port, with a control socket for
    `knotc zone-reload`; never writes the zone file back."""
    if not shutil.which("knotd"):
        pytest.skip("knotd is not installed")
    run_dir = tmp_path / "knot"
    run_dir.mkdir()
    port = free_port()
    socket_path = run_dir / "knot.sock"
    (run_dir / "knot.conf").write_text(f"""
server:
    rundir: "{run_dir}"
    listen: 127.0.0.1@{port}
control:
    listen: "{socket_path}"
log:
  - target: stderr
    any: warning
database:
    storage: "{run_dir}"
template:
  - id: default
    storage: "{run_dir}"
    zonefile-sync: -1
    zonefile-load: whole
    journal-content: none
zone:
  - domain: example.test
    file: "{zone_file}"
""")
    server = subprocess.Popen(["knotd", "-c", str(run_dir / "knot.conf")],
                              stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    try:
        wait_for_port("127.0.0.1", port)
        yield port, ["knotc", "-s", str(socket_path), "-b", "zone-reload", "example.test"]
    finally:
        stop_process(server)


def test_knot_serves_the_changes_after_the_reload_command(tmp_path, zone_file, knot):
    port, reload_command = knot
    assert wait_for_answer(port, "www.example.test", {"192.0.2.1", "192.0.2.2"}) == {
        "192.0.2.1", "192.0.2.2"}
    config = zonefile_config(zone_file, reload_command=reload_command)
    result = probe(tmp_path, config, "dns", "add", "www.example.test", "192.0.2.3")
    assert result.returncode == 0, result.stderr
    assert "WARNING" not in result.stderr, result.stderr
    assert wait_for_answer(port, "www.example.test", {"192.0.2.1", "192.0.2.2", "192.0.2.3"}) \
        == {"192.0.2.1", "192.0.2.2", "192.0.2.3"}
    result = probe(tmp_path, config, "dns", "remove", "www.example.test", "192.0.2.1")
    assert result.returncode == 0, result.stderr
    assert wait_for_answer(port, "www.example.test", {"192.0.2.2", "192.0.2.3"}) == {
        "192.0.2.2", "192.0.2.3"}
    assert dig(port, "txt.example.test", "TXT") == {'"hello;', 'world"'}


def test_bind_loads_the_zone_the_plugin_wrote(tmp_path, zone_file):
    if not shutil.which("named"):
        pytest.skip("named is not installed")
    config = zonefile_config(zone_file)
    for args in (("add", "www.example.test", "192.0.2.3"),
                 ("remove", "www.example.test", "192.0.2.1"),
                 ("add", "new.example.test", "2001:db8::7")):
        result = probe(tmp_path, config, "dns", *args)
        assert result.returncode == 0, result.stderr
    run_dir = tmp_path / "named"
    run_dir.mkdir()
    port = free_port()
    (run_dir / "named.conf").write_text(f"""
options {{ directory "{run_dir}"; pid-file "{run_dir}/named.pid"; listen-on port {port} {{ 127.0.0.1; }};
  listen-on-v6 {{ none; }}; recursion no; allow-query {{ any; }}; dnssec-validation no;
  session-keyfile "{run_dir}/session.key"; managed-keys-directory "{run_dir}"; }};
controls {{ }};
zone "example.test" {{ type primary; file "{zone_file}"; }};
""")
    server = subprocess.Popen(["named", "-g", "-c", str(run_dir / "named.conf")],
                              stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    try:
        wait_for_port("127.0.0.1", port)
        assert wait_for_answer(port, "www.example.test", {"192.0.2.2", "192.0.2.3"}) == {
            "192.0.2.2", "192.0.2.3"}
        assert dig(port, "new.example.test", "AAAA") == {"2001:db8::7"}
        assert dig(port, "example.test", "SOA") >= {"2024010104"}
    finally:
        stop_process(server)


def test_example_config_passes_check_config(tmp_path, adf_binary):
    """etc/zonefile-example.json, with its directory moved to tmp_path."""
    config = example_config(tmp_path, "zonefile-example.json", [("/var/lib/knot/", f"{tmp_path}/")])
    result = run(["check-config", "-c", config])
    assert result.returncode == 0, result.stderr
    assert "zonefile" in result.stdout
