"""Round trips through Qiskit circuits and OpenQASM 2/3, checked with qiskit Operator."""

from __future__ import annotations

import contextlib

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from qiskit import QuantumCircuit, qasm2, qasm3
from qiskit.circuit import Parameter as QiskitParameter
from qiskit.circuit import ParameterVector
from qiskit.quantum_info import Operator

from qworkbench import Circuit, Parameter
from qworkbench.circuit import GATES
from qworkbench.errors import QasmError, QWorkbenchError, UnsupportedGateError

from .conftest import circuits, random_circuit


def _qiskit_random(num_qubits: int, num_ops: int, rng) -> QuantumCircuit:
    """A random circuit built by calling Qiskit's own gate methods (the original)."""
    qc = QuantumCircuit(num_qubits)
    names = [g for g in sorted(GATES) if GATES[g].num_qubits <= num_qubits]
    for _ in range(num_ops):
        spec = GATES[names[rng.integers(len(names))]]
        qubits = rng.choice(num_qubits, size=spec.num_qubits, replace=False).tolist()
        getattr(qc, spec.name)(*rng.uniform(-7, 7, spec.num_params), *qubits)
    return qc


@pytest.mark.parametrize("seed", range(10))
def test_from_qiskit_to_qiskit_is_operator_equivalent(seed):
    rng = np.random.default_rng(seed)
    original = _qiskit_random(4, 40, rng)
    back = Circuit.from_qiskit(original).to_qiskit()
    assert Operator(back).equiv(Operator(original))
    assert dict(back.count_ops()) == dict(original.count_ops())


def test_every_gate_appears_in_random_circuits():
    rng = np.random.default_rng(0)
    seen = set()
    for _ in range(10):
        seen |= set(_qiskit_random(4, 40, rng).count_ops())
    assert seen == set(GATES)


def test_aliases_u1_u2_u3():
    qc = QuantumCircuit(1)
    qc.append(__import__("qiskit.circuit.library", fromlist=["U3Gate"]).U3Gate(0.1, 0.2, 0.3), [0])
    qc.append(__import__("qiskit.circuit.library", fromlist=["U2Gate"]).U2Gate(0.4, 0.5), [0])
    qc.append(__import__("qiskit.circuit.library", fromlist=["U1Gate"]).U1Gate(0.6), [0])
    ours = Circuit.from_qiskit(qc)
    assert [op.name for op in ours] == ["u", "u", "p"]
    assert Operator(ours.to_qiskit()).equiv(Operator(qc))


def test_unknown_gate_raises_and_decompose_rewrites():
    qc = QuantumCircuit(3)
    qc.ch(0, 1)
    qc.cswap(0, 1, 2)
    qc.cp(0.3, 2, 0)
    qc.iswap(1, 2)
    with pytest.raises(UnsupportedGateError, match="'ch'") as info:
        Circuit.from_qiskit(qc, decompose=False)  # the default now unrolls (issue 16.23)
    assert info.value.name == "ch"
    ours = Circuit.from_qiskit(qc, decompose=True)
    assert set(ours.count_ops()) <= set(GATES)
    assert Operator(ours.to_qiskit()).equiv(Operator(qc))


def test_reset_is_unsupported_even_with_decompose():
    qc = QuantumCircuit(1)
    qc.reset(0)
    with pytest.raises(QWorkbenchError, match="reset"):
        Circuit.from_qiskit(qc, decompose=True)


def test_parameters_map_to_qiskit_parameters(rng):
    theta = ParameterVector("θ", 3)
    phi = QiskitParameter("phi")
    qc = QuantumCircuit(2)
    qc.rx(theta[0], 0)
    qc.ry(2 * theta[1] + 0.5, 1)
    qc.rzz(-phi, 0, 1)
    qc.crz(theta[2] / 4 - 1, 1, 0)
    ours = Circuit.from_qiskit(qc)
    assert [p.name for p in ours.parameters] == ["θ[0]", "θ[1]", "phi", "θ[2]"]
    values = dict(zip(["θ[0]", "θ[1]", "phi", "θ[2]"], rng.uniform(-3, 3, 4)))
    expected = Operator(qc.assign_parameters({p: values[p.name] for p in qc.parameters}))
    assert Operator(ours.bind(values).to_qiskit()).equiv(expected)
    back = ours.to_qiskit()
    assert {p.name for p in back.parameters} == set(values)


def test_nonlinear_and_multi_parameter_expressions_import():
    # these were refused ("not affine", "2 parameters") before issue 16.26; now they are
    # general angles, checked against Qiskit in tests/test_expressions.py
    a, b = QiskitParameter("a"), QiskitParameter("b")
    for expr in (a * a, a + b):
        qc = QuantumCircuit(1)
        qc.rx(expr, 0)
        ours = Circuit.from_qiskit(qc)
        assert {p.name for p in ours.parameters} == {p.name for p in expr.parameters}


