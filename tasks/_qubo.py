"""The shared core of :mod:`tasks.problems`: a quadratic cost with linear constraints,
its slack-bit QUBO (qiskit-optimization's encoding), its Ising form, the Lagrangian QUBO,
and vectorised enumeration of small QUBOs."""

from __future__ import annotations

import itertools
import math
from dataclasses import dataclass

import numpy as np

from qworkbench.pauli import PauliSum
from qworkbench.utils import check_allocation

__all__ = [
    "MAX_BRUTE_FORCE_VARIABLES",
    "LinearConstraint",
    "Problem",
    "QuboProblem",
    "bitstrings",
    "evaluate_qubo",
    "qubo_minimum",
    "qubo_to_ising",
]

MAX_BRUTE_FORCE_VARIABLES = 25
_CHUNK = 1 << 16
_SENSES = ("<=", "==", ">=")


@dataclass(frozen=True, eq=False)
class LinearConstraint:
    """``coefficients · x  sense  rhs`` with sense ``"<="``, ``"=="`` or ``">="``."""

    coefficients: np.ndarray
    sense: str
    rhs: float
    name: str

    @property
    def sign(self) -> int:
        """``g(x) = sign * (coefficients · x - rhs)`` is ``<= 0`` (or ``== 0``) when satisfied."""
        return -1 if self.sense == ">=" else 1

    def g(self, x) -> float:
        """The constraint function: ``<= 0`` for a satisfied inequality, ``0`` for an equality."""
        return float(self.sign * (self.coefficients @ np.asarray(x, dtype=float) - self.rhs))


def bitstrings(n: int, start: int = 0, stop: int | None = None) -> np.ndarray:
    """Rows ``b`` in ``[start, stop)`` as bits: column ``i`` is bit ``i`` (qubit 0 = LSB)."""
    stop = 1 << n if stop is None else stop
    idx = np.arange(start, stop, dtype=np.int64)
    return ((idx[:, None] >> np.arange(n, dtype=np.int64)) & 1).astype(np.float64)


def evaluate_qubo(Q: np.ndarray, offset: float, X) -> np.ndarray:
    """``x^T Q x + offset`` for every row of ``X`` (shape (k, m)) at once."""
    X = np.atleast_2d(np.asarray(X, dtype=np.float64))
    return np.einsum("ki,ij,kj->k", X, Q, X, optimize=True) + offset


def qubo_minimum(Q: np.ndarray, offset: float = 0.0) -> tuple[tuple[int, ...], float]:
    """Exact minimum of a QUBO by vectorised enumeration (lowest index wins ties)."""
    m = Q.shape[0]
    if m > MAX_BRUTE_FORCE_VARIABLES:
        raise ValueError(
            f"brute force over {m} variables is too large (at most {MAX_BRUTE_FORCE_VARIABLES})"
        )
    best, best_b = math.inf, 0
    for start in range(0, 1 << m, _CHUNK):
        vals = evaluate_qubo(Q, offset, bitstrings(m, start, min(start + _CHUNK, 1 << m)))
        k = int(np.argmin(vals))
        if vals[k] < best:
            best, best_b = float(vals[k]), start + k
    return tuple((best_b >> i) & 1 for i in range(m)), best


def _upper(Q: np.ndarray) -> np.ndarray:
    """The upper-triangular matrix with the same quadratic form as ``Q``."""
    return np.triu(Q) + np.triu(Q.T, 1)


def _add_square(Q: np.ndarray, coeffs: np.ndarray, const: float, scale: float) -> float:
    """Add ``scale * (coeffs · v + const)^2`` to upper-triangular ``Q`` in place (v binary);
    returns the constant part ``scale * const^2``."""
    outer = scale * np.outer(coeffs, coeffs)
    Q += 2.0 * np.triu(outer, 1)
    Q[np.diag_indices_from(Q)] += scale * (coeffs**2 + 2.0 * const * coeffs)
    return scale * const**2


def _slack_weights(upper: int) -> list[int]:
    """Bounded-coefficient binary encoding of an integer in ``[0, upper]``
    (Karimi & Rosenberg; the same weights as qiskit-optimization's IntegerToBinary)."""
    power = int(math.log2(upper))
    return [2**i for i in range(power)] + [upper - (2**power - 1)]


def _is_integral(values) -> bool:
    arr = np.asarray(values, dtype=float)
    return bool(np.all(arr == np.round(arr)))


def _check_finite(arr: np.ndarray, name: str) -> None:
    if not np.all(np.isfinite(arr)):
        bad = np.argwhere(~np.isfinite(arr))[0]
        raise ValueError(f"{name} must be finite, got {arr[tuple(bad)]} at index {tuple(bad)}")


