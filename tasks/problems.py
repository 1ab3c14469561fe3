"""Binary optimisation problems: objective, linear constraints, QUBO and Ising forms.

Every problem is over ``num_variables`` binary variables ``x`` (node ``i`` -> ``x[i]``)
with a quadratic ``cost`` to minimise (``-objective`` for maximisation problems) and
linear constraints ``g_j(x) <= 0`` / ``== 0``. ``qubo(penalty, slack=True)`` folds the
constraints into a quadratic penalty with binary slack bits laid out like
qiskit-optimization's ``InequalityToEquality`` + ``IntegerToBinary``, so qubit counts and
energies match ``QuadraticProgramToQubo``; ``lagrangian_qubo`` is the slack-free inner
problem of :mod:`tasks.lagrangian`. Instance-file loaders live in :mod:`tasks._loaders`
and are re-exported here.

Examples:
    >>> import networkx as nx
    >>> from tasks.problems import MIS
    >>> p = MIS(nx.cycle_graph(4))
    >>> p.brute_force()
    ((1, 0, 1, 0), 2.0)
    >>> Q, offset, varmap = p.qubo(penalty=3.0, slack=True)
    >>> Q.shape, p.qubo_value(Q, offset, (1, 0, 1, 0) + (0,) * 4) == p.cost((1, 0, 1, 0))
    ((8, 8), True)
"""

from __future__ import annotations

import itertools
import math
import numbers
from dataclasses import dataclass

import networkx as nx
import numpy as np

from qworkbench.pauli import PauliSum

