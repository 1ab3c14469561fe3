"""The gate library: matrices, generators, inverses and Clifford-ness per gate.

Matrices follow Qiskit exactly (not only up to phase): bit ``k`` of a matrix
index is the state of the gate's ``k``-th qubit argument, so ``cx(a, b)`` has
its control on bit 0. Each one-parameter gate also records its generator
``G`` with ``U(theta) = exp(-1j * theta * G)``, used by adjoint gradients.
"""

from __future__ import annotations

import functools
import itertools
from collections.abc import Callable
from dataclasses import dataclass

import numpy as np

__all__ = ["GateSpec", "GATES", "DIRECTIVES", "gate_matrix", "is_clifford_unitary"]

_I = np.eye(2, dtype=complex)
_X = np.array([[0, 1], [1, 0]], dtype=complex)
_Y = np.array([[0, -1j], [1j, 0]], dtype=complex)
_Z = np.diag([1.0, -1.0]).astype(complex)
_P0 = np.diag([1.0, 0.0]).astype(complex)
_P1 = np.diag([0.0, 1.0]).astype(complex)


def _controlled(u: np.ndarray) -> np.ndarray:
    """Control on argument 0 (bit 0), ``u`` on argument 1 (bit 1)."""
    return np.kron(_I, _P0) + np.kron(u, _P1)


def _rotation(pauli: np.ndarray) -> Callable[[float], np.ndarray]:
    """exp(-i theta P / 2) for a Pauli (string) matrix P, P @ P = 1."""
    eye = np.eye(pauli.shape[0], dtype=complex)

    def matrix(theta: float) -> np.ndarray:
        return np.cos(theta / 2) * eye - 1j * np.sin(theta / 2) * pauli

    return matrix


def _rz(theta: float) -> np.ndarray:
    return np.diag([np.exp(-0.5j * theta), np.exp(0.5j * theta)])


def _p(theta: float) -> np.ndarray:
    return np.diag([1.0, np.exp(1j * theta)])


def _u(theta: float, phi: float, lam: float) -> np.ndarray:
    c, s = np.cos(theta / 2), np.sin(theta / 2)
    return np.array(
        [[c, -np.exp(1j * lam) * s], [np.exp(1j * phi) * s, np.exp(1j * (phi + lam)) * c]]
    )


def _fixed(m) -> Callable[[], np.ndarray]:
    m = np.asarray(m, dtype=complex)
    m.setflags(write=False)
    return lambda: m


def _ccx() -> np.ndarray:
    m = np.eye(8, dtype=complex)
    m[[3, 7]] = m[[7, 3]]
    return m


_SX = 0.5 * np.array([[1 + 1j, 1 - 1j], [1 - 1j, 1 + 1j]])
_SWAP = np.eye(4, dtype=complex)[[0, 2, 1, 3]]


@dataclass(frozen=True)
class GateSpec:
    """What qworkbench knows about one gate.

    Attributes:
        name: lower-case name, the same as Qiskit's.
        num_qubits: qubits it acts on.
        num_params: angles it takes.
        matrix_fn: angles -> unitary (little-endian over the gate's qubits).
        generator: ``G`` with ``U(theta) = exp(-i theta G)`` for one-parameter gates.
        clifford: True/False when fixed; None when it depends on the angles.
        inverse_name: the gate whose matrix is the inverse (for non-rotations).
    """

    name: str
    num_qubits: int
    num_params: int
    matrix_fn: Callable[..., np.ndarray]
    generator: np.ndarray | None = None
    clifford: bool | None = None
    inverse_name: str | None = None

    def matrix(self, *params: float) -> np.ndarray:
        """The unitary for numeric ``params`` (complex128, read-only for fixed gates)."""
        if len(params) != self.num_params:
            raise ValueError(f"gate {self.name!r} takes {self.num_params} angle(s), got {params}")
        return self.matrix_fn(*params)

    def inverse_params(self, params: tuple) -> tuple[str, tuple]:
        """(name, params) of the inverse gate; params may be symbolic."""
        if self.num_params == 0:
            return (self.inverse_name or self.name), ()
        if self.name == "u":
            theta, phi, lam = params
            return "u", (-theta, -lam, -phi)
        return self.name, tuple(-p for p in params)


def _spec(name, nq, npar, fn, generator=None, clifford=None, inverse_name=None) -> GateSpec:
    if generator is not None:
        generator = np.asarray(generator, dtype=complex)
        generator.setflags(write=False)
    return GateSpec(name, nq, npar, fn, generator, clifford, inverse_name)


