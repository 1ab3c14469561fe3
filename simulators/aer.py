"""``kind="aer"``: the simulator API handed to qiskit-aer's statevector method, for
users who need Aer's MPI / multi-GPU scale-out. Gradients by parameter shift."""

from __future__ import annotations

import numpy as np

from qworkbench import Circuit, PauliSum
from qworkbench.utils import int_seed
from simulators._common import as_pauli_sum, check_shots
from simulators._plan import bind_params
from simulators._shift import shift_gradient

__all__ = ["AerStatevectorSimulator"]


class AerStatevectorSimulator:
    """qiskit-aer ``AerSimulator(method="statevector")`` with qworkbench's API.

    Args:
        device: "auto"/"cpu" (Aer's CPU) or "gpu" (Aer's GPU build).
        precision: "double" or "single".
        **aer_options: passed to ``AerSimulator`` (e.g. ``fusion_enable``, MPI options).
    """

    def __init__(self, device: str = "auto", precision: str = "double", **aer_options):
        from qiskit_aer import AerSimulator

        if device not in ("auto", "cpu", "gpu"):
            raise ValueError(f"device must be 'auto', 'cpu' or 'gpu', got {device!r}")
        if precision not in ("double", "single"):
            raise ValueError(f"precision must be 'double' or 'single', got {precision!r}")
        self.device = "gpu" if device == "gpu" else "cpu"
        self.precision = precision
        self._backend = AerSimulator(
            method="statevector",
            device=self.device.upper(),
            precision=precision,
            **aer_options,
        )

    def __repr__(self) -> str:
        return f"AerStatevectorSimulator(device={self.device!r}, precision={self.precision!r})"

    def _bound(self, circuit: Circuit, params):
        if not isinstance(circuit, Circuit):
            raise TypeError(f"expected a qworkbench Circuit, got {type(circuit).__name__}")
        values, batched = bind_params(params, circuit.parameters)
        gates_only = Circuit(circuit.num_qubits)
        for op in circuit:
            if op.name not in ("measure", "barrier"):
                gates_only.append(op.name, op.qubits, op.params)
        rows = [None] if values is None else list(values)
        circuits = [gates_only if v is None else gates_only.bind(v) for v in rows]
        return [c.to_qiskit() for c in circuits], batched

    def _run(self, qcs):
        result = self._backend.run(qcs, shots=1).result()
        if not result.success:
            raise RuntimeError(f"qiskit-aer failed: {result.status}")
        return result

    def statevector(self, circuit: Circuit, params=None):
        qcs, batched = self._bound(circuit, params)
        for qc in qcs:
            qc.save_statevector()
        result = self._run(qcs)
        states = np.array([np.asarray(result.get_statevector(k)) for k in range(len(qcs))])
        return states if batched else states[0]

    def probabilities(self, circuit: Circuit, params=None):
        states = self.statevector(circuit, params)
        return np.abs(states) ** 2

    def expval(self, circuit: Circuit, observable: PauliSum, params=None):
        op = as_pauli_sum(observable, circuit.num_qubits).to_qiskit()
        qcs, batched = self._bound(circuit, params)
        for qc in qcs:
            qc.save_expectation_value(op, range(qc.num_qubits))
        result = self._run(qcs)
        values = np.array([result.data(k)["expectation_value"] for k in range(len(qcs))])
        values = values.real if np.all(np.abs(values.imag) < 1e-12) else values
        return values if batched else values[0].item()

    def gradient(self, circuit: Circuit, observable: PauliSum, params):
        """d<H>/d(params) by the parameter-shift rule."""
        return shift_gradient(self, circuit, observable, params)

    def sample(self, circuit: Circuit, shots: int, seed=None, params=None) -> dict[str, int]:
        check_shots(shots)
        values, batched = bind_params(params, circuit.parameters)
        if batched:
            raise ValueError("sample takes one parameter set; got a batch")
        bound = circuit if values is None else circuit.bind(values[0])
        if not any(op.name == "measure" for op in bound):
            bound = bound.copy().measure_all()
        seed = int_seed(seed)
        result = self._backend.run(bound.to_qiskit(), shots=int(shots), seed_simulator=seed)
        return dict(result.result().get_counts())
