"""The Debian packages as an SRE and a plugin author meet them. cpack builds
them from this build tree; they are lintian clean (but for the overrides
that say why); `apt-get install ./*.deb` installs them on this machine; the
daemon runs (--version, plugins, check-config on the shipped conffile), its
man page is found, the unit verifies and scores at most 4.0 in
`systemd-analyze security`; both SDK examples build out of tree against the
installed -dev package alone, pass plugin-test, and run a two-daemon pool;
then removing the packages leaves nothing but the conffile, and purging
removes that, the state directory and the system user.

The machine is left as it was found, also when a test fails: the module's
fixture purges whatever it installed and removes the user. It is skipped
when autodnsfailover is already installed here (it must not be clobbered)
or without root and apt."""
import os
import re
import shutil
import signal
import subprocess
import time
from pathlib import Path

import pytest

from conftest import BUILD, TOOLS_DIR, free_port, silent_tcp_port, stop_process, wait_for_port, \
    wait_until, write_config
from sdk_examples import EXAMPLES, build_example, exported_symbols

PACKAGES = ["autodnsfailover", "autodnsfailover-dev"]
USER = "autodnsfailover"
CONFFILE = Path("/etc/autodnsfailover/autodnsfailover.json")
STATE_DIR = Path("/var/lib/autodnsfailover")
UNIT = Path("/lib/systemd/system/autodnsfailover.service")
SBIN = Path("/usr/sbin/autodnsfailover")
PLUGINS = Path("/usr/lib/autodnsfailover/plugins")
EXAMPLES_DIR = Path("/usr/share/doc/autodnsfailover-dev/examples")
APT = ["apt-get", "-y", "-q", "-o", "DPkg::Lock::Timeout=300"]
MAX_EXPOSURE = 4.0


def sh(*command, check=True, timeout=600, **kwargs):
    result = subprocess.run([str(c) for c in command], capture_output=True, text=True,
                            timeout=timeout, **kwargs)
    if check:
        assert result.returncode == 0, f"{command}:\n{result.stdout}\n{result.stderr}"
    return result


def package_state(name):
    """dpkg's status ("install ok installed", "deinstall ok config-files"),
    or "not-installed" for a package dpkg knows nothing of (any more)."""
    result = sh("dpkg-query", "-W", "-f=${Status}", name, check=False)
    state = result.stdout.strip()
    return state if result.returncode == 0 and not state.endswith("not-installed") \
        else "not-installed"


def user_exists(name):
    return sh("getent", "passwd", name, check=False).returncode == 0


def group_exists(name):
    return sh("getent", "group", name, check=False).returncode == 0


@pytest.fixture(scope="module")
def debs(tmp_path_factory):
    if os.geteuid() != 0 or not shutil.which("apt-get") or not shutil.which("cpack"):
        pytest.skip("the package test needs root, apt-get and cpack")
    missing = [tool for tool in ("dpkg-shlibdeps", "lintian", "systemd-analyze", "man")
               if not shutil.which(tool)]
    if missing:
        pytest.skip(f"not installed: {missing} (make deps-test installs them)")
    if "ADF_SANITIZE:BOOL=ON" in (BUILD / "CMakeCache.txt").read_text():
        pytest.skip("a sanitized build is not packaged")
    out = tmp_path_factory.mktemp("debs")
    sh("cpack", "-G", "DEB", "--config", BUILD / "CPackConfig.cmake", "-B", out, timeout=900)
    found = {re.sub(r"_.*", "", p.name): p for p in out.glob("*.*deb")}
    assert set(found) == {"autodnsfailover", "autodnsfailover-dev", "autodnsfailover-dbgsym"}, found
    return found


def control_field(deb, field):
    return sh("dpkg-deb", "--field", deb, field).stdout.strip()


def contents(deb):
    """Paths in the package, without the leading '.'."""
    out = sh("dpkg-deb", "--contents", deb).stdout
    return [line.split()[-1].lstrip(".") for line in out.splitlines()]


