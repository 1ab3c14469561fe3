"""QAS benchmark: every agent on each task over seeds (``qwb qas bench``), plus the
time per episode of the ``paper`` preset, set against the reference codes' figures
measured on this machine (CPU, one thread; recorded in the issue and REPRODUCTION.md).

    python benchmarks/qas.py                       # h2_2q, h2, bell; about 10 minutes
    python benchmarks/qas.py --tasks h2,lih4,tfim4 --agents random,crlqas,gadget --seeds 3

Writes benchmarks/results/qas/{results.jsonl,table.md,table.csv} and
benchmarks/results/qas.json (the comparison with the references).
"""

from __future__ import annotations

import argparse
import json
import platform
import sys
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parent))

from qworkbench.experiments.qas import bench  # noqa: E402
from qworkbench.experiments.tables import aggregate, format_table  # noqa: E402

#: the reference implementations' figures on this machine (seconds of CPU per episode,
#: first success): CRLQAS's qulacs code (noiseless) and KANQAS's code.
REFERENCE = {
    ("h2", "crlqas"): {"seconds_per_episode": 12.6, "first_success": None},
    ("h2_2q", "crlqas"): {"seconds_per_episode": 2.3, "first_success": 500},
    ("bell", "dqn"): {"seconds_per_episode": 0.055, "first_success": None},
    ("bell", "kanqas"): {"seconds_per_episode": 0.75, "first_success": None},
}


def paper_preset_step_seconds(task: str, steps: int) -> float:
    """Seconds per environment step of the ``paper`` preset (5x1000 MLP, batch 1000,
    one gradient step per environment step, angle re-fitting included), learning from
    the 20th transition on (minibatches drawn with replacement) so every timed step
    trains the network. The reference: 0.8 s per gradient step on this machine."""
    import torch

    from agents import make_agent
    from agents.runner import make_env

    agent = make_agent("dqn", make_env(task, seed=0), preset="paper", seed=0,
                       learning_starts=20)  # fmt: skip
    torch.set_num_threads(agent.threads)  # as agent.train does: one thread
    while agent.total_steps < 20:
        agent.run_episode()
    first = agent.total_steps
    start = time.perf_counter()
    while agent.total_steps < first + steps:
        agent.run_episode()
    return (time.perf_counter() - start) / (agent.total_steps - first)


def main(argv=None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--tasks", default="h2_2q,h2,bell")
    parser.add_argument("--agents", default="random,dqn,crlqas,kanqas")
    parser.add_argument("--seeds", type=int, default=3)
    parser.add_argument("--episodes", type=int, default=300)
    parser.add_argument("--paper-steps", type=int, default=30,
                        help="environment steps timed with the paper preset (0 skips)")  # fmt: skip
    parser.add_argument("--gate-set", default=None, help="crlqas, kanqas, ibm_native")
    parser.add_argument("--out", default=str(HERE / "results" / "qas"))
    parser.add_argument("--json", default=str(HERE / "results" / "qas.json"))
    args = parser.parse_args(argv)
    tasks = [t for t in args.tasks.split(",") if t]
    agents = [a for a in args.agents.split(",") if a]

    def progress(i, total, cell):
        print(f"[{i + 1}/{total}] {cell['task']} / {cell['agent']} / seed {cell['seed']}",
              file=sys.stderr, flush=True)  # fmt: skip

    rows = bench(tasks, agents, seeds=args.seeds, episodes=args.episodes, out=args.out,
                 progress=progress, gate_set=args.gate_set)  # fmt: skip
    table = aggregate(rows)
    print(format_table(table))

    comparison = []
    for row in table:
        ref = REFERENCE.get((row["task"], row["agent"]))
        if ref is None:
            continue
        ours = 1.0 / row["episodes_per_s"]
        entry = {"task": row["task"], "agent": row["agent"], "ours_s_per_episode": ours,
                 "reference_s_per_episode": ref["seconds_per_episode"],
                 "speedup_per_episode": ref["seconds_per_episode"] / ours}  # fmt: skip
        if ref["first_success"] is not None and row["seconds_to_first_median"] is not None:
            ref_seconds = ref["first_success"] * ref["seconds_per_episode"]
            entry["reference_s_to_first"] = ref_seconds
            entry["ours_s_to_first"] = row["seconds_to_first_median"]
            entry["speedup_to_first"] = ref_seconds / row["seconds_to_first_median"]
        comparison.append(entry)
    paper = {}
    if args.paper_steps > 0:
        ours = paper_preset_step_seconds("h2", args.paper_steps)
        paper = {"task": "h2", "ours_s_per_step": ours, "reference_s_per_gradient_step": 0.8,
                 "ratio_ours_over_reference": ours / 0.8}  # fmt: skip
    result = {
        "machine": f"{platform.machine()}, {platform.python_version()}",
        "tasks": tasks, "agents": agents, "seeds": args.seeds, "episodes": args.episodes,
        "table": table, "comparison": comparison, "paper_preset": paper,
    }  # fmt: skip
    Path(args.json).write_text(json.dumps(result, indent=2))
    for entry in comparison:
        print(json.dumps(entry))
    if paper:
        print(json.dumps(paper))


if __name__ == "__main__":
    main()
