"""QAOA (tasks.qaoa) against outside references: dense matrix exponentials (SciPy),
Qiskit's qaoa_ansatz, and brute force over networkx graphs."""

from __future__ import annotations

import itertools
import json

import networkx as nx
import numpy as np
import pytest
import scipy.linalg

from qworkbench import Circuit, PauliSum
from simulators import get_simulator
from tasks.qaoa import QAOA, QAOAResult, cvar, qaoa_circuit, solve_qubo

SIM = get_simulator("statevector", device="cpu")


def _random_ising(n: int, rng, max_weight: int = 3) -> PauliSum:
    terms = [("I" * n, rng.normal())]
    for weight in range(1, max_weight + 1):
        for qubits in itertools.combinations(range(n), weight):
            if rng.random() < 0.6:
                chars = ["I"] * n
                for q in qubits:
                    chars[n - 1 - q] = "Z"
                terms.append(("".join(chars), rng.normal()))
    return PauliSum.from_list(terms)


def _pauli_matrix(label: str) -> np.ndarray:
    return PauliSum.from_list([(label, 1.0)]).to_matrix()


def _single(n: int, q: int, p: str) -> str:
    chars = ["I"] * n
    chars[n - 1 - q] = p
    return "".join(chars)


def _pair(n: int, a: int, b: int, p: str) -> str:
    chars = ["I"] * n
    chars[n - 1 - a] = chars[n - 1 - b] = p
    return "".join(chars)


def _brute_max_cut(graph: nx.Graph) -> float:
    nodes = list(graph)
    return max(
        nx.cut_size(graph, [v for v, bit in zip(nodes, bits) if bit], weight="weight")
        for bits in itertools.product((0, 1), repeat=len(nodes))
    )


# -- circuits ------------------------------------------------------------------------------
@pytest.mark.parametrize("seed", [0, 1, 2])
def test_x_mixer_circuit_equals_matrix_exponentials(seed):
    """Cost terms of weight 1, 2 and 3 (CNOT ladder): the circuit's state equals
    prod_k exp(-i b_k sum X) exp(-i g_k H) |+>^n from SciPy's expm."""
    rng = np.random.default_rng(seed)
    n, p = 4, 2
    ising = _random_ising(n, rng)
    angles = rng.uniform(-np.pi, np.pi, size=2 * p)
    psi = SIM.statevector(qaoa_circuit(ising, p), angles)
    H = ising.to_matrix()
    B = sum(_pauli_matrix(_single(n, q, "X")) for q in range(n))
    ref = np.full(1 << n, 2 ** (-n / 2), dtype=complex)
    for gamma, beta in angles.reshape(p, 2):
        ref = scipy.linalg.expm(-1j * beta * B) @ (scipy.linalg.expm(-1j * gamma * H) @ ref)
    assert abs(np.vdot(ref, psi)) == pytest.approx(1.0, abs=1e-10)  # equal up to global phase


def test_circuit_equals_qiskit_qaoa_ansatz():
    from qiskit.circuit.library import qaoa_ansatz
    from qiskit.quantum_info import Statevector

    rng = np.random.default_rng(7)
    n, p = 5, 3
    ising = _random_ising(n, rng, max_weight=2)
    gammas, betas = rng.uniform(-1, 1, p), rng.uniform(-1, 1, p)
    ansatz = qaoa_ansatz(ising.to_qiskit(), reps=p)
    values = {}
    for param in ansatz.parameters:
        kind, k = param.name[0], param.index
        values[param] = gammas[k] if kind == "γ" else betas[k]
    ref = Statevector(ansatz.assign_parameters(values)).data
    psi = SIM.statevector(qaoa_circuit(ising, p), np.column_stack([gammas, betas]).ravel())
    assert abs(np.vdot(ref, psi)) == pytest.approx(1.0, abs=1e-10)


