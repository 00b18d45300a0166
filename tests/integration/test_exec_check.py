"""exec-check through `autodnsfailover probe check`: the exit status decides,
a hang or a crash is dead with the reason named, nothing the program started
survives the check, arguments get the peer's address, and config errors name
the key."""
import os
import signal
import uuid

import pytest

from conftest import base_config, leftover_processes, probe
from fixtures_common import elapsed


def exec_config(command, **keys):
    return base_config(check={"plugin": "exec-check", "command": command, **keys})


def check(tmp_path, config, address="127.0.0.1", timeout=2):
    return probe(tmp_path, config, "check", address, "--timeout", str(timeout))


def unique_sleep_argument():
    """An argument `sleep` accepts (it adds its arguments up) that no other
    process on the machine has: pgrep -f finds exactly ours."""
    return "0.0" + str(uuid.uuid4().int)[:15]


@pytest.fixture
def marker():
    """A unique sleep argument; whatever still carries it afterwards is killed
    (by pid) so that a failing test leaves nothing behind either."""
    value = unique_sleep_argument()
    yield value
    for pid in leftover_processes(f"sleep 1000 {value}"):
        try:
            os.kill(pid, signal.SIGKILL)
        except ProcessLookupError:
            pass


def test_exit_status_0_is_alive(tmp_path):
    result = check(tmp_path, exec_config(["true"]))
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == "alive"


def test_exit_status_1_is_dead_with_the_status_and_what_the_program_said(tmp_path):
    result = check(tmp_path, exec_config(["sh", "-c", "echo unhappy >&2; exit 1"]))
    assert result.returncode == 1
    assert "dead: exited with status 1: unhappy" in result.stdout


def test_output_is_logged_at_debug_up_to_the_limit(tmp_path):
    command = ["sh", "-c", "echo hello-stdout; echo hello-stderr >&2; "
                           "head -c 100000 /dev/zero | tr '\\0' x"]
    result = check(tmp_path, exec_config(command, output_limit=20))
    assert result.returncode == 0, result.stderr
    assert "stdout: hello-stdout" in result.stderr
    assert "stderr: hello-stderr" in result.stderr
    assert "more bytes discarded" in result.stderr
    assert "x" * 100 not in result.stderr


def test_hang_past_the_timeout_is_dead_and_leaves_no_process(tmp_path, marker):
    command = ["sh", "-c", f"sleep 1000 {marker} & sleep 1000 {marker}"]
    result, seconds = elapsed(check, tmp_path, exec_config(command), timeout=0.5)
    assert result.returncode == 1
    assert "dead: timed out after 0.5 s" in result.stdout
    assert seconds < 3.0
    assert leftover_processes(f"sleep 1000 {marker}") == []


def test_background_children_of_a_finished_program_are_killed(tmp_path, marker):
    # The program exits at once, leaving a sleep that holds its stdout open:
    # the check must neither wait for it nor let it live on.
    command = ["sh", "-c", f"sleep 1000 {marker} & exit 0"]
    result, seconds = elapsed(check, tmp_path, exec_config(command), timeout=5)
    assert result.returncode == 0, result.stderr
    assert seconds < 3.0
    assert leftover_processes(f"sleep 1000 {marker}") == []


def test_crash_by_signal_is_dead_naming_the_signal(tmp_path):
    result = check(tmp_path, exec_config(["sh", "-c", "kill -SEGV $$"]))
    assert result.returncode == 1
    assert "dead: killed by signal 11 (Segmentation fault)" in result.stdout


@pytest.mark.parametrize("address, family", [("127.0.0.42", "4"), ("::1", "6")])
def test_address_and_family_are_substituted_inside_arguments(tmp_path, address, family):
    # Alive only when the one argument became exactly "peer=ADDRESS/FAMILY".
    command = ["sh", "-c", 'test "$1" = "$2"', "sh", "peer={address}/{family}",
               f"peer={address}/{family}"]
    result = check(tmp_path, exec_config(command), address=address)
    assert result.returncode == 0, result.stdout + result.stderr


def test_env_adds_variables_and_stdin_is_empty(tmp_path):
    command = ["sh", "-c", 'test "$ADF_TEST_VALUE" = yes && test -n "$PATH" && '
                           'test "$(cat)" = ""']
    result = check(tmp_path, exec_config(command, env={"ADF_TEST_VALUE": "yes"}))
    assert result.returncode == 0, result.stdout + result.stderr


def test_missing_absolute_program_is_a_config_error(tmp_path):
    result = check(tmp_path, exec_config(["/nonexistent/adf-no-such-program", "{address}"]))
    assert result.returncode == 2
    assert "check.command[0]" in result.stderr
    assert "No such file or directory" in result.stderr


def test_program_that_is_not_executable_is_a_config_error(tmp_path):
    program = tmp_path / "not-executable"
    program.write_text("#!/bin/sh\nexit 0\n")
    program.chmod(0o644)
    result = check(tmp_path, exec_config([str(program)]))
    assert result.returncode == 2
    assert "check.command[0]" in result.stderr
    assert "not executable" in result.stderr


def test_program_missing_from_path_is_dead_naming_it(tmp_path):
    result = check(tmp_path, exec_config(["adf-no-such-program-in-path"]))
    assert result.returncode == 1
    assert "cannot run adf-no-such-program-in-path: No such file or directory" in result.stdout


@pytest.mark.parametrize("keys, path", [
    ({}, "check.command"),
    ({"command": "true"}, "check.command"),
    ({"command": []}, "check.command"),
    ({"command": ["true", 5]}, "check.command[1]"),
    ({"command": ["true"], "env": ["A=1"]}, "check.env"),
    ({"command": ["true"], "env": {"A": 1}}, "check.env.A"),
    ({"command": ["true"], "output_limit": -1}, "check.output_limit"),
    ({"command": ["true"], "shell": True}, "check.shell"),
])
def test_config_errors_exit_2_naming_the_key(tmp_path, keys, path):
    result = check(tmp_path, base_config(check={"plugin": "exec-check", **keys}))
    assert result.returncode == 2
    assert path in result.stderr
