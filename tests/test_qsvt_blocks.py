"""Sums of block encodings, LCU ancilla counts and amplitude amplification (tasks.qsvt).

Outside references only: qiskit's Operator of our circuits, dense numpy/scipy linear
algebra (matrices of the Pauli sums, SVD, expm).
"""

from __future__ import annotations

import numpy as np
import pytest
from scipy.linalg import expm

from qworkbench import Circuit, PauliSum
from tasks.hamiltonians import heisenberg, tfim
from tasks.qsvt import (
    _gates,
    amplify,
    block_encoding,
    hamiltonian_simulation,
    linear_combination,
    oblivious_amplification,
    polynomial,
    product,
    walk_operator,
)
from tasks.qsvt.applications import _post_select

from .test_qsvt import _system_block_from_qiskit as _qiskit_block  # qiskit's Operator


def _unitary(circ: Circuit) -> np.ndarray:
    from qiskit.quantum_info import Operator

    return Operator(circ.to_qiskit()).data


_MIXED = PauliSum.from_list([("XY", 0.3), ("II", -0.4), ("ZI", -1.1), ("YZ", 0.25), ("IX", 0.6)])


# -- multi-controlled gates without clean work qubits ------------------------------------
@pytest.mark.parametrize("k,phi,dirty", [(3, 0.37, 0), (4, np.pi, 0), (5, np.pi, 2), (2, 1.1, 0)])
def test_mcphase_is_the_all_ones_phase(k, phi, dirty):
    n = k + dirty
    circ = Circuit(n)
    _gates.mcphase(circ, range(k), phi, dirty=range(k, n))
    ones = np.array([all(x >> q & 1 for q in range(k)) for x in range(1 << n)])
    expected = np.diag(np.where(ones, np.exp(1j * phi), 1.0))
    assert np.max(np.abs(_unitary(circ) - expected)) < 1e-12


@pytest.mark.parametrize("k,dirty", [(3, 1), (4, 1), (5, 3), (6, 2)])
def test_mcx_with_borrowed_qubits_restores_them(k, dirty):
    n = k + 1 + dirty
    circ = Circuit(n)
    _gates.mcx(circ, range(k), k, range(k + 1, n))
    perm = np.zeros((1 << n, 1 << n))
    for x in range(1 << n):
        on = all(x >> q & 1 for q in range(k))
        perm[x ^ (1 << k) if on else x, x] = 1
    assert np.max(np.abs(_unitary(circ) - perm)) < 1e-12
    assert 6 * circ.count_ops()["ccx"] == _gates.mcx_cnots(k, dirty)


def test_every_gate_controlled_matches_the_controlled_unitary():
    rng = np.random.default_rng(7)
    specs = [("h", 1, 0), ("u", 1, 3), ("p", 1, 1), ("sx", 1, 0), ("t", 1, 0), ("y", 1, 0)]
    specs += [("crz", 2, 1), ("cry", 2, 1), ("crx", 2, 1), ("ryy", 2, 1), ("rxx", 2, 1)]
    specs += [("swap", 2, 0), ("cy", 2, 0), ("cz", 2, 0), ("ccx", 3, 0)]
    for name, nq, npar in specs:
        qubits = [int(q) for q in rng.permutation([1, 2, 3])[:nq]]
        gate = Circuit(4).append(name, qubits, list(rng.uniform(-3, 3, npar)))
        circ = Circuit(4)
        _gates.append_controlled(circ, gate[0], 0, qubits, range(4))
        off = np.diag([1.0 - (x & 1) for x in range(16)])
        expected = off + (np.eye(16) - off) @ _unitary(gate)
        assert np.max(np.abs(_unitary(circ) - expected)) < 1e-12, name


# -- LCU ancilla counts ------------------------------------------------------------------
def test_tfim4_lcu_has_exactly_three_ancillas_and_block_h_over_7():
    h = tfim(4)
    be = block_encoding(h)
    assert be.alpha == 7.0
    assert len(be.ancillas) == 3 and be.num_qubits == 7 and be.work == ()
    assert np.max(np.abs(_qiskit_block(be) - h.to_matrix() / 7.0)) < 1e-12
    r = be.resources
    assert r["ancillas"] == 3 and r["cnot"] == r["cnot_no_work_qubits"]
    assert 0 < r["cnot_no_work_qubits"] < r["cnot_work_qubits"]


