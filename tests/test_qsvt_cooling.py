"""Dynamical cooling (tasks.qsvt.cooling) and ground_state_prep built on it.

Outside references only: numpy's eigendecomposition of H and Chebyshev evaluation,
scipy's expm, and the dense matrices of Pauli sums.
"""

from __future__ import annotations

import numpy as np
import pytest
from numpy.polynomial import chebyshev as cheb
from scipy.linalg import expm

from qworkbench import PauliSum
from tasks.hamiltonians import heisenberg, tfim
from tasks.qsvt import _gates, ground_state_prep
from tasks.qsvt._qetu import exact_evolution, qetu_circuit, qetu_phases, qetu_response
from tasks.qsvt.applications import _below
from tasks.qsvt.block_encoding import BlockEncoding
from tasks.qsvt.cooling import (
    cool,
    cooling_evolution,
    evolution_oracle,
    perturbation_layer,
    qetu_frame,
    qetu_projector,
    qetu_sign_coeffs,
    qetu_sign_evolution,
    random_fields,
    sign_coeffs,
    sign_evolution,
)

SMALL = PauliSum.from_list([("ZI", 0.6), ("XX", 0.3), ("IZ", 0.25)])
# commuting terms: exp(-i H t) is exact as Pauli rotations (exact_evolution)
ISING = PauliSum.from_list([("ZI", 0.6), ("ZZ", 0.3), ("IZ", 0.25), ("II", 0.4)])


def _ground(h):
    w, v = np.linalg.eigh(h.to_matrix())
    return w, v


def _fidelity(v, state):
    return abs(np.vdot(v[:, 0], state)) ** 2


def _fields_matrix(n, fields):
    terms = []
    for q, (fx, fy) in enumerate(fields):
        for p, c in (("X", fx), ("Y", fy)):
            label = ["I"] * n
            label[n - 1 - q] = p
            terms.append(("".join(label), c))
    return PauliSum.from_list(terms).to_matrix()


def test_sign_evolution_circuit_is_exp_of_the_sign():
    mu, xi, dt = 0.05, 0.4, 0.5
    be = sign_evolution(SMALL, mu, xi, dt, 1e-3)
    block = be.block()
    w, v = _ground(SMALL)
    # the amplified two-branch polynomial, evaluated by numpy on the spectrum
    s = cheb.chebval((w - mu) / (1.15 + mu), sign_coeffs(SMALL, mu, xi, 1e-3))
    b = (np.cos(dt) - 1j * np.sin(dt) * s) / 2
    model = v @ np.diag(3 * b - 4 * b * np.abs(b) ** 2) @ v.conj().T
    assert np.abs(block - model).max() < 1e-10
    exact = expm(-1j * dt * (v @ np.diag(np.sign(w - mu)) @ v.conj().T))
    assert np.abs(block - exact).max() < 2e-3  # the 0.999 scale and the erf tails
    assert np.abs(block.conj().T @ block - np.eye(4)).max() < 1e-5  # deterministic
    assert be.resources["queries"] == 3 * be.resources["qsp_degree"] > 0


def test_perturbation_layer_is_expm_of_the_fields():
    from qworkbench import Circuit

    rng = np.random.default_rng(3)
    fields = random_fields(3, rng)
    assert np.allclose(np.hypot(fields[:, 0], fields[:, 1]), 1)
    circ = Circuit(3)
    perturbation_layer(circ, range(3), fields, 0.7)
    u = _gates.apply_circuit(circ, np.eye(8, dtype=complex))
    assert np.abs(u - expm(-0.7j * _fields_matrix(3, fields))).max() < 1e-12


def test_cooling_evolution_circuit_is_the_trotter_product():
    mu, xi, time, steps, lam = 0.05, 0.4, 1.0, 2, 1.0
    fields = random_fields(2, np.random.default_rng(5))
    be = cooling_evolution(SMALL, mu, xi, time, steps, fields, lam, 1e-3)
    w, v = _ground(SMALL)
    dt = time / steps
    s_exact = v @ np.diag(np.sign(w - mu)) @ v.conj().T
    one = expm(-1j * dt * lam * _fields_matrix(2, fields)) @ expm(-1j * dt * s_exact)
    trotter = np.linalg.matrix_power(one, steps)
    assert np.abs(be.block() - trotter).max() < 5e-3
    assert be.resources["queries"] == steps * 3 * 71  # degree 71 sign here


