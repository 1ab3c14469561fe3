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
import numbers
from dataclasses import dataclass, field

import numpy as np

from qworkbench import Circuit, PauliSum
from tasks.qsvt import _gates

__all__ = [
    "BlockEncoding",
    "block_encoding",
    "walk_operator",
    "product",
    "linear_combination",
    "lcu_circuit",
]


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

    def __add__(self, other: BlockEncoding) -> BlockEncoding:
        """``A + B`` by :func:`linear_combination` (alpha ``alpha_a + alpha_b``)."""
        if not isinstance(other, BlockEncoding):
            return NotImplemented
        return linear_combination([self, other], [1.0, 1.0])

    def __sub__(self, other: BlockEncoding) -> BlockEncoding:
        """``A - B`` by :func:`linear_combination` (alpha ``alpha_a + alpha_b``)."""
        if not isinstance(other, BlockEncoding):
            return NotImplemented
        return linear_combination([self, other], [1.0, -1.0])


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


def _controlled_pauli(circ: Circuit, label: str, sign: float, controls, n: int) -> None:
    """``sign * P`` on system qubits ``0..n-1`` when every control is 1, with no clean
    work qubits: a Clifford ``B`` (H or S^dag H per qubit, then CNOTs onto one target
    ``t``) takes ``P`` to ``Z_t``, so ``C(P) = B^dag C(Z_t) B``; ``C(Z_t)`` is a
    multi-controlled phase that may borrow the other system qubits."""
    support = [q for q in range(n) if label[n - 1 - q] != "I"]
    if not support:  # the identity term: only its sign acts
        if sign < 0:
            _gates.mcphase(circ, controls, np.pi, range(n))
        return
    t = support[0]
    _gates.pauli_to_z(circ, label, support)
    for q in support[1:]:
        circ.cx(q, t)
    if sign < 0:  # X Z X = -Z
        circ.x(t)
    _gates.mcphase(circ, [*controls, t], np.pi, [q for q in range(n) if q != t])
    if sign < 0:
        circ.x(t)
    for q in reversed(support[1:]):
        circ.cx(q, t)
    _gates.pauli_to_z(circ, label, support, undo=True)


def _ladder_pauli(circ: Circuit, label: str, sign: float, controls, work, n: int) -> None:
    """``sign * P`` controlled on ``controls`` through a Toffoli ladder on clean ``work``."""
    top = _gates.and_ladder(circ, controls, work)
    for q in range(n):
        pauli = label[n - 1 - q]
        if pauli == "X":
            circ.cx(top, q)
        elif pauli == "Y":
            circ.cy(top, q)
        elif pauli == "Z":
            circ.cz(top, q)
    if sign < 0:
        circ.z(top)
    _gates.and_unladder(circ, controls, work)


def lcu_circuit(
    h: PauliSum,
    controls=(),
    offset: int = 0,
    total: int | None = None,
    work_qubits: bool = False,
):
    """(circuit, index qubits, work qubits) of PREPARE, SELECT, PREPARE^dagger for ``h``
    on system qubits ``0..n-1``; SELECT is further controlled on ``controls`` (each a
    (qubit, value) pair) so that the whole circuit is the identity when they do not hold.
    Index (and, with ``work_qubits``, Toffoli-ladder work) qubits are allocated from
    ``n + offset`` on; without ``work_qubits`` SELECT borrows system qubits instead."""
    h = _check_hamiltonian(h)
    n = h.num_qubits
    coeffs = h.coeffs.real
    labels = h.labels()
    m = max(1, math.ceil(math.log2(len(labels))))
    index = list(range(n + offset, n + offset + m))
    nctrl = m + len(controls)
    work = list(range(n + offset + m, n + offset + m + max(0, nctrl - 1))) if work_qubits else []
    size = work[-1] + 1 if work else index[-1] + 1
    circ = Circuit(total if total is not None else size)
    amps = np.zeros(1 << m)
    amps[: len(coeffs)] = np.sqrt(np.abs(coeffs) / np.abs(coeffs).sum())
    prep = Circuit(circ.num_qubits)
    _gates.prepare_state(prep, index, amps)
    circ = circ.compose(prep)
    ctrl_qubits = [q for q, _ in controls] + index
    flipped: set[int] = set()
    for j, (label, c) in enumerate(zip(labels, coeffs)):
        flips = {q for q, v in controls if not v} | {index[i] for i in range(m) if not j >> i & 1}
        for q in sorted(flips ^ flipped):  # X only where the pattern changed
            circ.x(q)
        flipped = flips
        if work_qubits:
            _ladder_pauli(circ, label, c, ctrl_qubits, work, n)
        else:
            _controlled_pauli(circ, label, c, ctrl_qubits, n)
    for q in sorted(flipped):
        circ.x(q)
    circ = circ.compose(prep.inverse())
    return circ, index, work


