"""QSP phases, block encodings, QSVT circuits and applications (tasks.qsvt).

Outside references only: numpy's Chebyshev evaluation, scipy's expm, dense
eigendecomposition of H, qiskit's Operator of our circuits, our statevector simulator,
and PennyLane's QSVT for the phase conventions.
"""

from __future__ import annotations

import numpy as np
import pytest
from numpy.polynomial import chebyshev as cheb
from scipy.linalg import expm

from qworkbench import Circuit, PauliSum
from tasks.hamiltonians import heisenberg, tfim
from tasks.qsvt import (
    BlockEncoding,
    block_encoding,
    check_polynomial,
    convert_phases,
    eigenstate_filter,
    ground_state_prep,
    hamiltonian_simulation,
    linear_solve,
    poly_cos,
    poly_filter,
    poly_inverse,
    poly_rectangle,
    poly_sign,
    poly_sin,
    polynomial,
    product,
    qsp_phases,
    qsp_response,
    qsvt_circuit,
    solve_phases,
    walk_operator,
)
from tasks.qsvt.applications import _post_select, _state

X400 = np.linspace(-1, 1, 400)


def _ground(h):
    w, v = np.linalg.eigh(h.to_matrix())
    return w, v


def _system_block_from_qiskit(be: BlockEncoding) -> np.ndarray:
    from qiskit.quantum_info import Operator

    u = Operator(be.circuit.to_qiskit()).data
    s = len(be.system)
    rows = np.zeros(1 << s, dtype=np.int64)
    for i, q in enumerate(be.system):
        rows |= ((np.arange(1 << s) >> i) & 1) << q
    return u[np.ix_(rows, rows)]


# -- polynomials ------------------------------------------------------------------------
@pytest.mark.parametrize("tau", [0.5, 10.0, 40.0])
def test_jacobi_anger_within_epsilon(tau):
    c, s = poly_cos(tau, 1e-12), poly_sin(tau, 1e-12)
    assert np.max(np.abs(cheb.chebval(X400, c) - np.cos(tau * X400))) < 1e-12
    assert np.max(np.abs(cheb.chebval(X400, s) - np.sin(tau * X400))) < 1e-12
    assert np.all(c[1::2] == 0) and np.all(s[0::2] == 0)
    assert len(c) - 1 < 1.4 * tau + 40  # degree ~ tau + log(1/eps), not more


def test_sign_inverse_filter_rectangle_meet_their_specs():
    x = np.linspace(-1, 1, 4001)
    c = poly_sign(0.1, 1e-6)
    far = np.abs(x) >= 0.05
    assert np.max(np.abs(cheb.chebval(x[far], c) - np.sign(x[far]))) < 1e-6
    inv = poly_inverse(10, 1e-4)
    ok = np.abs(x) >= 0.1
    assert np.max(np.abs(cheb.chebval(x[ok], inv) - 1 / (20 * x[ok]))) < 1e-4
    assert np.max(np.abs(cheb.chebval(x, inv))) <= 1
    f = poly_filter(0.2, 1e-6)
    assert cheb.chebval(0.0, f) == pytest.approx(1.0, abs=1e-6)
    assert np.max(np.abs(cheb.chebval(x[np.abs(x) >= 0.2], f))) < 1e-6
    r = poly_rectangle(0.4, 0.1, 1e-6)
    inside, outside = np.abs(x) <= 0.35, np.abs(x) >= 0.45
    assert np.max(np.abs(cheb.chebval(x[inside], r) - 1)) < 1e-6
    assert np.max(np.abs(cheb.chebval(x[outside], r))) < 1e-6


def test_check_polynomial_rejects_mixed_parity_and_large_values():
    with pytest.raises(ValueError, match="mixed parity"):
        check_polynomial([0.1, 0.5])
    with pytest.raises(ValueError, match=r"\|P\(x\)\| must be <= 1"):
        check_polynomial([0, 1.2])
    with pytest.raises(ValueError, match="epsilon"):
        poly_cos(1.0, 2.0)
    with pytest.raises(TypeError):
        poly_sign("a", 1e-3)


