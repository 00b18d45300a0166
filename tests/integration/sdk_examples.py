"""The SDK's example plugins (sdk/examples/), built out of tree exactly as
their READMEs say: `cmake -S EXAMPLE -B BUILD` against an installed SDK
(found through CMAKE_PREFIX_PATH, or in /usr when it is the package's)."""
import subprocess
from pathlib import Path

EXAMPLES = {"port-check": "check", "sqlite-dns": "dns"}


def build_example(source, build, prefix_path=None, name=None):
    """Configures and builds the project in `source` into `build`; returns
    its plugin NAME.so (NAME: the folder's name by default), in a directory
    that the daemon accepts (0755)."""
    command = ["cmake", "-S", str(source), "-B", str(build), "-G", "Ninja"]
    if prefix_path:
        command.append(f"-DCMAKE_PREFIX_PATH={prefix_path}")
    for step in (command, ["cmake", "--build", str(build)]):
        result = subprocess.run(step, capture_output=True, text=True, timeout=300)
        assert result.returncode == 0, result.stdout + result.stderr
    plugin = Path(build) / f"{name or Path(source).name}.so"
    assert plugin.is_file(), f"{plugin} was not built"
    Path(build).chmod(0o755)
    return plugin


def exported_symbols(plugin):
    """The names a .so exports (defined dynamic symbols)."""
    out = subprocess.run(["nm", "-D", "--defined-only", str(plugin)], capture_output=True,
                         text=True, check=True).stdout
    return [line.split()[-1] for line in out.splitlines() if line.strip()]
