"""Issue 15: presets per task and paper, random halting as the reference draws it,
greedy evaluation that leaves training untouched, and the curriculum on state tasks."""

from __future__ import annotations

import dataclasses

import numpy as np
import pytest
from qiskit import QuantumCircuit
from qiskit.quantum_info import Statevector, state_fidelity
from scipy import stats

from agents import QASEnv, make_agent
from agents.presets import resolve
from agents.runner import run
from tasks import get_task


def test_paper_preset_for_lih4_is_the_reference_configuration():
    p = resolve("lih4", "crlqas", "paper")
    assert p.env == {"max_gates": 40, "random_halt": True, "gate_set": "crlqas"}
    assert p.episodes == 30_000
    assert (p.agent["n_step"], p.agent["lr"], p.agent["batch_size"]) == (5, 3e-4, 1000)
    assert p.agent["hidden"] == (1000,) * 5 and p.agent["target_sync"] == 500
    assert (p.agent["shift_every"], p.agent["delta"], p.agent["successes"]) == (500, 5e-4, 25)
    six = resolve("lih6", "crlqas", "paper")
    assert six.env["max_gates"] == 70 and six.agent["n_step"] == 6
    assert six.agent["hidden"] == (2000,) * 5 and six.episodes == 40_000
    assert (six.agent["shift_every"], six.agent["delta"], six.agent["successes"]) == (
        2000, 1e-3, 50,
    )  # fmt: skip
    h2 = resolve("h2_070", "dqn", "paper")
    assert h2.env["random_halt"] is False and h2.env["max_gates"] == 40 and h2.episodes == 20_000
    # KANQAS: the MLP baseline is [30, 30, 30] with batch 1000, the KAN batch 500
    mlp, kan = resolve("bell", "dqn", "paper"), resolve("bell", "kanqas", "paper")
    assert mlp.agent["hidden"] == (30, 30, 30) and mlp.agent["batch_size"] == 1000
    assert kan.agent["batch_size"] == 500 and kan.agent["kan_hidden"] == (2,)
    assert mlp.agent["lr"] == kan.agent["lr"] == 5e-4 and mlp.env["max_gates"] == 6
    assert resolve("ghz3", "dqn", "paper").env["max_gates"] == 12
    assert resolve("tfim4", "gadget", "paper").env == {
        "max_gates": 80, "random_halt": False, "gate_set": "ibm_native",
    }  # fmt: skip


def test_paper_preset_reaches_the_agent():
    # the preset is looked up by task name: a TFIM-4 task under LiH-4's name keeps this
    # quick (no PySCF run)
    env = QASEnv(dataclasses.replace(get_task("tfim4"), name="lih4"), max_gates=2)
    agent = make_agent("crlqas", env, preset="paper", seed=0)
    assert agent.hyper["n_step"] == 5 and agent.hyper["lr"] == 3e-4
    assert agent.nstep.n == 5 and agent.curriculum.shift_every == 500
    assert agent.curriculum.successes == 25 and agent.curriculum.delta == 5e-4
    # the caller's overrides win over the preset
    small = make_agent("crlqas", env, preset="paper", seed=0, n_step=2, hidden=(8,))
    assert small.hyper["n_step"] == 2 and small.hyper["hidden"] == (8,)


def test_unknown_hyperparameter_names_the_known_ones():
    with pytest.raises(ValueError, match="n_step"):
        make_agent("dqn", QASEnv("bell", max_gates=2, gate_set="kanqas"), nstep=3)


def test_halting_off_ends_at_the_budget_with_the_penalty():
    env = QASEnv("tfim2", max_gates=5, fitter="none", seed=0)  # halting off by default
    env.reset()
    rz = next(i for i, a in enumerate(env.actions) if a.label == "rz[0]")
    rewards, done, steps = [], False, 0
    while not done:  # rz on |00> changes nothing: never a success
        _, reward, terminated, truncated, _ = env.step(rz)
        rewards.append(reward)
        done, steps = terminated or truncated, steps + 1
        assert not truncated
    assert steps == 5 and rewards[-1] == -5.0