def test_packages_are_lintian_clean(debs):
    result = sh("lintian", "--fail-on", "error,warning", "--display-level", ">=warning",
                debs["autodnsfailover"], debs["autodnsfailover-dev"], check=False, timeout=600)
    assert result.returncode == 0, result.stdout + result.stderr
    tags = [line for line in result.stdout.splitlines() if re.match(r"^[EW]: ", line)]
    assert tags == [], result.stdout


def test_runtime_package_is_stripped_with_symbols_apart(debs, tmp_path):
    deb = debs["autodnsfailover"]
    paths = contents(deb)
    for wanted in (str(SBIN), str(UNIT), str(CONFFILE), "/usr/share/man/man8/autodnsfailover.8.gz",
                   "/usr/share/man/man5/autodnsfailover.json.5.gz",
                   "/usr/share/doc/autodnsfailover/copyright",
                   "/usr/share/doc/autodnsfailover/changelog.Debian.gz",
                   str(PLUGINS / "tcp-check.so")):
        assert wanted in paths, wanted
    assert not [p for p in paths if p.startswith("/usr/include")], "headers belong to -dev"
    sh("dpkg-deb", "--extract", deb, tmp_path)
    file_type = sh("file", "-b", tmp_path / SBIN.relative_to("/")).stdout
    assert "stripped" in file_type and "not stripped" not in file_type, file_type
    control = tmp_path / "control"
    sh("dpkg-deb", "--control", deb, control)
    assert (control / "conffiles").read_text().split() == [str(CONFFILE)]
    for script in ("postinst", "prerm", "postrm"):
        assert os.access(control / script, os.X_OK), script
    assert "adduser" in control_field(deb, "Depends")
    dbgsym = contents(debs["autodnsfailover-dbgsym"])
    assert [p for p in dbgsym if p.startswith("/usr/lib/debug/.build-id/") and p.endswith(".debug")]
    assert control_field(debs["autodnsfailover-dev"], "Architecture") == "all"
    sizes = {name: deb.stat().st_size for name, deb in debs.items()}
    print("package sizes:", {name: f"{size / 1e6:.2f} MB" for name, size in sizes.items()})
    assert sizes["autodnsfailover"] < 4e6, sizes


@pytest.fixture(scope="module")
def installed(debs):
    """Both packages installed with apt; purged afterwards whatever happens."""
    states = {name: package_state(name) for name in PACKAGES}
    if any(state != "not-installed" for state in states.values()):
        pytest.skip(f"autodnsfailover is already installed here ({states}): not touching it")
    if user_exists(USER):
        pytest.skip(f"a user {USER} already exists here: not touching it")
    try:
        sh(*APT, "install", debs["autodnsfailover"], debs["autodnsfailover-dev"],
           env={**os.environ, "DEBIAN_FRONTEND": "noninteractive"}, timeout=900)
        yield
    finally:
        for name in PACKAGES:
            if package_state(name) != "not-installed":
                sh("dpkg", "--purge", name, check=False)
        if user_exists(USER):
            sh("userdel", USER, check=False)
        if group_exists(USER):
            sh("groupdel", USER, check=False)
        shutil.rmtree(STATE_DIR, ignore_errors=True)


def test_installed_daemon_runs_on_the_shipped_config(installed):
    assert SBIN.is_file()
    version = sh(SBIN, "--version").stdout
    assert "autodnsfailover" in version and "plugin ABI" in version
    listing = sh(SBIN, "plugins").stdout
    assert f"plugin directories: {PLUGINS}" in listing
    for name in ("zonefile", "route53", "tcp-check", "icmp-check", "fixed-interval", "static"):
        assert f" {name} " in listing, listing
    assert "refused" not in listing
    check = sh(SBIN, "check-config", "-c", CONFFILE)
    assert "configuration OK" in check.stdout
    assert sh("man", "-w", "autodnsfailover").stdout.strip() == \
        "/usr/share/man/man8/autodnsfailover.8.gz"
    assert sh("man", "-w", "5", "autodnsfailover.json").returncode == 0
    assert sh("man", "-w", "7", "autodnsfailover-plugin").returncode == 0


