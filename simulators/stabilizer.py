"""The stabilizer backend on Stim, and ``kind="auto"`` dispatch.

Clifford circuits (rotations at Clifford angles included) become ``stim.Circuit``s;
Pauli noise channels become Stim's DEPOLARIZE1/2, PAULI_CHANNEL_1/2. Expectation
values are exact even under Pauli noise: the observable is conjugated backwards
through the circuit, and each Pauli channel multiplies it by 1 - 2 p(anticommuting).
"""

from __future__ import annotations

import itertools

import numpy as np

from qworkbench import Circuit, PauliSum
from qworkbench.circuit import append_stim_operation as append_operation
from qworkbench.circuit import first_non_clifford
from qworkbench.errors import NotCliffordError
from qworkbench.utils import int_seed
from simulators._common import as_pauli_sum, check_shots
from simulators.noise import NoiseModel

__all__ = ["StabilizerSimulator", "AutoSimulator"]

_PAULI_2 = ["".join(p) for p in itertools.product("IXYZ", repeat=2)][1:]  # Stim's order


def _check_clifford(circuit: Circuit) -> None:
    bad = first_non_clifford(circuit)
    if bad is not None:
        index = circuit.operations.index(bad)
        raise NotCliffordError(
            f"circuit is not Clifford: operation {index}, {bad}, is not a Clifford gate; "
            "use the statevector or density_matrix simulator",
            bad,
        )


def _stim_noise(channel, qubits) -> tuple[str, list[float]]:
    """Stim instruction for a Pauli channel on ``qubits`` (our labels: last char = first
    qubit; Stim's PAULI_CHANNEL_2 lists the first target's Pauli first)."""
    probs = channel.pauli_probs
    if len(qubits) == 1:
        return "PAULI_CHANNEL_1", [probs.get(p, 0.0) for p in "XYZ"]
    return "PAULI_CHANNEL_2", [probs.get(pair[::-1], 0.0) for pair in _PAULI_2]


class StabilizerSimulator:
    """Stim-backed simulation of Clifford circuits, with optional Pauli noise.

    Args:
        noise: a NoiseModel whose channels are all Pauli channels (depolarizing, Pauli)
            and that has no readout errors.
    """

    def __init__(self, device: str = "cpu", precision: str = "double", noise=None):
        if noise is not None and not (isinstance(noise, NoiseModel) and noise.is_pauli):
            raise ValueError(
                "the stabilizer simulator takes Pauli noise only (depolarizing or Pauli "
                "channels, no readout error); use the density_matrix simulator"
            )
        self.noise = noise
        self._cache: dict = {}
        self._layouts: dict = {}

    def __repr__(self) -> str:
        return f"StabilizerSimulator(noise={'pauli' if self.noise else 'none'})"

    def _program(self, circuit: Circuit):
        """(stim circuit with noise and measurements, noise locations) cached by structure."""
        import stim

        if not isinstance(circuit, Circuit):
            raise TypeError(f"expected a qworkbench Circuit, got {type(circuit).__name__}")
        key = circuit.structure_key()
        hit = self._cache.get(key)
        if hit is not None:
            return hit
        if circuit.parameters:
            names = [p.name for p in circuit.parameters]
            raise ValueError(f"bind the circuit's parameters {names} first")
        _check_clifford(circuit)
        out = stim.Circuit()
        steps = []  # (op or None, [(channel, qubits)]) in order, for exact expectations
        for op in circuit:
            append_operation(out, op)
            errors = []
            if self.noise is not None and op.name not in ("measure", "barrier"):
                errors = self.noise.errors_after(op.name, op.qubits)
                for channel, qubits in errors:
                    name, args = _stim_noise(channel, qubits)
                    out.append(name, list(qubits), args)
            steps.append((op, errors))
        self._cache[key] = hit = (out, steps)
        if len(self._cache) > 64:
            self._cache.pop(next(iter(self._cache)))
        return hit

    def expval(self, circuit: Circuit, observable: PauliSum, params=None) -> float:
        """Exact <H>, also under Pauli noise."""
        import stim

        if params is not None:
            circuit = circuit.bind(params)
        observable = as_pauli_sum(observable, circuit.num_qubits)
        program, steps = self._program(circuit)
        if any(op.name == "measure" for op in circuit):
            raise ValueError("expval takes a circuit without measurements")
        total = 0.0
        for label, coeff in observable.to_list():
            pauli = stim.PauliString(label[::-1].replace("I", "_"))
            factor = 1.0
            # walk backwards: noise after op k, then op k itself
            for op, errors in reversed(steps):
                for channel, qubits in errors:
                    factor *= _survival(channel, qubits, pauli)
                if op.name != "barrier":
                    single = stim.Circuit()
                    append_operation(single, op)
                    pauli = pauli.before(single)
            # pauli is now P conjugated back to the input |0...0>: its expectation there
            expectation = 0.0 if any(pauli[q] in (1, 2) for q in range(len(pauli))) else (
                float(pauli.sign.real)
            )  # fmt: skip
            total += coeff.real * factor * expectation
        return total

    def sample_bits(self, circuit: Circuit, shots: int, seed=None, params=None) -> np.ndarray:
        """Raw shots, shape (shots, num_clbits), column c = clbit c (all qubits measured
        into clbit q = qubit q when the circuit has no measurements)."""
        check_shots(shots)
        if params is not None:
            circuit = circuit.bind(params)
        key = circuit.structure_key()
        layout = self._layouts.get(key)
        if layout is None:
            if not any(op.name == "measure" for op in circuit):
                circuit = circuit.copy().measure_all()
            clbits = np.array([op.clbits[0] for op in circuit if op.name == "measure"])
            layout = self._layouts[key] = (circuit, clbits)
            if len(self._layouts) > 64:
                self._layouts.pop(next(iter(self._layouts)))
        circuit, clbits = layout
        program, _ = self._program(circuit)
        bits = self._sample_program(program, shots, seed)
        if np.array_equal(clbits, np.arange(circuit.num_clbits)):
            return bits
        columns = np.zeros((int(shots), circuit.num_clbits), dtype=bool)
        columns[:, clbits] = bits  # a later measurement into the same clbit wins
        return columns

    def _sample_program(self, program, shots: int, seed) -> np.ndarray:
        """Measurement samples of a stim.Circuit (the frames engine overrides this)."""
        return program.compile_sampler(seed=int_seed(seed)).sample(int(shots))

    def sample(self, circuit: Circuit, shots: int, seed=None, params=None) -> dict[str, int]:
        """Counts (clbit 0 / qubit 0 rightmost) from Stim's compiled sampler."""
        columns = self.sample_bits(circuit, shots, seed=seed, params=params)
        width = columns.shape[1]
        # count distinct packed rows, then turn only those into strings, vectorised
        rows, counts = np.unique(np.packbits(columns[:, ::-1], axis=1), axis=0,
                                 return_counts=True)  # fmt: skip
        bits = np.unpackbits(rows, axis=1)[:, :width].astype(bool)
        chars = np.ascontiguousarray(np.where(bits, "1", "0").astype("<U1"))
        keys = chars.view(f"<U{width}").ravel()
        return dict(zip(keys.tolist(), counts.tolist()))

    @staticmethod
    def sample_detectors(stim_circuit, shots: int, seed=None):
        """(detection events, observable flips) of a ``stim.Circuit`` with detectors
        (e.g. ``stim.Circuit.generated("surface_code:rotated_memory_x", ...)``)."""
        sampler = stim_circuit.compile_detector_sampler(seed=int_seed(seed))
        return sampler.sample(int(shots), separate_observables=True)


