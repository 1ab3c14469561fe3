"""Block encodings: ``BlockEncoding``, LCU block encodings of Pauli sums, the
qubitization walk operator, and products.

A block encoding of ``A`` is a unitary circuit ``U`` with
``A = alpha * (<0|_ancillas U |0>_ancillas)`` on the ``system`` qubits. Matrix index bit
``i`` is ``system[i]`` (qubit 0 of the operator is the least significant bit).

Examples:
    >>> import numpy as np
    >>> from tasks.hamiltonians import tfim
    >>> h = tfim(4)
    >>> be = block_encoding(h)
    >>> be.alpha, len(be.index_qubits)
    (7.0, 3)
    >>> bool(np.allclose(be.matrix(), h.to_matrix(), atol=1e-12))
    True
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field

import numpy as np

from qworkbench import Circuit, PauliSum
from tasks.qsvt import _gates

__all__ = ["BlockEncoding", "block_encoding", "walk_operator", "product", "lcu_circuit"]


@dataclass(frozen=True)
class BlockEncoding:
    """``alpha * <0|_ancillas circuit |0>_ancillas`` on the ``system`` qubits.

    Attributes:
        circuit: the unitary, in our IR.
        system: the qubits the encoded operator acts on (``system[i]`` is bit ``i``).
        ancillas: qubits projected on ``|0>``.
        alpha: the normalisation (the encoded operator is ``alpha`` times the block).
        work: ancillas the circuit always returns to ``|0>`` from ``|0>`` (whatever the
            other qubits hold); QSVT's projector phases need not test them.
        resources: counts and figures of merit (see :func:`resources`).
        pauli: for LCU encodings, the Pauli sum (kept to build controlled copies).
    """

    circuit: Circuit
    system: tuple[int, ...]
    ancillas: tuple[int, ...]
    alpha: float
    work: tuple[int, ...] = ()
    resources: dict = field(default_factory=dict, compare=False)
    pauli: PauliSum | None = field(default=None, compare=False, repr=False)

    def __post_init__(self):
        if not isinstance(self.circuit, Circuit):
            raise TypeError(f"circuit must be a qworkbench Circuit, got {type(self.circuit)}")
        sys_, anc = tuple(self.system), tuple(self.ancillas)
        if set(sys_) & set(anc):
            raise ValueError(f"system {sys_} and ancillas {anc} overlap")
        if not set(self.work) <= set(anc):
            raise ValueError(f"work qubits {self.work} must be ancillas")
        every = set(sys_) | set(anc)
        if every != set(range(self.circuit.num_qubits)):
            raise ValueError(
                f"system + ancillas must be every qubit of the {self.circuit.num_qubits}-qubit "
                f"circuit, got {sorted(every)}"
            )
        if not (math.isfinite(self.alpha) and self.alpha > 0):
            raise ValueError(f"alpha must be positive and finite, got {self.alpha!r}")

    @property
    def num_qubits(self) -> int:
        return self.circuit.num_qubits

    @property
    def index_qubits(self) -> tuple[int, ...]:
        """The ancillas QSVT's projector must test (those not in ``work``)."""
        return tuple(q for q in self.ancillas if q not in self.work)

    def matrix(self, max_memory: int | None = None) -> np.ndarray:
        """The encoded operator ``alpha * <0|U|0>`` as a dense (2**s, 2**s) matrix,
        from the circuit's own gates."""
        return self.alpha * self.block(max_memory)

    def block(self, max_memory: int | None = None) -> np.ndarray:
        """``<0|_ancillas U |0>_ancillas`` (the encoded operator divided by alpha)."""
        return _gates.block_of(self.circuit, self.system, self.ancillas, max_memory)


def resources(circuit: Circuit, system, ancillas, **extra) -> dict:
    """Qubits, CNOTs, T gates and rotations (standard decompositions) plus ``extra``."""
    out = {"qubits": circuit.num_qubits, "system_qubits": len(system)}
    out["ancillas"] = len(ancillas)
    out.update(_gates.gate_counts(circuit))
    out.update(extra)
    return out


def _check_hamiltonian(h) -> PauliSum:
    if not isinstance(h, PauliSum):
        raise TypeError(f"expected a PauliSum, got {type(h).__name__}")
    h = h.simplify()
    if len(h) == 0:
        raise ValueError("the Pauli sum is zero; there is nothing to block-encode")
    if np.max(np.abs(h.coeffs.imag)) > 1e-12:
        raise ValueError("the Pauli sum is not Hermitian (a coefficient has an imaginary part)")
    return h