def test_measurements_and_barriers_round_trip():
    qc = QuantumCircuit(3, 2)
    qc.h(0)
    qc.barrier()
    qc.measure(0, 1)
    qc.measure(2, 0)
    ours = Circuit.from_qiskit(qc)
    assert [(op.name, op.qubits, op.clbits) for op in ours][1:] == [
        ("barrier", (0, 1, 2), ()),
        ("measure", (0,), (1,)),
        ("measure", (2,), (0,)),
    ]
    assert ours.to_qiskit() == qc


@given(circuits())
@settings(max_examples=60, deadline=None)
def test_hypothesis_round_trip_qiskit(circ):
    back = Circuit.from_qiskit(circ.to_qiskit())
    assert back == circ


# -- OpenQASM --------------------------------------------------------------------------
@pytest.mark.parametrize("version", [2, 3])
@pytest.mark.parametrize("seed", range(4))
def test_qasm_round_trip(version, seed):
    circ = random_circuit(4, 30, np.random.default_rng(seed))
    text = circ.to_qasm(version)
    back = Circuit.from_qasm(text)
    assert Operator(back.to_qiskit()).equiv(Operator(circ.to_qiskit()))
    # Qiskit's own loader reads our text to the same operator
    loader = qasm2.loads if version == 2 else qasm3.loads
    kwargs = {"custom_instructions": qasm2.LEGACY_CUSTOM_INSTRUCTIONS} if version == 2 else {}
    assert Operator(loader(text, **kwargs)).equiv(Operator(circ.to_qiskit()))


def test_qasm3_keeps_parameters():
    circ = Circuit(2).rx(Parameter("a"), 0).rzz(2 * Parameter("b"), 0, 1).measure_all()
    back = Circuit.from_qasm(circ.to_qasm(3))
    assert [p.name for p in back.parameters] == ["a", "b"]
    assert back.bind([0.3, 0.4]).count_ops() == circ.bind([0.3, 0.4]).count_ops()


def test_qasm2_refuses_free_parameters():
    with pytest.raises(ValueError, match=r"\['a'\]"):
        Circuit(1).rx(Parameter("a"), 0).to_qasm(2)
    with pytest.raises(ValueError, match="version"):
        Circuit(1).to_qasm(4)


@pytest.mark.parametrize(
    ("text", "line"),
    [
        ('OPENQASM 2.0;\ninclude "qelib1.inc";\nqreg q[2];\nh q[0];\ncx q[0] q[1];\n', 5),
        ('OPENQASM 3.0;\ninclude "stdgates.inc";\nqubit[2] q;\nh q[0];\ncx q[0] q[1];\n', 5),
        ('OPENQASM 3.0;\ninclude "stdgates.inc";\nqubit[2] q;\nfoo q[0];\n', 4),
        ('OPENQASM 2.0;\ninclude "qelib1.inc";\nqreg q[1];\nrz(1/0) q[0];\n', 4),
    ],
)
def test_malformed_qasm_names_line(text, line):
    with pytest.raises(QasmError) as info:
        Circuit.from_qasm(text)
    assert info.value.line == line
    assert "OpenQASM" in str(info.value)


@pytest.mark.parametrize(
    "text",
    [
        "OPENQASM 4.0;",
        "OPENQASM 2.0; qreg q[100000000000];",
        "OPENQASM 3; qubit[99999999999] q;",
        "x" * 10_000_001,
    ],
)
def test_qasm_guards(text):
    with pytest.raises(QasmError):
        Circuit.from_qasm(text)


def test_qasm_type_error():
    with pytest.raises(TypeError):
        Circuit.from_qasm(b"OPENQASM 2.0;")


# QasmError and UnsupportedGateError are ValueErrors; anything else escaping is a bug
_DOCUMENTED_ERRORS = (QasmError, UnsupportedGateError, ValueError, TypeError, IndexError)

_VALID = (
    'OPENQASM 3.0;\ninclude "stdgates.inc";\ninput float[64] t;\nqubit[3] q;\nbit[3] c;\n'
    "h q[0];\ncx q[0], q[1];\nrz(2*t + 0.5) q[2];\nccx q[0], q[1], q[2];\nc = measure q;\n"
)


@given(st.data())
@settings(max_examples=150, deadline=None)
def test_fuzz_qasm_only_our_errors(data):
    """Mutated programs either parse or raise our documented errors, nothing else."""
    text = _VALID
    for _ in range(data.draw(st.integers(1, 4))):
        pos = data.draw(st.integers(0, len(text)))
        kind = data.draw(st.sampled_from(["delete", "insert", "replace"]))
        junk = data.draw(st.text(min_size=1, max_size=4))
        if kind == "delete":
            text = text[:pos] + text[pos + len(junk) :]
        elif kind == "insert":
            text = text[:pos] + junk + text[pos:]
        else:
            text = text[:pos] + junk + text[pos + len(junk) :]
    with contextlib.suppress(*_DOCUMENTED_ERRORS):
        Circuit.from_qasm(text)


@given(st.text(max_size=200))
@settings(max_examples=150, deadline=None)
def test_fuzz_qasm_random_text(text):
    for prefix in ("", "OPENQASM 2.0;\n", "OPENQASM 3.0;\n"):
        with contextlib.suppress(*_DOCUMENTED_ERRORS):
            Circuit.from_qasm(prefix + text)