__all__ = [
    "LinearConstraint",
    "MaxCut",
    "MIS",
    "Knapsack",
    "TSP",
    "QuboProblem",
    "evaluate_qubo",
    "qubo_minimum",
    "bitstrings",
    "load_mknap",
    "load_tsplib",
    "load_dimacs",
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


class _Problem:
    """Quadratic cost ``x^T C x + c0`` (C upper triangular) with linear constraints."""

    sense = "min"

    def __init__(self, cost_matrix: np.ndarray, cost_offset: float, constraints):
        self._C = _upper(np.asarray(cost_matrix, dtype=np.float64))
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


def _check_graph(graph) -> int:
    if not isinstance(graph, nx.Graph) or graph.is_directed():
        raise TypeError(f"graph must be an undirected networkx Graph, got {type(graph).__name__}")
    n = graph.number_of_nodes()
    if n < 1:
        raise ValueError("graph has no nodes")
    if set(graph.nodes) != set(range(n)):
        extra = sorted(set(graph.nodes) - set(range(n)), key=repr)[:5]
        raise ValueError(f"graph nodes must be 0..{n - 1}; unexpected nodes {extra}")
    loops = list(nx.selfloop_edges(graph))
    if loops:
        raise ValueError(f"graph has a self-loop at node {loops[0][0]}")
    return n


def _weight(data: dict, what: str) -> float:
    w = data.get("weight", 1.0)
    if isinstance(w, bool) or not isinstance(w, numbers.Real) or not math.isfinite(w):
        raise ValueError(f"weight of {what} must be a finite number, got {w!r}")
    return float(w)


class MaxCut(_Problem):
    """Maximum cut: ``objective = Σ_{(u,v)} w_uv [x_u != x_v]`` (edge attribute ``weight``,
    default 1). Unconstrained."""

    sense = "max"

    def __init__(self, graph: nx.Graph):
        n = _check_graph(graph)
        C = np.zeros((n, n))
        for u, v, data in graph.edges(data=True):
            w = _weight(data, f"edge ({u}, {v})")
            C[u, u] -= w
            C[v, v] -= w
            C[min(u, v), max(u, v)] += 2 * w
        self.graph = graph
        super().__init__(C, 0.0, [])


class MIS(_Problem):
    """Maximum (weighted) independent set: maximise ``Σ w_i x_i`` (node attribute
    ``weight``, default 1) subject to ``x_u + x_v <= 1`` for every edge."""

    sense = "max"

    def __init__(self, graph: nx.Graph):
        n = _check_graph(graph)
        self.graph = graph
        self.node_weights = np.array([_weight(graph.nodes[i], f"node {i}") for i in range(n)])
        cons = []
        for u, v in sorted((min(e), max(e)) for e in graph.edges):
            a = np.zeros(n)
            a[[u, v]] = 1.0
            cons.append(LinearConstraint(a, "<=", 1.0, f"edge_{u}_{v}"))
        super().__init__(np.diag(-self.node_weights), 0.0, cons)

    def repair(self, x) -> tuple[int, ...]:
        """Drop the vertex with most selected neighbours until independent, then add
        free vertices, lowest degree first."""
        x = self._bits(x).astype(int)
        g = self.graph
        while True:
            conflicts = {v: sum(x[u] for u in g[v]) for v in range(len(x)) if x[v]}
            worst = max(conflicts, key=lambda v: (conflicts[v], -v), default=None)
            if worst is None or conflicts[worst] == 0:
                break
            x[worst] = 0
        for v in sorted(range(len(x)), key=lambda v: (g.degree[v], v)):
            if not x[v] and self.node_weights[v] > 0 and not any(x[u] for u in g[v]):
                x[v] = 1
        return tuple(int(v) for v in x)


class Knapsack(_Problem):
    """Multi-dimensional 0/1 knapsack: maximise ``values · x`` subject to
    ``weights[j] · x <= capacities[j]`` for each of the ``m`` rows.

    ``weights`` has shape (m, n) (a 1-D array is one row); weights and capacities must
    be non-negative. ``known_optimum`` is set by :func:`load_mknap`.
    """

    sense = "max"

    def __init__(self, values, weights, capacities):
        values = np.asarray(values, dtype=np.float64)
        weights = np.asarray(weights, dtype=np.float64)
        capacities = np.atleast_1d(np.asarray(capacities, dtype=np.float64))
        if values.ndim != 1 or values.size < 1:
            raise ValueError(f"values must be a non-empty 1-D array, got shape {values.shape}")
        n = values.size
        if weights.ndim == 1:
            weights = weights[None, :]
        if weights.ndim != 2 or weights.shape[1] != n:
            raise ValueError(f"weights must have shape (m, {n}), got {weights.shape}")
        if capacities.shape != (weights.shape[0],):
            raise ValueError(
                f"capacities must have shape ({weights.shape[0]},), got {capacities.shape}"
            )
        for arr, name in ((values, "values"), (weights, "weights"), (capacities, "capacities")):
            _check_finite(arr, name)
        for arr, name in ((weights, "weights"), (capacities, "capacities")):
            if np.any(arr < 0):
                bad = np.argwhere(arr < 0)[0]
                raise ValueError(f"{name} must be >= 0, got {arr[tuple(bad)]} at {tuple(bad)}")
        self.values, self.weights, self.capacities = values, weights, capacities
        self.known_optimum: float | None = None
        cons = [
            LinearConstraint(weights[j].copy(), "<=", float(capacities[j]), f"capacity_{j}")
            for j in range(weights.shape[0])
        ]
        super().__init__(np.diag(-values), 0.0, cons)

    def repair(self, x) -> tuple[int, ...]:
        """Drop the chosen item of least value per unit of (capacity-scaled) overload until
        feasible, add items by value per scaled weight while they fit, then swap a chosen
        item for a more valuable one that fits while that helps."""
        x = self._bits(x).astype(int)
        scale = 1.0 / np.maximum(self.capacities, 1e-12)
        load = self.weights @ x
        while np.any(load > self.capacities + 1e-9):
            over = load > self.capacities + 1e-9
            burden = (self.weights[over] * scale[over, None]).sum(axis=0)
            chosen = np.flatnonzero(x & (burden > 0))
            drop = chosen[np.argmin(self.values[chosen] / burden[chosen])]
            x[drop] = 0
            load = self.weights @ x
        ratio = self.values / np.maximum((self.weights * scale[:, None]).sum(axis=0), 1e-12)
        order = np.argsort(-ratio, kind="stable")
        load = self._fill(x, load, order)
        improved = True
        while improved:  # 1-swap local search: trade a chosen item for a better one that fits
            improved = False
            for i in np.flatnonzero(x):
                for j in np.flatnonzero(x == 0):
                    new = load - self.weights[:, i] + self.weights[:, j]
                    if self.values[j] > self.values[i] and np.all(new <= self.capacities + 1e-9):
                        x[i], x[j] = 0, 1
                        load = self._fill(x, new, order)
                        improved = True
                        break
                if improved:
                    break
        return tuple(int(v) for v in x)

    def _fill(self, x: np.ndarray, load: np.ndarray, order) -> np.ndarray:
        """Add items in ``order`` while they fit (in place); returns the new load."""
        for i in order:
            fits = np.all(load + self.weights[:, i] <= self.capacities + 1e-9)
            if not x[i] and self.values[i] > 0 and fits:
                x[i] = 1
                load = load + self.weights[:, i]
        return load


class TSP(_Problem):
    """Travelling salesman over ``distances`` (n×n, asymmetric allowed; diagonal unused).

    Variable ``x[i*n + t] = 1`` puts city ``i`` at time ``t``. With ``fix_start=True``
    city 0 is fixed at time 0 and only cities and times ``1..n-1`` are variables:
    ``x[(i-1)*(n-1) + (t-1)]`` (``(n-1)^2`` variables). Constraints: each city at one
    time, each time one city (equalities). ``objective`` is the length of the closed tour
    ``Σ_t d[city(t), city(t+1)]`` (the same quadratic form on any 0/1 ``x``).
    """

    sense = "min"

    def __init__(self, distances, fix_start: bool = False):
        d = np.asarray(distances, dtype=np.float64)
        if d.ndim != 2 or d.shape[0] != d.shape[1] or d.shape[0] < 2:
            raise ValueError(f"distances must be a square matrix of size >= 2, got {d.shape}")
        _check_finite(d, "distances")
        n = d.shape[0]
        self.distances, self.num_cities, self.fix_start = d, n, bool(fix_start)
        free = range(1, n) if fix_start else range(n)
        self._free = list(free)
        k = len(self._free)
        C = np.zeros((k * k, k * k))
        for t in range(n):
            for i in range(n):
                for j in range(n):
                    if i == j:
                        continue
                    a, b = self._var(i, t), self._var(j, (t + 1) % n)
                    if a is False or b is False:
                        continue
                    if a is True and b is True:
                        raise AssertionError("two fixed cities are adjacent")  # pragma: no cover
                    if a is True or b is True:
                        idx = b if a is True else a
                        C[idx, idx] += d[i, j]
                    else:
                        C[min(a, b), max(a, b)] += d[i, j]
        cons = []
        for i in self._free:
            a = np.zeros(k * k)
            a[[self._var(i, t) for t in self._free]] = 1.0
            cons.append(LinearConstraint(a, "==", 1.0, f"city_{i}"))
        for t in self._free:
            a = np.zeros(k * k)
            a[[self._var(i, t) for i in self._free]] = 1.0
            cons.append(LinearConstraint(a, "==", 1.0, f"time_{t}"))
        super().__init__(C, 0.0, cons)

    def _var(self, city: int, time: int):
        """Index of ``x[city, time]``, or ``True``/``False`` for a variable fixed to 1/0."""
        if self.fix_start and (city == 0 or time == 0):
            return city == 0 and time == 0
        k = len(self._free)
        off = 1 if self.fix_start else 0
        return (city - off) * k + (time - off)

    def index(self, city: int, time: int) -> int:
        """The variable of city ``city`` at time ``time`` (fixed ones raise ValueError)."""
        v = self._var(city, time)
        if isinstance(v, bool):
            raise ValueError(f"city {city} at time {time} is fixed by fix_start")
        return v

    @property
    def one_hot_groups(self) -> list[list[int]]:
        """One group per time slot (exactly one city each); the groups partition x."""
        return [[self._var(i, t) for i in self._free] for t in self._free]

    def tour(self, x) -> list[int] | None:
        """Cities in visiting order, or ``None`` if ``x`` is not a permutation."""
        if not self.is_feasible(x):
            return None
        v = self._bits(x)
        order = [0] if self.fix_start else []
        for t in self._free:
            order.append(next(i for i in self._free if v[self._var(i, t)] == 1))
        return order

    def tour_bits(self, order) -> tuple[int, ...]:
        """The ``x`` of a tour given as cities in visiting order (``order[0] == 0`` with
        ``fix_start``)."""
        x = np.zeros(self.num_variables, dtype=int)
        for t, city in enumerate(order):
            v = self._var(int(city), t)
            if not isinstance(v, bool):
                x[v] = 1
        return tuple(int(b) for b in x)

    def repair(self, x) -> tuple[int, ...]:
        """Keep each time slot's selected city when still unused; fill the other slots by
        nearest neighbour from the previous city."""
        v = self._bits(x)
        n = self.num_cities
        order = [0] if self.fix_start else []
        used = set(order)
        slots: list[int | None] = []
        for t in self._free:
            pick = next((i for i in self._free if v[self._var(i, t)] == 1 and i not in used), None)
            slots.append(pick)
            if pick is not None:
                used.add(pick)
        for pick in slots:
            if pick is None:
                left = [c for c in range(n) if c not in used]
                prev = order[-1] if order else None
                pick = min(
                    left, key=lambda c: (self.distances[prev, c] if prev is not None else 0, c)
                )
                used.add(pick)
            order.append(pick)
        return self.tour_bits(order)


class QuboProblem(_Problem):
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


from tasks._loaders import load_dimacs, load_mknap, load_tsplib  # noqa: E402