def lcu_circuit(h: PauliSum, controls=(), offset: int = 0, total: int | None = None):
    """(circuit, index qubits, work qubits) of PREPARE, SELECT, PREPARE^dagger for ``h``
    on system qubits ``0..n-1``; SELECT is further controlled on ``controls`` (each a
    (qubit, value) pair) so that the whole circuit is the identity when they do not hold.
    Index and work qubits are allocated from ``n + offset`` on."""
    h = _check_hamiltonian(h)
    n = h.num_qubits
    coeffs = h.coeffs.real
    labels = h.labels()
    m = max(1, math.ceil(math.log2(len(labels))))
    index = list(range(n + offset, n + offset + m))
    nctrl = m + len(controls)
    work = list(range(n + offset + m, n + offset + m + max(0, nctrl - 1)))
    size = work[-1] + 1 if work else index[-1] + 1
    circ = Circuit(total if total is not None else size)
    amps = np.zeros(1 << m)
    amps[: len(coeffs)] = np.sqrt(np.abs(coeffs) / np.abs(coeffs).sum())
    prep = Circuit(circ.num_qubits)
    _gates.prepare_state(prep, index, amps)
    circ = circ.compose(prep)
    ctrl_qubits = [q for q, _ in controls] + index
    for j, (label, c) in enumerate(zip(labels, coeffs)):
        flips = [q for q, v in controls if not v] + [index[i] for i in range(m) if not j >> i & 1]
        for q in flips:
            circ.x(q)
        top = _gates.and_ladder(circ, ctrl_qubits, work)
        for q in range(n):
            pauli = label[n - 1 - q]
            if pauli == "X":
                circ.cx(top, q)
            elif pauli == "Y":
                circ.cy(top, q)
            elif pauli == "Z":
                circ.cz(top, q)
        if c < 0:
            circ.z(top)
        _gates.and_unladder(circ, ctrl_qubits, work)
        for q in flips:
            circ.x(q)
    circ = circ.compose(prep.inverse())
    return circ, index, work


def block_encoding(h: PauliSum) -> BlockEncoding:
    """LCU block encoding of a Hermitian Pauli sum: ``alpha = sum |c_j|``,
    ``ceil(log2 terms)`` index ancillas plus ``index - 1`` clean work qubits for the
    Toffoli ladders of SELECT's multi-controlled Paulis."""
    h = _check_hamiltonian(h)
    circ, index, work = lcu_circuit(h)
    n = h.num_qubits
    alpha = float(np.abs(h.coeffs.real).sum())
    ancillas = tuple(index + work)
    res = resources(circ, range(n), ancillas, terms=len(h), queries=1)
    return BlockEncoding(circ, tuple(range(n)), ancillas, alpha, tuple(work), res, h)


def walk_operator(be: BlockEncoding) -> BlockEncoding:
    """The qubitization walk ``W = (2 Pi - 1) U`` (Pi projects the index ancillas on 0):
    for a Hermitian encoding, eigenvalues ``lambda / alpha = cos(theta)`` of ``A`` become
    eigenphases ``exp(+-i theta)`` of ``W``. Returned as a BlockEncoding whose block is
    the same ``A / alpha`` (``<0|W|0> = <0|U|0>``)."""
    sig = be.index_qubits
    n = be.num_qubits
    extra = max(0, len(sig) - 1) + 1  # ladder work + the flag
    circ = Circuit(n + extra).compose(be.circuit)
    flag = n
    work = list(range(n + 1, n + extra))
    # 2 Pi - 1 = -i exp(i pi/2 (2 Pi - 1)); exp(i phi (2 Pi - 1)) = exp(-i phi Z_flag)
    _gates.zero_flag(circ, sig, flag, work)
    circ.rz(np.pi, flag)
    _gates.zero_flag(circ, sig, flag, work)
    _gates.global_phase(circ, -np.pi / 2, flag)
    anc = (*be.ancillas, flag, *work)
    res = resources(circ, be.system, anc, queries=1)
    return BlockEncoding(circ, be.system, anc, be.alpha, (*be.work, flag, *work), res, be.pauli)


def product(a: BlockEncoding, b: BlockEncoding) -> BlockEncoding:
    """A block encoding of ``A @ B`` (``b`` applied first), ancilla registers side by
    side, ``alpha = alpha_a * alpha_b``."""
    if len(a.system) != len(b.system):
        raise ValueError(f"system sizes differ: {len(a.system)} and {len(b.system)}")
    s = len(a.system)
    na, nb = len(a.ancillas), len(b.ancillas)
    circ = Circuit(s + na + nb)
    map_b = dict(zip(b.system, range(s)))
    map_b.update(zip(b.ancillas, range(s + na, s + na + nb)))
    map_a = dict(zip(a.system, range(s)))
    map_a.update(zip(a.ancillas, range(s, s + na)))
    circ = circ.compose(b.circuit, [map_b[q] for q in range(b.num_qubits)])
    circ = circ.compose(a.circuit, [map_a[q] for q in range(a.num_qubits)])
    anc = tuple(range(s, s + na + nb))
    work = tuple([map_a[q] for q in a.work] + [map_b[q] for q in b.work])
    res = resources(circ, range(s), anc, queries=2)
    return BlockEncoding(circ, tuple(range(s)), anc, a.alpha * b.alpha, work, res)