# -- phases ------------------------------------------------------------------------------
def test_phases_of_cos40_reproduce_it_to_1e12():
    c = poly_cos(40.0, 1e-13)
    phi = qsp_phases(c)
    assert np.allclose(phi, phi[::-1])  # symmetric
    assert np.max(np.abs(qsp_response(phi, X400) - cheb.chebval(X400, c))) < 1e-12


@pytest.mark.parametrize(
    "coeffs",
    [
        poly_sign(0.05, 1e-3, degree=101),
        poly_inverse(10, 1e-3),
        poly_filter(0.05, 1e-6),
        0.8 * poly_sin(30.0, 1e-12),
    ],
    ids=["sign101", "inverse", "filter", "sin"],
)
def test_newton_phases_reproduce_polynomials(coeffs):
    phi = qsp_phases(coeffs)
    assert len(phi) == len(coeffs)
    assert np.max(np.abs(qsp_response(phi, X400) - cheb.chebval(X400, coeffs))) < 1e-12


def test_fixed_point_agrees_with_newton():
    c = 0.7 * poly_cos(12.0, 1e-12)
    a = solve_phases(c, method="fixed_point")
    b = solve_phases(c, method="newton")
    assert a.method == "fixed_point" and a.iterations > b.iterations
    assert np.allclose(a.phases, b.phases, atol=1e-10)
    assert np.max(np.abs(qsp_response(a.phases, X400) - cheb.chebval(X400, c))) < 1e-12


def test_monomial_basis_and_errors():
    phi = qsp_phases([0, 0.5, 0, -0.2], basis="monomial")
    assert np.allclose(qsp_response(phi, X400), 0.5 * X400 - 0.2 * X400**3, atol=1e-13)
    with pytest.raises(ValueError, match="mixed parity"):
        qsp_phases([0.2, 0.3])
    with pytest.raises(ValueError, match=r"\|P"):
        qsp_phases([0, 0, 0, 1.1])
    with pytest.raises(ValueError, match="basis"):
        qsp_phases([0, 1], basis="legendre")
    with pytest.raises(ValueError, match="method"):
        qsp_phases([0, 1], method="magic")
    with pytest.raises(ValueError, match=r"\[-1, 1\]"):
        qsp_response([0.1, 0.1], [1.5])


def test_reflection_convention_matches_the_complex_response():
    phi = qsp_phases(0.9 * poly_sin(3.0, 1e-12))
    refl = convert_phases(phi, "reflection")
    for x in (-0.7, 0.1, 0.95):
        s = np.sqrt(1 - x * x)
        r = np.array([[x, s], [s, -x]])
        m = np.diag(np.exp(1j * refl[0] * np.array([1, -1])))
        for p in refl[1:]:
            m = m @ r @ np.diag(np.exp(1j * p * np.array([1, -1])))
        assert m[0, 0] == pytest.approx(qsp_response(phi, x, part="complex"), abs=1e-12)


def test_pennylane_qsvt_with_converted_angles():
    qml = pytest.importorskip("pennylane")
    coeffs = 0.6 * poly_cos(2.0, 1e-12)
    angles = convert_phases(qsp_phases(coeffs), "pennylane_qsvt")
    for x in (0.2, -0.5):
        block = qml.RX(2 * np.arccos(x), wires=0)
        projectors = [qml.PCPhase(a, dim=1, wires=0) for a in angles]
        m = qml.matrix(qml.QSVT(block, projectors), wire_order=[0])
        assert m[0, 0].real == pytest.approx(cheb.chebval(x, coeffs), abs=1e-10)


@pytest.mark.slow
@pytest.mark.parametrize("degree", [1001, 2001])
def test_sign_phases_at_high_degree(degree):
    c = poly_sign(0.01, 1e-6, degree=degree)
    phi = qsp_phases(c)
    assert np.max(np.abs(qsp_response(phi, X400) - cheb.chebval(X400, c))) < 1e-12


