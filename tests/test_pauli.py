"""PauliSum against Qiskit's SparsePauliOp and OpenFermion's sparse operators."""

from __future__ import annotations

import math

import numpy as np
import openfermion
import pytest
import scipy.sparse
from hypothesis import given, settings
from hypothesis import strategies as st
from qiskit.quantum_info import Pauli, SparsePauliOp

from qworkbench import PauliSum


def _random_terms(n: int, count: int, rng, complex_coeffs: bool = True):
    labels = ["".join(rng.choice(list("IXYZ"), n)) for _ in range(count)]
    coeffs = rng.normal(size=count) + (1j * rng.normal(size=count) if complex_coeffs else 0)
    return list(zip(labels, coeffs))


@pytest.mark.parametrize(("n", "count"), [(1, 3), (3, 10), (5, 30), (7, 50)])
def test_dense_matrix_equals_qiskit(n, count, rng):
    terms = _random_terms(n, count, rng)
    ours = PauliSum.from_list(terms).to_matrix()
    np.testing.assert_allclose(ours, SparsePauliOp.from_list(terms).to_matrix(), atol=1e-12)


def test_sparse_matrix_equals_qiskit_for_12_qubits(rng):
    terms = _random_terms(12, 40, rng)
    ours = PauliSum.from_list(terms).to_matrix(sparse=True)
    assert scipy.sparse.issparse(ours)
    theirs = SparsePauliOp.from_list(terms).to_matrix(sparse=True)
    assert abs(ours - theirs).max() < 1e-12


def test_dense_matrix_memory_guard():
    with pytest.raises(MemoryError, match="GiB"):
        PauliSum.from_list([("Z" * 24, 1.0)]).to_matrix()
    with pytest.raises(MemoryError, match="max_memory"):
        PauliSum.from_list([("Z" * 6, 1.0)]).to_matrix(max_memory=1000)


@pytest.mark.parametrize("n", [2, 4, 6])
def test_products_equal_qiskit_dot(n, rng):
    a_terms, b_terms = _random_terms(n, 8, rng), _random_terms(n, 9, rng)
    ours = (PauliSum.from_list(a_terms) @ PauliSum.from_list(b_terms)).to_matrix()
    theirs = SparsePauliOp.from_list(a_terms).dot(SparsePauliOp.from_list(b_terms)).to_matrix()
    np.testing.assert_allclose(ours, theirs, atol=1e-11)


def test_products_beyond_64_qubits_match_qiskit_pauli(rng):
    n = 150
    for _ in range(20):
        (la, _), (lb, _) = _random_terms(n, 2, rng)
        ours = (PauliSum.from_list([(la, 1.0)]) @ PauliSum.from_list([(lb, 1.0)])).to_list()
        theirs = Pauli(la).dot(Pauli(lb))
        phase = (-1j) ** theirs.phase
        theirs.phase = 0
        assert ours == [(theirs.to_label(), pytest.approx(phase))]


def test_simplify_matches_qiskit(rng):
    terms = _random_terms(4, 60, rng) + [("XYZI", 1.0), ("XYZI", -1.0)]
    ours = PauliSum.from_list(terms).simplify()
    theirs = SparsePauliOp.from_list(terms).simplify()
    assert len(ours) == len(theirs)
    assert ours.to_qiskit().equiv(theirs)
    np.testing.assert_allclose(ours.to_matrix(), theirs.to_matrix(), atol=1e-12)


def test_arithmetic_equals_matrix_arithmetic(rng):
    a = PauliSum.from_list(_random_terms(3, 5, rng))
    b = PauliSum.from_list(_random_terms(3, 6, rng))
    ma, mb = a.to_matrix(), b.to_matrix()
    np.testing.assert_allclose((a + b).to_matrix(), ma + mb, atol=1e-12)
    np.testing.assert_allclose((a - 2.5 * b).to_matrix(), ma - 2.5 * mb, atol=1e-12)
    np.testing.assert_allclose((1j * a / 2).to_matrix(), 0.5j * ma, atol=1e-12)
    np.testing.assert_allclose((a + 3).to_matrix(), ma + 3 * np.eye(8), atol=1e-12)
    np.testing.assert_allclose(a.adjoint().to_matrix(), ma.conj().T, atol=1e-12)
    assert (a - a).simplify().to_list() == []


def test_qiskit_round_trip(rng):
    op = SparsePauliOp.from_list(_random_terms(5, 12, rng))
    assert PauliSum.from_qiskit(op).to_qiskit().equiv(op)
    assert PauliSum.from_qiskit(Pauli("XYZ")).to_list() == [("XYZ", 1.0)]


def test_label_convention_qubit_zero_rightmost():
    # Z on qubit 0 flips the sign of basis states with bit 0 set
    diag = PauliSum.from_list([("IZ", 1.0)]).to_matrix().diagonal().real
    np.testing.assert_array_equal(diag, [1, -1, 1, -1])
    assert PauliSum.from_sparse_list([("XZ", [0, 2], 1.0)], 3).labels() == ["ZIX"]


