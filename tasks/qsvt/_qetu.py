"""QETU: quantum eigenvalue transformation of unitary matrices (Dong, Lin & Tong,
arXiv:2204.05955), over a controlled time evolution ``U = exp(-i A)``.

Circuit (one ancilla ``a``; ``V`` = ``U`` controlled on ``a = 1``)::

    exp(i psi_0 X) V exp(i psi_1 X) V^dag exp(i psi_2 X) V ... V^dag exp(i psi_d X)

(``d`` even, the rightmost factor acts first). On an eigenvector of ``A`` with eigenvalue
``lambda``, ``V = exp(-i lambda/2) exp(i lambda/2 Z)`` on ``a`` and ``V^dag`` the inverse,
so the global phases cancel in pairs and ``<0|_a ... |0>_a`` is a function of
``cos(lambda / 2)`` alone. With the symmetric Wx phases ``phi`` of an *even* real
polynomial ``F`` (:func:`tasks.qsvt.phases.solve_phases`) and

    psi_k = phi_k + pi/2 (0 < k < d),  psi_0 = phi_0 + pi/4 (+ pi if d/2 is odd),
    psi_d = phi_d + pi/4

the block is exactly ``F(cos(A / 2))`` -- real, no real-part ancilla (checked numerically
here, ``tests/test_qsvt_cooling.py``; the offsets are ours, derived by conjugating the
ancilla with a Hadamard, not copied from the paper). Phases ``(c, 0, ..., 0)`` give the
constant ``cos c`` (``V V^dag = 1``), so two branches selected by a qubit in ``|+>`` share
the same oracle calls: the block ``(F_0 + e^{i beta} F_1) / 2`` costs ``d`` calls.

Each use of ``V`` or ``V^dag`` is one query to (controlled) ``exp(-i A)`` (``d/2`` of
them to its inverse).
"""

from __future__ import annotations

import math

import numpy as np

from qworkbench import Circuit, PauliSum
from tasks.qsvt import _gates
from tasks.qsvt.block_encoding import BlockEncoding, resources
from tasks.qsvt.phases import solve_phases
from tasks.qsvt.polynomials import check_polynomial

__all__ = ["qetu_phases", "qetu_circuit", "qetu_response", "exact_evolution", "controlled"]


