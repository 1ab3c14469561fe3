"""Qiskit primitives on qworkbench's simulator: ``SamplerV2`` and ``EstimatorV2``.

They implement Qiskit's ``BaseSamplerV2``/``BaseEstimatorV2`` (PUB coercion,
broadcasting of parameter values against observables, ``DataBin``/``BitArray``
results) like ``StatevectorSampler``/``StatevectorEstimator``, but every parameter
set of a PUB is simulated in one batched run.
"""

from __future__ import annotations

from collections.abc import Iterable

import numpy as np
from qiskit.primitives import (
    BaseEstimatorV2,
    BaseSamplerV2,
    BitArray,
    DataBin,
    PrimitiveJob,
    PrimitiveResult,
    PubResult,
    SamplerPubResult,
)
from qiskit.primitives.containers.estimator_pub import EstimatorPub
from qiskit.primitives.containers.sampler_pub import SamplerPub

from qworkbench import Circuit, PauliSum
from simulators._common import pauli_arrays
from simulators.statevector import StatevectorSimulator

__all__ = ["SamplerV2", "EstimatorV2"]


def _prepare(qc, parameter_values, sim: StatevectorSimulator, kind: str):
    """Our circuit and the final states (or probabilities) for every parameter set:
    (circuit, array of shape (*pub_shape, 2**n))."""
    circuit = Circuit.from_qiskit(qc, decompose=True)
    by_name = {p.name: p for p in qc.parameters}
    values = parameter_values.as_array([by_name[p.name] for p in circuit.parameters])
    shape = values.shape[:-1]
    flat = values.reshape(-1, values.shape[-1]) if circuit.num_parameters else None
    batch = int(np.prod(shape, dtype=int))
    if kind == "probabilities":
        out = sim.probabilities(circuit, flat) if flat is not None else sim.probabilities(circuit)
    else:
        out = sim.statevector(circuit, flat) if flat is not None else sim.statevector(circuit)
    out = np.broadcast_to(out, (batch, out.shape[-1])) if out.ndim == 1 else out
    return circuit, out.reshape(*shape, -1)


def _refuse_measurements(qc) -> None:
    """Estimator circuits hold no measurements (Qiskit's ``StatevectorEstimator`` refuses
    them too): say which instruction, instead of estimating as if it were not there."""
    for index, inst in enumerate(qc.data):
        if inst.operation.name == "measure":
            qubit = qc.find_bit(inst.qubits[0]).index
            raise ValueError(
                f"EstimatorV2 circuits must not measure: measure on qubit {qubit} (instruction "
                f"{index}); remove measurements with qc.remove_final_measurements(), as for "
                "Qiskit's StatevectorEstimator"
            )


class EstimatorV2(BaseEstimatorV2):
    """Exact expectation values, as Qiskit's ``StatevectorEstimator``: ``precision`` > 0
    adds Gaussian noise of that std to each value, ``stds`` are 0, and circuits with
    measurements are refused. Parameter expressions of several parameters (feature
    maps) are evaluated for every parameter set in one batched run.

    Args:
        default_precision: used when neither the PUB nor ``run`` gives one.
        seed: seed of the noise generator.
        simulator: a ``StatevectorSimulator`` (default: CPU, double precision).
    """

    def __init__(self, *, default_precision: float = 0.0, seed=None, simulator=None):
        self._default_precision = default_precision
        self._seed = seed
        self._sim = simulator or StatevectorSimulator(device="cpu")

    @property
    def default_precision(self) -> float:
        return self._default_precision

    def run(self, pubs: Iterable, *, precision: float | None = None) -> PrimitiveJob:
        if precision is None:
            precision = self._default_precision
        coerced = [EstimatorPub.coerce(pub, precision) for pub in pubs]
        job = PrimitiveJob(self._run, coerced)
        job._submit()
        return job

    def _run(self, pubs: list[EstimatorPub]) -> PrimitiveResult:
        return PrimitiveResult([self._run_pub(pub) for pub in pubs], metadata={"version": 2})

    def _run_pub(self, pub: EstimatorPub) -> PubResult:
        rng = np.random.default_rng(self._seed)
        _refuse_measurements(pub.circuit)
        circuit, states = _prepare(pub.circuit, pub.parameter_values, self._sim, "states")
        indices = np.arange(int(np.prod(states.shape[:-1], dtype=int))).reshape(states.shape[:-1])
        bc_index, bc_obs = np.broadcast_arrays(indices, pub.observables)
        flat_states = states.reshape(-1, states.shape[-1])
        evs = np.zeros(bc_index.shape, dtype=np.float64)
        n = circuit.num_qubits
        kernels = self._sim.kernels
        for index in np.ndindex(*bc_index.shape):
            labels, coeffs = zip(*bc_obs[index].items())
            ham = PauliSum.from_list(list(zip(labels, coeffs)), num_qubits=n)
            row = kernels.asarray(flat_states[bc_index[index]][None], self._sim.dtype)
            value = kernels.to_numpy(kernels.pauli_expvals(row, *pauli_arrays(ham)))[0]
            if pub.precision != 0:
                if abs(value.imag) > 1e-10:
                    raise ValueError("the operator is not Hermitian and noise cannot be added")
                value = rng.normal(value.real, pub.precision)
            evs[index] = np.real(value)
        # exact evaluation: zero standard error, as StatevectorEstimator reports even
        # when precision > 0 adds noise to the values
        data = DataBin(evs=evs, stds=np.zeros(evs.shape), shape=evs.shape)
        return PubResult(
            data,
            metadata={"target_precision": pub.precision, "circuit_metadata": pub.circuit.metadata},
        )


