"""KAN Q-network step time: our KAN (agents.kan) against an MLP of the same input and
output sizes and, when installed, pykan's KAN (the library KANQAS used).

    python benchmarks/kan.py            # about a minute

One "step" is one double-DQN update as the QAS agents do it: Q(s) of the online net
with gradient, Q(s') of the online and target nets without, a Smooth-L1 loss, backward
and an Adam step. Sizes are QAS observations (depth L x gate rows x N one-hot, plus the
energy) and action counts: Bell (N=2, L=6, KANQAS gates), GHZ-3 (N=3, L=10), H2-4q
(N=4, L=40, CRLQAS gates). The MLP is KANQAS's DDQN network (3 x 30, LeakyReLU); the
KANs have widths [inputs, 2, actions], G = 5, k = 3. "adaptive" is our KAN after a
quantile grid refit (non-uniform knots, the general path). One CPU thread.

Prints a Markdown table and writes benchmarks/results/kan.json.
"""

from __future__ import annotations

import copy
import json
import os
import platform
import sys

import torch
from torch import nn

from agents.kan import KAN
from qworkbench.experiments.timing import timeit

SIZES = {"bell": (85, 12), "ghz3": (241, 21), "h2_4q": (1121, 24)}
BATCHES = (32, 1000)
GAMMA = 0.9
ROUNDS = 5


def mlp(n_in: int, n_out: int) -> nn.Module:
    return nn.Sequential(
        nn.Linear(n_in, 30), nn.LeakyReLU(), nn.Linear(30, 30), nn.LeakyReLU(),
        nn.Linear(30, 30), nn.LeakyReLU(), nn.Linear(30, n_out),
    )  # fmt: skip


def import_pykan():
    """pykan's package is named ``kan``, like this script: hide the script's folder."""
    here = os.path.dirname(os.path.abspath(__file__))
    saved = sys.path[:]
    sys.path[:] = [p for p in sys.path if os.path.abspath(p or os.curdir) != here]
    try:
        import kan
    except ImportError:
        return None
    finally:
        sys.path[:] = saved
    return kan


def pykan(n_in: int, n_out: int, fast: bool) -> nn.Module | None:
    kan = import_pykan()
    if kan is None:
        return None
    PyKAN = kan.KAN
    # KANQAS ran pykan with its defaults; "fast" turns off the symbolic branch and the
    # activation statistics pykan records on every forward pass
    extra = {"symbolic_enabled": False, "save_act": False} if fast else {}
    net = PyKAN(width=[n_in, 2, n_out], grid=5, k=3, seed=0, auto_save=False, **extra)
    return net


def ddqn_step(net: nn.Module, batch: dict):
    target = copy.deepcopy(net)
    opt = torch.optim.Adam(net.parameters(), lr=1e-3)
    loss_fn = nn.SmoothL1Loss()

    def step():
        q = net(batch["s"]).gather(1, batch["a"][:, None]).squeeze(1)
        with torch.no_grad():
            best = net(batch["s2"]).argmax(1, keepdim=True)
            y = batch["r"] + GAMMA * target(batch["s2"]).gather(1, best).squeeze(1)
        loss = loss_fn(q, y)
        opt.zero_grad()
        loss.backward()
        opt.step()

    return step


def one_hot_batch(n_in: int, n_out: int, size: int, seed: int) -> dict:
    g = torch.Generator().manual_seed(seed)

    def states():
        s = (torch.rand(size, n_in, generator=g) < 0.05).float()
        s[:, -1] = torch.rand(size, generator=g) * 2 - 1  # energy / fidelity entry
        return s

    return {
        "s": states(),
        "s2": states(),
        "a": torch.randint(n_out, (size,), generator=g),
        "r": torch.rand(size, generator=g),
    }


def main() -> None:
    torch.set_num_threads(1)
    rows = []
    for task, (n_in, n_out) in SIZES.items():
        for size in BATCHES:
            batch = one_hot_batch(n_in, n_out, size, seed=0)
            adaptive = KAN([n_in, 2, n_out], seed=0)
            adaptive.update_grid(one_hot_batch(n_in, n_out, 1000, seed=1)["s"])
            nets = {
                "mlp 3x30": mlp(n_in, n_out),
                "ours kan": KAN([n_in, 2, n_out], seed=0),
                "ours kan adaptive": adaptive,
            }
            for name, fast in (("pykan", False), ("pykan fast", True)):
                net = pykan(n_in, n_out, fast)
                if net is not None and n_in * size <= 300 * 1000:
                    nets[name] = net
            steps = {name: ddqn_step(net, batch) for name, net in nets.items()}
            # rounds interleave the models so load from other processes hits all alike;
            # the best round's median counts
            times = dict.fromkeys(steps, float("inf"))
            for _ in range(ROUNDS):
                for name, step in steps.items():
                    repeats = 3 if name.startswith("pykan") else 15
                    times[name] = min(times[name], timeit(step, repeats=repeats))
            for name, seconds in times.items():
                rows.append({
                    "task": task, "inputs": n_in, "actions": n_out, "batch": size,
                    "model": name, "ms_per_step": 1e3 * seconds,
                    "ratio_to_mlp": seconds / times["mlp 3x30"],
                })  # fmt: skip
    print("| task | in | out | batch | model | ms/step | x MLP |")
    print("|---|---|---|---|---|---|---|")
    for r in rows:
        print(f"| {r['task']} | {r['inputs']} | {r['actions']} | {r['batch']} | {r['model']} "
              f"| {r['ms_per_step']:.3f} | {r['ratio_to_mlp']:.2f} |")  # fmt: skip
    out = os.path.join(os.path.dirname(os.path.abspath(__file__)), "results", "kan.json")
    meta = {"torch": torch.__version__, "threads": 1, "machine": platform.machine(),
            "python": platform.python_version()}  # fmt: skip
    meta["pykan"] = None
    if import_pykan() is not None:
        from importlib.metadata import version

        meta["pykan"] = version("pykan")
    with open(out, "w") as fh:
        json.dump({"meta": meta, "rows": rows}, fh, indent=1)


if __name__ == "__main__":
    main()