def _survival(channel, qubits, pauli) -> float:
    """Factor 1 - 2 p(errors anticommuting with ``pauli`` on ``qubits``)."""
    flip = 0.0
    for label, p in channel.pauli_probs.items():
        anticommuting = 0
        for k, q in enumerate(qubits):
            e = label[len(qubits) - 1 - k]  # our label: last char acts on qubits[0]
            o = "_XYZ"[pauli[q]] if q < len(pauli) else "_"
            anticommuting ^= int(e != "I" and o != "_" and e != o)
        flip += p * anticommuting
    return 1.0 - 2.0 * flip


class AutoSimulator:
    """Clifford circuits (with Pauli noise) to Stim; others to the statevector simulator
    (no noise) or the density-matrix simulator (noise). The Clifford check is cached by
    circuit structure, so dispatch costs a dictionary lookup after the first call."""

    def __init__(self, device: str = "auto", precision: str = "double", noise=None, **options):
        from simulators import get_simulator

        self.noise = noise
        self._stim = StabilizerSimulator(noise=noise) if noise is None or noise.is_pauli else None
        kind = "statevector" if noise is None else "density_matrix"
        self._general = get_simulator(kind, device=device, precision=precision, noise=noise,
                                      **options)  # fmt: skip
        self._clifford: dict = {}

    def simulator_for(self, circuit: Circuit):
        """The simulator ``circuit`` is dispatched to."""
        key = circuit.structure_key()
        clifford = self._clifford.get(key)
        if clifford is None:
            clifford = self._clifford[key] = not circuit.parameters and circuit.is_clifford()
            if len(self._clifford) > 4096:
                self._clifford.pop(next(iter(self._clifford)))
        return self._stim if clifford and self._stim is not None else self._general

    def expval(self, circuit: Circuit, observable, params=None):
        return self.simulator_for(circuit).expval(circuit, observable, params)

    def sample(self, circuit: Circuit, shots: int, seed=None, params=None):
        return self.simulator_for(circuit).sample(circuit, shots, seed=seed, params=params)

    def __getattr__(self, name):
        # statevector, density_matrix, gradient, probabilities: the general simulator's
        return getattr(self._general, name)