class SamplerV2(BaseSamplerV2):
    """Shots sampled from exact final-state probabilities; one ``BitArray`` per
    classical register, as Qiskit's ``StatevectorSampler``.

    Args:
        default_shots: used when neither the PUB nor ``run`` gives shots.
        seed: seed of the sampler (int or ``numpy.random.Generator``).
        simulator: a ``StatevectorSimulator`` (default: CPU, double precision).
    """

    def __init__(self, *, default_shots: int = 1024, seed=None, simulator=None):
        self._default_shots = default_shots
        self._seed = seed
        self._sim = simulator or StatevectorSimulator(device="cpu")

    @property
    def default_shots(self) -> int:
        return self._default_shots

    def run(self, pubs: Iterable, *, shots: int | None = None) -> PrimitiveJob:
        if shots is None:
            shots = self._default_shots
        coerced = [SamplerPub.coerce(pub, shots) for pub in pubs]
        job = PrimitiveJob(self._run, coerced)
        job._submit()
        return job

    def _run(self, pubs: list[SamplerPub]) -> PrimitiveResult:
        return PrimitiveResult([self._run_pub(pub) for pub in pubs], metadata={"version": 2})

    def _run_pub(self, pub: SamplerPub) -> SamplerPubResult:
        rng = self._seed if isinstance(self._seed, np.random.Generator) else (
            np.random.default_rng(self._seed)
        )  # fmt: skip
        qc = pub.circuit
        circuit, probs = _prepare(qc, pub.parameter_values, self._sim, "probabilities")
        # measured qubit of each clbit (terminal measurements; unmeasured clbits read 0)
        measured = {op.clbits[0]: op.qubits[0] for op in circuit if op.name == "measure"}
        registers = {
            creg.name: [measured.get(qc.find_bit(bit).index) for bit in creg] for creg in qc.cregs
        }
        arrays = {
            name: np.zeros((*pub.shape, pub.shots, -(-len(qubits) // 8)), dtype=np.uint8)
            for name, qubits in registers.items()
        }
        for index in np.ndindex(*pub.shape):
            p = np.asarray(probs[index], dtype=np.float64)
            outcomes = rng.choice(len(p), size=pub.shots, p=p / p.sum())
            for name, qubits in registers.items():
                bits = np.zeros((pub.shots, len(qubits)), dtype=np.uint8)
                for k, q in enumerate(qubits):
                    if q is not None:
                        bits[:, k] = (outcomes >> q) & 1
                # BitArray packs big-endian with clbit 0 last
                padded = np.pad(bits[:, ::-1], ((0, 0), (-len(qubits) % 8, 0)))
                arrays[name][index] = np.packbits(padded, axis=-1)
        meas = {name: BitArray(arrays[name], len(q)) for name, q in registers.items()}
        return SamplerPubResult(
            DataBin(**meas, shape=pub.shape),
            metadata={"shots": pub.shots, "circuit_metadata": qc.metadata},
        )