@pytest.mark.parametrize("h", [tfim(4), heisenberg(3), _MIXED], ids=["tfim4", "heis3", "mixed"])
def test_work_qubit_variant_is_the_same_block(h):
    be = block_encoding(h, work_qubits=True)
    m = int(np.ceil(np.log2(len(h.simplify()))))
    assert len(be.index_qubits) == m and len(be.work) == m - 1
    assert np.max(np.abs(_qiskit_block(be) * be.alpha - h.to_matrix())) < 1e-12
    assert be.resources["cnot"] == be.resources["cnot_work_qubits"]


def test_many_terms_lcu_without_work_qubits():
    rng = np.random.default_rng(3)
    labels = {"".join(rng.choice(list("IXYZ"), 3)) for _ in range(60)}
    h = PauliSum.from_list([(lab, float(rng.normal())) for lab in sorted(labels)])
    be = block_encoding(h)
    assert len(be.ancillas) == int(np.ceil(np.log2(len(h))))
    # our dense evaluation of the circuit (qiskit's Operator takes ~40 s at 12k gates)
    assert np.max(np.abs(be.matrix() - h.to_matrix())) < 1e-12


# -- sums of block encodings --------------------------------------------------------------
def test_sum_of_two_lcu_encodings():
    a, b = tfim(2), heisenberg(2)
    be = linear_combination([block_encoding(a), block_encoding(b)], [0.5, -1.5])
    target = 0.5 * a.to_matrix() - 1.5 * b.to_matrix()
    assert be.alpha == pytest.approx(0.5 * 3 + 1.5 * 3)
    # shared register padded to the wider (2 index qubits each) + 1 new index qubit
    assert len(be.ancillas) == 3
    assert np.max(np.abs(_qiskit_block(be) - target / be.alpha)) < 1e-12


def test_sum_of_encoding_and_product_with_complex_weight():
    a, b, c = tfim(2), heisenberg(2), PauliSum.from_list([("XY", 0.7), ("ZI", -0.2)])
    prod = product(block_encoding(b), block_encoding(c))
    be = linear_combination([block_encoding(a), prod], [1.0, 2j])
    target = a.to_matrix() + 2j * b.to_matrix() @ c.to_matrix()
    assert be.alpha == pytest.approx(3 + 2 * 3 * 0.9)
    assert len(be.ancillas) == len(prod.ancillas) + 1
    assert np.max(np.abs(_qiskit_block(be) - target / be.alpha)) < 1e-12


def test_sum_of_three_and_operators():
    a, b, c = tfim(2), heisenberg(2), _MIXED
    encs = [block_encoding(x) for x in (a, b, c)]
    w = [1.0, np.exp(0.3j), -2.0]
    be = linear_combination(encs, w)
    target = sum(wi * x.to_matrix() for wi, x in zip(w, (a, b, c)))
    assert np.max(np.abs(_qiskit_block(be) - target / be.alpha)) < 1e-12
    assert np.max(np.abs((encs[0] + encs[1]).matrix() - a.to_matrix() - b.to_matrix())) < 1e-12
    diff = (encs[0] - encs[1]).matrix()
    assert np.max(np.abs(diff - a.to_matrix() + b.to_matrix())) < 1e-12


def test_linear_combination_errors_name_the_bad_value():
    a, b = block_encoding(tfim(2)), block_encoding(tfim(3))
    with pytest.raises(ValueError, match="none"):
        linear_combination([], [])
    with pytest.raises(ValueError, match="nan"):
        linear_combination([a, a], [1.0, float("nan")])
    with pytest.raises(ValueError, match="inf"):
        linear_combination([a, a], [np.inf, 1.0])
    with pytest.raises(ValueError, match=r"\[2, 3\]"):
        linear_combination([a, b], [1.0, 1.0])
    with pytest.raises(ValueError, match="3 weights for 2"):
        linear_combination([a, a], [1.0, 1.0, 1.0])
    with pytest.raises(ValueError, match="nonzero"):
        linear_combination([a, a], [0.0, 0.0])
    with pytest.raises(TypeError, match="encoding 1"):
        linear_combination([a, "b"], [1.0, 1.0])


# -- amplitude amplification --------------------------------------------------------------
_SWAP = PauliSum.from_list([("II", 0.5), ("XX", 0.5), ("YY", 0.5), ("ZZ", 0.5)])


def _hadamard3() -> PauliSum:
    """((X + Z) / sqrt 2)^{(x) 3}: unitary, 8 terms, alpha 2 sqrt 2."""
    terms = [(a + b + c, 2**-1.5) for a in "XZ" for b in "XZ" for c in "XZ"]
    return PauliSum.from_list(terms)