def block_encoding(h: PauliSum, work_qubits: bool = False) -> BlockEncoding:
    """LCU block encoding of a Hermitian Pauli sum: ``alpha = sum |c_j|`` with exactly
    ``ceil(log2 terms)`` index ancillas (at least 1).

    SELECT's multi-controlled Paulis borrow the system qubits a term does not need
    (Gray-code phase polynomials or Barenco V-chains, whichever needs fewer CNOTs).
    ``work_qubits=True`` instead computes each control pattern into ``index - 1`` clean
    work qubits by a Toffoli ladder (fewer CNOTs from about 32 terms, 5 index qubits,
    on). ``resources`` reports the CNOTs of both: ``cnot_no_work_qubits`` and
    ``cnot_work_qubits``.
    """
    h = _check_hamiltonian(h)
    circ, index, work = lcu_circuit(h, work_qubits=work_qubits)
    other, _, _ = lcu_circuit(h, work_qubits=not work_qubits)
    counts = {work_qubits: _gates.gate_counts(circ)["cnot"]}
    counts[not work_qubits] = _gates.gate_counts(other)["cnot"]
    n = h.num_qubits
    alpha = float(np.abs(h.coeffs.real).sum())
    ancillas = tuple(index + work)
    res = resources(
        circ,
        range(n),
        ancillas,
        terms=len(h),
        queries=1,
        work_qubits=work_qubits,
        cnot_no_work_qubits=counts[False],
        cnot_work_qubits=counts[True],
    )
    return BlockEncoding(circ, tuple(range(n)), ancillas, alpha, tuple(work), res, h)


def walk_operator(be: BlockEncoding) -> BlockEncoding:
    """The qubitization walk ``W = (2 Pi - 1) U`` (Pi projects the index ancillas on 0):
    for a Hermitian encoding, eigenvalues ``lambda / alpha = cos(theta)`` of ``A`` become
    eigenphases ``exp(+-i theta)`` of ``W``. Returned as a BlockEncoding whose block is
    the same ``A / alpha`` (``<0|W|0> = <0|U|0>``)."""
    sig = be.index_qubits
    if not sig:
        raise ValueError(_NO_ANCILLAS)
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
    res = resources(circ, be.system, anc, queries=be.resources.get("queries", 1))
    # pauli=None: a controlled copy of the LCU circuit (qsvt_sequence) is not one of W
    return BlockEncoding(circ, be.system, anc, be.alpha, (*be.work, flag, *work), res)


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
    queries = a.resources.get("queries", 1) + b.resources.get("queries", 1)
    res = resources(circ, range(s), anc, queries=queries)
    return BlockEncoding(circ, tuple(range(s)), anc, a.alpha * b.alpha, work, res)


_NO_ANCILLAS = (
    "this block encoding has no ancillas to project on (its block is the whole unitary, "
    "e.g. an exact evolution): QSVT, walk operators and amplification need at least one"
)


def _check_be(be) -> BlockEncoding:
    """``be`` if it is a block encoding with ancillas to project on (QSVT, walks and
    amplification need them)."""
    if not isinstance(be, BlockEncoding):
        raise TypeError(f"expected a BlockEncoding, got {type(be).__name__}")
    if not be.index_qubits:
        raise ValueError(_NO_ANCILLAS)
    return be


def _real(value, name: str) -> float:
    """``value`` as a finite float; bools and non-numbers are a TypeError naming ``name``."""
    if isinstance(value, bool) or not isinstance(value, numbers.Real):
        raise TypeError(f"{name} must be a real number, got {value!r}")
    value = float(value)
    if not math.isfinite(value):
        raise ValueError(f"{name} must be finite, got {value!r}")
    return value


def _check_weights(weights, k: int) -> np.ndarray:
    if weights is None or isinstance(weights, (str, bytes)):
        raise TypeError(f"weights must be a sequence of {k} numbers, got {weights!r}")
    if not isinstance(weights, np.ndarray):
        try:
            weights = list(weights)  # generators and other iterables
        except TypeError:
            weights = [weights]  # one number for one encoding
    try:
        w = np.asarray(weights, dtype=complex).ravel()
    except (TypeError, ValueError) as err:
        raise TypeError(f"weights must be numbers, got {weights!r}") from err
    if w.shape != (k,):
        raise ValueError(f"got {w.size} weights for {k} block encodings")
    bad = [i for i in range(k) if not np.isfinite(w[i])]
    if bad:
        raise ValueError(f"weights must be finite, got weight {bad[0]} = {w[bad[0]]!r}")
    if not np.any(w):
        raise ValueError(f"at least one weight must be nonzero, got {w.tolist()!r}")
    return w


