"""Ground-state preparation by dynamical cooling, after Motlagh, Shokrian Zini, Arrazola
& Wiebe, "Ground State Preparation via Dynamical Cooling" (arXiv:2404.05810).

The idea (the paper's abstract): a shifted-sign QSP maps the spectrum of ``H`` below a
threshold ``mu`` to ``-1`` and above it to ``+1``, so within each half every state has the
same transformed energy and the two halves are separated by a gap of 2; evolution under
the transformed Hamiltonian plus a perturbation then moves the state between energy
levels with no gap knowledge and no bath qubits. Here (only the abstract could be read;
the schedule below is ours, see ``docs/qsvt.md``):

- ``S = P((H - mu) / alpha')``: the odd erf-sign polynomial (transition width ``xi``,
  scaled by 0.999) by QSVT over the LCU encoding of ``H - mu`` (``alpha' = alpha + |mu|``;
  ``oracle="block_encoding"``, the default). With ``oracle="time_evolution"`` (as in the
  paper, which queries the time evolution), ``S = F(cos((H - shift) tau / 2))`` instead:
  an even erf-sign polynomial in that cosine, by QETU (Dong, Lin & Tong,
  arXiv:2204.05955; :mod:`tasks.qsvt._qetu`) over controlled ``exp(-i H tau)``, with
  ``tau`` and ``shift`` from the spectral bound ``c_I +- sum |c|`` (:func:`qetu_frame`)
  so that ``(H - shift) tau`` has its spectrum inside ``(0, pi)``.
- one *try*: ``steps`` Trotter steps of ``exp(-i dt (S + lambda V))`` with
  ``dt = time / steps`` -- ``exp(-i dt S) = cos dt - i sin dt S`` from a two-branch QSVT
  (block ``(cos dt - i sin dt S) / 2``) made deterministic by one round of oblivious
  amplitude amplification (block ``3b - 4b|b|^2``, exactly the unitary when ``S^2 = 1``),
  then ``exp(-i dt lambda V)`` for a perturbation ``V``: a unit field per qubit in a
  random direction of the XY plane (a fresh draw each try), exact one-qubit rotations;
- then the sign is *measured* (post-selecting the ancillas of the projector
  ``(1 - S) / 2``, :func:`tasks.qsvt.applications._below`): "below ``mu``" is kept,
  "above" is tried again. Only transitions from above ``mu`` to below it are ever kept
  (the ratchet), so the energy only goes down;
- a *round* lowers ``mu`` by ``resolution`` (default ``alpha / 20``), starting at
  ``<H> + resolution`` of the input state. A round first measures the sign once (a state
  already below ``mu`` is kept as it is), else tries up to ``max_tries`` times. After a
  round that accepts nothing (``mu`` has likely passed the ground energy) the scrambled
  state is cooled back below the last accepted threshold and the round is attempted once
  more; two such failures in a row end the run, below the last accepted threshold, where
  only levels within ``resolution`` (plus ``xi / 2``) of the ground energy remain.

The run follows one trajectory (measurement outcomes sampled with ``seed``) on the dense
model of the same polynomials; the final accepting measurement is applied by its
circuit (block-encoding oracle; with the time-evolution oracle by the model, its circuit
being too large to simulate). ``tests/test_qsvt_cooling.py`` checks the circuits of both
oracles against that model (QETU with our ``hamiltonian_simulation`` as the oracle, or
exact Pauli rotations for commuting ``H``).
"""

from __future__ import annotations

import dataclasses
import math
import numbers

import numpy as np
from scipy import special

from qworkbench import Circuit, PauliSum
from tasks.qsvt import _gates
from tasks.qsvt._qetu import exact_evolution, qetu_circuit, qetu_phases
from tasks.qsvt.amplification import oblivious_amplification
from tasks.qsvt.block_encoding import BlockEncoding, _real, block_encoding, resources
from tasks.qsvt.phases import solve_phases
from tasks.qsvt.polynomials import chebyshev_interpolate, evaluate, poly_cos, poly_sign, poly_sin
from tasks.qsvt.qsvt import qsvt_sequence

__all__ = [
    "CoolingResult",
    "cool",
    "sign_evolution",
    "perturbation_layer",
    "cooling_evolution",
    "random_fields",
    "qetu_frame",
    "qetu_sign_coeffs",
    "qetu_sign_evolution",
    "qetu_projector",
    "evolution_oracle",
]