def test_one_cooling_round_by_circuits_lowers_the_energy():
    """Try once (evolution circuit) and measure the sign (projector circuit): the kept
    state's energy is below the threshold and the starting energy (dense <H>)."""
    hm = SMALL.to_matrix()
    psi = np.zeros(4, dtype=complex)
    psi[0] = 1.0  # |00>, energy 0.85, mostly the top level
    e_start = np.vdot(psi, hm @ psi).real
    mu, xi = 0.0, 0.4
    fields = random_fields(2, np.random.default_rng(1))
    evo = cooling_evolution(SMALL, mu, xi, 1.0, 2, fields, 1.0, 1e-3).block()
    meas, _ = _below(SMALL, mu, xi, 1e-3)
    kept = meas.block() @ (evo @ psi)
    p = np.vdot(kept, kept).real
    assert 0.05 < p <= 1
    kept /= np.sqrt(p)
    e_kept = np.vdot(kept, hm @ kept).real
    assert e_kept < mu - 0.4 < e_start


def test_cool_history_energies_below_their_thresholds():
    h = tfim(4)
    r = cool(h, "0000", circuit=False, seed=2)
    for row in r.history:
        if "energy" in row and not row.get("recovery"):
            assert row["energy"] < row["threshold"] + r.resources["width"] / 2
    hm = h.to_matrix()
    assert np.vdot(r.state, hm @ r.state).real < r.resources["initial_energy"] - 1.5


def _check_resources(r, w):
    for key in (
        "rounds",
        "tries",
        "measurements",
        "block_encoding_queries",
        "evolution_steps",
        "perturbation_queries",
        "max_qsp_degree",
    ):
        assert isinstance(r[key], int) and r[key] > 0, key
    assert r["evolution_steps"] == r["perturbation_queries"] == r["tries"] * r["steps"]
    assert r["measurements"] >= r["rounds"]
    assert r["block_encoding_queries"] >= r["tries"] * r["steps"] * 3 * 100
    assert 0 < r["success_probability"] <= 1
    assert 0 < r["final_measurement_probability"] <= 1
    assert r["converged"]
    assert r["failed_threshold"] < r["threshold"]
    assert r["threshold"] - r["resolution"] - r["width"] < w[0] < r["threshold"] + r["width"]
    assert r["energy_estimate"] == pytest.approx(w[0], abs=1e-2)


@pytest.mark.slow  # ~12 s; cooling is checked on smaller cases by default
def test_ground_state_prep_tfim4_from_zero_state_by_cooling():
    h = tfim(4)
    w, v = _ground(h)
    be = ground_state_prep(h)  # |0000>, nothing about the spectrum given
    r = be.resources
    assert _fidelity(v, r["state"]) >= 0.99
    _check_resources(r, w)
    assert r["total_queries"] == r["block_encoding_queries"]
    assert r["ground_overlap_initial"] == pytest.approx(abs(v[0, 0]) ** 2, abs=1e-9)
    assert r["ground_overlap"] == pytest.approx(_fidelity(v, r["state"]), abs=1e-9)
    # the returned encoding is the final measurement: it keeps the ground state
    g = be.block() @ v[:, 0]
    assert np.vdot(g, g).real > 0.2


def test_heisenberg4_from_zero_state_needs_the_cooling():
    """|0000> has no weight on the Heisenberg ground state (a singlet), so no filter of
    H alone can reach it; cooling does (dense model of the circuits, fast)."""
    h = heisenberg(4)
    w, v = _ground(h)
    r = cool(h, "0000", circuit=False)
    assert abs(v[0, 0]) ** 2 < 1e-20
    assert r.resources["ground_overlap_initial"] < 1e-20
    # the projector's floor on levels above mu: ((1 - 0.999) / 2)^2
    assert r.resources["filter_only_probability"] < 1e-5
    assert _fidelity(v, r.state) >= 0.99
    _check_resources(r.resources, w)


@pytest.mark.slow
def test_ground_state_prep_heisenberg4_from_zero_state_by_circuit():
    h = heisenberg(4)
    w, v = _ground(h)
    be = ground_state_prep(h, "0000")
    assert _fidelity(v, be.resources["state"]) >= 0.99
    _check_resources(be.resources, w)


@pytest.mark.slow
@pytest.mark.parametrize(
    "name, start", [("tfim", "0000"), ("tfim", "0101"), ("heis", "0000"), ("heis", "0101")]
)
def test_cooling_over_seeds(name, start):
    h = tfim(4) if name == "tfim" else heisenberg(4)
    w, v = _ground(h)
    for seed in range(8):
        r = cool(h, start, circuit=False, seed=seed)
        assert _fidelity(v, r.state) >= 0.99, seed


