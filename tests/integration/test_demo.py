"""`make demo`'s script (etc/demo/demo.sh) against this build: three
supervised daemons on 127.0.0.11-13 share a zone file; one peer's service
stops, its peers remove it, its daemon exits 1 and is restarted by the
supervisor, the service comes back and the peer re-adds itself. It must
pass also when the services are slow to start (the daemons wait for them)."""
import os
import stat
import subprocess

from conftest import BUILD, REPO, TOOLS_DIR, free_port

DEMO = REPO / "etc" / "demo" / "demo.sh"
STORY = [
    "every peer added itself",
    "127.0.0.13 removed by its peers",
    "the daemon of 127.0.0.13 failed its self-check and exited with status 1; its supervisor "
    "restarts it",
    "127.0.0.13 re-added itself",
    "demo finished: the pool never went empty",
]


def run_demo(**env):
    """Runs the demo script on a free port; returns the CompletedProcess."""
    env = {**os.environ, "ADF_DEMO_PORT": str(free_port("127.0.0.11")), **env}
    return subprocess.run([str(DEMO), str(BUILD)], capture_output=True, text=True, timeout=150,
                          env=env)


def assert_tells_the_story(result):
    assert result.returncode == 0, result.stdout + result.stderr
    position = 0
    for line in STORY:
        found = result.stdout.find(line, position)
        assert found >= 0, f"{line!r} missing or out of order in:\n{result.stdout}"
        position = found
    assert "FAILED" not in result.stdout


def test_demo_tells_the_whole_story_and_exits_0():
    assert_tells_the_story(run_demo())


def test_demo_passes_when_services_are_slow_to_start(tmp_path):
    slow = tmp_path / "slow-service"
    slow.write_text(f"#!/bin/sh\nsleep 0.3\nexec {TOOLS_DIR / 'adf-test-service'} \"$@\"\n")
    slow.chmod(slow.stat().st_mode | stat.S_IXUSR)
    assert_tells_the_story(run_demo(ADF_DEMO_SERVICE=str(slow)))


def test_demo_leaves_no_process_and_no_work_directory():
    before = set(os.listdir("/tmp"))
    result = run_demo()
    assert result.returncode == 0, result.stdout
    leftover = [d for d in set(os.listdir("/tmp")) - before if d.startswith("adf-demo.")]
    assert leftover == []
    port_users = subprocess.run(["pgrep", "-f", "adf-demo\\."], capture_output=True, text=True)
    assert port_users.stdout.strip() == ""