def test_halting_on_follows_the_clipped_negative_binomial():
    env = QASEnv("tfim2", max_gates=70, random_halt=True, seed=11)
    draws = []
    for _ in range(4000):
        env.reset()
        draws.append(env.halt_at)
    draws = np.array(draws)
    assert draws.min() >= 25 and draws.max() <= 70
    # expected probabilities of NegBin(70, 0.573) (numpy's: failures before 70 successes)
    # clipped to [25, 70], binned so every bin expects at least 5 draws
    support = np.arange(25, 71)
    pmf = stats.nbinom.pmf(support, 70, 0.573)
    pmf[0] += stats.nbinom.cdf(24, 70, 0.573)
    pmf[-1] += stats.nbinom.sf(70, 70, 0.573)
    observed = np.array([(draws == k).sum() for k in support])
    expected = pmf * len(draws)
    keep = expected >= 5
    obs = np.append(observed[keep], observed[~keep].sum())
    exp = np.append(expected[keep], expected[~keep].sum())
    assert stats.chisquare(obs, exp * obs.sum() / exp.sum()).pvalue > 1e-3


def test_greedy_evaluation_solves_bell_and_leaves_training_untouched():
    def train(eval_every):
        env = QASEnv("bell", max_gates=4, gate_set="kanqas")
        agent = make_agent("dqn", env, seed=5)
        log = agent.train(120, eval_every=eval_every)
        return agent, [{k: v for k, v in r.items() if k != "seconds"} for r in log]

    evaluated, log_a = train(20)
    plain, log_b = train(0)
    assert log_a == log_b  # evaluation changed no training episode
    assert plain.evaluations == [] and len(evaluated.evaluations) == 6
    assert [e["episode"] for e in evaluated.evaluations] == [20, 40, 60, 80, 100, 120]
    final = evaluated.evaluate()
    assert final["solved"] and final["gates"] <= 4 and final["cnots"] >= 1
    assert final == {**evaluated.evaluate(), "seconds": final["seconds"]}  # no state moved
    # the greedy circuit really prepares the Bell state: fidelity from qiskit
    state = Statevector(QuantumCircuit.from_qasm_str(final["qasm"]))
    bell = Statevector(np.array([1, 0, 0, 1]) / np.sqrt(2))
    assert state_fidelity(state, bell) == pytest.approx(final["fidelity"], abs=1e-9)
    assert final["fidelity"] >= 0.98


def test_crlqas_runs_on_a_state_task_with_the_infidelity_curriculum():
    agent = run("bell", "crlqas", 150, seed=0)
    assert agent.curriculum.lower_bound == 0.0
    assert agent.curriculum.threshold < 0.5  # moved towards the best infidelity
    assert any(r["success"] for r in agent.log)
    assert agent.evaluations[-1]["solved"]


# -- qwb qas run|bench: --hyper, --workers, clear errors ------------------------------------
def _qwb(*args):
    from typer.testing import CliRunner

    from qworkbench.cli import app

    return CliRunner().invoke(app, list(args))


def test_hyper_keys_are_checked_against_the_agent(tmp_path):
    result = _qwb("qas", "run", "--task", "bell", "--agent", "dqn", "--episodes", "2",
                  "--hyper", "nstep=3", "--out", str(tmp_path / "a"))  # fmt: skip
    assert result.exit_code == 2 and "nstep" in result.output and "n_step" in result.output
    result = _qwb("qas", "run", "--task", "bell", "--agent", "dqn", "--episodes", "2",
                  "--hyper", "lr", "--out", str(tmp_path / "b"))  # fmt: skip
    assert result.exit_code == 2 and "KEY=VALUE" in result.output


def test_out_under_a_file_is_one_clear_error(tmp_path):
    (tmp_path / "file").write_text("x")
    for command in (["qas", "run", "--task", "bell", "--episodes", "1"],
                    ["qas", "bench", "--tasks", "bell", "--agents", "random"]):  # fmt: skip
        result = _qwb(*command, "--out", str(tmp_path / "file" / "run"))
        assert result.exit_code == 2 and "is a file" in result.output
        assert "Traceback" not in result.output


def test_bench_refuses_a_pair_it_cannot_run_before_training(tmp_path):
    result = _qwb("qas", "bench", "--tasks", "bell", "--agents", "random,kanqas", "--seeds",
                  "1", "--episodes", "2", "--hyper", "grid_update_every=-1",
                  "--out", str(tmp_path))  # fmt: skip
    assert result.exit_code == 2 and "'kanqas' cannot run on task 'bell'" in result.output
    assert not (tmp_path / "results.jsonl").exists()  # nothing trained