def test_bad_inputs():
    h = tfim(2)
    with pytest.raises(TypeError, match="PauliSum"):
        ground_state_prep("ZZ")
    with pytest.raises(ValueError, match="epsilon"):
        ground_state_prep(h, epsilon=2.0)
    with pytest.raises(ValueError, match="min_overlap"):
        ground_state_prep(h, min_overlap=0.0)
    with pytest.raises(ValueError, match="4 amplitudes"):
        ground_state_prep(h, state=np.ones(3))
    with pytest.raises(ValueError, match="bitstring"):
        cool(h, "012")
    with pytest.raises(ValueError, match="resolution"):
        cool(h, None, resolution=-0.1)
    with pytest.raises(ValueError, match="coupling"):
        cool(h, None, coupling=0.0)
    with pytest.raises(TypeError, match="max_tries"):
        cool(h, None, max_tries=1.5)
    with pytest.raises(ValueError, match="steps"):
        cool(h, None, steps=0)
    with pytest.raises(ValueError, match="pi/2"):
        cool(h, None, time=4.0, steps=2)
    with pytest.raises(ValueError, match="14"):
        cool(tfim(15), None)
    with pytest.raises(ValueError, match="dt"):
        sign_evolution(h, 0.0, 0.5, 2.0)


# ---------------------------------------------------------------- time-evolution oracle