ORACLES = ("block_encoding", "time_evolution")

_SCALE = 0.999  # |P| ~ 1 plateaus make QSP phases ill-conditioned (see phases.py)


def _positive(value, name: str) -> float:
    value = _real(value, name)
    if value <= 0:
        raise ValueError(f"{name} must be positive, got {value!r}")
    return value


def _count(value, name: str, low: int = 1) -> int:
    if isinstance(value, bool) or not isinstance(value, numbers.Integral):
        raise TypeError(f"{name} must be an integer, got {value!r}")
    if value < low:
        raise ValueError(f"{name} must be >= {low}, got {value!r}")
    return int(value)


def _shift(h: PauliSum, mu: float) -> PauliSum:
    return (h - PauliSum.identity(h.num_qubits, mu)).simplify() if mu else h


def _alpha_shifted(h: PauliSum, mu: float) -> float:
    """sum |c| of the LCU encoding of H - mu (the identity term absorbs mu)."""
    return float(np.abs(_shift(h, mu).coeffs.real).sum())


def sign_coeffs(h: PauliSum, mu: float, xi: float, epsilon: float) -> np.ndarray:
    """Chebyshev coefficients of ``S``: 0.999 erf-sign of ``(H - mu) / alpha'`` whose
    transition (in energy) is ``xi`` wide."""
    return _SCALE * poly_sign(xi / _alpha_shifted(h, mu), epsilon)


# ---------------------------------------------------------------- the time-evolution oracle


def _oracle_name(oracle) -> str:
    if oracle not in ORACLES:
        raise ValueError(f"oracle must be 'block_encoding' or 'time_evolution', got {oracle!r}")
    return oracle


def qetu_frame(h: PauliSum, xi: float) -> tuple[float, float]:
    """``(shift, tau)`` of the QETU sign: the spectral bound ``c_I +- sum |c|`` (``c_I``
    the identity coefficient, the sum over the other terms) widened by ``2 xi`` on each
    side is mapped by ``(E - shift) tau`` onto ``[0, pi]``, so the spectrum of
    ``(H - shift) tau`` lies in ``[2 xi tau, pi - 2 xi tau]`` inside ``(0, pi)``."""
    xi = _positive(xi, "xi")
    ident = "I" * h.num_qubits
    c_id = sum(float(c.real) for lab, c in zip(h.labels(), h.coeffs) if lab == ident)
    spread = float(np.abs(h.coeffs.real).sum()) - abs(c_id)
    lo, hi = c_id - spread - 2 * xi, c_id + spread + 2 * xi
    return lo, math.pi / (hi - lo)


def qetu_sign_coeffs(h: PauliSum, mu: float, xi: float, epsilon: float) -> np.ndarray:
    """Even Chebyshev coefficients of ``F`` with ``F(cos((E - shift) tau / 2)) ~
    0.999 sign(E - mu)`` on the spectrum (``shift, tau`` from :func:`qetu_frame`).

    In ``theta = (E - shift) tau / 2`` the spectrum lies in ``[xi tau, pi/2 - xi tau]``;
    ``F(cos theta) = erf(k (theta - theta_mu)) + erf(k (pi - theta - theta_mu)) - 1``
    (symmetric about ``pi/2``, hence even in ``cos theta``) has its step at
    ``theta_mu = (mu - shift) tau / 2`` with the width ``xi tau / 2`` that ``xi`` has in
    energy (``k`` as in :func:`tasks.qsvt.polynomials.poly_sign`). ``mu`` is clamped to
    ``[shift + xi, shift + pi / tau - xi]``: beyond, every eigenvalue is on one side
    either way."""
    mu, xi, epsilon = _real(mu, "mu"), _positive(xi, "xi"), _real(epsilon, "epsilon")
    if not 0 < epsilon < 1:
        raise ValueError(f"epsilon must be in (0, 1), got {epsilon!r}")
    shift, tau = qetu_frame(h, xi)
    mu = min(max(mu, shift + xi), shift + math.pi / tau - xi)
    theta_mu, width = (mu - shift) * tau / 2, xi * tau / 2
    k = float(special.erfcinv(epsilon / 4)) / (width / 2)

    def fn(x):
        th = np.arccos(np.clip(x, -1, 1))
        return special.erf(k * (th - theta_mu)) + special.erf(k * (np.pi - th - theta_mu)) - 1

    c = chebyshev_interpolate(fn, epsilon / 4, 0) * (1 - epsilon / 2)
    grid = np.cos(np.linspace(0, np.pi, 8 * len(c) + 1))
    peak = float(np.max(np.abs(evaluate(c, grid))))
    return _SCALE * (c / peak if peak > 1 else c)


