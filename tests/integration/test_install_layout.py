"""Where things are installed and how the daemon finds its plugins:
`cmake --install --prefix` and DESTDIR put everything (plugins included)
under the prefix, the unit and the .pc name the prefix, an installed tree
finds its plugins relative to its binary (so it can be moved), a build tree
uses only its own plugins/, and a plugin that is not found or a directory
that is missing say so."""
import json
import os
import shutil
import subprocess
from pathlib import Path

import pytest

from conftest import BUILD, PLUGIN_DIR, TEST_PLUGIN_DIR, base_config, probe, run, write_config
from sdk_examples import exported_symbols

PLUGIN_NAMES = sorted(p.stem for p in PLUGIN_DIR.glob("*.so"))


def cmake_install(prefix, destdir=None, component=None):
    command = ["cmake", "--install", str(BUILD), "--prefix", str(prefix)]
    if component:
        command += ["--component", component]
    env = {**os.environ, "DESTDIR": str(destdir)} if destdir else None
    result = subprocess.run(command, capture_output=True, text=True, timeout=300, env=env)
    assert result.returncode == 0, result.stdout + result.stderr
    return result


@pytest.fixture(scope="module")
def prefix(tmp_path_factory):
    """The build installed with --prefix into a fresh directory (0755, as the
    daemon requires of plugin directories and their parents)."""
    root = tmp_path_factory.mktemp("prefix")
    root.chmod(0o755)
    cmake_install(root / "adf")
    return root / "adf"


def unit_lines(unit, key):
    return [line.split("=", 1)[1] for line in unit.read_text().splitlines()
            if line.startswith(key + "=")]


def test_prefix_install_puts_everything_under_the_prefix(prefix):
    assert (prefix / "sbin" / "autodnsfailover").is_file()
    plugins = prefix / "lib" / "autodnsfailover" / "plugins"
    assert sorted(p.stem for p in plugins.glob("*.so")) == PLUGIN_NAMES
    assert (prefix / "etc" / "autodnsfailover" / "autodnsfailover.json").is_file()
    assert (prefix / "include" / "autodnsfailover" / "plugin.h").is_file()
    assert (prefix / "share" / "cmake" / "AutoDnsFailoverSDK" / "AutoDnsFailoverSDKConfig.cmake").is_file()
    assert (prefix / "share" / "doc" / "autodnsfailover-dev" / "README.md").is_file()
    assert (prefix / "share" / "doc" / "autodnsfailover-dev" / "examples" / "sqlite-dns" / "sqlite_dns.c").is_file()
    for page in ("man8/autodnsfailover.8.gz", "man5/autodnsfailover.json.5.gz",
                 "man7/autodnsfailover-plugin.7.gz"):
        assert (prefix / "share" / "man" / page).is_file(), page
    # No test plugin or test tool is installed.
    installed = [p.name for p in prefix.rglob("*")]
    assert "check-deadlist.so" not in installed and "adf-test-service" not in installed


def test_unit_and_pkgconfig_name_the_prefix_they_were_installed_to(prefix):
    unit = prefix / "lib" / "systemd" / "system" / "autodnsfailover.service"
    config = prefix / "etc" / "autodnsfailover" / "autodnsfailover.json"
    assert unit_lines(unit, "ExecStart") == [f"{prefix}/sbin/autodnsfailover run -c {config}"]
    assert unit_lines(unit, "ExecStartPre") == [
        f"{prefix}/sbin/autodnsfailover check-config -c {config}"]
    pc = (prefix / "share" / "pkgconfig" / "autodnsfailover-plugin.pc").read_text()
    assert f"prefix={prefix}\n" in pc
    assert f"includedir={prefix}/include\n" in pc
    assert f"plugindir={prefix}/lib/autodnsfailover/plugins\n" in pc


def test_installed_daemon_finds_its_plugins_relative_to_itself(prefix, tmp_path):
    binary = prefix / "sbin" / "autodnsfailover"
    listing = subprocess.run([str(binary), "plugins", "--json"], capture_output=True, text=True,
                             timeout=60)
    assert listing.returncode == 0, listing.stderr
    rows = json.loads(listing.stdout)
    assert sorted(r["name"] for r in rows) == PLUGIN_NAMES
    assert all(r["usable"] for r in rows), rows
    assert {str(Path(r["path"]).parent) for r in rows} == {str(prefix / "lib/autodnsfailover/plugins")}
    # A config without plugin_dirs works with the installed plugins.
    config = base_config(dns={"plugin": "zonefile", "path": str(tmp_path / "example.test.zone"),
                              "zone": "example.test"})
    del config["plugin_dirs"]
    config_file = write_config(tmp_path / "c.json", config)
    result = subprocess.run([str(binary), "check-config", "-c", str(config_file)],
                            capture_output=True, text=True, timeout=60)
    assert result.returncode == 0, result.stderr