def _even_poly_of_evolution(hm, shift, tau, c):
    """F(cos(A/2)) for A = (H - shift) tau from powers of expm(-i A) alone:
    T_k(cos(A/2)) = (U^{k/2} + U^{-k/2}) / 2 for even k."""
    u = expm(-1j * tau * (hm - shift * np.eye(len(hm))))
    out = c[0] * np.eye(len(hm), dtype=complex)
    for k in range(2, len(c), 2):
        p = np.linalg.matrix_power(u, k // 2)
        out += c[k] * (p + p.conj().T) / 2
    return out


def _random_even(d, seed):
    c = np.zeros(d + 1)
    c[0::2] = np.random.default_rng(seed).normal(size=d // 2 + 1)
    x = np.cos(np.linspace(0, np.pi, 2001))
    return 0.9 * c / np.abs(cheb.chebval(x, c)).max()


def test_qetu_convention_on_the_eigenphases():
    """The 2x2 QETU products equal F(cos(lambda/2)) for every degree mod 4."""
    lam = np.linspace(0, 2 * np.pi, 41)
    for d in (2, 4, 6, 12):
        c = _random_even(d, d)
        psi, _res = qetu_phases(c)
        assert np.abs(qetu_response(psi, lam) - cheb.chebval(np.cos(lam / 2), c)).max() < 1e-12


@pytest.mark.slow  # ~11 s
def test_qetu_block_is_the_polynomial_of_expm_with_our_hamiltonian_simulation():
    """A non-commuting 2-qubit H (plus an identity term): the oracle is our amplified
    hamiltonian_simulation of exp(-i H tau) with the shift as a phase, controlled gate by
    gate; one and two branches."""
    h = SMALL + PauliSum.identity(2, 0.7)
    hm = h.to_matrix()
    shift, tau = -0.9, 0.8
    c = _random_even(6, 0)
    psi, _res = qetu_phases(c)
    oracle = evolution_oracle(h, shift, tau)
    be = qetu_circuit(oracle, [psi])
    f = _even_poly_of_evolution(hm, shift, tau, c)
    assert np.abs(be.block() - f).max() < 1e-9  # the oracle's 1e-10, six calls
    assert be.resources["time_evolution_queries"] == 6
    assert be.resources["oracle_block_encoding_queries"] == 6 * oracle.resources["queries"]
    const = np.zeros(7)
    const[0] = 0.3  # the constant cos 0.3 (V V^dag = 1)
    two = qetu_circuit(oracle, [const, psi], np.pi)
    assert np.abs(two.block() - (np.cos(0.3) * np.eye(4) - f) / 2).max() < 1e-9
    assert two.alpha == 2.0 and two.resources["time_evolution_queries"] == 6


def test_qetu_exact_oracle_full_sign_degree():
    h = ISING
    shift, tau = qetu_frame(h, 0.4)
    c = qetu_sign_coeffs(h, 0.15, 0.4, 1e-3)
    psi, res = qetu_phases(c)
    be = qetu_circuit(evolution_oracle(h, shift, tau, exact=True), [psi])
    f = _even_poly_of_evolution(h.to_matrix(), shift, tau, c)
    assert len(c) - 1 > 100 and res < 1e-12
    assert np.abs(be.block() - f).max() < 1e-10


def test_qetu_sign_evolution_and_projector_circuits_match_the_model():
    h, mu, xi, dt = ISING, 0.15, 0.4, 0.5  # eigenvalues -0.25, -0.15, 0.45, 1.55
    w, v = _ground(h)
    shift, tau = qetu_frame(h, xi)
    assert np.all((w - shift) * tau > 0) and np.all((w - shift) * tau < np.pi)
    s = cheb.chebval(np.cos((w - shift) * tau / 2), qetu_sign_coeffs(h, mu, xi, 1e-3))
    assert np.abs(s - 0.999 * np.sign(w - mu)).max() < 2e-3
    be = qetu_sign_evolution(h, mu, xi, dt, 1e-3, exact=True)
    b = (np.cos(dt) - 1j * np.sin(dt) * s) / 2
    model = v @ np.diag(3 * b - 4 * b * np.abs(b) ** 2) @ v.conj().T
    block = be.block()
    assert np.abs(block - model).max() < 1e-10
    exact = expm(-1j * dt * (v @ np.diag(np.sign(w - mu)) @ v.conj().T))
    assert np.abs(block - exact).max() < 2e-3
    d = be.resources["qsp_degree"]
    assert be.resources["time_evolution_queries"] == 3 * d > 0
    proj = qetu_projector(h, mu, xi, 1e-3, exact=True).block()
    assert np.abs(proj - v @ np.diag((1 - s) / 2) @ v.conj().T).max() < 1e-10
    assert np.abs(proj - v @ np.diag((w < mu) * 1.0) @ v.conj().T).max() < 2e-3
    # one try: the Trotter product of the QETU sign evolution and the fields
    fields = random_fields(2, np.random.default_rng(5))
    try_ = cooling_evolution(h, mu, xi, 1.0, 2, fields, 1.0, 1e-3, "time_evolution", True)
    one = expm(-0.5j * _fields_matrix(2, fields)) @ exact
    assert np.abs(try_.block() - one @ one).max() < 5e-3
    assert try_.resources["time_evolution_queries"] == 2 * 3 * d


@pytest.mark.slow
def test_qetu_projector_with_our_hamiltonian_simulation():
    """The whole projector circuit over controlled hamiltonian_simulation on a
    non-commuting H (a wide transition keeps the degree low: ~10 s)."""
    mu, xi = 0.05, 1.5
    w, v = _ground(SMALL)
    shift, tau = qetu_frame(SMALL, xi)
    c = qetu_sign_coeffs(SMALL, mu, xi, 1e-3)
    f = _even_poly_of_evolution(SMALL.to_matrix(), shift, tau, c)
    proj = qetu_projector(SMALL, mu, xi, 1e-3)
    assert np.abs(proj.block() - (np.eye(4) - f) / 2).max() < 1e-8


def _check_te_resources(r, w):
    assert r["oracle"] == "time_evolution"
    q = r["time_evolution_queries"]
    assert isinstance(q, int) and q > 0
    assert r["block_encoding_queries"] == 0  # the fields are exact rotations
    assert "exact" in r["perturbation"]
    assert q >= r["tries"] * r["steps"] * 3 * 100
    assert r["total_evolution_time"] == pytest.approx(q * r["tau"])
    assert r["lcu_queries_per_time_evolution"] > 0
    assert r["evolution_steps"] == r["perturbation_queries"] == r["tries"] * r["steps"]
    assert r["converged"]
    assert r["energy_estimate"] == pytest.approx(w[0], abs=1e-2)


@pytest.mark.parametrize("name", ["tfim", "heis"])
def test_cool_with_the_time_evolution_oracle(name):
    h = tfim(4) if name == "tfim" else heisenberg(4)
    w, v = _ground(h)
    r = cool(h, "0000", oracle="time_evolution")  # circuit defaults to False here
    assert r.projector is None
    assert _fidelity(v, r.state) >= 0.99
    _check_te_resources(r.resources, w)
    base = cool(h, "0000", circuit=False).resources
    assert base["time_evolution_queries"] == 0 and base["oracle"] == "block_encoding"


def test_time_evolution_bad_inputs():
    h = tfim(2)
    with pytest.raises(ValueError, match="oracle must be"):
        cool(h, None, oracle="qpe")
    with pytest.raises(ValueError, match="circuit=True"):
        cool(h, None, oracle="time_evolution", circuit=True)
    with pytest.raises(ValueError, match="even polynomial"):
        qetu_phases([0.0, 0.5])
    with pytest.raises(ValueError, match="do not commute"):
        exact_evolution(SMALL, 0.3)
    with pytest.raises(ValueError, match="xi"):
        qetu_frame(h, -1.0)
    with pytest.raises(ValueError, match="epsilon"):
        qetu_sign_coeffs(h, 0.0, 0.5, 1.5)
    with pytest.raises(ValueError, match="epsilon"):
        cool(h, None, oracle="time_evolution", epsilon=0.0)
    scaled = BlockEncoding(exact_evolution(ISING, 0.1).circuit, (0, 1), (), 2.0)
    with pytest.raises(ValueError, match="alpha 1"):
        qetu_circuit(scaled, [[0.1, 0.2, 0.3]])