def test_xy_mixer_equals_matrix_exponentials_and_keeps_groups_one_hot():
    """Groups {0,1,2} (ring of 3) and {3,4} (one pair) start as W states; qubit 5 is free.
    The state equals the ordered product of exp(-i b (XX+YY)/2) per ring pair, and every
    basis state with weight keeps exactly one 1 per group."""
    rng = np.random.default_rng(3)
    n, p = 6, 2
    groups = [[0, 1, 2], [3, 4]]
    ising = _random_ising(n, rng, max_weight=2)
    angles = rng.uniform(-np.pi, np.pi, size=2 * p)
    psi = SIM.statevector(qaoa_circuit(ising, p, mixer="xy", groups=groups), angles)

    index = np.arange(1 << n)
    start = np.zeros(1 << n, dtype=complex)
    for a in (0, 1, 2):  # W states on both groups, |+> on qubit 5
        for b in (3, 4):
            start[(1 << a) | (1 << b)] = start[(1 << a) | (1 << b) | (1 << 5)] = 1.0
    ref = start / np.linalg.norm(start)
    H = ising.to_matrix()
    pairs = [(0, 1), (1, 2), (2, 0), (3, 4)]
    hop = [
        (_pauli_matrix(_pair(n, a, b, "X")) + _pauli_matrix(_pair(n, a, b, "Y"))) / 2
        for a, b in pairs
    ]
    X5 = _pauli_matrix(_single(n, 5, "X"))
    for gamma, beta in angles.reshape(p, 2):
        ref = scipy.linalg.expm(-1j * gamma * H) @ ref
        for term in hop:
            ref = scipy.linalg.expm(-1j * beta * term) @ ref
        ref = scipy.linalg.expm(-1j * beta * X5) @ ref
    assert abs(np.vdot(ref, psi)) == pytest.approx(1.0, abs=1e-10)

    weight = np.abs(psi) ** 2 > 1e-14
    for group in groups:
        ones = sum((index >> q) & 1 for q in group)
        assert np.all(ones[weight] == 1)
    assert weight.sum() > 6  # the mixer did spread the state


def test_xy_basis_initial_state_is_a_feasible_tour():
    """initial_state="basis": group j starts with member j % len(group) set."""
    groups = [[0, 1, 2], [3, 4, 5], [6, 7, 8]]
    c = qaoa_circuit(
        PauliSum.from_list([("Z" * 9, 1.0)]), 1, mixer="xy", groups=groups, initial_state="basis"
    )
    probs = SIM.probabilities(c, [0.0, 0.0])
    assert probs[(1 << 0) | (1 << 4) | (1 << 8)] == pytest.approx(1.0)


def test_circuit_parameters_and_bad_input():
    ising = PauliSum.from_list([("ZZ", 1.0), ("II", 2.0)])
    c = qaoa_circuit(ising, 2)
    assert [q.name for q in c.parameters] == ["gamma_0", "beta_0", "gamma_1", "beta_1"]
    assert c.count_ops() == {"h": 2, "rzz": 2, "rx": 4}  # identity term dropped
    with pytest.raises(ValueError, match="diagonal"):
        qaoa_circuit(PauliSum.from_list([("XZ", 1.0)]), 1)
    with pytest.raises(ValueError, match="mixer"):
        qaoa_circuit(ising, 1, mixer="z")
    with pytest.raises(ValueError, match="groups"):
        qaoa_circuit(ising, 1, mixer="xy")
    with pytest.raises(ValueError, match="p must be"):
        qaoa_circuit(ising, 0)


# -- the solver ----------------------------------------------------------------------------
class _MaxCut:
    """A MaxCut with the problem interface, built here from networkx (an outside check on
    tasks.problems): cut = sum_w (1 - Z_u Z_v) / 2, so H = sum_w (Z_u Z_v - 1) / 2."""

    sense = "max"
    one_hot_groups: list = []

    def __init__(self, graph):
        self.graph = graph
        self.num_variables = graph.number_of_nodes()

    def objective(self, x):
        return float(nx.cut_size(self.graph, [v for v in self.graph if x[v]], weight="weight"))

    def is_feasible(self, x):
        return True

    def ising(self, penalty=None, slack=True):
        n = self.num_variables
        terms = []
        for u, v, w in self.graph.edges(data="weight", default=1.0):
            terms += [(_pair(n, u, v, "Z"), w / 2), ("I" * n, -w / 2)]
        return PauliSum.from_list(terms)

    def brute_force(self):
        return None, _brute_max_cut(self.graph)