def test_oblivious_amplification_of_an_alpha_2_unitary_is_exact():
    be = block_encoding(_SWAP)
    amp = oblivious_amplification(be)
    assert amp.alpha == 1.0 and amp.resources["rounds"] == 1
    assert not amp.resources["damping"] and amp.resources["queries"] == 3
    assert np.max(np.abs(_qiskit_block(amp) - _SWAP.to_matrix())) < 1e-12


def test_oblivious_amplification_with_damping_and_two_rounds():
    v = _hadamard3()
    assert np.allclose(v.to_matrix() @ v.to_matrix(), np.eye(8))
    be = block_encoding(v)
    assert be.alpha == pytest.approx(2 * np.sqrt(2))
    amp = oblivious_amplification(be)
    r = amp.resources
    assert r["rounds"] == 2 and r["damping"] and len(amp.ancillas) == len(be.ancillas) + 1
    assert np.max(np.abs(_qiskit_block(amp) - v.to_matrix())) < 1e-12
    assert np.linalg.norm(amp.block(), 2) == pytest.approx(1.0, abs=1e-12)


def test_oblivious_amplification_with_given_rounds():
    r3 = 3**-0.5
    u = PauliSum.from_list([("X", r3), ("Y", r3), ("Z", r3)])  # unitary, alpha sqrt 3
    be = block_encoding(u)
    theta = np.arcsin(1 / np.sqrt(3))
    one = oblivious_amplification(be, rounds=1)
    assert one.alpha == pytest.approx(1 / np.sin(3 * theta))
    assert np.max(np.abs(one.matrix() - u.to_matrix())) < 1e-12
    assert one.resources["success_probability"] == pytest.approx(np.sin(3 * theta) ** 2)
    with pytest.raises(ValueError, match="rounds=3 over-rotates"):
        oblivious_amplification(be, rounds=3)  # 7 theta = 4.3 rad: sin < 0
    with pytest.raises(ValueError, match="rounds"):
        oblivious_amplification(be, rounds=-1)
    with pytest.raises(ValueError, match="alpha"):
        oblivious_amplification(block_encoding(PauliSum.from_list([("Z", 1.0)])))


def test_singular_value_amplification_of_a_non_unitary_product():
    a, b = tfim(2), PauliSum.from_list([("XY", 0.7), ("ZI", -0.2)])
    p = product(block_encoding(a), block_encoding(b))
    target = a.to_matrix() @ b.to_matrix()
    top = np.linalg.svd(target / p.alpha, compute_uv=False)[0]  # 0.603
    amp = amplify(p, gain=1.3, delta=0.2, epsilon=1e-5)
    assert amp.alpha < p.alpha / 1.3 * 1.0001
    block = amp.block()  # our evaluation of the circuit (qiskit's Operator: ~2 min here)
    assert np.linalg.norm(block * amp.alpha - target, 2) < 1e-4
    psi = np.ones(4) / 2
    before = np.linalg.norm(target @ psi / p.alpha) ** 2
    after = np.linalg.norm(block @ psi) ** 2
    assert after == pytest.approx(before * (p.alpha / amp.alpha) ** 2, rel=1e-4)
    with pytest.raises(ValueError, match=r"gain 2.0 too large: \|\|A\|\| / alpha = 0.60"):
        amplify(p, gain=2.0, delta=0.2)
    assert top * 2.0 > 0.8
    with pytest.raises(ValueError, match="gain must exceed 1"):
        amplify(p, gain=0.5)


def test_hamiltonian_simulation_unamplified_keeps_alpha_2():
    h = tfim(4)
    be = hamiltonian_simulation(h, 1.0, 1e-10, amplify=False)
    assert be.alpha == 2.0
    assert np.linalg.norm(be.matrix() - expm(-1j * h.to_matrix()), 2) < 1e-10
    assert be.resources["success_probability"] == pytest.approx(0.25, abs=1e-9)
    with pytest.raises(TypeError, match="amplify"):
        hamiltonian_simulation(h, 1.0, amplify="yes")


def test_amplified_simulation_succeeds_with_probability_one_and_evolves_the_state():
    h = tfim(4)
    rng = np.random.default_rng(5)
    psi = rng.normal(size=16) + 1j * rng.normal(size=16)
    psi /= np.linalg.norm(psi)
    be = hamiltonian_simulation(h, 0.5, 1e-10, state=psi)
    out, p = _post_select(be, psi)
    exact = expm(-0.5j * h.to_matrix()) @ psi
    assert p == pytest.approx(1.0, abs=1e-9)
    assert be.resources["success_probability"] == pytest.approx(p, abs=1e-9)
    assert abs(np.vdot(exact, out)) == pytest.approx(1.0, abs=1e-10)
    r = be.resources
    assert r["queries"] == 3 * max(r["cos_degree"], r["sin_degree"]) == r["qsp_degree"]
    assert r["success_probability_unamplified"] == pytest.approx(0.25, abs=1e-9)