def evolution_oracle(h: PauliSum, shift: float, tau: float, exact: bool = False) -> BlockEncoding:
    """A circuit for ``exp(-i (H - shift) tau)``: ``exp(-i H tau)`` then the phase
    ``exp(i shift tau)`` (a phase gate on the control once controlled). ``exact=False``:
    our amplified :func:`tasks.qsvt.applications.hamiltonian_simulation` (alpha 1,
    error 1e-10); ``exact=True``: one Pauli rotation per term (commuting terms only)."""
    from tasks.qsvt.applications import hamiltonian_simulation

    evo = exact_evolution(h, tau) if exact else hamiltonian_simulation(h, tau, 1e-10)
    circ = Circuit(evo.num_qubits).compose(evo.circuit)
    _gates.global_phase(circ, shift * tau, evo.system[0])
    res = dict(evo.resources, tau=tau, shift=shift)
    return BlockEncoding(circ, evo.system, evo.ancillas, 1.0, evo.work, res)


def _qetu_two_branch(h, mu, xi, epsilon, exact, const, scale, branch_phase):
    shift, tau = qetu_frame(h, xi)
    coeffs = scale * qetu_sign_coeffs(h, mu, xi, epsilon)
    psi, resid = qetu_phases(coeffs)
    first = np.zeros(len(psi))
    first[0] = const  # (c, 0, ..., 0): V V^dag = 1 leaves cos c
    oracle = evolution_oracle(h, shift, tau, exact)
    out = qetu_circuit(oracle, [first, psi], branch_phase)
    out.resources.update(phase_residual=resid, tau=tau, shift=shift)
    return out


def qetu_sign_evolution(
    h: PauliSum, mu: float, xi: float, dt: float, epsilon: float = 1e-3, exact: bool = False
) -> BlockEncoding:
    """A block encoding (alpha 1) of ``exp(-i dt S)`` for the QETU sign ``S`` of
    :func:`qetu_sign_coeffs`: two QETU branches sharing their calls of controlled
    ``exp(-i (H - shift) tau)`` (the constant ``cos dt`` and ``sin dt S``, branch phase
    ``-pi/2``), amplified obliviously (block ``3b - 4b|b|^2``, ``b = (cos dt - i sin dt
    S) / 2``). ``resources["time_evolution_queries"]``: ``3 d``. ``exact``: see
    :func:`evolution_oracle`."""
    dt = _real(dt, "dt")
    if not 0 < abs(dt) < np.pi / 2:
        raise ValueError(f"dt must be in (0, pi/2) in modulus, got {dt}")
    out = _qetu_two_branch(h, mu, xi, epsilon, exact, dt, np.sin(dt), -np.pi / 2)
    amp = oblivious_amplification(out)
    d = out.resources["qsp_degree"]
    amp.resources.update(
        queries=3 * d,
        time_evolution_queries=3 * d,
        oracle_block_encoding_queries=3 * out.resources["oracle_block_encoding_queries"],
        qsp_degree=d,
        phase_residual=out.resources["phase_residual"],
        tau=out.resources["tau"],
        shift=out.resources["shift"],
        dt=dt,
    )
    return amp


def qetu_projector(
    h: PauliSum, mu: float, xi: float, epsilon: float = 1e-3, exact: bool = False
) -> BlockEncoding:
    """The "below ``mu``" projector ``(1 - S)/2`` of the QETU sign: two branches (the
    constant 1 and ``S``, branch phase ``pi``) sharing ``d`` oracle calls; the block is
    the projector (``alpha`` 1, as :func:`tasks.qsvt.applications._below`)."""
    out = _qetu_two_branch(h, mu, xi, epsilon, exact, 0.0, 1.0, np.pi)
    return dataclasses.replace(out, alpha=1.0)


# ---------------------------------------------------------------- circuits