def _graphs():
    weighted = nx.gnp_random_graph(6, 0.6, seed=4)
    rng = np.random.default_rng(4)
    for u, v in weighted.edges:
        weighted[u][v]["weight"] = float(rng.integers(1, 5))
    return {
        "ring5": nx.cycle_graph(5),
        "3reg6": nx.random_regular_graph(3, 6, seed=2),
        "gnp6w": weighted,
    }


@pytest.mark.parametrize("name", list(_graphs()))
def test_maxcut_beats_random_and_finds_the_optimum(name):
    graph = _graphs()[name]
    result = QAOA(_MaxCut(graph), p=2, seed=11).run()
    total = sum(w for *_, w in graph.edges(data="weight", default=1.0))
    assert result.expected_objective > total / 2 + 1e-6  # a random cut's expectation
    assert result.objective == _brute_max_cut(graph)
    assert result.feasible and len(result.x) == graph.number_of_nodes()
    assert 0.5 < result.approximation_ratio <= 1.0


def test_maxcut_from_tasks_problems_matches_the_local_reference():
    from tasks.problems import MaxCut

    graph = nx.random_regular_graph(3, 8, seed=5)
    ours = QAOA(_MaxCut(graph), p=2, seed=3).run()
    theirs = QAOA(MaxCut(graph), p=2, seed=3).run()
    assert theirs.objective == _brute_max_cut(graph)
    assert theirs.expected_objective == pytest.approx(ours.expected_objective, abs=1e-6)


@pytest.mark.parametrize("init", ["linear_ramp", "interp", "random"])
def test_inits_improve_on_the_start_and_deeper_is_better(init):
    problem = _MaxCut(nx.random_regular_graph(3, 8, seed=1))
    r1 = QAOA(problem, p=1, init=init, seed=2).run()
    r3 = QAOA(problem, p=3, init=init, seed=2).run()
    assert r1.energy <= r1.history[0] + 1e-9
    assert r3.expected_objective > r1.expected_objective - 1e-6 or init == "random"
    assert r3.approximation_ratio <= 1.0


def _constrained():
    from tasks.problems import MIS, TSP, Knapsack

    return {
        "mis": (MIS(nx.cycle_graph(5)), {"slack": False}),
        "knapsack": (Knapsack([3, 4, 5, 2], [[2, 3, 4, 1]], [6]), {}),
        "tsp-x": (TSP([[0, 3, 4, 2], [3, 0, 5, 4], [4, 5, 0, 3], [2, 4, 3, 0]], True), {}),
        "tsp-xy": (
            TSP([[0, 3, 4, 2], [3, 0, 5, 4], [4, 5, 0, 3], [2, 4, 3, 0]], True),
            {"mixer": "xy"},
        ),
    }


@pytest.mark.parametrize("name", list(_constrained()))
def test_constrained_problems_give_feasible_answers_and_ratio_at_most_one(name):
    problem, options = _constrained()[name]
    result = QAOA(problem, p=2, seed=0, **options).run()
    assert result.feasible and problem.is_feasible(result.x)
    assert result.objective == pytest.approx(problem.objective(result.x))
    _, best = problem.brute_force()
    assert result.optimum == pytest.approx(best)
    assert 0 < result.approximation_ratio <= 1.0


def test_xy_mixer_keeps_tsp_time_slots_one_hot():
    """With the XY mixer every sample has exactly one city per time slot."""
    problem, _ = _constrained()["tsp-xy"]
    qaoa = QAOA(problem, p=1, mixer="xy")
    probs = SIM.probabilities(qaoa.circuit, [0.3, 0.8])
    index = np.arange(len(probs))
    for slot in problem.one_hot_groups:
        ones = sum((index >> q) & 1 for q in slot)
        assert probs[ones != 1].sum() < 1e-12


def test_maxcut_ten_nodes_depth_three_finds_the_optimum():
    graph = nx.random_regular_graph(3, 10, seed=7)
    result = QAOA(_MaxCut(graph), p=3, init="interp", seed=0).run()
    assert result.objective == _brute_max_cut(graph)
    assert result.approximation_ratio > 0.85


@pytest.mark.parametrize("optimizer", ["adam", "spsa", "cobyla", "nelder-mead"])
def test_any_minimize_method_drives_qaoa(optimizer):
    options = {"lr": 0.05} if optimizer == "adam" else None
    result = QAOA(
        _MaxCut(nx.cycle_graph(6)),
        p=1,
        optimizer=optimizer,
        seed=0,
        maxiter=60,
        optimizer_options=options,
    ).run()
    assert result.objective == 6.0 and result.expected_objective > 3.5


