"""Peer simulators for the benchmarks (qiskit-aer, PennyLane lightning.qubit, qulacs, qsim),
each built from the same qworkbench circuit.

Every ``prepare_*`` returns a zero-argument callable that simulates the circuit once
and returns <Z_0>, so each peer does the whole simulation and nothing else is timed.
"""

from __future__ import annotations

import numpy as np

from qworkbench import Circuit, PauliSum


def _z0(n: int) -> PauliSum:
    return PauliSum.from_list([("I" * (n - 1) + "Z", 1.0)])


def prepare_ours(circuit: Circuit, precision: str, fusion: int):
    from simulators import get_simulator

    sim = get_simulator("statevector", device="cpu", precision=precision, fusion=fusion)
    obs = _z0(circuit.num_qubits)
    return lambda: sim.expval(circuit, obs)


def prepare_aer(circuit: Circuit, precision: str, fusion: bool, threads: int = 0):
    """qiskit-aer; ``threads`` 0 lets it use every core."""
    from qiskit_aer import AerSimulator

    backend = AerSimulator(method="statevector", precision=precision, fusion_enable=fusion,
                           max_parallel_threads=threads)  # fmt: skip
    qc = circuit.to_qiskit()
    qc.save_expectation_value(_z0(circuit.num_qubits).to_qiskit(), range(qc.num_qubits))

    def run():
        return backend.run(qc, shots=1).result().data(0)["expectation_value"]

    return run


def prepare_lightning(circuit: Circuit, precision: str):
    import pennylane as qml

    n = circuit.num_qubits
    dtype = np.complex128 if precision == "double" else np.complex64
    dev = qml.device("lightning.qubit", wires=n, c_dtype=dtype)
    qfunc = circuit.to_pennylane()

    @qml.qnode(dev, diff_method=None)
    def run():
        qfunc()
        return qml.expval(qml.PauliZ(n - 1))  # our qubit 0 is wire n-1

    return run


_QULACS_GATES = {"rx": "RX", "ry": "RY", "rz": "RZ", "cx": "CNOT", "h": "H"}


def prepare_qulacs(circuit: Circuit, precision: str, block: int = 0):
    """qulacs (complex128 only); ``block`` > 0 applies its gate-fusion optimiser."""
    import qulacs
    from qulacs.circuit import QuantumCircuitOptimizer

    if precision != "double":
        return None
    n = circuit.num_qubits
    qc = qulacs.QuantumCircuit(n)
    for op in circuit:
        name = _QULACS_GATES[op.name]
        # qulacs rotations are exp(+i theta P/2): negate for the same circuit
        args = [*op.qubits, *(-p for p in op.params)]
        getattr(qc, f"add_{name}_gate")(*args)
    if block:
        QuantumCircuitOptimizer().optimize(qc, block)
    obs = qulacs.Observable(n)
    obs.add_operator(1.0, "Z 0")
    state = qulacs.QuantumState(n)

    def run():
        state.set_zero_state()
        qc.update_quantum_state(state)
        return obs.get_expectation_value(state)

    return run


def prepare_qsim(circuit: Circuit, precision: str, threads: int = 1, fusion: int = 2):
    """Google's qsim through qsimcirq (float32 only: ``precision`` "double" still runs
    it in single precision, so it stays the reference for both); ``fusion`` is its
    ``max_fused_gate_size`` (2 is its default). None when qsimcirq is not installed."""
    try:
        import cirq
        import qsimcirq
    except ImportError:
        return None
    n = circuit.num_qubits
    qubits = cirq.LineQubit.range(n)
    rotations = {"rx": cirq.rx, "ry": cirq.ry, "rz": cirq.rz}
    ops = []
    for op in circuit:
        targets = [qubits[q] for q in op.qubits]
        if op.name == "cx":
            ops.append(cirq.CNOT(*targets))
        elif op.name == "h":
            ops.append(cirq.H(*targets))
        else:  # cirq's rotations are exp(-i theta P/2), as ours
            ops.append(rotations[op.name](float(op.params[0]))(*targets))
    program = cirq.Circuit(ops)
    options = qsimcirq.QSimOptions(max_fused_gate_size=fusion, cpu_threads=threads)
    sim = qsimcirq.QSimSimulator(options)
    obs = [cirq.Z(qubits[0])]

    def run():
        return sim.simulate_expectation_values(program, obs)[0].real

    return run