class Problem:
    """Quadratic cost ``x^T C x + c0`` (C upper triangular) with linear constraints."""

    sense = "min"

    def __init__(self, cost_matrix: np.ndarray, cost_offset: float, constraints):
        cost_matrix = np.asarray(cost_matrix, dtype=np.float64)
        check_allocation(2 * cost_matrix.nbytes, "the upper-triangular cost matrix")
        self._C = _upper(cost_matrix)
        self._c0 = float(cost_offset)
        self.constraints: list[LinearConstraint] = list(constraints)
        n = self._C.shape[0]
        self._A = np.array([c.coefficients for c in self.constraints]).reshape(-1, n)
        self._b = np.array([c.rhs for c in self.constraints], dtype=np.float64)
        self._signs = np.array([c.sign for c in self.constraints], dtype=np.float64)
        self._is_eq = np.array([c.sense == "==" for c in self.constraints], dtype=bool)

    # -- evaluation ------------------------------------------------------------------------
    @property
    def num_variables(self) -> int:
        return self._C.shape[0]

    @property
    def one_hot_groups(self) -> list[list[int]]:
        """Disjoint groups of variables of which exactly one is 1 (for an XY mixer)."""
        return []

    def _bits(self, x) -> np.ndarray:
        arr = np.asarray(x)
        if arr.shape != (self.num_variables,):
            raise ValueError(
                f"x must have {self.num_variables} entries, got shape {arr.shape}: {x!r}"
            )
        if not np.all((arr == 0) | (arr == 1)):
            raise ValueError(f"x must be 0/1, got {list(arr.tolist())}")
        return arr.astype(np.float64)

    def cost(self, x) -> float:
        """The value to minimise: ``objective`` for ``sense == "min"``, ``-objective`` else."""
        v = self._bits(x)
        return float(v @ self._C @ v + self._c0)

    def objective(self, x) -> float:
        """The problem's natural value (cut size, set size, total value, tour length)."""
        c = self.cost(x)
        return -c if self.sense == "max" else c

    def _g(self, X: np.ndarray) -> np.ndarray:
        """Constraint functions for rows of X: shape (k, num_constraints)."""
        return self._signs * (X @ self._A.T - self._b)

    def violation(self, x) -> np.ndarray:
        """Per-constraint amounts: ``max(0, g)`` for inequalities, ``|g|`` for equalities."""
        g = self._g(self._bits(x)[None, :])[0]
        return np.where(self._is_eq, np.abs(g), np.maximum(g, 0.0))

    def is_feasible(self, x, atol: float = 1e-9) -> bool:
        return bool(np.all(self.violation(x) <= atol))

    def brute_force(self) -> tuple[tuple[int, ...], float]:
        """An optimal feasible ``x`` and its objective by enumeration (lowest index wins)."""
        n = self.num_variables
        if n > MAX_BRUTE_FORCE_VARIABLES:
            raise ValueError(
                f"brute force over {n} variables is too large (at most "
                f"{MAX_BRUTE_FORCE_VARIABLES}); use a solver instead"
            )
        best, best_b = math.inf, None
        for start in range(0, 1 << n, _CHUNK):
            X = bitstrings(n, start, min(start + _CHUNK, 1 << n))
            vals = evaluate_qubo(self._C, self._c0, X)
            if self.constraints:
                g = self._g(X)
                ok = np.all(np.where(self._is_eq, np.abs(g), g) <= 1e-9, axis=1)
                vals = np.where(ok, vals, np.inf)
            k = int(np.argmin(vals))
            if vals[k] < best:
                best, best_b = float(vals[k]), start + k
        if best_b is None:
            raise ValueError("the problem has no feasible solution")
        x = tuple((best_b >> i) & 1 for i in range(n))
        return x, self.objective(x)

    def repair(self, x) -> tuple[int, ...]:
        """A feasible ``x`` near the given one (greedy; problems override)."""
        return tuple(int(v) for v in self._bits(x))

    def to_quadratic_program(self):
        """The problem as a qiskit-optimization ``QuadraticProgram`` (binary ``x0..``,
        the objective in its natural sense, constraints ``c0..``), e.g. to build
        qiskit-optimization's own penalty QUBO for comparison."""
        from qiskit_optimization import QuadraticProgram

        qp = QuadraticProgram()
        n = self.num_variables
        for i in range(n):
            qp.binary_var(f"x{i}")
        s = -1.0 if self.sense == "max" else 1.0
        quad = {
            (f"x{i}", f"x{j}"): s * self._C[i, j] for i, j in zip(*np.nonzero(np.triu(self._C, 1)))
        }
        args = {"constant": s * self._c0, "linear": (s * np.diag(self._C)).tolist()}
        (qp.maximize if self.sense == "max" else qp.minimize)(quadratic=quad, **args)
        for j, con in enumerate(self.constraints):
            linear = {f"x{i}": float(con.coefficients[i]) for i in np.flatnonzero(con.coefficients)}
            qp.linear_constraint(linear, con.sense, float(con.rhs), f"c{j}")
        return qp

    # -- QUBO / Ising ------------------------------------------------------------------------
    def default_penalty(self) -> float:
        """``1 + Σ|cost coefficients|``: qiskit-optimization's automatic penalty, which
        exceeds any change of the cost a single unit of violation could buy."""
        return 1.0 + float(np.abs(self._C).sum())

    def qubo(self, penalty: float | None = None, slack: bool = True):
        """``(Q, offset, varmap)`` with ``x^T Q x + offset = cost(x) + penalty * Σ_j r_j^2``.

        ``Q`` is upper triangular (its diagonal holds the linear terms). With
        ``slack=True`` each inequality ``a·x <= b`` (integer coefficients) becomes
        ``a·x + s - b == 0`` with ``s`` in ``[0, b - min(a·x)]`` encoded in binary as
        qiskit-optimization's ``InequalityToEquality`` + ``IntegerToBinary`` do, so
        ``r_j`` is zero exactly at feasible ``x`` with the right slack bits; equalities
        have ``r_j = a·x - b``. With ``slack=False`` inequalities must be one of the
        patterns with an exact slack-free penalty (``Σ x_i <= 1`` -> ``P Σ x_i x_j``,
        ``Σ x_i >= k-1``, ``x <= y``), as qiskit-optimization's
        ``LinearInequalityToPenalty`` does (e.g. MIS edges); others raise ValueError.
        ``varmap[k]`` is ``("x", i, 1)`` for variable ``i`` or
        ``("slack", j, weight)`` for a slack bit of constraint ``j``; the variables come
        first, then each constraint's slack bits in order.
        """
        penalty = self.default_penalty() if penalty is None else float(penalty)
        if not np.isfinite(penalty) or penalty < 0:
            raise ValueError(f"penalty must be finite and >= 0, got {penalty}")
        n = self.num_variables
        varmap = [("x", i, 1) for i in range(n)]
        rows = []  # (coefficients over original vars, rhs, slack weights with sign)
        for j, con in enumerate(self.constraints):
            a, b = con.coefficients, float(con.rhs)
            if con.sense == "==":
                rows.append((a, b, []))
                continue
            if not slack:
                rows.append((a, b, None))
                continue
            if not (_is_integral(a) and _is_integral(b)):
                raise ValueError(
                    f"constraint {con.name!r} has non-integer coefficients or rhs; "
                    "integer slack bits need integers (use tasks.lagrangian instead)"
                )
            if con.sense == "<=":
                b = math.floor(b)
                upper = int(round(b - np.minimum(a, 0).sum()))
                sign = 1
            else:
                b = math.ceil(b)
                upper = int(round(np.maximum(a, 0).sum() - b))
                sign = -1
            weights = _slack_weights(upper) if upper > 0 else []
            for w in weights:
                varmap.append(("slack", j, w))
            rows.append((a, b, [sign * w for w in weights]))
        m = len(varmap)
        check_allocation(8 * m * m, f"a {m}x{m} QUBO matrix")
        Q = np.zeros((m, m))
        Q[:n, :n] = self._C
        offset = self._c0
        pos = n
        for (a, b, weights), con in zip(rows, self.constraints):
            if weights is None:  # slack-free inequality: only the exact patterns
                offset += _exact_penalty(Q, con, penalty)
                continue
            coeffs = np.zeros(m)
            coeffs[:n] = a
            coeffs[pos : pos + len(weights)] = weights
            pos += len(weights)
            offset += _add_square(Q, coeffs, -b, penalty)
        return Q, offset, varmap

    def ising(self, penalty: float | None = None, slack: bool = True) -> PauliSum:
        """The QUBO as a diagonal ``PauliSum``: variable ``k`` is qubit ``k`` and
        ``x_k = (1 - Z_k)/2``, so basis state ``b`` has energy ``qubo_value`` of its bits."""
        Q, offset, _ = self.qubo(penalty=penalty, slack=slack)
        return qubo_to_ising(Q, offset)

    @staticmethod
    def qubo_value(Q: np.ndarray, offset: float, bits) -> float:
        return float(evaluate_qubo(Q, offset, bits)[0])

    def lagrangian_qubo(self, multipliers, rho: float = 0.0, active=None):
        """``(Q, offset)`` on the original variables of
        ``cost(x) + Σ_j λ_j g_j(x) + (rho/2) Σ_{j in active} g_j(x)^2``.

        ``g_j = a_j·x - b_j`` (``b_j - a_j·x`` for ``>=``); multipliers of inequalities
        must be ``>= 0``. The quadratic term applies to every equality and to the
        inequalities in ``active`` (a boolean mask; default all). Used with the
        active-set rule of :mod:`tasks.lagrangian` it is the quadratic branch of
        Rockafellar's augmented Lagrangian for inequalities.
        """
        lam = np.asarray(multipliers, dtype=np.float64).reshape(-1)
        k = len(self.constraints)
        if lam.shape != (k,):
            raise ValueError(f"need {k} multipliers, got {lam.size}")
        _check_finite(lam, "multipliers")
        if np.any((lam < 0) & ~self._is_eq):
            j = int(np.flatnonzero((lam < 0) & ~self._is_eq)[0])
            raise ValueError(
                f"multiplier of inequality {self.constraints[j].name!r} must be >= 0, got {lam[j]}"
            )
        rho = float(rho)
        if not np.isfinite(rho) or rho < 0:
            raise ValueError(f"rho must be finite and >= 0, got {rho}")
        mask = np.ones(k, bool) if active is None else np.asarray(active, dtype=bool)
        if mask.shape != (k,):
            raise ValueError(f"active must have {k} entries, got shape {mask.shape}")
        Q = self._C.copy()
        offset = self._c0
        for j, con in enumerate(self.constraints):
            a, b = con.sign * con.coefficients, con.sign * float(con.rhs)
            Q[np.diag_indices_from(Q)] += lam[j] * a
            offset -= lam[j] * b
            if rho > 0 and (mask[j] or self._is_eq[j]):
                offset += _add_square(Q, a.astype(np.float64), -b, rho / 2.0)
        return Q, offset


