"""Circuits from outside (issue 16 items 14, 23, 24, 27): composite Qiskit instructions
unroll into library gates (checked against Qiskit's Statevector), dynamic circuits and
unreadable QASM are refused with one line naming the problem, the estimator and the
density-matrix simulator behave like the reference and name themselves."""

from __future__ import annotations

import numpy as np
import pytest
from qiskit import QuantumCircuit
from qiskit.circuit import Gate
from qiskit.circuit.library import MCXGate, QFTGate, UnitaryGate, grover_operator
from qiskit.primitives import StatevectorEstimator
from qiskit.quantum_info import SparsePauliOp, Statevector, random_unitary

from qworkbench import Circuit
from qworkbench.circuit import GATES
from qworkbench.errors import QasmError, UnsupportedGateError
from simulators import get_simulator
from simulators.qiskit import EstimatorV2

_SIM = get_simulator("statevector", device="cpu")


def _qft() -> QuantumCircuit:
    qc = QuantumCircuit(4)
    qc.h(range(4))
    qc.t(2)
    qc.append(QFTGate(4), range(4))
    return qc


def _grover() -> QuantumCircuit:
    oracle = QuantumCircuit(3)
    oracle.h(2)
    oracle.ccx(0, 1, 2)
    oracle.h(2)
    qc = QuantumCircuit(3)
    qc.h(range(3))
    qc.append(grover_operator(oracle).to_gate(), range(3))
    return qc


def _mcx() -> QuantumCircuit:
    qc = QuantumCircuit(4)
    qc.h(range(3))
    qc.ry(0.3, 3)
    qc.append(MCXGate(3), [0, 2, 1, 3])
    return qc


def _unitary() -> QuantumCircuit:
    qc = QuantumCircuit(3)
    qc.h(0)
    qc.append(UnitaryGate(random_unitary(4, seed=7)), [2, 0])
    return qc


def _custom() -> QuantumCircuit:
    inner = QuantumCircuit(2, name="inner")
    inner.ch(0, 1)
    inner.cp(0.7, 1, 0)
    outer = QuantumCircuit(3, name="outer")
    outer.h(0)
    outer.append(inner.to_gate(), [0, 2])
    outer.iswap(1, 2)
    qc = QuantumCircuit(3)
    qc.x(1)
    qc.append(outer.to_gate(), [1, 2, 0])
    return qc


@pytest.mark.parametrize("make", [_qft, _grover, _mcx, _unitary, _custom])
def test_composite_instructions_unroll_into_library_gates(make):
    qc = make()
    ours = Circuit.from_qiskit(qc)  # no decompose step needed
    assert set(ours.count_ops()) <= set(GATES)
    state = _SIM.statevector(ours)
    expected = Statevector(qc).data
    phase = np.vdot(state, expected)  # global phase is not part of the IR
    np.testing.assert_allclose(state * phase / abs(phase), expected, atol=1e-10)


def test_instruction_without_decomposition_is_named():
    opaque = Gate("mystery", 2, [])
    qc = QuantumCircuit(2)
    qc.h(0)
    qc.append(opaque, [0, 1])
    with pytest.raises(
        UnsupportedGateError, match=r"'mystery' on qubits \[0, 1\] \(instruction 1\)"
    ):
        Circuit.from_qiskit(qc)


def _dynamic_cases():
    mid = QuantumCircuit(3, 3)
    mid.h(2)
    mid.measure(2, 0)
    mid.cx(2, 1)
    reset = QuantumCircuit(2)
    reset.h(0)
    reset.reset(0)
    cond = QuantumCircuit(2, 1)
    cond.h(0)
    cond.measure(0, 0)
    with cond.if_test((cond.clbits[0], 1)):
        cond.x(1)
    return [
        (mid, r"mid-circuit measurement on qubit 2 \(instruction 2"),
        (reset, r"reset on qubit 0 \(instruction 1\)"),
        (cond, r"classically controlled instruction 'if_else' \(instruction 2\)"),
    ]


@pytest.mark.parametrize(("qc", "pattern"), _dynamic_cases())
def test_dynamic_circuits_refused_with_one_line(qc, pattern):
    with pytest.raises(UnsupportedGateError, match=pattern) as info:
        Circuit.from_qiskit(qc)
    assert "\n" not in str(info.value)
    assert "not supported" in str(info.value)


def test_terminal_measurements_still_import_and_sample():
    qc = QuantumCircuit(3, 3)
    qc.h(0)
    qc.cx(0, 1)
    qc.barrier()
    qc.measure([0, 1, 2], [0, 1, 2])
    ours = Circuit.from_qiskit(qc)
    counts = _SIM.sample(ours, 200, seed=1)
    assert set(counts) == {"000", "011"}


def test_density_matrix_names_itself_for_mid_circuit_measurement():
    circ = Circuit(2).h(0).measure(0).x(0)
    with pytest.raises(ValueError, match="the density-matrix simulator supports terminal"):
        get_simulator("density_matrix").probabilities(circ)


def test_estimator_stds_and_measurements_match_reference():
    qc = QuantumCircuit(2)
    qc.h(0)
    qc.cx(0, 1)
    obs = SparsePauliOp.from_list([("ZZ", 1.0), ("XI", 0.5)])
    for precision in (0.0, 0.05):
        ours = EstimatorV2(seed=3).run([(qc, obs)], precision=precision).result()[0].data
        ref = StatevectorEstimator(seed=3).run([(qc, obs)], precision=precision).result()[0].data
        np.testing.assert_array_equal(ours.stds, ref.stds)
    measured = qc.copy()
    measured.measure_all()
    with pytest.raises(Exception):  # noqa: B017  (the reference refuses with QiskitError)
        StatevectorEstimator().run([(measured, obs)]).result()
    with pytest.raises(ValueError, match=r"measure on qubit 0 \(instruction 3\)"):
        EstimatorV2().run([(measured, obs)]).result()


def test_qasm_empty_and_binary(tmp_path):
    for text in ("", "  \n\t", "// only a comment\n/* and a block */\n"):
        with pytest.raises(QasmError, match="empty program"):
            Circuit.from_qasm(text)
    with pytest.raises(QasmError, match="not a text file"):
        Circuit.from_qasm("OPENQASM 2.0;\x00\x01")
    binary = tmp_path / "circuit.qasm"
    binary.write_bytes(b"\x89PNG\r\n\x1a\n\x00\x00\xff")
    with pytest.raises(QasmError, match="not a text file"):
        Circuit.from_qasm_file(binary)
    empty = tmp_path / "empty.qasm"
    empty.write_text("")
    with pytest.raises(QasmError, match="empty program"):
        Circuit.from_qasm_file(empty)
    good = tmp_path / "bell.qasm"
    good.write_text(Circuit(2).h(0).cx(0, 1).to_qasm(3))
    assert Circuit.from_qasm_file(good) == Circuit(2).h(0).cx(0, 1)


def test_qasm_unrolls_custom_gates():
    text = (
        'OPENQASM 2.0;\ninclude "qelib1.inc";\nqreg q[3];\n'
        "gate bell a, b { h a; cx a, b; }\nbell q[0], q[2];\nch q[2], q[1];\n"
    )
    ours = Circuit.from_qasm(text)
    from qiskit import qasm2

    expected = Statevector(qasm2.loads(text)).data
    np.testing.assert_allclose(_SIM.statevector(ours), expected, atol=1e-10)