# -- block encodings ---------------------------------------------------------------------
def test_tfim4_lcu_block_equals_h_over_alpha_by_qiskit():
    h = tfim(4)
    be = block_encoding(h)
    assert be.alpha == 7.0 and len(be.index_qubits) == 3
    block = _system_block_from_qiskit(be)
    assert np.max(np.abs(block - h.to_matrix() / 7.0)) < 1e-12
    assert np.max(np.abs(be.matrix() - h.to_matrix())) < 1e-12


def test_lcu_with_y_terms_identity_and_negative_signs():
    h = PauliSum.from_list([("XY", 0.3), ("II", -0.4), ("ZI", -1.1), ("YZ", 0.25), ("IX", 0.6)])
    be = block_encoding(h)
    assert be.alpha == pytest.approx(2.65)
    assert np.max(np.abs(_system_block_from_qiskit(be) * be.alpha - h.to_matrix())) < 1e-12


def test_block_column_from_the_statevector_simulator():
    from simulators import get_simulator

    h = heisenberg(3)
    be = block_encoding(h)
    sim = get_simulator("statevector", device="cpu")
    prep = Circuit(be.num_qubits).x(0).x(2)  # system basis state 0b101
    psi = sim.statevector(prep.compose(be.circuit))
    assert np.max(np.abs(psi[:8] * be.alpha - h.to_matrix()[:, 5])) < 1e-12
    assert np.linalg.norm(psi[8:]) ** 2 == pytest.approx(1 - np.linalg.norm(psi[:8]) ** 2)


def test_walk_operator_eigenphases_are_arccos_of_the_spectrum():
    from qiskit.quantum_info import Operator

    h = tfim(2)
    w = walk_operator(block_encoding(h))
    assert np.max(np.abs(w.matrix() - h.to_matrix())) < 1e-12
    phases = np.angle(np.linalg.eigvals(Operator(w.circuit.to_qiskit()).data))
    for lam in np.linalg.eigvalsh(h.to_matrix()) / w.alpha:
        assert np.min(np.abs(np.abs(phases) - np.arccos(lam))) < 1e-8


def test_product_of_block_encodings():
    a, b = tfim(2), heisenberg(2)
    p = product(block_encoding(a), block_encoding(b))
    assert np.max(np.abs(p.matrix() - a.to_matrix() @ b.to_matrix())) < 1e-12


def test_block_encoding_errors():
    with pytest.raises(TypeError):
        block_encoding(np.eye(2))
    with pytest.raises(ValueError, match="Hermitian"):
        block_encoding(PauliSum.from_list([("X", 1j)]))
    with pytest.raises(ValueError, match="every qubit"):
        BlockEncoding(Circuit(3), (0,), (1,), 1.0)


# -- QSVT --------------------------------------------------------------------------------
@pytest.mark.parametrize(
    "coeffs", [[0, 0.9], [0.2, 0, -0.6], poly_cos(3.0, 1e-12), 0.9 * poly_sign(0.3, 1e-4)]
)
def test_qsvt_block_is_chebyshev_of_the_eigenvalues(coeffs):
    h = tfim(3)
    be = block_encoding(h)
    pe = polynomial(be, coeffs)
    w, v = np.linalg.eigh(h.to_matrix() / be.alpha)
    expected = (v * cheb.chebval(w, np.asarray(coeffs))) @ v.conj().T
    assert np.max(np.abs(pe.matrix() - expected)) < 1e-11
    assert pe.resources["qsp_degree"] == len(coeffs) - 1


def test_complex_qsvt_circuit_matches_qsp_response_and_qiskit():
    h = PauliSum.from_list([("ZX", 0.5), ("XI", -0.3)])
    be = block_encoding(h)
    phi = qsp_phases(0.8 * poly_sin(2.0, 1e-12))
    pe = qsvt_circuit(be, phi, real=False)
    w, v = np.linalg.eigh(h.to_matrix() / be.alpha)
    expected = (v * qsp_response(phi, w, part="complex")) @ v.conj().T
    assert np.max(np.abs(_system_block_from_qiskit(pe) - expected)) < 1e-12


