"""A PennyLane device, ``qml.device("qworkbench.statevector", wires=n)``.

PennyLane orders a state with wire 0 most significant; we map device wire index
``i`` to our qubit ``n - 1 - i``, so our state vector *is* PennyLane's and
measurement processing (``process_state``/``process_samples``) applies unchanged.
Gates outside our library are decomposed by PennyLane first; an operation PennyLane
defines by its matrix alone (``BlockEncode``, ``DoubleExcitationPlus``, a ``QubitUnitary``
on three or more wires) is applied as a dense unitary between runs of our gates, as
``default.qubit`` does. Dynamic work wires (``qml.allocate``, and the ``Allocate``/
``Deallocate`` pairs that graph decomposition introduces) are mapped onto unused zeroed
device wires by PennyLane's ``device_resolve_dynamic_wires``. Derivatives: adjoint
differentiation by our simulator (``diff_method="adjoint"`` or ``"device"``), for which
dense unitaries are decomposed into our gates instead.
"""

from __future__ import annotations

import dataclasses

import numpy as np
import pennylane as qml
from pennylane.devices import Device, ExecutionConfig
from pennylane.devices.modifiers import simulator_tracking, single_tape_support
from pennylane.devices.preprocess import (
    decompose,
    device_resolve_dynamic_wires,
    validate_device_wires,
    validate_measurements,
)
from pennylane.devices.qubit import measure, measure_with_samples
from pennylane.exceptions import DecompositionUndefinedError, DeviceError
from pennylane.transforms import broadcast_expand, defer_measurements
from pennylane.transforms.core import CompilePipeline

from qworkbench import Circuit, Parameter, PauliSum
from simulators.statevector import StatevectorSimulator

__all__ = ["QWorkbenchDevice"]

# PennyLane operation name -> (our gate, PennyLane wires order == our qubit order)
_GATES = {
    "Identity": None,
    "GlobalPhase": None,  # tracked separately (see QWorkbenchDevice._global_phase)
    "Hadamard": "h",
    "PauliX": "x",
    "PauliY": "y",
    "PauliZ": "z",
    "S": "s",
    "T": "t",
    "SX": "sx",
    "Adjoint(S)": "sdg",
    "Adjoint(T)": "tdg",
    "Adjoint(SX)": "sxdg",
    "RX": "rx",
    "RY": "ry",
    "RZ": "rz",
    "PhaseShift": "p",
    "U3": "u",
    "CNOT": "cx",
    "CY": "cy",
    "CZ": "cz",
    "SWAP": "swap",
    "CRX": "crx",
    "CRY": "cry",
    "CRZ": "crz",
    "IsingZZ": "rzz",
    "IsingXX": "rxx",
    "IsingYY": "ryy",
    "Toffoli": "ccx",
}
_ADJOINT_GATES = {"RX", "RY", "RZ", "PhaseShift", "CRX", "CRY", "CRZ", "IsingZZ", "IsingXX",
                  "IsingYY"}  # fmt: skip


_FIXED_GATES = {
    name for name in _GATES if name not in _ADJOINT_GATES and name not in ("U3", "GlobalPhase")
}


# from this width on, one dense pass beats a quantum Shannon decomposition (~4**n gates)
_DENSE_MIN_WIRES = 3


def _dense(op) -> bool:
    """Applied as a dense unitary: defined by a matrix alone, or a wide QubitUnitary."""
    if op.name in _GATES or not op.has_matrix:
        return False
    return not op.has_decomposition or (
        op.name == "QubitUnitary" and len(op.wires) >= _DENSE_MIN_WIRES
    )


def _supported(op) -> bool:
    return op.name in _GATES or _dense(op)


def _decomposition(op) -> list:
    """PennyLane's decomposition; a matrix-only operation (under adjoint differentiation,
    where every gate needs a generator) becomes a QubitUnitary, which PennyLane decomposes
    numerically: possible only while its parameters are not trainable."""
    if op.has_decomposition:
        return op.decomposition()
    if not op.has_matrix:
        raise DecompositionUndefinedError(f"{op.name} has neither a decomposition nor a matrix")
    if any(qml.math.requires_grad(p) for p in op.data):
        raise DeviceError(
            f"{op.name} with a trainable parameter has no decomposition into qworkbench's gates, "
            "which adjoint differentiation needs; use diff_method='parameter-shift'"
        )
    return [qml.QubitUnitary(op.matrix(), wires=op.wires)]


def _supported_for_adjoint(op) -> bool:
    return op.name in _ADJOINT_GATES or (
        op.name in _GATES and (op.num_params == 0 or op.name == "GlobalPhase")
    )