def test_bench_workers_give_the_same_rows_and_settings_never_merge(tmp_path):
    from qworkbench.experiments.qas import bench
    from qworkbench.experiments.tables import aggregate, format_table

    common = dict(tasks=["bell"], agents=["dqn", "crlqas"], seeds=2, episodes=12)
    serial = bench(out=tmp_path / "serial", **common)
    parallel = bench(out=tmp_path / "parallel", workers=2, **common)
    drop = ("seconds", "wall_seconds", "episodes_per_s", "seconds_to_first",
            "greedy_seconds_to_first")  # fmt: skip
    assert [{k: v for k, v in r.items() if k not in drop} for r in serial] == [
        {k: v for k, v in r.items() if k not in drop} for r in parallel
    ]
    # crlqas runs on a state task: it has rows, the table is not empty
    assert {r["agent"] for r in serial} == {"dqn", "crlqas"}
    # another setting in the same folder is another line, and the table says so
    bench(out=tmp_path / "serial", tasks=["bell"], agents=["dqn"], seeds=1, episodes=5)
    rows = [__import__("json").loads(x)
            for x in (tmp_path / "serial" / "results.jsonl").read_text().splitlines()]  # fmt: skip
    table = aggregate(rows)
    dqn = [t for t in table if t["agent"] == "dqn"]
    assert sorted(t["seeds"] for t in dqn) == [1, 2]
    assert {t["settings"] for t in dqn} == {"episodes=12", "episodes=5"}
    assert "different settings" in format_table(table)


def test_identity_rotations_are_neither_written_nor_counted():
    # rz on |00> leaves the energy unchanged, so its fitted angle stays 0 (issue 16.22)
    env = QASEnv("tfim2", max_gates=3, seed=0)
    env.reset()
    index = {a.label: i for i, a in enumerate(env.actions)}
    env.step(index["rz[0]"])
    _, _, _, _, info = env.step(index["ry[1]"])
    circuit = env.circuit(bound=True)
    assert [op.name for op in circuit] == ["ry"] and info["gates"] == 1
    assert info["depth"] == circuit.to_qiskit().depth() == 1
    assert circuit.to_qasm(version=2).endswith("\n") and "rz" not in circuit.to_qasm(version=2)
    # the compacted circuit has the environment's energy (qiskit's exact expectation)
    state = Statevector(circuit.to_qiskit())
    energy = float(np.real(state.expectation_value(env.hamiltonian.to_qiskit())))
    assert energy == pytest.approx(info["energy"], abs=1e-10)


def test_resume_without_a_checkpoint_and_ctrl_c_say_so(tmp_path, monkeypatch):
    out = tmp_path / "run"
    result = _qwb("qas", "run", "--task", "bell", "--agent", "random", "--episodes", "3",
                  "--resume", "--out", str(out))  # fmt: skip
    assert result.exit_code == 0 and "starting from episode 0" in result.output
    assert len((out / "episodes.jsonl").read_text().splitlines()) == 3

    import agents.base

    real = agents.base.Agent.run_episode

    def interrupted(self, explore=True):  # Ctrl-C during the third episode
        if self.episode == 2:
            raise KeyboardInterrupt
        return real(self, explore)

    monkeypatch.setattr(agents.base.Agent, "run_episode", interrupted)
    result = _qwb("qas", "run", "--task", "bell", "--agent", "random", "--episodes", "5",
                  "--out", str(tmp_path / "stopped"))  # fmt: skip
    assert result.exit_code == 130 and "interrupted at episode 2" in result.output
    assert "--resume" in result.output and "Traceback" not in result.output


def test_updates_per_step_takes_that_many_gradient_steps_per_env_step():
    env = QASEnv("bell", max_gates=4, gate_set="kanqas", seed=0)
    for k in (1, 3):
        agent = make_agent("dqn", env, seed=0, hidden=(8,), batch_size=4, learning_starts=4,
                           n_step=1, updates_per_step=k)  # fmt: skip
        agent.train(6)
        # n-step 1: one transition per env step, so updates start at the 4th step
        assert agent.total_steps > 4
        assert agent.updates == k * (agent.total_steps - 3)
    fast = resolve("h2", "crlqas", "fast")
    assert fast.agent["updates_per_step"] == 4 and fast.agent["target_sync"] == 400
    assert resolve("h2", "kanqas", "fast").agent["kan_hidden"] == (32,)
    assert resolve("lih4", "crlqas", "paper").agent["updates_per_step"] == 1
    with pytest.raises(ValueError, match="updates_per_step"):
        make_agent("dqn", env, seed=0, updates_per_step=0)