def test_interp_rule():
    """Zhou et al. 2020, Eq. (B1): depth 2 -> 3 from (a, b) gives (a, (a+b)/2, b)."""
    theta = np.array([1.0, 10.0, 3.0, 30.0])  # (gamma_0, beta_0, gamma_1, beta_1)
    out = QAOA.interpolate(theta).reshape(-1, 2)
    assert out[:, 0].tolist() == [1.0, 2.0, 3.0]
    assert out[:, 1].tolist() == [10.0, 20.0, 30.0]
    assert QAOA.interpolate(np.array([0.4, 0.2])).tolist() == [0.4, 0.2, 0.4, 0.2]


def test_params_are_the_angles_of_the_unscaled_circuit():
    problem = _MaxCut(_graphs()["gnp6w"])  # weights up to 4: the optimiser scales gamma
    qaoa = QAOA(problem, p=2, seed=0)
    result = qaoa.run()
    assert qaoa.cost_scale != 1.0
    energy = SIM.expval(qaoa.circuit, problem.ising(), list(result.params))
    assert energy == pytest.approx(result.energy, abs=1e-9)
    assert qaoa.evaluate(result.params) == pytest.approx(result.energy, abs=1e-9)


def test_warm_start_from_previous_params():
    problem = _MaxCut(nx.random_regular_graph(3, 8, seed=1))
    cold = QAOA(problem, p=2, seed=0).run()
    warm = QAOA(problem, p=2, seed=0, initial_params=cold.params).run()
    assert warm.history[0] == pytest.approx(cold.energy, abs=1e-9)
    assert warm.energy <= cold.energy + 1e-9 and warm.nfev < cold.nfev
    with pytest.raises(ValueError, match="initial_params"):
        QAOA(problem, p=2, initial_params=[0.1, 0.2])


@pytest.mark.parametrize("mixer", ["x", "xy"])
def test_adjoint_gradient_matches_finite_differences(mixer):
    if mixer == "x":
        qaoa = QAOA(_MaxCut(_graphs()["gnp6w"]), p=2)
    else:  # W-state start and RXX/RYY ring mixers on TSP's time slots
        qaoa = QAOA(_constrained()["tsp-xy"][0], p=2, mixer="xy")
    assert qaoa.use_gradient
    fun, jac = qaoa._objective(2)
    theta = np.array([0.3, -0.2, 0.5, 0.7])
    eps = 1e-6
    numeric = [(fun(theta + eps * e) - fun(theta - eps * e)) / (2 * eps) for e in np.eye(4)]
    assert np.allclose(jac(theta), numeric, atol=1e-6)


def test_cvar_with_alpha_one_is_the_expectation():
    problem = _MaxCut(nx.cycle_graph(5))
    params = [0.4, -0.3, 0.8, -0.1]
    plain = QAOA(problem, p=2).evaluate(params)
    exact_cvar = QAOA(problem, p=2, cvar_alpha=1.0).evaluate(params)
    state = SIM.statevector(qaoa_circuit(problem.ising(), 2), params)
    reference = np.real(np.vdot(state, problem.ising().to_matrix() @ state))
    assert plain == pytest.approx(reference, abs=1e-10)
    assert exact_cvar == pytest.approx(reference, abs=1e-10)


def test_cvar_is_the_mean_of_the_lowest_tail():
    rng = np.random.default_rng(0)
    samples = rng.normal(size=1000)
    for alpha in (0.1, 0.25, 1.0):
        lowest = np.sort(samples)[: int(alpha * 1000)]
        assert cvar(samples, np.ones(1000), alpha) == pytest.approx(lowest.mean())
    assert cvar([1.0, 2.0], [0.5, 0.5], 0.75) == pytest.approx((0.5 * 1 + 0.25 * 2) / 0.75)