def _pauli_sum(obs, qubit_of: dict, n: int) -> PauliSum | None:
    """The observable as a PauliSum over our qubits, or None when it is not a Pauli sum."""
    try:
        sentence = qml.pauli.pauli_sentence(obs)
    except Exception:  # not expressible in Paulis (Hermitian, Projector, ...)
        return None
    terms = []
    for word, coeff in sentence.items():
        label = ["I"] * n
        for wire, pauli in word.items():
            label[n - 1 - qubit_of[wire]] = pauli
        terms.append(("".join(label), complex(coeff)))
    return PauliSum.from_list(terms, num_qubits=n) if terms else PauliSum.zero(n)


@simulator_tracking
@single_tape_support
class QWorkbenchDevice(Device):
    """qworkbench's statevector simulator as a PennyLane device.

    Args:
        wires: number of wires or their labels.
        shots: default shots (PennyLane now sets them per QNode with ``qml.set_shots``).
        seed: seed of the sampler.
        precision: "double" or "single"; ``device``: "cpu", "gpu" or "auto"; ``fusion``:
            widest fused block (see ``StatevectorSimulator``).
    """

    name = "qworkbench.statevector"

    def __init__(self, wires=None, shots=None, seed=None, precision="double", device="cpu",
                 fusion=2):  # fmt: skip
        super().__init__(wires=wires, shots=shots)
        self._rng = np.random.default_rng(seed)
        self._sim = StatevectorSimulator(device=device, precision=precision, fusion=fusion)

    # -- configuration ----------------------------------------------------------------------
    def setup_execution_config(self, config=None, circuit=None) -> ExecutionConfig:
        config = config or ExecutionConfig()
        method = config.gradient_method
        if method in ("best", "device"):
            method = "adjoint"
        updates = {"gradient_method": method}
        if config.use_device_gradient is None:
            updates["use_device_gradient"] = method == "adjoint"
        if config.grad_on_execution is None:
            updates["grad_on_execution"] = False
        return dataclasses.replace(config, **updates)

    def preprocess_transforms(self, execution_config=None) -> CompilePipeline:
        config = execution_config or ExecutionConfig()
        program = CompilePipeline()
        program.add_transform(defer_measurements, allow_postselect=False)
        adjoint = config.gradient_method == "adjoint"
        program.add_transform(
            decompose,
            stopping_condition=_supported_for_adjoint if adjoint else _supported,
            decomposer=_decomposition,
            device_wires=self.wires,  # graph decomposition counts the free ones as work wires
            target_gates=_ADJOINT_GATES | _FIXED_GATES if adjoint else set(_GATES),
            name=self.name,
            skip_initial_state_prep=False,
        )
        # Allocate/Deallocate -> unused device wires (zeroed: measurements are deferred, so
        # a mid-circuit reset to reuse a wire is not available)
        program.add_transform(device_resolve_dynamic_wires, wires=self.wires, allow_resets=False)
        program.add_transform(validate_device_wires, wires=self.wires, name=self.name)
        program.add_transform(validate_measurements, name=self.name)
        program.add_transform(broadcast_expand)
        return program

    def supports_derivatives(self, execution_config=None, circuit=None) -> bool:
        if execution_config is None:
            return True
        if execution_config.gradient_method not in ("adjoint", "best", "device"):
            return False
        if circuit is None:
            return True
        if circuit.shots:
            return False
        qubit_of, n = self._qubits(circuit)
        return all(
            isinstance(m, qml.measurements.ExpectationMP)
            and m.obs is not None
            and _pauli_sum(m.obs, qubit_of, n) is not None
            for m in circuit.measurements
        )

    # -- conversion -------------------------------------------------------------------------
    def _qubits(self, tape) -> tuple[dict, int]:
        wires = self.wires if self.wires is not None else tape.wires
        n = max(len(wires), 1)
        # wire index i -> our qubit n-1-i: our little-endian index equals PennyLane's order
        return {w: n - 1 - i for i, w in enumerate(wires)}, n

    def _circuit(self, tape, trainable: bool = False, qubits=None, n=None, ops=None) -> Circuit:
        """Our circuit of ``ops`` (default: all of the tape's operations, all in our table)."""
        qubit_of, n = (qubits, n) if qubits is not None else self._qubits(tape)
        circuit = Circuit(n)
        index, count = 0, 0
        trainable_set = set(tape.trainable_params) if trainable else set()
        for op in tape.operations if ops is None else ops:
            name = _GATES[op.name]
            params = []
            for p in op.parameters:
                if index in trainable_set:  # one Parameter per trainable occurrence, in order
                    params.append(Parameter(f"t{count}"))
                    count += 1
                else:
                    params.append(float(np.real(qml.math.toarray(p))))
                index += 1
            if name is not None:
                circuit.append(name, [qubit_of[w] for w in op.wires], params)
        return circuit

    # -- execution --------------------------------------------------------------------------
    def execute(self, circuits, execution_config=None):
        return tuple(self._simulate(tape) for tape in circuits)

    def _simulate(self, tape):
        qubit_of, n = self._qubits(tape)
        # PennyLane's measurement code reads a state tensor whose axis i is wire i
        tape = tape.map_to_standard_wires() if self.wires is None else (
            qml.map_wires(tape, {w: n - 1 - q for w, q in qubit_of.items()})[0][0]
        )  # fmt: skip
        std_qubits = {i: n - 1 - i for i in range(n)}
        state = self._state(tape, std_qubits, n)
        tensor = state.reshape((2,) * n)
        if tape.shots:
            results = measure_with_samples(tape.measurements, tensor, tape.shots, rng=self._rng)
            return results[0] if len(tape.measurements) == 1 else tuple(results)
        results = tuple(self._analytic(m, state, tensor, std_qubits, n) for m in tape.measurements)
        return results[0] if len(results) == 1 else results

    def _state(self, tape, qubit_of: dict, n: int) -> np.ndarray:
        """The final state (complex128) of a tape on standard wires: each run of our gates
        by our simulator, each dense unitary (see ``_dense``) applied between runs."""
        state, run = None, []
        for op in [*tape.operations, None]:  # None: the end of the last run
            if op is not None and op.name in _GATES:
                run.append(op)
                continue
            if run or state is None:
                circuit = self._circuit(tape, qubits=qubit_of, n=n, ops=run)
                state = self._sim.statevector(circuit, initial_state=state)
            if op is not None:
                state, run = _apply_dense(state, op, n), []
        return state.astype(np.complex128) * self._global_phase(tape)

    @staticmethod
    def _global_phase(tape) -> complex:
        """GlobalPhase(phi) multiplies the state by exp(-i phi); our IR has no global phase."""
        phi = sum(float(np.real(qml.math.toarray(op.data[0])))
                  for op in tape.operations if op.name == "GlobalPhase")  # fmt: skip
        return np.exp(-1j * phi)

    def _analytic(self, m, state, tensor, qubit_of, n):
        """Pauli-sum expectations from the masks; everything else by PennyLane's measure."""
        if isinstance(m, qml.measurements.ExpectationMP) and m.obs is not None:
            ham = _pauli_sum(m.obs, qubit_of, n)
            if ham is not None and ham.is_hermitian():
                return np.float64(_expval_state(self._sim, state, ham))
        return measure(m, tensor)

    # -- derivatives ------------------------------------------------------------------------
    def compute_derivatives(self, circuits, execution_config=None):
        return tuple(self._jacobian(tape) for tape in circuits)

    def execute_and_compute_derivatives(self, circuits, execution_config=None):
        return self.execute(circuits, execution_config), self.compute_derivatives(circuits)

    def _jacobian(self, tape):
        circuit = self._circuit(tape, trainable=True)
        qubit_of, n = self._qubits(tape)
        values = tape.get_parameters(trainable_only=False, operations_only=True)
        trainable = [k for k in tape.trainable_params if k < len(values)]
        full = np.array([float(np.real(qml.math.toarray(values[k]))) for k in trainable])
        # parameters the circuit dropped (GlobalPhase, Identity) have zero derivative
        used = [int(p.name[1:]) for p in circuit.parameters]
        jac = np.zeros((len(tape.measurements), len(trainable)))
        for row, m in enumerate(tape.measurements):
            if used:
                ham = _pauli_sum(m.obs, qubit_of, n)
                jac[row, used] = self._sim.gradient(circuit, ham, full[used])
        jac = np.squeeze(jac)  # PennyLane's convention (as its own adjoint_jacobian)
        if jac.ndim == 0:
            return np.array(jac)
        if jac.ndim == 1:
            return tuple(np.array(j) for j in jac)
        return tuple(tuple(np.array(x) for x in row) for row in jac)


def _apply_dense(state: np.ndarray, op, n: int) -> np.ndarray:
    """``op``'s matrix applied to ``state`` on standard wires (wire i is tensor axis i, the
    matrix's first wire its most significant bit, as in PennyLane)."""
    k = len(op.wires)
    matrix = np.asarray(qml.matrix(op), dtype=np.complex128).reshape((2,) * (2 * k))
    axes = [int(w) for w in op.wires]
    out = np.tensordot(matrix, state.reshape((2,) * n), axes=(list(range(k, 2 * k)), axes))
    return np.moveaxis(out, list(range(k)), axes).reshape(-1)


def _expval_state(sim: StatevectorSimulator, state: np.ndarray, ham: PauliSum) -> float:
    from simulators._common import pauli_arrays

    batch = sim.kernels.asarray(state[None], sim.dtype)
    return float(sim.kernels.to_numpy(sim.kernels.pauli_expvals(batch, *pauli_arrays(ham)))[0].real)