def sign_evolution(
    h: PauliSum, mu: float, xi: float, dt: float, epsilon: float = 1e-3
) -> BlockEncoding:
    """A block encoding (alpha 1) of ``exp(-i dt S)``, ``S`` the sign polynomial of
    :func:`sign_coeffs`: a two-branch QSVT (the constant ``cos dt`` and ``sin dt S``,
    branch phase ``-pi/2``) amplified obliviously. Exact for ``S^2 = 1``; in general its
    block is ``3b - 4b|b|^2`` with ``b = (cos dt - i sin dt S) / 2`` (see :func:`_model`)."""
    dt = _real(dt, "dt")
    if not 0 < abs(dt) < np.pi / 2:
        raise ValueError(f"dt must be in (0, pi/2) in modulus, got {dt}")
    be = block_encoding(_shift(h, mu))
    coeffs = np.sin(dt) * sign_coeffs(h, mu, xi, epsilon)
    found = solve_phases(coeffs)
    const = np.array([dt])  # Re <0|e^{i dt Z}|0> = cos dt
    out = qsvt_sequence(be, [const, found.phases], real=True, branch_phase=-np.pi / 2)
    amp = oblivious_amplification(out)  # alpha 2 -> 1 in one round: -U R U^dag R U
    amp.resources.update(
        queries=3 * out.resources["queries"],
        qsp_degree=out.resources["qsp_degree"],
        phase_residual=found.residual,
        alpha_h=be.alpha,
        dt=dt,
    )
    return amp


def random_fields(num_qubits: int, rng: np.random.Generator) -> np.ndarray:
    """(num_qubits, 2) X and Y field strengths: a unit field per qubit in a uniformly
    random direction of the XY plane (``||V|| <= num_qubits``)."""
    phi = rng.uniform(0, 2 * np.pi, size=num_qubits)
    return np.stack([np.cos(phi), np.sin(phi)], axis=1)


def perturbation_layer(circ: Circuit, system, fields: np.ndarray, angle: float) -> None:
    """``exp(-i angle V)`` for ``V = sum_q fx[q] X_q + fy[q] Y_q``, one rotation triple per
    qubit: ``exp(-i a (cos p X + sin p Y)) = RZ(p) RX(2a) RZ(-p)``."""
    for q, (fx, fy) in zip(system, fields):
        r, p = math.hypot(fx, fy), math.atan2(fy, fx)
        if r == 0:
            continue
        circ.rz(-p, q)
        circ.rx(2 * angle * r, q)
        circ.rz(p, q)


def cooling_evolution(
    h: PauliSum,
    mu: float,
    xi: float,
    time: float,
    steps: int,
    fields: np.ndarray,
    coupling: float,
    epsilon: float = 1e-3,
    oracle: str = "block_encoding",
    exact: bool = False,
) -> BlockEncoding:
    """One try's circuit: ``steps`` Trotter steps of ``exp(-i dt (S + coupling V))``,
    each the amplified sign evolution then the field rotations, sharing one ancilla
    register (its block equals the product of the steps' blocks up to the amplified
    encoding's leakage: 1e-3 to 1e-2 with the default epsilon, largest with mu near
    the ground energy). ``oracle="time_evolution"``: the sign evolution by
    QETU (:func:`qetu_sign_evolution`, ``exact`` passed on); ``queries`` then counts
    calls of controlled ``exp(-i H tau)`` (also ``time_evolution_queries``)."""
    steps = _count(steps, "steps")
    dt = _real(time, "time") / steps
    if _oracle_name(oracle) == "time_evolution":
        step = qetu_sign_evolution(h, mu, xi, dt, epsilon, exact)
    else:
        step = sign_evolution(h, mu, xi, dt, epsilon)
    circ = Circuit(step.num_qubits)
    for _ in range(steps):
        circ = circ.compose(step.circuit)
        perturbation_layer(circ, step.system, fields, dt * coupling)
    q = steps * step.resources["queries"]
    res = resources(circ, step.system, step.ancillas, queries=q)
    if oracle == "time_evolution":
        res["time_evolution_queries"] = q
    return BlockEncoding(circ, step.system, step.ancillas, 1.0, step.work, res)


# ---------------------------------------------------------------- dense model


def _field_unitary(n: int, fields: np.ndarray, angle: float) -> np.ndarray:
    out = np.ones((1, 1), dtype=complex)
    x = np.array([[0, 1], [1, 0]], dtype=complex)
    y = np.array([[0, -1j], [1j, 0]], dtype=complex)
    for q in reversed(range(n)):  # qubit 0 least significant: last Kronecker factor
        fx, fy = fields[q]
        r = math.hypot(fx, fy)
        if r == 0:
            u = np.eye(2, dtype=complex)
        else:
            g = (fx * x + fy * y) / r
            u = math.cos(angle * r) * np.eye(2) - 1j * math.sin(angle * r) * g
        out = np.kron(out, u)
    return out