# -- applications ------------------------------------------------------------------------
@pytest.mark.parametrize("t", [0.5, 1.0, 2.0])
def test_hamiltonian_simulation_tfim4_within_1e10_of_expm(t):
    h = tfim(4)
    be = hamiltonian_simulation(h, t, 1e-10)
    err = np.linalg.norm(be.matrix() - expm(-1j * t * h.to_matrix()), 2)
    assert err < 1e-10
    r = be.resources
    assert r["success_probability"] == pytest.approx(1.0, abs=1e-9)  # amplified (default)
    assert r["queries"] == 3 * max(r["cos_degree"], r["sin_degree"]) and r["cnot"] > 0


def test_hamiltonian_simulation_errors():
    with pytest.raises(ValueError, match="epsilon"):
        hamiltonian_simulation(tfim(2), 1.0, 0.0)
    with pytest.raises(ValueError, match="nonzero"):
        hamiltonian_simulation(tfim(2), 0.0)
    with pytest.raises(TypeError):
        hamiltonian_simulation(tfim(2), "1")


def test_eigenstate_filter_tfim4_from_zero_state():
    h = tfim(4)
    w, v = _ground(h)
    be = eigenstate_filter(h, w[0], w[1] - w[0], 1e-6)
    state, p = _post_select(be, _state(None, 4))
    assert 1 - abs(np.vdot(v[:, 0], state)) ** 2 < 1e-5
    assert p == pytest.approx(abs(v[0, 0]) ** 2, rel=1e-4)  # the ground overlap, 0.2303
    assert p == pytest.approx(0.2303, abs=1e-4)
    assert be.resources["success_probability"] == pytest.approx(p, rel=1e-6)


@pytest.mark.slow
def test_rectangle_filter_tfim4():
    h = tfim(4)
    w, v = _ground(h)
    be = eigenstate_filter(h, w[0] + 0.05, w[1] - w[0], 1e-6, kind="rectangle")
    state, p = _post_select(be, _state(None, 4))
    assert 1 - abs(np.vdot(v[:, 0], state)) ** 2 < 1e-5
    assert p == pytest.approx(0.23, abs=0.01)


@pytest.mark.slow  # ~10 s
def test_ground_state_prep_tfim4():
    h = tfim(4)
    w, v = _ground(h)
    be = ground_state_prep(h)
    state, p = _post_select(be, _state(None, 4))
    assert abs(np.vdot(v[:, 0], state)) ** 2 >= 0.99
    r = be.resources
    assert r["energy_estimate"] == pytest.approx(w[0], abs=1e-2)
    assert r["total_queries"] >= r["queries"] > 0 and r["rounds"] > 1


@pytest.mark.slow
def test_ground_state_prep_heisenberg4_from_neel():
    h = heisenberg(4)
    w, v = _ground(h)
    be = ground_state_prep(h, state="0101")
    state, _ = _post_select(be, _state("0101", 4))
    assert abs(np.vdot(v[:, 0], state)) ** 2 >= 0.99


def test_linear_solve_small_system():
    a = PauliSum.from_list([("ZI", 1.0), ("XX", 0.3), ("IZ", 0.4)])
    b = np.array([1, 0.5, -0.2, 0.1])
    be = linear_solve(a, b, epsilon=1e-8)
    x = be.matrix() @ b
    exact = np.linalg.solve(a.to_matrix(), b)
    assert np.linalg.norm(x - exact) / np.linalg.norm(exact) < 1e-6
    assert 0 < be.resources["success_probability"] <= 1
    with pytest.raises(ValueError, match="kappa"):
        linear_solve(a, kappa=0.5)


# -- command line ------------------------------------------------------------------------
def _qwb(*args: str):
    import subprocess
    import sys

    return subprocess.run(
        [sys.executable, "-m", "qworkbench", *args], capture_output=True, text=True, timeout=120
    )