def linear_combination(encodings, weights) -> BlockEncoding:
    """A block encoding of ``sum_i w_i A_i`` from block encodings of the ``A_i``.

    LCU over block encodings: PREPARE loads ``sqrt(|w_i| alpha_i / alpha)`` on
    ``ceil(log2 k)`` new index qubits, SELECT applies encoding ``i`` (every gate
    controlled) and the phase of ``w_i`` when the index holds ``i``, then PREPARE^dagger;
    ``alpha = sum_i |w_i| alpha_i``. The encodings share one ancilla register, as wide as
    the widest (narrower ones leave the rest at 0). For three or more encodings one more
    work qubit holds "index == i" while encoding ``i`` runs (returned to 0, in ``work``).

    Examples:
        >>> import numpy as np
        >>> from qworkbench import PauliSum
        >>> a = PauliSum.from_list([("ZI", 1.0), ("XX", 0.5)])
        >>> b = PauliSum.from_list([("IY", 0.3)])
        >>> be = linear_combination([block_encoding(a), block_encoding(b)], [2.0, -1j])
        >>> be.alpha, len(be.ancillas)
        (3.3, 2)
        >>> m = 2 * a.to_matrix() - 1j * b.to_matrix()
        >>> bool(np.allclose(be.matrix(), m, atol=1e-12))
        True
    """
    encs = list(encodings)
    if not encs:
        raise ValueError("linear_combination needs at least one block encoding, got none")
    for i, e in enumerate(encs):
        if not isinstance(e, BlockEncoding):
            raise TypeError(f"encoding {i} is a {type(e).__name__}, not a BlockEncoding")
    sizes = [len(e.system) for e in encs]
    if len(set(sizes)) > 1:
        raise ValueError(f"system sizes differ: {sizes}")
    k = len(encs)
    w = _check_weights(weights, k)
    s = sizes[0]
    width = max(len(e.ancillas) for e in encs)
    m = math.ceil(math.log2(k)) if k > 1 else 0
    shared = list(range(s, s + width))
    index = list(range(s + width, s + width + m))
    flag = s + width + m if m > 1 else None
    total = s + width + m + (flag is not None)
    scaled = np.abs(w) * np.array([e.alpha for e in encs])
    alpha = float(scaled.sum())
    circ = Circuit(total)
    prep = Circuit(total)
    if m:
        amps = np.zeros(1 << m)
        amps[:k] = np.sqrt(scaled / alpha)
        _gates.prepare_state(prep, index, amps)
    circ = circ.compose(prep)
    pool = list(range(s + width + m))  # qubits a multi-controlled gate may borrow
    for i, (e, wi) in enumerate(zip(encs, w)):
        if scaled[i] == 0:
            continue
        where = dict(zip(e.system, range(s)))
        where.update(zip(e.ancillas, shared))
        phase = float(np.angle(wi))
        if m == 0:
            circ = circ.compose(e.circuit, [where[q] for q in range(e.num_qubits)])
            _gates.global_phase(circ, phase, 0)
            continue
        flips = [index[b] for b in range(m) if not i >> b & 1]
        for q in flips:
            circ.x(q)
        ctrl = index[0]
        if flag is not None:
            ctrl = flag
            _gates.mcx(circ, index, flag, [q for q in pool if q not in index])
        for op in e.circuit:
            _gates.append_controlled(circ, op, ctrl, [where[q] for q in op.qubits], pool)
        if phase:
            circ.p(phase, ctrl)
        if flag is not None:
            _gates.mcx(circ, index, flag, [q for q in pool if q not in index])
        for q in flips:
            circ.x(q)
    circ = circ.compose(prep.inverse())
    # a shared qubit stays |0> (is work) if every encoding leaves it |0>
    work = [
        shared[j]
        for j in range(width)
        if all(j >= len(e.ancillas) or e.ancillas[j] in e.work for e in encs)
    ]
    if flag is not None:
        work.append(flag)
    anc = (*shared, *index, *([flag] if flag is not None else []))
    res = resources(
        circ, range(s), anc, terms=k, queries=sum(e.resources.get("queries", 1) for e in encs)
    )
    return BlockEncoding(circ, tuple(range(s)), anc, alpha, tuple(work), res)
