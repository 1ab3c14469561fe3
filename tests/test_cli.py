"""The ``qwb`` command line, run as a user runs it (subprocesses)."""

from __future__ import annotations

import subprocess
import sys

import pytest

GROUPS = ["qas", "vqe", "qaoa", "qsvt", "bench", "sweep", "submit", "jobs"]


def _qwb(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-m", "qworkbench", *args], capture_output=True, text=True, timeout=60
    )


def test_help_lists_every_group():
    result = _qwb("--help")
    assert result.returncode == 0
    for group in GROUPS:
        assert group in result.stdout


@pytest.mark.parametrize("args", [["bench", "optim"]])
def test_unimplemented_commands_say_so_and_exit_1(args):
    result = _qwb(*args)
    assert result.returncode == 1
    assert "not implemented yet" in result.stderr


def test_usage_errors_exit_2():
    assert _qwb("no-such-command").returncode == 2
    assert _qwb("qas", "no-such-sub").returncode == 2


def test_version():
    result = _qwb("--version")
    assert result.returncode == 0 and result.stdout.startswith("qworkbench ")


def test_core_import_is_light():
    """``import qworkbench`` (and the CLI) must not pull in the heavy layers."""
    code = (
        "import sys, qworkbench, qworkbench.cli; "
        "heavy = [m for m in ('qiskit', 'pennylane', 'torch', 'stim', 'simulators', 'tasks', "
        "'agents') if m in sys.modules]; print(heavy)"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60)
    assert out.stdout.strip() == "[]", out.stdout + out.stderr
