"""QSVT applications, each returning a :class:`BlockEncoding` of its target operator.

- :func:`hamiltonian_simulation`: ``exp(-iHt) = cos(Ht) - i sin(Ht)``, each part by
  real QSVT on the LCU encoding of ``H``, combined by a one-qubit LCU (alpha 2).
- :func:`eigenstate_filter`: the Lin–Tong filter (or an erf window) of ``H - mu``.
- :func:`ground_state_prep`: dynamical cooling (:mod:`tasks.qsvt.cooling`): a
  shifted-sign QSVT splits the spectrum at ``mu``, evolution under it plus a random
  perturbation and a measurement of the sign keep only downward moves; returns the last
  accepted projector below ``mu`` (no gap input).
- :func:`linear_solve`: ``A^{-1}`` by the odd ``1/x`` polynomial.

``resources`` holds qubits, CNOTs, T gates, rotations (standard decompositions),
``qsp_degree``, ``queries`` (applications of the block encoding of ``H``) and
``success_probability`` (of post-selecting the ancillas on 0; for the given ``state``,
else the worst case over states).
"""

from __future__ import annotations

import dataclasses
import math

import numpy as np

from qworkbench import PauliSum
from qworkbench.utils import check_allocation
from tasks.qsvt import _gates
from tasks.qsvt.block_encoding import BlockEncoding, _real, block_encoding
from tasks.qsvt.block_encoding import _check_hamiltonian as _hamiltonian
from tasks.qsvt.phases import solve_phases
from tasks.qsvt.polynomials import (
    evaluate,
    poly_cos,
    poly_filter,
    poly_inverse,
    poly_rectangle,
    poly_sign,
    poly_sin,
)
from tasks.qsvt.qsvt import qsvt_sequence

__all__ = ["hamiltonian_simulation", "eigenstate_filter", "ground_state_prep", "linear_solve"]

_DENSE_MAX_QUBITS = 14  # classical figures (success probabilities) only up to this size


def _epsilon(value) -> float:
    value = _real(value, "epsilon")
    if not 0 < value < 1:
        raise ValueError(f"epsilon must be in (0, 1), got {value!r}")
    return value


def _state(state, n: int) -> np.ndarray:
    if state is None:
        psi = np.zeros(1 << n, dtype=complex)
        psi[0] = 1.0
        return psi
    if isinstance(state, str):
        if len(state) != n or set(state) - {"0", "1"}:
            raise ValueError(f"state bitstring must have {n} characters 0/1, got {state!r}")
        psi = np.zeros(1 << n, dtype=complex)
        psi[int(state, 2)] = 1.0
        return psi
    psi = np.asarray(state, dtype=complex).ravel()
    if psi.shape != (1 << n,):
        raise ValueError(f"state must have {1 << n} amplitudes, got {psi.size}")
    norm = np.linalg.norm(psi)
    if not norm > 0:
        raise ValueError("state must be nonzero")
    return psi / norm


def _shifted(h: PauliSum, mu: float) -> PauliSum:
    return (h - PauliSum.identity(h.num_qubits, mu)).simplify() if mu else h


def _eig(h: PauliSum):
    n = h.num_qubits
    if n > _DENSE_MAX_QUBITS:
        return None
    check_allocation(3 * 16 * 4**n, f"dense diagonalisation of a {n}-qubit H")
    return np.linalg.eigh(h.to_matrix())


def _success(eig, fvals: np.ndarray, psi: np.ndarray | None, alpha: float) -> float | None:
    """||block psi||^2 for block = f(H) / alpha (classically), or min over states."""
    if eig is None:
        return None
    w, v = eig
    if psi is None:
        return float(np.min(np.abs(fvals)) ** 2 / alpha**2)
    amps = v.conj().T @ psi
    return float(np.sum(np.abs(fvals * amps) ** 2) / alpha**2)