def test_cvar_run_with_shots():
    problem = _MaxCut(nx.cycle_graph(6))
    result = QAOA(problem, p=1, shots=256, cvar_alpha=0.2, seed=5, maxiter=60).run()
    assert result.objective == 6.0  # even ring: every edge cut
    assert result.nfev == len(result.history) > 0
    again = QAOA(problem, p=1, shots=256, cvar_alpha=0.2, seed=5, maxiter=60).run()
    assert again.history == result.history  # seeded


def test_result_json_round_trip():
    result = QAOA(_MaxCut(nx.cycle_graph(4)), p=1, seed=0).run()
    back = QAOAResult.from_json(result.to_json())
    assert back == result
    assert json.loads(result.to_json())["x"] == list(result.x)
    assert result.gammas == result.params[0::2] and len(result.betas) == 1


def test_qubo_and_ising_inputs_find_the_brute_force_minimum():
    rng = np.random.default_rng(1)
    Q = np.triu(rng.normal(size=(5, 5)))
    values = {
        bits: float(np.array(bits) @ Q @ np.array(bits)) + 0.3
        for bits in itertools.product((0, 1), repeat=5)
    }
    best = min(values, key=values.get)
    result = solve_qubo(Q, 0.3, p=3, seed=0)
    assert result.x == best and result.objective == pytest.approx(values[best])
    assert result.optimum is None  # inner-loop default: no brute force
    checked = solve_qubo(Q, 0.3, p=3, seed=0, brute_force=True)
    assert checked.optimum == pytest.approx(values[best])
    assert 0 < checked.approximation_ratio <= 1.0

    ising = _random_ising(4, rng)
    energies = np.real(np.diag(ising.to_matrix()))
    result = QAOA(ising, p=3, seed=0).run()
    assert result.objective == pytest.approx(energies.min())


@pytest.mark.parametrize(
    "kwargs, match",
    [
        ({"p": 0}, "p must be"),
        ({"mixer": "z"}, "mixer"),
        ({"init": "zeros"}, "init"),
        ({"cvar_alpha": 1.5}, "cvar_alpha"),
        ({"cvar_alpha": 0.0}, "cvar_alpha"),
        ({"shots": 0}, "shots"),
        ({"optimizer": "bfgs"}, "optimizer"),
        ({"optimizer": "adam", "shots": 100}, "needs gradients"),
        ({"optimizer": "l-bfgs-b", "shots": 100}, "sampled"),
        ({"mixer": "xy"}, "groups"),
    ],
)
def test_bad_arguments_are_refused(kwargs, match):
    with pytest.raises(ValueError, match=match):
        QAOA(_MaxCut(nx.cycle_graph(4)), **kwargs).run()


def test_non_problems_are_refused():
    with pytest.raises(TypeError, match="lacks"):
        QAOA(object())
    with pytest.raises(ValueError, match="diagonal"):
        QAOA(PauliSum.from_list([("XX", 1.0)]))


def test_noisy_density_matrix_run_is_gradient_free():
    from simulators.noise import NoiseModel

    sim = get_simulator("density_matrix", device="cpu", noise=NoiseModel.depolarizing(0.01, 0.02))
    qaoa = QAOA(_MaxCut(nx.cycle_graph(4)), p=1, simulator=sim, seed=0, maxiter=40)
    assert qaoa.optimizer == "cobyla" and not qaoa.use_gradient
    result = qaoa.run()
    assert result.objective == 4.0 and result.expected_objective > 2.0


def test_w_state_helper():
    from tasks._qaoa_circuit import w_state

    probs = SIM.probabilities(w_state(Circuit(5), [4, 2, 0, 1, 3]))
    assert np.allclose(probs[[1 << q for q in range(5)]], 0.2)


# -- qwb qaoa ------------------------------------------------------------------------------
def _qwb(*args: str):
    from typer.testing import CliRunner

    from qworkbench.cli import app

    return CliRunner().invoke(app, ["qaoa", *args])


def _last_json(result) -> dict:
    assert result.exit_code == 0, result.output
    return json.loads(result.stdout.strip().splitlines()[-1])


def test_cli_random_maxcut_json():
    out = _last_json(
        _qwb("--problem", "maxcut", "--random", "6", "--p", "2", "--seed", "3", "--json")
    )
    assert out["problem"] == "maxcut" and out["num_qubits"] == 6 and out["feasible"]
    assert out["objective"] == out["optimum"]  # 6 nodes: the optimum is sampled
    assert 0.5 < out["approximation_ratio"] <= 1.0 and len(out["params"]) == 4


