"""Amplitude amplification of block encodings.

- :func:`oblivious_amplification`: for a block ``V / alpha`` with ``V`` unitary (e.g. the
  cos/sin LCU of Hamiltonian simulation, ``alpha = 2``), ``W (R W^dag R W)^r`` with
  ``R = 2 Pi - 1`` on the ancillas has the block ``(-1)^r T_{2r+1}`` of the singular
  values: with ``1/alpha = sin(theta)`` that is ``sin((2r+1) theta) V``, exactly ``V``
  when ``(2r+1) theta = pi/2`` (Berry, Childs, Cleve, Kothari & Somma, arXiv:1312.1414,
  Lemma 3.6; as a QSVT with reflection phases, Gilyén, Su, Low & Wiebe,
  arXiv:1806.01838, Thm. 28). Otherwise one extra ancilla lowers ``sin(theta)`` to the
  nearest ``sin(pi / (2(2r+1)))`` first.
- :func:`amplify`: singular value amplification of a general (non-unitary) block by
  QSVT with an odd polynomial ``P(x) ~ gain * x`` for ``|x| <= (1 - delta) / gain``
  (GSLW Thm. 17): the encoded operator stays ``A``, ``alpha`` drops by ``gain``.

Neither is fixed-point: both assume a known bound (``V`` unitary; ``||A|| / alpha``).
"""

from __future__ import annotations

import dataclasses
import math

import numpy as np
from numpy.polynomial import chebyshev as cheb

from qworkbench import Circuit
from qworkbench.utils import non_negative_int
from tasks.qsvt import _gates
from tasks.qsvt.block_encoding import BlockEncoding, _check_be, _real, resources
from tasks.qsvt.phases import solve_phases
from tasks.qsvt.polynomials import evaluate, poly_rectangle
from tasks.qsvt.qsvt import qsvt_sequence

__all__ = ["oblivious_amplification", "amplify", "reflect_zero"]


def reflect_zero(circ: Circuit, qubits, dirty=()) -> None:
    """``1 - 2 |0..0><0..0|`` on ``qubits`` (no clean work qubits; may borrow ``dirty``)."""
    qubits = list(qubits)
    for q in qubits:
        circ.x(q)
    _gates.mcphase(circ, qubits, np.pi, dirty)
    for q in qubits:
        circ.x(q)


def oblivious_amplification(be: BlockEncoding, rounds: int | None = None) -> BlockEncoding:
    """Oblivious amplitude amplification of a block encoding of a unitary ``V``.

    With ``rounds=None`` the fewest rounds ``r`` with ``(2r+1) asin(1/alpha) >= pi/2``
    are used (after one damping ancilla, when needed, makes that an equality), and the
    result encodes ``V`` with ``alpha = 1``: post-selection succeeds with probability
    ~1 and the queries grow ``2r + 1``-fold. ``alpha = 2`` takes one round and no
    damping. With ``rounds`` given, no damping: ``alpha = 1 / sin((2r+1) asin(1/alpha))``.

    If the encoded operator is only close to unitary (``V + E``), the result's block is
    ``3B - 4 B B^dag B`` (one round, ``B = (V + E) / 2``) ``= V + E/2 - V E^dag V / 2 +
    O(E^2)``: the error does not grow, and a scale error ``(1 - e) V`` shrinks to
    ``O(e^2)``. For a non-unitary block the result's block is the polynomial
    ``(-1)^r T_{2r+1}`` of its singular values (plain amplitude amplification).

    Examples:
        >>> import numpy as np
        >>> from qworkbench import PauliSum
        >>> from tasks.qsvt import block_encoding
        >>> swap = PauliSum.from_list([("II", 0.5), ("XX", 0.5), ("YY", 0.5), ("ZZ", 0.5)])
        >>> be = block_encoding(swap)  # a unitary with alpha 2: success probability 1/4
        >>> amp = oblivious_amplification(be)
        >>> amp.alpha, amp.resources["rounds"], amp.resources["queries"]
        (1.0, 1, 3)
        >>> bool(np.allclose(amp.matrix(), swap.to_matrix(), atol=1e-12))
        True
    """
    be = _check_be(be)
    if be.alpha <= 1:
        raise ValueError(f"alpha must exceed 1 to amplify, got {be.alpha!r}")
    theta = math.asin(1 / be.alpha)
    damp = None
    if rounds is None:
        r = max(0, math.ceil((math.pi / (2 * theta) - 1) / 2 - 1e-12))
        target = math.pi / (2 * (2 * r + 1))
        if target < theta * (1 - 1e-14):
            damp = 2 * math.acos(math.sin(target) / math.sin(theta))  # ry angle
            theta = target
        gain_amp = 1.0
    else:
        r = non_negative_int("rounds", rounds)
        gain_amp = math.sin((2 * r + 1) * theta)
        if gain_amp <= 1e-12:
            raise ValueError(
                f"rounds={r} over-rotates: sin((2r+1) asin(1/alpha)) = {gain_amp:.3g} <= 0 "
                f"for alpha {be.alpha!r}"
            )
    n = be.num_qubits
    total = n + (damp is not None)
    w = Circuit(total).compose(be.circuit)
    proj = list(be.index_qubits)
    if damp is not None:
        w.ry(damp, n)
        proj.append(n)
    wdg = w.inverse()
    dirty = [q for q in range(total) if q not in proj]
    circ = Circuit(total).compose(w)
    for _ in range(r):
        # R = 2 Pi - 1 = -(1 - 2 Pi); the two signs per round cancel
        reflect_zero(circ, proj, dirty)
        _gates.append_circuit(circ, wdg)
        reflect_zero(circ, proj, dirty)
        _gates.append_circuit(circ, w)
    if r % 2:  # (-1)^r T_{2r+1}(sin theta) = sin((2r+1) theta)
        _gates.global_phase(circ, np.pi, be.system[0])
    anc = (*be.ancillas, *([n] if damp is not None else []))
    inner = be.resources.get("queries", 1)
    res = resources(
        circ,
        be.system,
        anc,
        rounds=r,
        queries=(2 * r + 1) * inner,
        damping=damp is not None,
        success_probability=gain_amp**2 if rounds is not None else 1.0,
    )
    return BlockEncoding(circ, be.system, anc, 1.0 / gain_amp, be.work, res, None)