def test_sum_of_qsvt_outputs_controls_every_gate_they_use():
    h = tfim(2)
    m = h.to_matrix()
    e1 = hamiltonian_simulation(h, 0.3, 1e-8)
    e2 = hamiltonian_simulation(h, 0.7, 1e-8, amplify=False)
    be = linear_combination([e1, e2, block_encoding(h)], [0.5, -1j, 2.0])
    target = 0.5 * expm(-0.3j * m) - 1j * expm(-0.7j * m) + 2 * m
    assert be.alpha == pytest.approx(0.5 + 2 + 2 * 3)
    assert np.linalg.norm(be.matrix() - target, 2) < 1e-8


@pytest.mark.parametrize("work_qubits", [False, True])
def test_uneven_two_branch_qsvt_on_either_lcu_variant(work_qubits):
    from numpy.polynomial import chebyshev as cheb

    from tasks.qsvt import poly_cos, poly_sin, qsvt_sequence, solve_phases

    h = tfim(3)
    be = block_encoding(h, work_qubits=work_qubits)
    c, s = poly_cos(4.0, 1e-10), poly_sin(4.0, 1e-10)
    assert abs(len(c) - len(s)) == 1
    out = qsvt_sequence(
        be, [solve_phases(c).phases, solve_phases(s).phases], branch_phase=-np.pi / 2
    )
    w, v = np.linalg.eigh(h.to_matrix() / be.alpha)
    f = cheb.chebval(w, c) - 1j * cheb.chebval(w, s)
    assert out.alpha == 2.0
    assert np.max(np.abs(out.block() - (v * f) @ v.conj().T / 2)) < 1e-11


# -- review: edge cases -----------------------------------------------------------------------
@pytest.mark.slow  # ~20 s
def test_a_narrow_rectangle_window_is_not_mistaken_for_zero():
    """The window lies between the first grid's nodes; its values against erf directly."""
    from scipy import special

    from tasks.qsvt.polynomials import evaluate, poly_rectangle

    c = poly_rectangle(0.004, 0.001, 1e-6)
    x = np.array([0.0, 0.003, 0.0046, 0.1])
    assert abs(evaluate(c, x)[0] - 1) < 1e-5 and abs(evaluate(c, x)[-1]) < 1e-5
    k = 4 * float(special.erfcinv(1e-6 / 4)) / 0.001  # at least as steep as ours
    assert evaluate(c, np.array([0.0035]))[0] > 0.99 and special.erf(k * 0.0005) > 0.99


@pytest.mark.parametrize(
    ("weights", "error", "message"),
    [
        (np.nan, ValueError, "weights must be finite"),
        (None, TypeError, "weights must be a sequence"),
        (0, ValueError, "at least one weight must be nonzero"),
        ("ab", TypeError, "weights must be a sequence"),
    ],
)
def test_linear_combination_weight_errors(weights, error, message):
    be = block_encoding(PauliSum.from_list([("ZI", 1.0), ("XX", 0.5)]))
    with pytest.raises(error, match=message):
        linear_combination([be], weights)


def test_linear_combination_takes_any_iterable_of_weights():
    h = PauliSum.from_list([("ZI", 1.0), ("XX", 0.5)])
    be = linear_combination([block_encoding(h), block_encoding(h)], (w for w in [1.0, 2.0]))
    np.testing.assert_allclose(be.matrix(), 3 * h.to_matrix(), atol=1e-12)


def test_encodings_without_ancillas_get_a_clear_error():
    from tasks.qsvt._qetu import exact_evolution

    ex = exact_evolution(PauliSum.from_list([("ZI", 1.0), ("IZ", 0.5)]), 0.3)
    assert not ex.ancillas
    for build in (lambda: walk_operator(ex), lambda: polynomial(ex, [0.0, 0.5]),
                  lambda: oblivious_amplification(linear_combination([ex], [2.0]))):  # fmt: skip
        with pytest.raises(ValueError, match="no ancillas"):
            build()


def test_query_counts_of_nested_products_and_walks():
    be = block_encoding(PauliSum.from_list([("ZI", 1.0), ("XX", 0.5)]))
    nested = product(be, product(be, be))
    assert nested.resources["queries"] == 3
    assert walk_operator(nested).resources["queries"] == 3


def test_cooling_an_identity_hamiltonian_is_a_clear_error():
    from tasks.qsvt import cool

    with pytest.raises(ValueError, match="proportional to the identity"):
        cool(PauliSum.from_list([("II", 0.5)]), None)