def test_cli_dimacs_instance_and_human_output(tmp_path):
    path = tmp_path / "ring.col"
    path.write_text("c a 5-ring\np edge 5 5\ne 1 2\ne 2 3\ne 3 4\ne 4 5\ne 5 1\n")
    result = _qwb("--problem", "maxcut", "--instance", str(path), "--seed", "0", "--p", "2")
    assert result.exit_code == 0, result.output
    assert "objective: 4.0" in result.stdout
    mis = _last_json(_qwb("--problem", "mis", "--instance", str(path), "--seed", "0", "--json"))
    assert mis["feasible"] and mis["objective"] == 2.0 and mis["optimum"] == 2.0


def test_cli_mknap_index_and_tsplib(tmp_path):
    mknap = tmp_path / "mknap.txt"
    mknap.write_text("2\n3 1 0\n5 4 3\n2 3 1\n4\n4 2 0\n1 2 3 4\n2 2 2 2\n3 1 2 1\n4 5\n")
    first = _last_json(
        _qwb("--problem", "knapsack", "--instance", str(mknap), "--json", "--seed", "1")
    )
    second = _last_json(
        _qwb(
            "--problem",
            "knapsack",
            "--instance",
            str(mknap),
            "--index",
            "2",
            "--json",
            "--seed",
            "1",
        )
    )
    assert first["num_variables"] == 3 and second["num_variables"] == 4
    assert first["feasible"] and first["objective"] <= first["optimum"] == 8.0  # items 0 and 2
    tsp = tmp_path / "three.tsp"
    tsp.write_text(
        "NAME: three\nTYPE: TSP\nDIMENSION: 3\nEDGE_WEIGHT_TYPE: EUC_2D\n"
        "NODE_COORD_SECTION\n1 0 0\n2 3 0\n3 0 4\nEOF\n"
    )
    out = _last_json(
        _qwb("--problem", "tsp", "--instance", str(tsp), "--mixer", "xy", "--seed", "0", "--json")
    )
    assert out["feasible"] and out["objective"] == 12.0 and out["num_qubits"] == 9


def test_cli_sampled_spsa_run():
    out = _last_json(
        _qwb(
            "--problem",
            "maxcut",
            "--random",
            "5",
            "--optimizer",
            "spsa",
            "--shots",
            "200",
            "--maxiter",
            "30",
            "--seed",
            "1",
            "--json",
        )
    )
    assert out["feasible"] and out["nfev"] > 30


def test_cli_method_routes_to_lagrangian():
    out = _last_json(
        _qwb(
            "--problem",
            "knapsack",
            "--random",
            "4",
            "--method",
            "dual_ascent",
            "--solver",
            "exact",
            "--seed",
            "2",
            "--json",
        )
    )
    assert out["method"] == "dual_ascent" and out["feasible"]
    assert out["num_qubits"] == 4  # slack-free: one qubit per item


@pytest.mark.parametrize(
    "args, needle",
    [
        (["--problem", "foo", "--random", "3"], "--problem"),
        (["--problem", "mis"], "exactly one"),
        (["--problem", "mis", "--random", "4", "--p", "0"], "--p"),
        (["--problem", "mis", "--random", "4", "--cvar-alpha", "1.5"], "--cvar-alpha"),
        (["--problem", "mis", "--random", "4", "--mixer", "z"], "--mixer"),
        (["--problem", "mis", "--random", "4", "--method", "newton"], "--method"),
        (["--problem", "mis", "--random", "4", "--optimizer", "bfgs"], "bfgs"),
        (["--problem", "maxcut", "--random", "99"], "--random"),
        (["--problem", "maxcut", "--instance", "no-such-file.col"], "no-such-file"),
    ],
)
def test_cli_bad_values_exit_2(args, needle):
    result = _qwb(*args)
    assert result.exit_code == 2
    assert needle in result.output


def test_cli_malformed_instance_names_the_line(tmp_path):
    path = tmp_path / "bad.col"
    path.write_text("p edge 3 2\ne 1 2\ne 2 x\n")
    result = _qwb("--problem", "maxcut", "--instance", str(path))
    assert result.exit_code == 2 and ":3" in result.output
