"""Issue 16 items without another home: over-wide simulations state the memory they
would need; ``qwb submit`` of a binary file is one clear line."""

from __future__ import annotations

import pytest

from qworkbench import Circuit, PauliSum
from simulators import get_simulator


@pytest.mark.parametrize(
    "kind, precision, n, expected",
    [
        ("statevector", "double", 45, "512 TiB"),  # 16 B x 2**45 = 2**49 B
        ("statevector", "single", 45, "256 TiB"),  # 8 B x 2**45
        ("statevector", "double", 60, "16 EiB"),  # 16 B x 2**60 = 2**64 B
        ("density_matrix", "double", 17, "256 GiB"),  # 16 B x 4**17 = 2**38 B
    ],
)
def test_too_many_qubits_names_the_memory(kind, precision, n, expected):
    sim = get_simulator(kind, precision=precision)
    observable = PauliSum.from_list([("Z" * n, 1.0)])
    with pytest.raises(ValueError, match=f"{n} qubits would need {expected}"):
        sim.expval(Circuit(n).h(0), observable)


def test_submit_of_a_binary_file_is_one_line(tmp_path):
    from typer.testing import CliRunner

    from qworkbench.cli import app

    path = tmp_path / "c.qasm"
    path.write_bytes(b"\xff\xfe\x00OPENQASM")
    result = CliRunner().invoke(app, ["submit", str(path), "--backend", "fake_manila"])
    assert result.exit_code == 2 and "not a text file" in result.output
    assert "Traceback" not in result.output and len(result.output.strip().splitlines()) == 1


def test_qsvt_phases_warns_on_a_poor_degree_and_refuses_a_conflict():
    from typer.testing import CliRunner

    from qworkbench.cli import app

    runner = CliRunner()
    poor = runner.invoke(app, ["qsvt", "phases", "--function", "sign", "--degree", "11"])
    assert poor.exit_code == 0 and "warning" in poor.output and "poorly" in poor.output
    both = runner.invoke(
        app, ["qsvt", "phases", "--function", "sign", "--degree", "11", "--epsilon", "1e-3"]
    )
    assert both.exit_code == 2 and "conflict" in both.output
    assert "Traceback" not in both.output