def test_from_openfermion_matches_get_sparse_operator(rng):
    n = 4
    op = openfermion.QubitOperator()
    for label, coeff in _random_terms(n, 10, rng, complex_coeffs=False):
        term = tuple((q, p) for q, p in enumerate(reversed(label)) if p != "I")
        op += openfermion.QubitOperator(term, coeff)
    ours = PauliSum.from_openfermion(op, num_qubits=n).to_matrix()
    theirs = openfermion.get_sparse_operator(op, n_qubits=n).toarray()
    # OpenFermion's qubit 0 is the most significant bit of its matrix index
    perm = [int(format(i, f"0{n}b")[::-1], 2) for i in range(2**n)]
    np.testing.assert_allclose(ours, theirs[np.ix_(perm, perm)], atol=1e-12)


def test_from_openfermion_jordan_wigner_hopping_is_hermitian():
    ferm = openfermion.FermionOperator("0^ 1", 0.5) + openfermion.FermionOperator("1^ 0", 0.5)
    ours = PauliSum.from_openfermion(openfermion.jordan_wigner(ferm))
    assert ours.num_qubits == 2 and ours.is_hermitian()
    assert ours.simplify().to_qiskit().equiv(SparsePauliOp.from_list([("XX", 0.25), ("YY", 0.25)]))


def test_is_hermitian(rng):
    real = PauliSum.from_list(_random_terms(3, 6, rng, complex_coeffs=False))
    assert real.is_hermitian()
    assert not PauliSum.from_list([("XX", 1j)]).is_hermitian()
    # XY + YX ... with i coefficients cancelling is Hermitian after simplification
    assert PauliSum.from_list([("ZZ", 1 + 1j), ("ZZ", -1j)]).is_hermitian()


def _qwc(a: str, b: str) -> bool:
    return all(p == q or "I" in (p, q) for p, q in zip(a, b))


@pytest.mark.parametrize("seed", range(4))
def test_qubitwise_commuting_groups_partition_and_commute(seed):
    rng = np.random.default_rng(seed)
    terms = _random_terms(5, 40, rng)
    groups = PauliSum.from_list(terms).group_qubitwise_commuting()
    labels = [lab for g in groups for lab in g.labels()]
    assert sorted(labels) == sorted(lab for lab, _ in terms)
    for g in groups:
        gl = g.labels()
        assert all(_qwc(a, b) for a in gl for b in gl)
    # no worse than Qiskit's own greedy grouping by more than a few groups
    qiskit_groups = SparsePauliOp.from_list(terms).group_commuting(qubit_wise=True)
    assert len(groups) <= len(qiskit_groups) + 3
    total = sum((g for g in groups), PauliSum.zero(5))
    np.testing.assert_allclose(
        total.to_matrix(), SparsePauliOp.from_list(terms).to_matrix(), atol=1e-12
    )


@pytest.mark.parametrize(
    ("terms", "error", "pattern"),
    [
        ([("XQ", 1.0)], ValueError, "'Q'"),
        ([("XX", 1.0), ("X", 1.0)], ValueError, "expected 2"),
        ([("XX", math.nan)], ValueError, "finite"),
        ([("XX", "1")], TypeError, "number"),
        ([("", 1.0)], TypeError, "label"),
        (["XX"], TypeError, "pair"),
    ],
)
def test_bad_input(terms, error, pattern):
    with pytest.raises(error, match=pattern):
        PauliSum.from_list(terms)


def test_size_mismatch_and_bad_operands():
    a, b = PauliSum.from_list([("XX", 1.0)]), PauliSum.from_list([("XXX", 1.0)])
    with pytest.raises(ValueError, match="2 and 3 qubits"):
        a + b
    with pytest.raises(ValueError, match="2 and 3 qubits"):
        a @ b
    with pytest.raises(TypeError, match="use @"):
        a * a
    with pytest.raises(ValueError, match="finite"):
        a * math.inf
    with pytest.raises(IndexError, match="qubit 5"):
        PauliSum.from_sparse_list([("X", [5], 1.0)], 3)


_label = st.integers(1, 6).flatmap(
    lambda n: st.lists(st.text("IXYZ", min_size=n, max_size=n), min_size=1, max_size=6)
)


@given(_label, _label, st.data())
@settings(max_examples=60, deadline=None)
def test_hypothesis_products_and_sums(la, lb, data):
    n = len(la[0])
    lb = [(lab * n)[:n] for lab in lb]
    ca = data.draw(
        st.lists(
            st.complex_numbers(max_magnitude=5, allow_nan=False, allow_infinity=False),
            min_size=len(la),
            max_size=len(la),
        )
    )
    a_terms, b_terms = list(zip(la, ca)), [(lab, 1.0) for lab in lb]
    a, b = PauliSum.from_list(a_terms), PauliSum.from_list(b_terms)
    qa, qb = SparsePauliOp.from_list(a_terms), SparsePauliOp.from_list(b_terms)
    np.testing.assert_allclose((a @ b).to_matrix(), qa.dot(qb).to_matrix(), atol=1e-9)
    np.testing.assert_allclose((a + b).simplify().to_matrix(), (qa + qb).to_matrix(), atol=1e-9)