def _exact_penalty(Q: np.ndarray, con: LinearConstraint, penalty: float) -> float:
    """Add a slack-free penalty that is zero exactly on the feasible points of ``con``
    (Glover et al. 2019, arXiv:1811.11538, table of special constraints; the patterns of
    qiskit-optimization's LinearInequalityToPenalty); returns its constant part."""
    a, b = con.coefficients, float(con.rhs)
    nz = np.flatnonzero(a)
    units = len(nz) >= 2 and np.all(a[nz] == 1)
    if units and ((con.sense == "<=" and b == 1) or (con.sense == ">=" and b == len(nz) - 1)):
        at_most_one = con.sense == "<="  # Σx <= 1: P Σ x_i x_j; Σx >= k-1: P Σ (1-x_i)(1-x_j)
        for i, j in itertools.combinations(nz, 2):
            Q[i, j] += penalty
            if not at_most_one:
                Q[i, i] -= penalty
                Q[j, j] -= penalty
        return 0.0 if at_most_one else penalty * len(nz) * (len(nz) - 1) / 2
    if len(nz) == 2 and b == 0 and sorted(a[nz]) == [-1.0, 1.0]:
        # x <= y: P (x - x y), with x the variable whose coefficient is +1 for "<="
        pos = nz[a[nz] > 0][0] if con.sense == "<=" else nz[a[nz] < 0][0]
        Q[pos, pos] += penalty
        Q[nz[0], nz[1]] -= penalty
        return 0.0
    raise ValueError(
        f"constraint {con.name!r} needs slack bits (slack=True) or a Lagrangian method "
        "(tasks.lagrangian)"
    )