@dataclasses.dataclass
class _Model:
    """Dense eigenbasis model of the circuits for one threshold."""

    w: np.ndarray
    v: np.ndarray
    mu: float
    keep: np.ndarray  # eigenvalues of the "below" Kraus operator (1 - S) / 2
    evo: np.ndarray  # eigenvalues of the amplified exp(-i dt S)
    degree: int


def _model(h, w, v, mu, xi, dt, epsilon, oracle="block_encoding") -> _Model:
    if oracle == "time_evolution":  # F(cos((E - shift) tau / 2)), the QETU block
        c = qetu_sign_coeffs(h, mu, xi, epsilon)
        shift, tau = qetu_frame(h, xi)
        x = np.cos((w - shift) * tau / 2)
    else:
        c = sign_coeffs(h, mu, xi, epsilon)
        x = np.clip((w - mu) / _alpha_shifted(h, mu), -1, 1)
    s = evaluate(c, x)
    b = (math.cos(dt) - 1j * math.sin(dt) * s) / 2
    return _Model(w, v, mu, (1 - s) / 2, 3 * b - 4 * b * np.abs(b) ** 2, len(c) - 1)


@dataclasses.dataclass
class CoolingResult:
    """Outcome of :func:`cool`.

    Attributes:
        state: the final system state (normalised), after the last accepting
            measurement, which is applied by its circuit (``projector``).
        projector: block encoding of the last accepted "below ``mu``" projector.
        threshold: that ``mu``; ``failed_threshold``: the first ``mu`` that accepted
            nothing (the ground energy lies between the two, within ``xi / 2``).
        history: one dict per round (threshold, tries, accepted, energy).
        resources: counts and figures (see :func:`cool`).
    """

    state: np.ndarray
    projector: BlockEncoding
    threshold: float
    failed_threshold: float | None
    history: list
    resources: dict