def qetu_phases(coeffs) -> tuple[np.ndarray, float]:
    """(QETU phases ``psi_0..psi_d``, phase-finding residual) for the even Chebyshev
    coefficients ``coeffs`` of ``F`` (``|F| <= 1``; degree at least 2)."""
    c, par = check_polynomial(coeffs)
    if par != 0:
        raise ValueError(
            "QETU with alternating U, U^dag needs an even polynomial, got odd coefficients"
        )
    d = len(c) - 1
    if d < 2:
        raise ValueError(f"the QETU polynomial must have degree >= 2, got degree {d}")
    found = solve_phases(c)
    psi = found.phases + np.pi / 2
    psi[0] -= np.pi / 4
    psi[-1] -= np.pi / 4
    if (d // 2) % 2:
        psi[0] += np.pi
    return psi, found.residual


def qetu_response(psi, lam) -> np.ndarray:
    """``<0|_a`` QETU ``|0>_a`` for phases ``psi`` on eigenvalues ``lam`` of ``A``: the
    2x2 products, one per eigenvalue (the dense model of :func:`qetu_circuit`)."""
    psi = np.asarray(psi, dtype=np.float64).ravel()
    lam = np.atleast_1d(np.asarray(lam, dtype=np.float64))
    out = np.empty(lam.shape, dtype=complex)
    for i, x in enumerate(lam.ravel()):
        v = np.array([1.0, np.exp(-1j * x)])
        m = _rx(psi[0])
        for k in range(1, len(psi)):
            m = m * (v if k % 2 else v.conj())[None, :]
            m = m @ _rx(psi[k])
        out.flat[i] = m[0, 0]
    return out


def _rx(p: float) -> np.ndarray:
    return np.array([[math.cos(p), 1j * math.sin(p)], [1j * math.sin(p), math.cos(p)]])


def controlled(circuit: Circuit, control: int, total: int, pool) -> Circuit:
    """``circuit`` (on qubits ``0..k-1``) controlled on qubit ``control`` of a
    ``total``-qubit circuit; multi-controlled gates may borrow ``pool``."""
    out = Circuit(total)
    for op in circuit:
        _gates.append_controlled(out, op, control, list(op.qubits), pool)
    return out


def qetu_circuit(oracle: BlockEncoding, phases, branch_phase: float = 0.0) -> BlockEncoding:
    """The QETU circuit over ``oracle`` (a block encoding, alpha 1, of a unitary
    ``U = exp(-i A)``) for one or two sequences of QETU phases of the same length.

    One sequence: block ``F(cos(A/2))``, alpha 1. Two: a branch qubit in ``|+>`` picks
    the sequence (controlled X rotations on the QETU ancilla; the oracle calls are
    shared), block ``(F_0 + exp(i branch_phase) F_1) / 2``, alpha 2. The oracle's
    ancillas are reused by every call (exact when its block is unitary).
    ``resources["time_evolution_queries"]``: ``d`` calls of controlled ``U`` or
    ``U^dag``.
    """
    if not isinstance(oracle, BlockEncoding):
        raise TypeError(f"oracle must be a BlockEncoding, got {type(oracle).__name__}")
    if abs(oracle.alpha - 1) > 1e-9:
        raise ValueError(f"the oracle must encode a unitary with alpha 1, got {oracle.alpha!r}")
    seqs = [np.asarray(p, dtype=np.float64).ravel() for p in phases]
    if len(seqs) not in (1, 2) or any(len(s) == 0 for s in seqs):
        raise ValueError("give one or two non-empty phase sequences")
    lengths = {len(s) for s in seqs}
    if len(lengths) != 1:
        raise ValueError(f"the phase sequences must have one length, got {sorted(lengths)}")
    d = len(seqs[0]) - 1
    if d % 2:
        raise ValueError(f"QETU needs an even number of oracle calls, got {d}")
    n = oracle.num_qubits
    a = n
    b = n + 1 if len(seqs) == 2 else None
    total = n + 1 + (b is not None)
    pool = [q for q in range(total) if q != a]
    cu = controlled(oracle.circuit, a, total, pool)
    cudg = cu.inverse()
    circ = Circuit(total)
    if b is not None:
        circ.h(b)
    for k in range(d, -1, -1):
        p0 = seqs[0][k]
        if p0:
            circ.rx(-2 * p0, a)  # exp(i p X) = RX(-2p)
        if b is not None and seqs[1][k] != p0:
            circ.crx(-2 * (seqs[1][k] - p0), b, a)
        if k:
            _gates.append_circuit(circ, cu if k % 2 else cudg)
    if b is not None:
        if branch_phase:
            circ.p(branch_phase, b)
        circ.h(b)
    anc = (*oracle.ancillas, a, *([b] if b is not None else []))
    inner = oracle.resources.get("queries", 0)
    res = resources(
        circ,
        oracle.system,
        anc,
        qsp_degree=d,
        time_evolution_queries=d,
        queries=d,
        oracle_block_encoding_queries=d * inner,
    )
    return BlockEncoding(circ, oracle.system, anc, 2.0 if b is not None else 1.0, oracle.work, res)


def _commute(p: str, q: str) -> bool:
    clash = sum(1 for x, y in zip(p, q) if x != "I" and y != "I" and x != y)
    return clash % 2 == 0


def exact_evolution(h: PauliSum, t: float) -> BlockEncoding:
    """``exp(-i H t)`` exactly, for ``H`` whose Pauli terms all commute: one Pauli
    rotation per term (basis change, CNOT ladder, RZ), the identity term as a global
    phase. No ancillas. ``ValueError`` when two terms do not commute."""
    if not isinstance(h, PauliSum):
        raise TypeError(f"H must be a PauliSum, got {type(h).__name__}")
    h = h.simplify()
    labels, coeffs = h.labels(), h.coeffs.real
    for i, p in enumerate(labels):
        for q in labels[i + 1 :]:
            if not _commute(p, q):
                raise ValueError(
                    f"terms {p} and {q} do not commute: exact_evolution needs commuting "
                    "terms (use hamiltonian_simulation)"
                )
    n = h.num_qubits
    circ = Circuit(n)
    for label, c in zip(labels, coeffs):
        support = [q for q in range(n) if label[n - 1 - q] != "I"]
        if not support:
            _gates.global_phase(circ, -c * t, 0)
            continue
        _gates.pauli_to_z(circ, label, support)
        for q in support[1:]:
            circ.cx(q, support[0])
        circ.rz(2 * c * t, support[0])
        for q in reversed(support[1:]):
            circ.cx(q, support[0])
        _gates.pauli_to_z(circ, label, support, undo=True)
    res = resources(circ, range(n), (), queries=0)
    return BlockEncoding(circ, tuple(range(n)), (), 1.0, (), res)