def _post_select(be: BlockEncoding, psi: np.ndarray) -> tuple[np.ndarray, float]:
    """The circuit's own action on |0>_anc |psi>: (normalised system state, probability)."""
    n, s = be.num_qubits, len(be.system)
    rows = np.zeros(1 << s, dtype=np.int64)
    for i, q in enumerate(be.system):
        rows |= ((np.arange(1 << s) >> i) & 1) << q
    full = np.zeros((1 << n, 1), dtype=complex)
    full[rows, 0] = psi
    out = _gates.apply_circuit(be.circuit, full)[rows, 0]
    p = float(np.vdot(out, out).real)
    return (out / math.sqrt(p) if p > 0 else out), p


def hamiltonian_simulation(
    h: PauliSum, t: float, epsilon: float = 1e-10, state=None, amplify: bool = True
):
    """A block encoding of ``exp(-i H t)`` within ``epsilon`` in operator norm.

    ``exp(-iHt) = cos(Ht) - i sin(Ht)``: each part by real QSVT on the LCU encoding of
    ``H``, combined by a one-qubit LCU, gives the block ``(cos(Ht) - i sin(Ht)) / 2``
    (alpha 2, success probability ~1/4). With ``amplify=True`` (default) one round of
    oblivious amplitude amplification (:func:`tasks.qsvt.oblivious_amplification`;
    ``1/2 = sin(pi/6)`` is amplified exactly) turns it into a block ``~exp(-iHt)`` with
    alpha 1 and success probability ``1 - O(epsilon)`` for every state, at three times
    the queries. The amplified block is ``f (3 - |f|^2) / 2`` of ``f = cos - i sin``
    (polynomials): its error stays within that of ``f``. ``amplify=False`` returns the
    alpha-2 encoding. ``resources["success_probability"]`` is for ``state`` (else the
    worst case over states), from the polynomials on H's spectrum.

    Examples:
        >>> import numpy as np
        >>> from scipy.linalg import expm
        >>> from tasks.hamiltonians import tfim
        >>> h = tfim(3)
        >>> be = hamiltonian_simulation(h, 1.0, 1e-9)
        >>> bool(np.linalg.norm(be.matrix() - expm(-1j * h.to_matrix()), 2) < 1e-9)
        True
        >>> be.alpha, round(be.resources["success_probability"], 6)
        (1.0, 1.0)
    """
    from tasks.qsvt.amplification import oblivious_amplification

    h = _hamiltonian(h)
    t, epsilon = _real(t, "t"), _epsilon(epsilon)
    if not isinstance(amplify, (bool, np.bool_)):
        raise TypeError(f"amplify must be True or False, got {amplify!r}")
    if t == 0:
        raise ValueError("t must be nonzero (exp(0) = 1 needs no circuit)")
    be = block_encoding(h)
    tau = be.alpha * t
    cos_c, sin_c = poly_cos(tau, epsilon / 2), poly_sin(tau, epsilon / 2)
    pc, ps = solve_phases(cos_c), solve_phases(sin_c)
    out = qsvt_sequence(be, [pc.phases, ps.phases], real=True, branch_phase=-np.pi / 2)
    degree = out.resources["qsp_degree"]
    if amplify:
        out = oblivious_amplification(out)
    eig = _eig(h)
    psi = None if state is None else _state(state, h.num_qubits)
    if eig is not None:
        x = eig[0] / be.alpha
        fvals = evaluate(cos_c, x) - 1j * evaluate(sin_c, x)
        p_half = _success(eig, fvals, psi, 2.0)
        if amplify:  # the block 3B - 4 B B^dag B of B = f(H) / 2
            fvals = fvals * (3 - np.abs(fvals) ** 2) / 2
            out.resources["success_probability_unamplified"] = p_half
        out.resources["success_probability"] = _success(eig, fvals, psi, 1.0 if amplify else 2.0)
    out.resources.update(
        alpha_h=be.alpha,
        tau=tau,
        cos_degree=len(cos_c) - 1,
        sin_degree=len(sin_c) - 1,
        # the implemented polynomial of H has degree 3 D when amplified (D per query of
        # the cos/sin encoding); queries count applications of H's encoding
        qsp_degree=3 * degree if amplify else degree,
        queries=3 * degree if amplify else degree,
        amplified=bool(amplify),
        phase_residual=max(pc.residual, ps.residual),
        epsilon=epsilon,
    )
    return out