def test_the_system_user_exists_and_owns_the_state_directory(installed):
    entry = sh("getent", "passwd", USER).stdout.strip().split(":")
    assert int(entry[2]) < 1000, entry  # a system user
    assert entry[5] == str(STATE_DIR) and entry[6].endswith("nologin"), entry
    info = STATE_DIR.stat()
    assert (info.st_uid, oct(info.st_mode & 0o777)) == (int(entry[2]), "0o750")


def test_unit_runs_as_the_user_with_cap_net_raw_only_and_verifies(installed):
    unit = UNIT.read_text()
    for line in (f"User={USER}", "AmbientCapabilities=CAP_NET_RAW",
                 "CapabilityBoundingSet=CAP_NET_RAW",
                 f"ExecStart={SBIN} run -c {CONFFILE}",
                 "Documentation=man:autodnsfailover(8) man:autodnsfailover.json(5)"):
        assert line in unit.splitlines(), line
    verify = sh("systemd-analyze", "verify", UNIT, check=False)
    assert verify.returncode == 0, verify.stdout + verify.stderr
    assert verify.stderr.strip() == "", verify.stderr


def test_unit_is_type_notify_with_a_watchdog_and_the_control_sockets_directory(installed):
    lines = UNIT.read_text().splitlines()
    for line in ("Type=notify", "NotifyAccess=main", "WatchdogSec=120",
                 "RuntimeDirectory=autodnsfailover", "RuntimeDirectoryMode=0750"):
        assert line in lines, line
    assert "Type=simple" not in lines


def test_unit_exposure_is_at_most_4(installed):
    result = sh("systemd-analyze", "security", "--offline=true", "--no-pager", UNIT, check=False)
    match = re.search(r"Overall exposure level for \S+: (\d+\.\d+)", result.stdout)
    assert match, result.stdout + result.stderr
    exposure = float(match.group(1))
    print(f"systemd-analyze security: exposure {exposure}")
    assert exposure <= MAX_EXPOSURE, result.stdout


@pytest.fixture(scope="module")
def examples(installed, tmp_path_factory):
    """Both SDK examples, copied from the -dev package's documentation and
    built out of tree against the installed package only (no source tree,
    no CMAKE_PREFIX_PATH)."""
    root = tmp_path_factory.mktemp("examples")
    root.chmod(0o755)
    built = {}
    for name in EXAMPLES:
        shutil.copytree(EXAMPLES_DIR / name, root / "src" / name)
        built[name] = build_example(root / "src" / name, root / "build" / name)
    return built


def test_examples_build_against_the_installed_sdk_and_pass_plugin_test(examples, tmp_path):
    for plugin in examples.values():
        assert [s for s in exported_symbols(plugin) if not s.startswith("_")] == \
            ["autodnsfailover_plugin"]
    sections = tmp_path / "sections"
    sections.mkdir()
    with silent_tcp_port("127.0.0.14") as port:
        write_config(sections / "check.json", {"plugin": "port-check", "port": port})
        check = sh(SBIN, "plugin-test", examples["port-check"], "-c", sections / "check.json",
                   "--silent-address", "127.0.0.14", "--timeout", "0.5", check=False)
    assert check.returncode == 0, check.stdout + check.stderr
    write_config(sections / "dns.json", {"path": str(tmp_path / "t.db")})
    dns = sh(SBIN, "plugin-test", examples["sqlite-dns"], "-c", sections / "dns.json",
             "--name", "scratch.example.test", check=False)
    assert dns.returncode == 0, dns.stdout + dns.stderr


def test_pkg_config_file_builds_a_plugin(installed, tmp_path):
    cflags = sh("pkg-config", "--cflags", "autodnsfailover-plugin").stdout.split()
    plugindir = sh("pkg-config", "--variable=plugindir", "autodnsfailover-plugin").stdout.strip()
    assert plugindir == str(PLUGINS)
    source = EXAMPLES_DIR / "port-check" / "port_check.c"
    sh("cc", "-shared", "-fPIC", "-fvisibility=hidden", "-Wl,-z,defs", *cflags, "-o",
       tmp_path / "port-check.so", source)


