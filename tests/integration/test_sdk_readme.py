"""sdk/README.md stays true: its minimal C plugin, built with the exact `cc`
command the README gives, is listed by `autodnsfailover plugins` and works
through `autodnsfailover probe`; its C++ and CMake snippets build too."""
import json
import re
import shlex
import shutil
import subprocess
from pathlib import Path

import pytest

from conftest import BUILD, PLUGIN_DIR, REPO, base_config, probe, run, write_config
from sdk_examples import build_example, exported_symbols

README = REPO / "sdk" / "README.md"
SDK_INCLUDE = REPO / "sdk" / "include"
PLUGIN_H = SDK_INCLUDE / "autodnsfailover" / "plugin.h"


def readme():
    return README.read_text()


def minimal_plugin_source():
    match = re.search(r"<!-- minimal-plugin:begin -->\s*```c\n(.*?)```\s*<!-- minimal-plugin:end -->",
                      readme(), re.S)
    assert match, "sdk/README.md has no ```c block between the minimal-plugin markers"
    return match.group(1)


def snippet(language, after_heading):
    """The first ```language block after the heading line `after_heading`."""
    text = readme()
    start = text.index(after_heading)
    match = re.compile(r"```" + language + r"\n(.*?)```", re.S).search(text, start)
    assert match, f"no ```{language} block after {after_heading!r}"
    return match.group(1)


def build_command():
    """The README's one-line `cc` command, with -I pointed at this checkout."""
    lines = [line for line in readme().splitlines() if line.startswith("cc -shared ")]
    assert len(lines) == 1, f"expected one `cc -shared ...` line in the README, found {lines}"
    words = shlex.split(lines[0])
    assert any(w.startswith("-I") for w in words), "the build command has no -I"
    return [f"-I{SDK_INCLUDE}" if w.startswith("-I") else w for w in words]


def abi_version():
    header = PLUGIN_H.read_text()
    major = re.search(r"#define ADF_ABI_MAJOR (\d+)", header).group(1)
    minor = re.search(r"#define ADF_ABI_MINOR (\d+)", header).group(1)
    return f"{major}.{minor}"


def plugin_dir(parent):
    directory = Path(parent) / "plugins"
    directory.mkdir(mode=0o755)
    directory.chmod(0o755)  # the daemon refuses directories others can write
    return directory


@pytest.fixture
def built_plugin(tmp_path):
    """Builds the README's plugin as the README says; returns (dir, name)."""
    directory = plugin_dir(tmp_path)
    command = build_command()
    output = command[command.index("-o") + 1]
    (directory / command[-1]).write_text(minimal_plugin_source())
    result = subprocess.run(command, cwd=directory, capture_output=True, text=True, timeout=60)
    assert result.returncode == 0, result.stderr
    (directory / output).chmod(0o755)
    return directory, Path(output).stem


def flag_config(directory, flags):
    # The build's plugins too: `probe check` also needs the timer.
    return base_config(plugin_dirs=[str(directory), str(PLUGIN_DIR)],
                       check={"plugin": "file-flag", "directory": str(flags)})


def test_minimal_plugin_is_listed_as_a_check_with_the_abi(tmp_path, built_plugin, adf_binary):
    directory, name = built_plugin
    assert name == "file-flag"
    config = write_config(tmp_path / "list.json", flag_config(directory, tmp_path))
    result = run(["plugins", "--json", "-c", config])
    assert result.returncode == 0, result.stderr
    rows = [row for row in json.loads(result.stdout) if row["name"] == "file-flag"]
    assert len(rows) == 1, result.stdout
    assert rows[0]["kind"] == "check"
    assert rows[0]["abi_version"] == abi_version()
    assert rows[0]["usable"], rows[0]["refusal"]


def test_minimal_plugin_probe_alive_then_dead(tmp_path, built_plugin, adf_binary):
    directory, _ = built_plugin
    flags = tmp_path / "flags"
    flags.mkdir()
    config = flag_config(directory, flags)

    result = probe(tmp_path, config, "check", "127.0.0.1")
    assert (result.returncode, result.stdout.strip()) == (0, "alive"), result.stderr

    (flags / "127.0.0.1").touch()
    result = probe(tmp_path, config, "check", "127.0.0.1")
    assert result.returncode == 1
    assert result.stdout.strip() == f"dead: flag file {flags}/127.0.0.1 exists"


def test_minimal_plugin_requires_its_key(tmp_path, built_plugin, adf_binary):
    directory, _ = built_plugin
    config = base_config(plugin_dirs=[str(directory), str(PLUGIN_DIR)],
                         check={"plugin": "file-flag"})
    result = probe(tmp_path, config, "check", "127.0.0.1")
    assert result.returncode == 2
    assert "check.directory" in result.stderr and "required" in result.stderr


def test_minimal_plugin_is_clean_c_exporting_only_the_descriptor(tmp_path, built_plugin):
    directory, name = built_plugin
    strict = ["cc", "-std=c11", "-Wall", "-Wextra", "-Wpedantic", "-Werror", "-fsyntax-only",
              f"-I{SDK_INCLUDE}", "-x", "c", "-"]
    result = subprocess.run(strict, input=minimal_plugin_source(), capture_output=True, text=True,
                            timeout=60)
    assert result.returncode == 0, result.stderr
    if shutil.which("nm") is None:
        pytest.skip("nm is not installed")
    symbols = subprocess.run(["nm", "-D", "--defined-only", str(directory / f"{name}.so")],
                             capture_output=True, text=True, check=True).stdout.split()
    assert "autodnsfailover_plugin" in symbols
    exported = [s for s in symbols[2::3] if not s.startswith("_")]
    assert exported == ["autodnsfailover_plugin"], symbols


def test_cpp_version_builds_and_behaves_alike(tmp_path, adf_binary):
    directory = plugin_dir(tmp_path)
    source = directory / "file_flag.cpp"
    source.write_text(snippet("cpp", "## The same plugin in C++"))
    result = subprocess.run(["c++", "-std=c++17", "-Wall", "-Wextra", "-Werror", "-shared",
                             "-fPIC", "-fvisibility=hidden", f"-I{SDK_INCLUDE}",
                             "-o", str(directory / "file-flag.so"), str(source)],
                            capture_output=True, text=True, timeout=120)
    assert result.returncode == 0, result.stderr
    flags = tmp_path / "flags"
    flags.mkdir()
    config = flag_config(directory, flags)
    assert probe(tmp_path, config, "check", "::1").returncode == 0
    (flags / "::1").touch()
    result = probe(tmp_path, config, "check", "::1")
    assert result.returncode == 1
    assert "flag file" in result.stdout


def test_cmake_snippet_builds_the_plugin_against_the_installed_sdk(tmp_path):
    if shutil.which("cmake") is None or shutil.which("ninja") is None:
        pytest.skip("cmake and ninja are needed")
    prefix = tmp_path / "sdk"
    install = subprocess.run(["cmake", "--install", str(BUILD), "--prefix", str(prefix),
                              "--component", "dev"], capture_output=True, text=True, timeout=120)
    assert install.returncode == 0, install.stdout + install.stderr
    project = tmp_path / "project"
    project.mkdir()
    (project / "CMakeLists.txt").write_text(snippet("cmake", "With CMake, in a project"))
    (project / "file-flag.c").write_text(minimal_plugin_source())
    plugin = build_example(project, tmp_path / "build", prefix, name="file-flag")
    assert [s for s in exported_symbols(plugin) if not s.startswith("_")] == \
        ["autodnsfailover_plugin"]