GATES: dict[str, GateSpec] = {
    s.name: s
    for s in [
        _spec("id", 1, 0, _fixed(_I), clifford=True),
        _spec("h", 1, 0, _fixed(np.array([[1, 1], [1, -1]]) / np.sqrt(2)), clifford=True),
        _spec("x", 1, 0, _fixed(_X), clifford=True),
        _spec("y", 1, 0, _fixed(_Y), clifford=True),
        _spec("z", 1, 0, _fixed(_Z), clifford=True),
        _spec("s", 1, 0, _fixed(np.diag([1, 1j])), clifford=True, inverse_name="sdg"),
        _spec("sdg", 1, 0, _fixed(np.diag([1, -1j])), clifford=True, inverse_name="s"),
        _spec("t", 1, 0, _fixed(_p(np.pi / 4)), clifford=False, inverse_name="tdg"),
        _spec("tdg", 1, 0, _fixed(_p(-np.pi / 4)), clifford=False, inverse_name="t"),
        _spec("sx", 1, 0, _fixed(_SX), clifford=True, inverse_name="sxdg"),
        _spec("sxdg", 1, 0, _fixed(_SX.conj().T), clifford=True, inverse_name="sx"),
        _spec("rx", 1, 1, _rotation(_X), generator=_X / 2),
        _spec("ry", 1, 1, _rotation(_Y), generator=_Y / 2),
        _spec("rz", 1, 1, _rz, generator=_Z / 2),
        _spec("p", 1, 1, _p, generator=-_P1),
        _spec("u", 1, 3, _u),
        _spec("cx", 2, 0, _fixed(_controlled(_X)), clifford=True),
        _spec("cy", 2, 0, _fixed(_controlled(_Y)), clifford=True),
        _spec("cz", 2, 0, _fixed(_controlled(_Z)), clifford=True),
        _spec("swap", 2, 0, _fixed(_SWAP), clifford=True),
        _spec("crx", 2, 1, lambda t: _controlled(_rotation(_X)(t)), generator=np.kron(_X / 2, _P1)),
        _spec("cry", 2, 1, lambda t: _controlled(_rotation(_Y)(t)), generator=np.kron(_Y / 2, _P1)),
        _spec("crz", 2, 1, lambda t: _controlled(_rz(t)), generator=np.kron(_Z / 2, _P1)),
        _spec("rzz", 2, 1, _rotation(np.kron(_Z, _Z)), generator=np.kron(_Z, _Z) / 2),
        _spec("rxx", 2, 1, _rotation(np.kron(_X, _X)), generator=np.kron(_X, _X) / 2),
        _spec("ryy", 2, 1, _rotation(np.kron(_Y, _Y)), generator=np.kron(_Y, _Y) / 2),
        _spec("ccx", 3, 0, _fixed(_ccx()), clifford=False),
    ]
}

#: Non-unitary instructions a circuit may hold besides gates.
DIRECTIVES = frozenset({"measure", "barrier"})


def gate_matrix(name: str, params=()) -> np.ndarray:
    """The unitary of gate ``name`` at numeric ``params``."""
    return GATES[name].matrix(*params)


@functools.lru_cache(maxsize=8)
def _paulis(k: int) -> np.ndarray:
    """All 4**k Pauli strings on k qubits, shape (4**k, 2**k, 2**k)."""
    singles = (_I, _X, _Y, _Z)
    out = []
    for combo in itertools.product(singles, repeat=k):
        m = np.ones((1, 1), dtype=complex)
        for p in combo:
            m = np.kron(m, p)
        out.append(m)
    return np.array(out)


def is_clifford_unitary(u: np.ndarray, atol: float = 1e-9) -> bool:
    """True when ``u`` maps every Pauli string to ± a Pauli string under conjugation.

    Checked on the generators X_j, Z_j only: their images fix the whole group.
    """
    dim = u.shape[0]
    k = dim.bit_length() - 1
    paulis = _paulis(k)
    udag = u.conj().T
    for j in range(k):
        for single in (_X, _Z):
            gen = np.ones((1, 1), dtype=complex)
            for q in reversed(range(k)):  # little endian: qubit 0 is the last kron factor
                gen = np.kron(gen, single if q == j else _I)
            image = u @ gen @ udag
            coeffs = np.einsum("pij,ji->p", paulis, image) / dim
            if not np.isclose(np.max(np.abs(coeffs)), 1.0, atol=atol):
                return False
    return True
