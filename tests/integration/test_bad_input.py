"""Bad input the core reads itself (config files, {"file"} secrets, plugin
files), as an unlucky operator or an attacker would hand it over: each is a
clear error naming what and where, with exit code 2, never a hang, a crash
or memory that grows without end."""
import json
import os
import shutil
import subprocess

import pytest

from conftest import PLUGIN_DIR, base_config, run, write_config

# A hang is a failure, not a test timeout: every command below must answer
# well within this.
QUICK = 20


def check_config(path):
    return run(["check-config", "-c", path], timeout=QUICK)


def run_once(path):
    return run(["run", "--once", "-c", path], timeout=QUICK)


@pytest.mark.parametrize("command", [check_config, run_once])
def test_config_nested_100000_deep_is_an_error_not_a_crash(tmp_path, command):
    path = tmp_path / "deep.json"
    path.write_text('{"fqdn": ' + "[" * 100000 + "]" * 100000 + "}")
    assert path.stat().st_size == 200010
    result = command(path)
    assert result.returncode == 2, result.stderr
    assert f"{path}:1:73: JSON nested deeper than 64 levels" in result.stderr


@pytest.mark.parametrize("command", [check_config, run_once])
@pytest.mark.parametrize("kind,expected", [
    ("dev-zero", "is a character device: only regular files are read"),
    ("fifo", "is a FIFO: only regular files are read"),
    ("directory", "is a directory: only regular files are read"),
    ("oversized", "is 1048579 bytes, more than the limit of 1048576 bytes"),
])
def test_config_file_that_is_no_regular_file_or_too_big_is_refused_at_once(tmp_path, command,
                                                                           kind, expected):
    path = tmp_path / "adf.json"
    if kind == "dev-zero":
        path = "/dev/zero"
    elif kind == "fifo":
        os.mkfifo(path)  # no writer: reading it would block for ever
    elif kind == "directory":
        path.mkdir()
    else:
        path.write_text("{}\n" + "/" * (1 << 20))
    result = command(path)
    assert result.returncode == 2, result.stderr
    assert f"{path}: cannot read: {expected}" in result.stderr


def secret_config(tmp_path, source):
    """A config whose tcp-check `send` string comes from {"file": source}."""
    return write_config(tmp_path / "adf.json", base_config(
        dns={"plugin": "zonefile", "path": str(tmp_path / "unused.zone"), "zone": "example.test"},
        check={"plugin": "tcp-check", "port": 80, "send": {"file": str(source)}}))


def test_secret_from_dev_zero_names_the_key_and_the_file(tmp_path):
    result = check_config(secret_config(tmp_path, "/dev/zero"))
    assert result.returncode == 2, result.stderr
    assert ('check.send: {"file": "/dev/zero"}: is a character device: only regular files are '
            "read") in result.stderr


def test_secret_from_a_fifo_is_refused_without_waiting_for_a_writer(tmp_path):
    fifo = tmp_path / "secret.fifo"
    os.mkfifo(fifo)
    result = check_config(secret_config(tmp_path, fifo))
    assert result.returncode == 2, result.stderr
    assert f'check.send: {{"file": "{fifo}"}}: is a FIFO: only regular files are read' \
        in result.stderr


def test_secret_file_over_64_kib_is_refused_and_never_quoted(tmp_path):
    secret = tmp_path / "secret.txt"
    secret.write_text("s" * 65537)
    result = check_config(secret_config(tmp_path, secret))
    assert result.returncode == 2, result.stderr
    assert (f'check.send: {{"file": "{secret}"}}: is 65537 bytes, more than the limit of 65536 '
            "bytes") in result.stderr
    assert "sss" not in result.stderr
    secret.write_text("s" * 65536)
    assert check_config(secret_config(tmp_path, secret)).returncode == 0


# --- plugin files ---------------------------------------------------------------

TRUNCATIONS = [0, 3, 64, 100, 4096, 16384]


def truncated_copies(tmp_path, source):
    """`source` cut to each length of TRUNCATIONS (and to one byte short) as
    tmp_path/plugins/cut-N.so; returns the directory."""
    directory = tmp_path / "plugins"
    directory.mkdir(mode=0o755)
    data = source.read_bytes()
    for length in [*TRUNCATIONS, len(data) // 2, len(data) - 1]:
        target = directory / f"cut-{length}.so"
        target.write_bytes(data[:length])
        target.chmod(0o644)
    return directory


def test_plugins_lists_truncated_files_as_refused(tmp_path):
    static = PLUGIN_DIR / "static.so"
    directory = truncated_copies(tmp_path, static)
    # The reproduction, exactly: head -c 4096 static.so > dir/x.so
    with open(directory / "x.so", "wb") as out:
        subprocess.run(["head", "-c", "4096", str(static)], stdout=out, check=True)
    (directory / "x.so").chmod(0o644)
    result = run(["plugins", "--json", "--plugin-dir", directory], timeout=QUICK)
    assert result.returncode == 0, result.stderr
    rows = json.loads(result.stdout)
    assert len(rows) == len(list(directory.iterdir()))
    for row in rows:
        assert row["usable"] is False, row
        assert row["refusal"].startswith("not a loadable shared object: "), row
        assert "truncated" in row["refusal"] or "empty" in row["refusal"], row
    [x] = [row for row in rows if row["path"].endswith("/x.so")]
    assert x["refusal"].startswith("not a loadable shared object: the file is truncated or "
                                   "damaged: it has 4096 bytes, but ")
    text = run(["plugins", "--plugin-dir", directory], timeout=QUICK)
    assert text.returncode == 0, text.stderr
    assert f"refused {directory / 'x.so'}: not a loadable shared object" in text.stdout


@pytest.mark.parametrize("length", [64, 4096, "half"])
def test_config_naming_a_truncated_plugin_is_refused_naming_the_file(tmp_path, length):
    data = (PLUGIN_DIR / "tcp-check.so").read_bytes()
    directory = tmp_path / "plugins"
    directory.mkdir(mode=0o755)
    cut = directory / "tcp-check.so"
    cut.write_bytes(data[:len(data) // 2 if length == "half" else length])
    cut.chmod(0o644)
    # The other plugins from the build, tcp-check from the truncated copy.
    config = base_config(check={"plugin": "tcp-check", "port": 80})
    config["plugin_dirs"] = [str(directory), str(PLUGIN_DIR)]
    path = write_config(tmp_path / "adf.json", config)
    for command in (check_config, run_once):
        result = command(path)
        assert result.returncode == 2, result.stderr
        assert f"plugin {cut}: not a loadable shared object: the file is truncated" in result.stderr


def test_an_intact_copy_of_a_plugin_still_loads(tmp_path):
    directory = tmp_path / "plugins"
    directory.mkdir(mode=0o755)
    shutil.copy(PLUGIN_DIR / "tcp-check.so", directory / "tcp-check.so")
    (directory / "tcp-check.so").chmod(0o644)
    config = base_config(
        dns={"plugin": "zonefile", "path": str(tmp_path / "unused.zone"), "zone": "example.test"},
        check={"plugin": "tcp-check", "port": 80})
    config["plugin_dirs"] = [str(directory), str(PLUGIN_DIR)]
    result = check_config(write_config(tmp_path / "adf.json", config))
    assert result.returncode == 0, result.stderr
    assert "check: tcp-check" in result.stdout