def test_an_installed_tree_can_be_moved(prefix, tmp_path):
    moved = tmp_path / "moved"
    moved.mkdir(mode=0o755)
    moved.chmod(0o755)
    shutil.copytree(prefix, moved / "adf", symlinks=True)
    listing = subprocess.run([str(moved / "adf/sbin/autodnsfailover"), "plugins", "--json"],
                             capture_output=True, text=True, timeout=60)
    assert listing.returncode == 0, listing.stderr
    paths = {str(Path(r["path"]).parent) for r in json.loads(listing.stdout)}
    assert paths == {str(moved / "adf/lib/autodnsfailover/plugins")}


def test_destdir_stages_without_changing_the_paths_inside(tmp_path):
    stage = tmp_path / "stage"
    cmake_install("/opt/adf", destdir=stage)
    root = stage / "opt" / "adf"
    assert (root / "sbin" / "autodnsfailover").is_file()
    assert len(list((root / "lib/autodnsfailover/plugins").glob("*.so"))) == len(PLUGIN_NAMES)
    unit = root / "lib/systemd/system/autodnsfailover.service"
    assert unit_lines(unit, "ExecStart") == [
        "/opt/adf/sbin/autodnsfailover run -c /opt/adf/etc/autodnsfailover/autodnsfailover.json"]
    assert not [p for p in stage.rglob("*") if p.is_file() and str(stage) in p.read_text(errors="ignore")
                and p.suffix in (".service", ".pc", ".cmake")]


def test_prefix_usr_keeps_config_in_etc_and_the_unit_where_debian_12_has_units(tmp_path):
    stage = tmp_path / "stage"
    cmake_install("/usr", destdir=stage, component="daemon")
    unit = stage / "lib/systemd/system/autodnsfailover.service"
    assert unit_lines(unit, "ExecStart") == [
        "/usr/sbin/autodnsfailover run -c /etc/autodnsfailover/autodnsfailover.json"]
    assert (stage / "etc/autodnsfailover/autodnsfailover.json").is_file()
    assert not (stage / "usr/include").exists(), "headers belong to the dev component"


def test_reinstalling_keeps_an_edited_config(prefix):
    config = prefix / "etc" / "autodnsfailover" / "autodnsfailover.json"
    original = config.read_text()
    try:
        config.write_text(original + "// edited by the operator\n")
        cmake_install(prefix, component="daemon")
        assert config.read_text().endswith("// edited by the operator\n")
    finally:
        config.write_text(original)


def test_a_build_tree_uses_only_its_own_plugins(adf_binary):
    result = run(["plugins", "--json"])
    assert result.returncode == 0, result.stderr
    paths = {str(Path(r["path"]).parent) for r in json.loads(result.stdout)}
    assert paths == {str(PLUGIN_DIR.resolve())}


def test_plugins_with_a_missing_directory_exits_2_naming_it(adf_binary):
    result = run(["plugins", "--plugin-dir", "/nonexistent"])
    assert result.returncode == 2
    assert "plugin directory /nonexistent is missing" in result.stderr
    result = run(["plugins", "--json", "--plugin-dir", str(PLUGIN_DIR), "--plugin-dir", "/nonexistent"])
    assert result.returncode == 2
    assert len(json.loads(result.stdout)) == len(PLUGIN_NAMES)


def test_unknown_plugin_name_lists_the_installed_ones_and_the_closest(tmp_path, adf_binary):
    config = base_config(plugin_dirs=["/nonexistent/dir", str(PLUGIN_DIR)],
                         check={"plugin": "tcp_check", "port": 80})
    result = probe(tmp_path, config, "check", "127.0.0.1")
    assert result.returncode == 2
    message = result.stderr
    assert 'plugin "tcp_check" not found: no tcp_check.so in /nonexistent/dir (missing), ' in message
    assert "installed: " + ", ".join(PLUGIN_NAMES) in message
    assert 'did you mean "tcp-check"?' in message


def test_every_built_plugin_exports_only_its_descriptor():
    """In-tree and test plugins alike go through adf_add_plugin()'s version
    script; no-symbol exports nothing at all (it exists to be refused)."""
    plugins = [p for p in (*PLUGIN_DIR.glob("*.so"), *TEST_PLUGIN_DIR.glob("*.so"))
               if p.read_bytes()[:4] == b"\x7fELF"]
    assert len(plugins) > len(PLUGIN_NAMES)
    for plugin in plugins:
        exported = [s for s in exported_symbols(plugin) if not s.startswith("_")]
        expected = [] if plugin.stem == "no-symbol" else ["autodnsfailover_plugin"]
        assert exported == expected, (plugin, exported)
