"""QSVT circuits: projector-controlled phases between applications of a block encoding.

For a Hermitian block encoding ``U`` of ``A`` (LCU encodings are: ``U = V^dag SELECT V``
with a Hermitian SELECT), ``U`` acts on each eigenvector's two-dimensional invariant
subspace as the reflection ``R(lambda) = [[lambda, s], [s, -lambda]]``, and the projector
phase ``exp(i phi (2 Pi - 1))`` as ``exp(i phi Z)``. The circuit therefore realises

    <0| exp(i phi_0 Z) R exp(i phi_1 Z) R ... R exp(i phi_d Z) |0> = P_W(A)

for reflection-convention phases (:func:`tasks.qsvt.phases.convert_phases`). One extra
qubit ``c`` in ``|+>`` flips the sign of every phase (``exp(i phi (-1)^c (2 Pi - 1))``,
an ``rzz`` on the flag); since ``R`` is real, the ``-phi`` sequence gives the complex
conjugate polynomial, and projecting ``c`` on ``|+>`` leaves ``(P + P*)/2 = Re P(A)``:
the real target polynomial (Gilyén, Su, Low & Wiebe, arXiv:1806.01838, Cor. 18).

The projector ``Pi`` tests the block encoding's index ancillas through a flag qubit
(computed and uncomputed by a Toffoli ladder around each phase).
"""

from __future__ import annotations

import numpy as np

from qworkbench import Circuit
from tasks.qsvt import _gates
from tasks.qsvt.block_encoding import BlockEncoding, _check_be, lcu_circuit, resources
from tasks.qsvt.phases import convert_phases, solve_phases
from tasks.qsvt.polynomials import from_monomial

__all__ = ["qsvt_circuit", "polynomial", "qsvt_sequence"]


def qsvt_sequence(
    be: BlockEncoding, phases: list, real: bool = True, branch_phase: float = 0.0
) -> BlockEncoding:
    """The QSVT circuit for one or two phase sequences (Wx convention).

    With two sequences a branch qubit ``b`` in ``|+>`` selects one; the block is
    ``(P_0(A) + exp(i branch_phase) P_1(A)) / 2`` (alpha 2). Their degrees may differ by
    one (then the first ``U`` is controlled on the longer branch; LCU encodings only).
    ``real`` takes the real part of each polynomial with one more qubit.
    """
    be = _check_be(be)
    seqs = [np.asarray(p, dtype=np.float64).ravel() for p in phases]
    if len(seqs) not in (1, 2) or any(len(s) == 0 for s in seqs):
        raise ValueError("give one or two non-empty phase sequences")
    longest = max(len(s) for s in seqs)
    for i, s in enumerate(seqs):
        # W e^{i pi/2 Z} W e^{-i pi/2 Z} = W Z W Z = W W^dag = 1: two more phases, same U
        while len(s) < longest - 1:
            s = np.concatenate([s, [np.pi / 2, -np.pi / 2]])
        seqs[i] = s
    refl = [convert_phases(s, "reflection") for s in seqs]
    big = max(len(s) for s in refl) - 1  # D: the most U applications of any branch
    if any(len(s) < big for s in refl):
        raise ValueError(f"phase sequences of lengths {[len(s) for s in refl]} differ by > 1")
    uneven = any(len(s) == big for s in refl)
    if uneven and be.pauli is None:
        raise ValueError("sequences of different degrees need an LCU block encoding")
    ladder = bool(be.resources.get("work_qubits", False))
    sig = list(be.index_qubits)
    n = be.num_qubits
    nxt = n
    extra_work = None
    if uneven and ladder:  # the branch control lengthens the Toffoli ladder by one
        extra_work, nxt = nxt, nxt + 1
    flag, nxt = nxt, nxt + 1
    qwork = list(range(nxt, nxt + max(0, len(sig) - 1)))
    nxt += len(qwork)
    b = None
    if len(refl) == 2:
        b, nxt = nxt, nxt + 1
    c = None
    if real:
        c, nxt = nxt, nxt + 1
    circ = Circuit(nxt)
    branches = [q for q in (b, c) if q is not None]
    for q in branches:
        circ.h(q)

    controlled_u = None
    if uneven:
        long_branch = [len(s) == big + 1 for s in refl].index(True)
        cu, _, _ = lcu_circuit(be.pauli, controls=[(b, long_branch)], total=nxt, work_qubits=ladder)
        controlled_u = cu
    u, udg = be.circuit, be.circuit.inverse()
    # circuit order: phase D first (the product's rightmost factor), then U, ...
    for pos in range(big, -1, -1):
        angles = []
        for s in range(1 << len(branches)):
            bb = (s & 1) if b is not None else 0
            cc = ((s >> (1 if b is not None else 0)) & 1) if c is not None else 0
            seq = refl[bb]
            phi = seq[pos] if pos < len(seq) else 0.0
            angles.append(-phi if cc else phi)
        if any(abs(a) > 0 for a in angles):
            _gates.zero_flag(circ, sig, flag, qwork)
            _gates.branch_rotation(circ, flag, branches, angles)
            _gates.zero_flag(circ, sig, flag, qwork)
        if pos == 0:
            break
        applied = big - pos  # U applications so far
        if uneven and applied == 0:
            _gates.append_circuit(circ, controlled_u)
        else:
            k = applied - (1 if uneven else 0)
            _gates.append_circuit(circ, u if k % 2 == 0 else udg)
    if b is not None and branch_phase:
        circ.p(branch_phase, b)
    for q in branches:
        circ.h(q)
    extra = [q for q in (extra_work, flag, *qwork, b, c) if q is not None]
    anc = (*be.ancillas, *extra)
    work = (*be.work, *[q for q in (extra_work, flag, *qwork) if q is not None])
    alpha = 2.0 if b is not None else 1.0
    res = resources(circ, be.system, anc, qsp_degree=big, queries=big)
    return BlockEncoding(circ, be.system, anc, alpha, work, res, None)