def eigenstate_filter(
    h: PauliSum, mu: float, delta: float, epsilon: float = 1e-6, kind: str = "lin_tong", state=None
):
    """A block encoding of a filter of ``H - mu`` keeping the eigenvalue at ``mu``.

    ``kind="lin_tong"``: ``mu`` must be an eigenvalue and ``delta`` a lower bound on the
    distance to the others; the filter is 1 at ``mu`` and at most ``epsilon`` beyond
    ``delta``. ``kind="rectangle"``: an erf window, 1 within ``delta / 4`` of ``mu`` and
    below ``epsilon`` beyond ``3 delta / 4`` (``mu`` need not be exact).
    """
    h = _hamiltonian(h)
    mu, delta, epsilon = _real(mu, "mu"), _real(delta, "delta"), _epsilon(epsilon)
    if delta <= 0:
        raise ValueError(f"delta must be positive, got {delta}")
    be = block_encoding(_shifted(h, mu))
    d = delta / be.alpha
    if kind == "lin_tong":
        if d >= 1:
            raise ValueError(f"delta {delta} exceeds the spectral range {be.alpha}")
        coeffs = poly_filter(d, epsilon)
    elif kind == "rectangle":
        # a plateau at |P| ~ 1 makes the phases ill-conditioned; the overall scale does
        # not matter to a filter (post-selection renormalises)
        coeffs = 0.999 * poly_rectangle(d / 2, d / 2, epsilon)
    else:
        raise ValueError(f"kind must be 'lin_tong' or 'rectangle', got {kind!r}")
    found = solve_phases(coeffs)
    out = qsvt_sequence(be, [found.phases], real=True)
    eig = _eig(h)
    psi = _state(state, h.num_qubits)
    if eig is not None:
        fvals = evaluate(coeffs, np.clip((eig[0] - mu) / be.alpha, -1, 1))
        out.resources["success_probability"] = _success(eig, fvals, psi, 1.0)
    out.resources.update(alpha_h=be.alpha, phase_residual=found.residual, kind=kind)
    return out


def _sign_below(h: PauliSum, mu: float, xi: float, epsilon: float):
    """(LCU encoding of H - mu, odd sign polynomial of transition width xi)."""
    be = block_encoding(_shifted(h, mu))
    # 0.999: a plateau at |P| ~ 1 makes the phases ill-conditioned (see phases.py)
    return be, 0.999 * poly_sign(xi / be.alpha, epsilon)


def _below(h: PauliSum, mu: float, xi: float, epsilon: float) -> tuple[BlockEncoding, int]:
    """A block encoding of the projector on eigenvalues below ``mu`` (within ``epsilon``
    beyond ``xi / 2`` of it): ``(1 - sign(H - mu)) / 2`` by two QSVT branches."""
    be, sign = _sign_below(h, mu, xi, epsilon)
    found = solve_phases(sign)
    one = np.array([0.0])  # the constant 1: <0|e^{i 0 Z}|0> = 1
    out = qsvt_sequence(be, [one, found.phases], real=True, branch_phase=np.pi)
    return dataclasses.replace(out, alpha=1.0), len(sign) - 1