def _amplifier(gain: float, delta: float, epsilon: float) -> tuple[np.ndarray, float]:
    """(odd Chebyshev coefficients of ``s gain x`` on ``|x| <= (1-delta)/gain`` falling
    to 0 beyond ``1/gain``, with ``|P| <= 1``; the scale ``s``)."""
    x0, edge = (1 - delta) / gain, 1 / gain
    window = poly_rectangle((x0 + edge) / 2, edge - x0, epsilon / 4)
    coeffs = cheb.chebmul([0.0, gain], window)
    coeffs[0::2] = 0.0
    grid = np.cos(np.linspace(0, np.pi, 8 * len(coeffs) + 1))
    peak = float(np.max(np.abs(evaluate(coeffs, grid))))
    scale = min(1.0, (1 - epsilon) / peak)
    return coeffs * scale, scale


def amplify(
    be: BlockEncoding,
    gain: float,
    delta: float = 0.1,
    epsilon: float = 1e-6,
    check: bool = True,
) -> BlockEncoding:
    """Singular value amplification: a block encoding of the same ``A`` with
    ``alpha / gain`` (within about ``epsilon * alpha / gain`` in operator norm), valid
    when ``||A|| / alpha <= (1 - delta) / gain``.

    A real QSVT of the odd polynomial ``gain * x * window(x)`` (an erf window, 1 up to
    ``(1 - delta) / gain``, 0 from ``1 / gain``), so its degree grows like
    ``gain / delta * log(1/epsilon)``. ``check`` computes ``||A|| / alpha`` densely (up
    to 14 qubits) and raises ``ValueError`` when it exceeds ``(1 - delta) / gain``.
    Success probability for a state ``psi`` rises from ``||A psi||^2 / alpha^2`` by
    ``gain^2``.
    """
    be = _check_be(be)
    gain, delta = _real(gain, "gain"), _real(delta, "delta")
    epsilon = _real(epsilon, "epsilon")
    if gain <= 1:
        raise ValueError(f"gain must exceed 1, got {gain!r}")
    if not 0 < delta < 1:
        raise ValueError(f"delta must be in (0, 1), got {delta!r}")
    if not 0 < epsilon < 1:
        raise ValueError(f"epsilon must be in (0, 1), got {epsilon!r}")
    if check and be.num_qubits <= 14:
        norm = float(np.linalg.norm(be.block(), 2))
        if norm > (1 - delta) / gain * (1 + 1e-9):
            raise ValueError(
                f"gain {gain!r} too large: ||A|| / alpha = {norm:.6g} exceeds "
                f"(1 - delta) / gain = {(1 - delta) / gain:.6g}"
            )
    coeffs, scale = _amplifier(gain, delta, epsilon)
    found = solve_phases(coeffs)
    out = qsvt_sequence(be, [found.phases], real=True)
    degree = len(coeffs) - 1
    out.resources.update(
        gain=gain,
        delta=delta,
        qsp_degree=degree,
        queries=degree * be.resources.get("queries", 1),
        phase_residual=found.residual,
    )
    return dataclasses.replace(out, alpha=be.alpha / (gain * scale))