def qubo_to_ising(Q: np.ndarray, offset: float) -> PauliSum:
    """Diagonal ``PauliSum`` of ``x^T Q x + offset`` with ``x_k = (1 - Z_k)/2``."""
    Q = _upper(np.asarray(Q, dtype=np.float64))
    m = Q.shape[0]
    const = offset + np.trace(Q) / 2 + np.triu(Q, 1).sum() / 4
    z = -np.diag(Q) / 2 - (np.triu(Q, 1).sum(axis=1) + np.triu(Q, 1).sum(axis=0)) / 4
    terms = [("", [], const)]
    terms += [("Z", [i], z[i]) for i in range(m) if z[i] != 0]
    iu, ju = np.nonzero(np.triu(Q, 1))
    terms += [("ZZ", [int(i), int(j)], Q[i, j] / 4) for i, j in zip(iu, ju)]
    return PauliSum.from_sparse_list(terms, num_qubits=m).simplify()


class QuboProblem(Problem):
    """An unconstrained QUBO ``x^T Q x + offset`` to minimise, with the problem interface
    (so a QAOA or VQE solver can take any matrix, e.g. a Lagrangian inner problem or
    qiskit-optimization's penalty QUBO)."""

    sense = "min"

    def __init__(self, Q, offset: float = 0.0):
        Q = np.asarray(Q, dtype=np.float64)
        if Q.ndim != 2 or Q.shape[0] != Q.shape[1] or Q.shape[0] < 1:
            raise ValueError(f"Q must be a non-empty square matrix, got shape {Q.shape}")
        _check_finite(Q, "Q")
        if not math.isfinite(float(offset)):
            raise ValueError(f"offset must be finite, got {offset}")
        super().__init__(Q, float(offset), [])
