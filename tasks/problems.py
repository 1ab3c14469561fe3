"""Binary optimisation problems: objective, linear constraints, QUBO and Ising forms.

Every problem is over ``num_variables`` binary variables ``x`` (node ``i`` -> ``x[i]``)
with a quadratic ``cost`` to minimise (``-objective`` for maximisation problems) and
linear constraints ``g_j(x) <= 0`` / ``== 0``. ``qubo(penalty, slack=True)`` folds the
constraints into a quadratic penalty with binary slack bits laid out like
qiskit-optimization's ``InequalityToEquality`` + ``IntegerToBinary``, so qubit counts and
energies match ``QuadraticProgramToQubo``; ``lagrangian_qubo`` is the slack-free inner
problem of :mod:`tasks.lagrangian`. The shared core (``Problem``, QUBO helpers) lives in
:mod:`tasks._qubo`, the instance-file loaders in :mod:`tasks._loaders`; both are
re-exported here.

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

import math
import numbers

import networkx as nx
import numpy as np

from qworkbench.utils import check_allocation
from tasks._qubo import (
    MAX_BRUTE_FORCE_VARIABLES,
    LinearConstraint,
    Problem,
    QuboProblem,
    _check_finite,
    bitstrings,
    evaluate_qubo,
    qubo_minimum,
    qubo_to_ising,
)

__all__ = [
    "MAX_BRUTE_FORCE_VARIABLES",
    "LinearConstraint",
    "Problem",
    "MaxCut",
    "MIS",
    "Knapsack",
    "TSP",
    "QuboProblem",
    "evaluate_qubo",
    "qubo_minimum",
    "qubo_to_ising",
    "bitstrings",
    "load_mknap",
    "load_tsplib",
    "load_dimacs",
]


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


class MaxCut(Problem):
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


class MIS(Problem):
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


class Knapsack(Problem):
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


class TSP(Problem):
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
        self._free = list(range(1, n) if fix_start else range(n))

    # the (n^2 x n^2) cost matrix and the constraints are built on first use, so that
    # a large TSPLIB instance loads (for its distances) without allocating them
    _LAZY = frozenset({"_C", "_c0", "constraints", "_A", "_b", "_signs", "_is_eq"})

    def __getattr__(self, name):
        if name in TSP._LAZY and "_free" in self.__dict__:
            self._build()
            return self.__dict__[name]
        raise AttributeError(f"{type(self).__name__!r} object has no attribute {name!r}")

    @property
    def num_variables(self) -> int:
        return len(self._free) ** 2

    def _build(self) -> None:
        d, n = self.distances, self.num_cities
        k = len(self._free)
        check_allocation(3 * 8 * k**4, f"the QUBO of a {n}-city TSP ({k * k} variables)")
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


from tasks._loaders import load_dimacs, load_mknap, load_tsplib  # noqa: E402