def qsvt_circuit(be: BlockEncoding, phases, real: bool = True) -> BlockEncoding:
    """QSVT with Wx-convention ``phases`` (from :func:`qsp_phases`) on ``be``.

    The result block-encodes ``Re P(A / alpha)`` (``real=True``, one extra qubit) or
    the complex ``P(A / alpha)`` (``real=False``) with alpha 1, where
    ``P(x) = <0|U_W(x)|0>`` of the phases.
    """
    return qsvt_sequence(_check_be(be), [phases], real=real)


def polynomial(
    be: BlockEncoding, coeffs, basis: str = "chebyshev", method: str = "newton"
) -> BlockEncoding:
    """A block encoding of ``P(A / alpha)`` for a real polynomial ``P`` of definite
    parity with ``|P| <= 1`` on ``[-1, 1]`` (``ValueError`` otherwise).

    Examples:
        >>> import numpy as np
        >>> from qworkbench import PauliSum
        >>> from tasks.qsvt import block_encoding
        >>> be = block_encoding(PauliSum.from_list([("Z", 0.6), ("X", 0.2)]))
        >>> pe = polynomial(be, [0, 0, 0, 0.5])  # 0.5 T_3(x)
        >>> x = np.linalg.eigvalsh(be.block())
        >>> np.round(np.linalg.eigvalsh(pe.matrix()), 6).tolist() == sorted(
        ...     np.round(0.5 * np.cos(3 * np.arccos(x)), 6).tolist())
        True
    """
    be = _check_be(be)
    if basis == "monomial":
        coeffs = from_monomial(coeffs)
    elif basis != "chebyshev":
        raise ValueError(f"basis must be 'chebyshev' or 'monomial', got {basis!r}")
    found = solve_phases(coeffs, method=method)
    out = qsvt_circuit(be, found.phases, real=True)
    out.resources["phase_residual"] = found.residual
    return out