def test_two_daemon_pool_runs_on_the_example_plugins(examples, tmp_path):
    plugin_dir = tmp_path / "plugins"
    plugin_dir.mkdir(mode=0o755)
    plugin_dir.chmod(0o755)
    for plugin in examples.values():
        shutil.copy2(plugin, plugin_dir / plugin.name)
    port = free_port("127.0.0.21")
    database = tmp_path / "pool.db"
    peers = ["127.0.0.21", "127.0.0.22"]
    services, daemons = {}, []
    try:
        for peer in peers:
            services[peer] = subprocess.Popen([str(TOOLS_DIR / "adf-test-service"), "--listen",
                                               f"{peer}:{port}"])
            wait_for_port(peer, port)
        for peer in peers:
            config = write_config(tmp_path / f"{peer}.json", {
                "fqdn": "www.pool.test",
                "plugin_dirs": [str(plugin_dir), str(PLUGINS)],
                "ipaddr": {"plugin": "static", "address": peer},
                "dns": {"plugin": "sqlite-dns", "path": str(database)},
                "check": {"plugin": "port-check", "port": port},
                "timer": {"plugin": "fixed-interval", "interval": 0.5, "timeout": 0.3, "retry": 1},
                "safety": {"self_check_failure_delay": 0.5},
                "families": [4],
            })
            log = open(tmp_path / f"{peer}.log", "w")
            daemons.append(subprocess.Popen([str(SBIN), "run", "-c", str(config)], stdout=log,
                                            stderr=subprocess.STDOUT))

        def pool():
            rows = sh("sqlite3", database, "SELECT address FROM records ORDER BY address",
                      check=False).stdout.split()
            return rows

        wait_until(lambda: pool() == peers, timeout=30, what=f"the pool becoming {peers}")
        services.pop("127.0.0.22").send_signal(signal.SIGTERM)
        wait_until(lambda: pool() == ["127.0.0.21"], timeout=30,
                   what="127.0.0.22 removed by its peer")
        time.sleep(1.5)
        assert pool() == ["127.0.0.21"], "the last record must never go"
    finally:
        for process in [*daemons, *services.values()]:
            stop_process(process)


def leftovers():
    """Files and directories of the packages that are still on disk."""
    places = [Path("/usr/sbin/autodnsfailover"), PLUGINS.parent, UNIT,
              Path("/usr/include/autodnsfailover"), Path("/usr/share/cmake/AutoDnsFailoverSDK"),
              Path("/usr/share/pkgconfig/autodnsfailover-plugin.pc"),
              Path("/usr/share/doc/autodnsfailover"), Path("/usr/share/doc/autodnsfailover-dev"),
              Path("/usr/share/man/man8/autodnsfailover.8.gz"), STATE_DIR, CONFFILE.parent]
    return [p for p in places if p.exists()]


def test_remove_leaves_only_the_conffile_and_purge_removes_everything(installed):
    listed = sh("dpkg", "-L", *PACKAGES).stdout.split()
    sh(*APT, "remove", *PACKAGES, timeout=600)
    assert package_state("autodnsfailover") == "deinstall ok config-files"
    left = [p for p in listed if Path(p).exists() and not Path(p).is_dir()]
    assert left == [str(CONFFILE)], left
    assert leftovers() == [CONFFILE.parent]
    assert package_state("autodnsfailover-dev") == "not-installed"  # it has no conffile
    sh(*APT, "purge", "autodnsfailover", timeout=600)
    assert package_state("autodnsfailover") == "not-installed"
    assert leftovers() == []
    assert not user_exists(USER) and not group_exists(USER)
    helper_state = Path("/var/lib/systemd/deb-systemd-helper-enabled")
    assert [p for p in helper_state.rglob("autodnsfailover*")] == []