def ground_state_prep(
    h: PauliSum,
    state=None,
    epsilon: float = 1e-3,
    min_overlap: float = 1e-2,
    max_rounds: int = 60,
    *,
    resolution: float | None = None,
    coupling: float = 1.0,
    time: float = 1.0,
    steps: int = 2,
    max_tries: int = 100,
    seed: int | None = 0,
):
    """Prepare the ground state of ``H`` from ``state`` (default ``|0...0>``) by dynamical
    cooling (:func:`tasks.qsvt.cooling.cool`; Motlagh et al., arXiv:2404.05810), with no
    gap or energy given and no bath qubits.

    Rounds lower a threshold ``mu`` by ``resolution`` (default ``alpha / 20``) from
    ``<H>``; in each, evolution under ``S + coupling V`` (``S`` a shifted-sign QSVT of
    ``H - mu``, ``V`` random X/Y fields) is followed by a measurement of the sign, and
    only outcomes below ``mu`` are kept. ``epsilon``: the sign polynomials' error.
    ``min_overlap`` is accepted for compatibility with the earlier bisection routine and
    not used (cooling needs no overlap floor; from ``|0000>`` it prepares the
    Heisenberg ground state, with which that state has no overlap).

    Returns the block encoding of the last accepted "below ``mu``" projector (the
    measurement that produced the final state). ``resources`` adds the cooling's
    (see :func:`tasks.qsvt.cooling.cool`) -- ``state`` (the final state vector),
    ``history``, ``rounds``, ``tries``, ``block_encoding_queries`` (also as
    ``total_queries``), ``evolution_steps``, ``perturbation_queries``,
    ``success_probability``, ``energy_estimate``, ``threshold``, ``ground_overlap``
    and ``ground_overlap_initial``.

    The sign here is a QSVT over the LCU block encoding of ``H``. For the paper's
    oracle model -- the sign by QSP over controlled ``e^{-iH tau}`` (QETU), reporting
    ``time_evolution_queries`` -- call ``cool(h, state, oracle="time_evolution")``:
    its final projector (hundreds of controlled evolutions) is not built as a circuit,
    so it returns the :class:`~tasks.qsvt.cooling.CoolingResult` rather than a block
    encoding.
    """
    from tasks.qsvt.cooling import cool

    h = _hamiltonian(h)
    epsilon = _epsilon(epsilon)
    min_overlap = _real(min_overlap, "min_overlap")
    if not 0 < min_overlap <= 1:
        raise ValueError(f"min_overlap must be in (0, 1], got {min_overlap}")
    result = cool(
        h,
        state,
        resolution=resolution,
        coupling=coupling,
        time=time,
        steps=steps,
        max_tries=max_tries,
        max_rounds=max_rounds,
        epsilon=epsilon,
        seed=seed,
    )
    be = result.projector
    be.resources.update(result.resources)
    be.resources.update(
        state=result.state,
        history=result.history,
        total_queries=result.resources["block_encoding_queries"],
    )
    return be


def linear_solve(a: PauliSum, b=None, kappa: float | None = None, epsilon: float = 1e-6):
    """A block encoding of ``A^{-1}`` for Hermitian invertible ``A`` (a Pauli sum).

    ``kappa`` bounds the condition number of ``A / alpha`` (eigenvalues at least
    ``1 / kappa`` in modulus); by default it is computed from the dense spectrum.
    The encoded operator is ``A^{-1}`` within ``epsilon * 2 kappa / alpha`` (the
    polynomial approximates ``1/(2 kappa x)`` to ``epsilon``); ``b`` (optional) fixes
    the reported success probability, ``||P(A/alpha) b||^2``.
    """
    a = _hamiltonian(a)
    epsilon = _epsilon(epsilon)
    be = block_encoding(a)
    eig = _eig(a)
    if kappa is None:
        if eig is None:
            raise ValueError("give kappa: A is too large to diagonalise")
        smallest = float(np.min(np.abs(eig[0])))
        if smallest < 1e-12 * be.alpha:
            raise ValueError("A is singular")
        kappa = be.alpha / smallest
    kappa = _real(kappa, "kappa")
    if kappa < 1:
        raise ValueError(f"kappa must be >= 1, got {kappa}")
    coeffs = poly_inverse(kappa, epsilon)
    found = solve_phases(coeffs)
    out = qsvt_sequence(be, [found.phases], real=True)
    out = dataclasses.replace(out, alpha=2 * kappa / be.alpha)
    if eig is not None:
        fvals = evaluate(coeffs, eig[0] / be.alpha)
        psi = None if b is None else _state(b, a.num_qubits)
        out.resources["success_probability"] = _success(eig, fvals, psi, 1.0)
    out.resources.update(kappa=kappa, alpha_a=be.alpha, phase_residual=found.residual)
    return out