def test_cli_phases_and_simulate_json():
    import json

    out = _qwb("qsvt", "phases", "--function", "cos", "--degree", "40", "--param", "15", "--json")
    assert out.returncode == 0, out.stderr
    row = json.loads(out.stdout.strip().splitlines()[-1])
    assert row["degree"] == 40 and row["phase_error"] < 1e-12 and len(row["phases"]) == 41
    assert row["approximation_error"] < 1e-6
    out = _qwb("qsvt", "simulate", "--task", "tfim3", "--time", "1", "--epsilon", "1e-8", "--json")
    assert out.returncode == 0, out.stderr
    row = json.loads(out.stdout.strip().splitlines()[-1])
    assert row["error"] < 1e-8 and row["queries"] == row["qsp_degree"] > 0 and row["cnot"] > 0


@pytest.mark.parametrize(
    "args",
    [
        ["phases", "--function", "tan"],
        ["phases", "--function", "sign", "--degree", "0"],
        ["phases", "--function", "cos", "--degree", "41"],  # odd degree for an even function
        ["simulate", "--task", "nope"],
        ["simulate", "--epsilon", "2"],
        ["simulate", "--task", "bell"],
    ],
)
def test_cli_bad_values_exit_2(args):
    out = _qwb("qsvt", *args)
    assert out.returncode == 2, out.stdout + out.stderr


def test_polynomial_constructor_argument_errors():
    with pytest.raises(ValueError, match="tau"):
        poly_cos(1e7, 1e-6)
    with pytest.raises(ValueError, match="degree"):
        poly_sin(3.0, 1e-6, degree=2.5)
    with pytest.raises(ValueError, match="wrong parity"):
        poly_sin(3.0, 1e-6, degree=4)
    with pytest.raises(ValueError, match="kappa"):
        poly_inverse(0.5, 1e-3)
    with pytest.raises(ValueError, match="delta"):
        poly_filter(1.5, 1e-3)


# -- issue 16.10: a poor fixed degree warns, a degree that misses epsilon is refused -------
def test_fixed_degree_that_approximates_poorly_warns_and_suggests_a_degree():
    import re
    import warnings

    x = np.linspace(-1, 1, 4001)
    outside = np.abs(x) >= 0.005  # sign(x) is approximated on |x| >= delta / 2
    with pytest.warns(UserWarning, match=r"degree 11 approximates sign\(x\).*poorly") as info:
        c = poly_sign(0.01, 1e-6, degree=11)
    # numpy's Chebyshev series: the degree-11 polynomial is about 0.99 off sign(x)
    assert np.max(np.abs(cheb.chebval(x[outside], c) - np.sign(x[outside]))) > 0.9
    suggested = int(re.search(r"error 1e-06 needs degree (\d+)", str(info[0].message))[1])
    good = poly_sign(0.01, 1e-6)  # what omitting the degree gives
    assert len(good) - 1 == suggested
    assert np.max(np.abs(cheb.chebval(x[outside], good) - np.sign(x[outside]))) < 1e-6
    with warnings.catch_warnings():
        warnings.simplefilter("error", UserWarning)
        c = poly_cos(15.0, 1e-6, degree=40)  # close: no warning
    assert np.max(np.abs(cheb.chebval(x, c) - np.cos(15 * x))) < 1e-6


def test_degree_and_epsilon_that_conflict_are_refused():
    from qworkbench.experiments.qsvt import phases

    with pytest.raises(ValueError, match=r"degree 11 and epsilon 1e-06 conflict.*error is 0\.99"):
        phases("sign", 11, 1e-6, None, "newton")
    with pytest.warns(UserWarning, match="poorly"):  # a degree alone: computed, with a warning
        row = phases("sign", 11, None, None, "newton")
    assert row["approximation_error"] > 0.9 and row["phase_error"] < 1e-12
    assert phases("cos", 40, 1e-6, 15.0, "newton")["approximation_error"] < 1e-6  # no conflict
    out = _qwb("qsvt", "phases", "--function", "sign", "--degree", "11", "--epsilon", "1e-6")
    assert out.returncode == 2 and "conflict" in out.stderr
    assert len(out.stderr.strip().splitlines()) == 1, out.stderr
    alone = _qwb("qsvt", "phases", "--function", "sign", "--degree", "11")  # runs, warns
    assert alone.returncode == 0 and "warning" in alone.stderr and "poorly" in alone.stderr
