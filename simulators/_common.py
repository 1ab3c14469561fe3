"""What every simulator shares: option and input checks, observables as Pauli masks,
and shots.

The simulator modules (statevector, density_matrix, stabilizer, aer) and the
integrations (qiskit, pennylane) import these from here, so no simulator module
imports another for a helper.
"""

from __future__ import annotations

import numpy as np

from qworkbench import Circuit, PauliSum
from qworkbench.utils import check_allocation, positive_int

__all__ = [
    "PRECISIONS",
    "precision_dtype",
    "check_circuit",
    "check_memory",
    "as_pauli_sum",
    "pauli_arrays",
    "grouped_diagonals",
    "check_shots",
    "counts_from_probabilities",
]

PRECISIONS = {"double": np.complex128, "single": np.complex64}


# -- options and inputs ---------------------------------------------------------------------
def precision_dtype(precision: str):
    """The state dtype of ``precision`` ("double": complex128, "single": complex64)."""
    if precision not in PRECISIONS:
        raise ValueError(f"precision must be 'double' or 'single', got {precision!r}")
    return PRECISIONS[precision]


def _human_bytes(nbytes: float) -> str:
    for unit in ("GiB", "TiB", "PiB", "EiB"):
        nbytes /= 1024 ** (3 if unit == "GiB" else 1)
        if nbytes < 1024 or unit == "EiB":
            return f"{nbytes:,.4g} {unit}"
    raise AssertionError("unreachable")


def check_circuit(circuit, max_qubits: int, what: str, itemsize: int = 16,
                  dims_per_qubit: int = 2) -> None:  # fmt: skip
    """Refuse anything but a qworkbench Circuit of at most ``max_qubits`` qubits; a wider
    one's error says the memory its state (``itemsize`` bytes per entry,
    ``dims_per_qubit ** n`` entries: 2 for a statevector, 4 for a density matrix) would
    need."""
    if not isinstance(circuit, Circuit):
        raise TypeError(f"expected a qworkbench Circuit, got {type(circuit).__name__}")
    n = circuit.num_qubits
    if n > max_qubits:
        need = _human_bytes(float(itemsize) * float(dims_per_qubit) ** n)
        raise ValueError(
            f"{what} simulation supports at most {max_qubits} qubits: {n} qubits would need "
            f"{need} for the state alone"
        )


def check_memory(kernels, nbytes: int, what: str, max_memory: int | None) -> None:
    """Refuse allocating ``nbytes`` on the kernels' device beyond ``max_memory`` (default:
    what the device has free)."""
    limit = kernels.free_bytes() if max_memory is None else max_memory
    check_allocation(nbytes, what, limit)


# -- observables ----------------------------------------------------------------------------
def as_pauli_sum(observable, num_qubits: int) -> PauliSum:
    """``observable`` (PauliSum or qiskit SparsePauliOp) checked against ``num_qubits``."""
    if not isinstance(observable, PauliSum):
        try:
            from qiskit.quantum_info import SparsePauliOp

            if isinstance(observable, SparsePauliOp):
                observable = PauliSum.from_qiskit(observable)
        except ImportError:  # pragma: no cover
            pass
    if not isinstance(observable, PauliSum):
        raise TypeError(f"observable must be a PauliSum, got {type(observable).__name__}")
    if observable.num_qubits != num_qubits:
        raise ValueError(
            f"observable acts on {observable.num_qubits} qubits, the circuit on {num_qubits}"
        )
    return observable


def pauli_arrays(observable: PauliSum) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(xs, zs, coeffs) int64/int64/complex128 with i^{|x&z|} folded into coeffs."""
    return observable.memo("statevector_masks", lambda: _pauli_arrays(observable))


def _pauli_arrays(observable: PauliSum):
    if observable.num_qubits > 62:
        raise ValueError(
            f"mask arrays hold at most 62 qubits; the observable has {observable.num_qubits}"
        )
    xs = observable.x[:, 0].astype(np.int64)
    zs = observable.z[:, 0].astype(np.int64)
    ys = np.bitwise_count(xs & zs).astype(np.int64)
    coeffs = observable.coeffs * (1j) ** (ys % 4)
    return xs, zs, np.ascontiguousarray(coeffs, dtype=np.complex128)


def grouped_diagonals(observable: PauliSum, num_qubits: int, max_entries: int = 1 << 21):
    """(X masks, diagonals) with the terms sharing an X mask folded into one diagonal
    D_x[j] = sum_k c_k i^{|x&z_k|} (-1)^{|z_k & j|}, or None when that would take more
    than ``max_entries`` entries (default: 32 MiB) or save little."""
    grouped = observable.memo(
        ("grouped_diagonals", num_qubits), lambda: _grouped(observable, num_qubits)
    )
    if grouped is None or grouped[1].size > max_entries:
        return None
    return grouped


def _grouped(observable: PauliSum, num_qubits: int):
    xs, zs, coeffs = pauli_arrays(observable)
    gxs, group = np.unique(xs, return_inverse=True)
    dim = 1 << num_qubits
    # worth it when terms share X masks (molecular and spin Hamiltonians do)
    if len(gxs) * dim > 1 << 21 or 2 * len(gxs) > len(xs):
        return None
    j = np.arange(dim, dtype=np.int64)
    diagonals = np.zeros((len(gxs), dim), dtype=np.complex128)
    for z, c, g in zip(zs, coeffs, group.ravel()):
        diagonals[g] += c * (1.0 - 2.0 * (np.bitwise_count(j & z) & 1))
    return gxs.astype(np.int64), diagonals


# -- shots ----------------------------------------------------------------------------------
def check_shots(shots) -> None:
    """Refuse anything but a positive integer number of shots, naming it."""
    positive_int("shots", shots)


def counts_from_probabilities(probs, circuit: Circuit, shots: int, seed=None) -> dict[str, int]:
    """Counts of ``shots`` draws from ``probs`` (index bit q = qubit q), mapped through the
    circuit's measurements to clbits (all qubits when it has none); reproducible by seed."""
    check_shots(shots)
    rng = seed if isinstance(seed, np.random.Generator) else np.random.default_rng(seed)
    p = np.asarray(probs, dtype=np.float64)
    counts = rng.multinomial(int(shots), p / p.sum())
    outcomes = np.nonzero(counts)[0]
    measures = [(op.qubits[0], op.clbits[0]) for op in circuit if op.name == "measure"]
    if measures:
        width = circuit.num_clbits
        values = np.zeros(len(outcomes), dtype=np.int64)
        for q, c in measures:
            bit = (outcomes >> q) & 1
            values = (values & ~(1 << c)) | (bit << c)
    else:
        width, values = circuit.num_qubits, outcomes
    result: dict[str, int] = {}
    for v, k in zip(values.tolist(), counts[outcomes].tolist()):
        key = format(v, f"0{width}b")
        result[key] = result.get(key, 0) + k
    return result