def cool(
    h: PauliSum,
    state,
    resolution: float | None = None,
    xi: float | None = None,
    coupling: float = 1.0,
    time: float = 1.0,
    steps: int = 2,
    max_tries: int = 100,
    max_rounds: int = 60,
    epsilon: float = 1e-3,
    seed: int | None = 0,
    circuit: bool | None = None,
    oracle: str = "block_encoding",
) -> CoolingResult:
    """Cool ``state`` towards the ground state of ``H`` (see the module docstring).

    ``resolution``: how far each round lowers the threshold (default ``alpha / 20``);
    the run ends within about ``resolution`` of the ground energy, so it prepares the
    ground state when the gap exceeds it (nothing here needs the gap). ``xi``: width of
    the sign's transition (default ``resolution``). ``coupling`` (lambda), ``time``,
    ``steps``: the perturbed evolution of one try. ``max_tries``: tries per round.
    ``circuit``: apply the final accepting measurement by its circuit (``False``: by the
    dense model; ``projector`` is then ``None``; default ``True`` for the block-encoding
    oracle, ``False`` for the time-evolution one, whose projector circuit -- QETU degree
    ``d`` over controlled ``hamiltonian_simulation`` -- is too large to simulate here;
    ``True`` with it raises ``ValueError``; :func:`qetu_projector` builds it).

    ``oracle``: how ``S`` is built. ``"block_encoding"`` (default): QSVT over the LCU
    encoding of ``H - mu``. ``"time_evolution"``: QETU over controlled
    ``exp(-i H tau)`` (:func:`qetu_sign_coeffs`, ``tau`` from :func:`qetu_frame`); the
    perturbation stays exact one-qubit rotations, so no block encoding is queried.

    ``resources``: ``oracle``, ``rounds``, ``tries``, ``block_encoding_queries``
    (applications of the LCU encoding of ``H - mu`` in every sign evolution and
    measurement; 0 with the time-evolution oracle), ``time_evolution_queries`` (calls of
    controlled ``exp(-i H tau)`` or its inverse, the same count for that oracle; 0 with the
    block-encoding one), ``evolution_steps``
    (applications of the amplified ``exp(-i dt S)``), ``perturbation_queries``
    (``exp(-i dt lambda V)`` layers), ``measurements``, ``max_qsp_degree``,
    ``success_probability`` (that every accepted round accepted within its budget,
    a product over rounds of the exact probabilities along this trajectory),
    ``energy_estimate`` (``<H>`` of the final state), ``initial_energy``, ``converged``
    (two rounds in a row accepted nothing), ``ground_overlap_initial`` and
    ``ground_overlap`` (weight in the lowest eigenspace of the dense ``H``, before and
    after), ``filter_only_probability`` (what the final projector alone would accept
    from the initial state). With the time-evolution oracle also ``tau``, ``qetu_shift``,
    ``total_evolution_time`` (``time_evolution_queries * tau``),
    ``lcu_queries_per_time_evolution`` (what one ``exp(-i H tau)`` costs as our amplified
    ``hamiltonian_simulation`` at 1e-10) and ``perturbation`` (how ``V`` is applied).
    """
    from tasks.qsvt.applications import _below, _eig, _hamiltonian, _post_select, _state

    h = _hamiltonian(h)
    if all(set(label) <= {"I"} for label in h.labels()):
        raise ValueError(
            "H is proportional to the identity: every state is a ground state, "
            "there is nothing to cool"
        )
    oracle = _oracle_name(oracle)
    if circuit is None:
        circuit = oracle == "block_encoding"
    if not isinstance(circuit, (bool, np.bool_)):
        raise TypeError(f"circuit must be True, False or None, got {circuit!r}")
    if circuit and oracle == "time_evolution":
        raise ValueError(
            "circuit=True needs oracle='block_encoding': the QETU projector over controlled "
            "hamiltonian_simulation is too large to simulate here (use circuit=False, or "
            "qetu_projector on a small H)"
        )
    n = h.num_qubits
    psi = _state(state, n)
    alpha = float(np.abs(h.coeffs.real).sum())
    resolution = alpha / 20 if resolution is None else _positive(resolution, "resolution")
    xi = resolution if xi is None else _positive(xi, "xi")
    coupling = _positive(coupling, "coupling")
    time = _positive(time, "time")
    steps = _count(steps, "steps")
    max_tries = _count(max_tries, "max_tries")
    max_rounds = _count(max_rounds, "max_rounds")
    dt = time / steps
    if dt >= np.pi / 2:
        raise ValueError(f"time / steps must be below pi/2, got {dt}")
    eig = _eig(h)
    if eig is None:
        raise ValueError(f"H has {n} qubits: the cooling model is dense (at most 14)")
    w, v = eig
    rng = np.random.default_rng(seed)
    hm = h.to_matrix()
    e0 = float(np.vdot(psi, hm @ psi).real)

    counts = dict(tries=0, be=0, te=0, evo=0, pert=0, meas=0, deg=0)

    def round_at(mu: float, phi: np.ndarray, budget: int):
        """(accepted state or None, the state before the accepting measurement, tries,
        acceptance probability within the budget)."""
        m = _model(h, w, v, mu, xi, dt, epsilon, oracle)
        counts["deg"] = max(counts["deg"], m.degree)
        amps = v.conj().T @ phi  # eigenbasis
        keep, drop = m.keep, np.sqrt(np.clip(1 - m.keep**2, 0, None))
        accepted = []  # (probability, state before the measurement, accepted state)
        before = amps
        p = float(np.sum(np.abs(keep * before) ** 2))
        accepted.append((p, before))
        fail = drop * before
        for _ in range(budget):
            fields = random_fields(n, rng)
            u = v.conj().T @ _field_unitary(n, fields, dt * coupling) @ v
            for _ in range(steps):
                fail = u @ (m.evo * fail)
            accepted.append((float(np.sum(np.abs(keep * fail) ** 2)), fail.copy()))
            fail = drop * fail
        probs = np.array([a for a, _ in accepted])
        total = float(probs.sum())
        r = rng.random()
        idx = int(np.searchsorted(np.cumsum(probs), r))
        tries = budget if idx >= len(probs) else idx
        counts["meas"] += tries + 1
        counts["tries"] += tries
        counts["evo"] += tries * steps
        counts["pert"] += tries * steps
        # three sign sequences per amplified evolution step, one per measurement
        queries = tries * steps * 3 * m.degree + (tries + 1) * m.degree
        counts["te" if oracle == "time_evolution" else "be"] += queries
        if idx >= len(probs):  # nothing accepted: the scrambled state above mu
            return None, v @ (fail / np.linalg.norm(fail)), tries, total, m
        pre = accepted[idx][1]
        pre = pre / np.linalg.norm(pre)
        out = keep * pre
        return v @ (out / np.linalg.norm(out)), v @ pre, tries, total, m

    history, success = [], 1.0
    mu, last, failed, strikes = e0 + resolution, None, None, 0
    cur = psi

    def recover(cur):
        """Cool a scrambled state back below the last accepted threshold (a step
        higher each time that too runs out of tries)."""
        mu_back = last[0]
        for _ in range(3):
            new, pre, tries, p_in, _m = round_at(mu_back, cur, 5 * max_tries)
            history.append(
                dict(threshold=mu_back, tries=tries, accept_probability=p_in, recovery=True)
            )
            if new is not None:
                return new, (mu_back, pre), p_in
            cur, mu_back = pre, mu_back + resolution
        raise RuntimeError(
            f"could not return below the threshold {mu_back - resolution:.6g} "
            f"in 3 x {5 * max_tries} tries"
        )

    for _ in range(max_rounds):
        new, pre, tries, p_in, _m = round_at(mu, cur, max_tries)
        if new is None:
            # nothing accepted: mu has likely passed the ground energy (or the round was
            # unlucky: one more try after recovering; a second failure ends the run)
            history.append(dict(threshold=mu, tries=tries, accept_probability=p_in))
            if last is None:
                raise RuntimeError(
                    f"no round accepted: nothing of the state was found below {mu:.6g} "
                    f"within {max_tries} tries (raise max_tries or coupling)"
                )
            failed, strikes = mu, strikes + 1
            cur, last, p_back = recover(pre)
            success *= p_back
            if strikes >= 2:
                break
            continue
        success *= p_in
        last, cur, strikes = (mu, pre), new, 0
        history.append(
            dict(
                threshold=mu,
                tries=tries,
                accept_probability=p_in,
                energy=float(np.vdot(cur, hm @ cur).real),
            )
        )
        mu -= resolution
    if last is None:
        raise RuntimeError(f"no round accepted in max_rounds={max_rounds} rounds")
    mu_final, pre = last
    if circuit:
        projector, _deg = _below(h, mu_final, xi, epsilon)
        out, p_final = _post_select(projector, pre)
    else:  # the dense model of the same projector (no circuit built)
        projector = None
        m = _model(h, w, v, mu_final, xi, dt, epsilon, oracle)
        out = v @ (m.keep * (v.conj().T @ pre))
        p_final = float(np.vdot(out, out).real)
        out = out / math.sqrt(p_final)
    energy = float(np.vdot(out, hm @ out).real)
    history[-1]["energy"] = energy
    ground = v[:, np.abs(w - w[0]) < 1e-9]

    def overlap(x):
        return float(np.sum(np.abs(ground.conj().T @ x) ** 2))

    m_final = _model(h, w, v, mu_final, xi, dt, epsilon, oracle)
    filter_only = float(np.sum(np.abs(m_final.keep * (v.conj().T @ psi)) ** 2))
    res = dict(
        ground_overlap_initial=overlap(psi),
        ground_overlap=overlap(out),
        filter_only_probability=filter_only,
        rounds=len(history),
        tries=counts["tries"],
        measurements=counts["meas"],
        oracle=oracle,
        block_encoding_queries=counts["be"],
        time_evolution_queries=counts["te"],
        evolution_steps=counts["evo"],
        perturbation_queries=counts["pert"],
        max_qsp_degree=counts["deg"],
        success_probability=float(min(1.0, success)),
        final_measurement_probability=p_final,
        energy_estimate=energy,
        initial_energy=e0,
        threshold=mu_final,
        failed_threshold=failed,
        resolution=resolution,
        width=xi,
        coupling=coupling,
        time=time,
        steps=steps,
        converged=strikes >= 2,
        seed=seed,
    )
    if oracle == "time_evolution":
        shift, tau = qetu_frame(h, xi)
        lcu_alpha = float(np.abs(h.coeffs.real).sum())
        sim = max(len(poly_cos(lcu_alpha * tau, 5e-11)), len(poly_sin(lcu_alpha * tau, 5e-11)))
        res.update(
            tau=tau,
            qetu_shift=shift,
            total_evolution_time=counts["te"] * tau,
            lcu_queries_per_time_evolution=3 * (sim - 1),
            perturbation="exact one-qubit rotations (RZ RX RZ per qubit; no block encoding)",
        )
    return CoolingResult(out, projector, mu_final, failed, history, res)
