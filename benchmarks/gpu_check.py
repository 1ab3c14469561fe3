"""`make gpu-check`: the GPU tests and the GPU benchmark in one call (at most 8 minutes).

On a machine where CuPy sees a CUDA device it runs, each under a share of the time
budget, and writes everything under ``--out`` (default ``runs/gpu-check/``):

1. ``pytest -m gpu`` (``pytest.txt``, ``junit.xml``);
2. statevector passes at n = 24-30, complex64 and complex128: the layered random
   circuit of ``benchmarks/statevector.py`` and one 1-qubit gate pass, as effective
   GB/s against the device's measured copy bandwidth (``statevector.json``); the
   issue's target is 70% of the copy bandwidth per pass at n >= 28;
3. the batched small-circuit workload (the QAS workload of ``sim_bench``: 20
   parameterised gates, a Pauli sum, thousands of parameter sets in one call);
4. the Pauli-frame sampler's GPU column (``benchmarks/stabilizer.py``), when Stim is
   installed.

``summary.md`` collects the tables. Without CUDA it prints that it found none and
exits 0.

The GPU image has PyTorch, CuPy and NumPy but not Qiskit, PennyLane or Stim, so this
script imports none of them at the top level; GPU test files that need them skip
(``importorskip``) and the Stim column is left out. To run those too, carry wheels
for qiskit, pennylane and stim with the working tree and install them on the device
first (``pip install --no-index wheels/*.whl``; the device machine reaches no package
index, see the device notes of this workspace).
"""

from __future__ import annotations

import argparse
import importlib.util
import json
import os
import subprocess
import sys
import time

BUDGET_S = 8 * 60


def cuda_device() -> str | None:
    """The first CUDA device's name, or None without CuPy or a device."""
    try:
        import cupy

        if cupy.cuda.runtime.getDeviceCount() < 1:
            return None
        props = cupy.cuda.runtime.getDeviceProperties(0)
        name = props["name"]
        return name.decode() if isinstance(name, bytes) else str(name)
    except Exception:  # no CuPy, no driver, no device
        return None


def _gpu_time(fn, repeats: int = 3) -> float:
    """Median seconds of ``fn`` on the device, after one warm-up run."""
    import cupy

    fn()
    cupy.cuda.Device().synchronize()
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        fn()
        cupy.cuda.Device().synchronize()
        times.append(time.perf_counter() - start)
    return sorted(times)[len(times) // 2]


def copy_bandwidth(n: int, dtype) -> float:
    """GB/s (read + write) of a device-to-device copy of a 2**n state."""
    import cupy

    src = cupy.ones(1 << n, dtype=dtype)
    dst = cupy.empty_like(src)
    seconds = _gpu_time(lambda: cupy.copyto(dst, src), repeats=5)
    return 2 * src.nbytes / seconds / 1e9


def statevector_rows(sizes, deadline: float) -> list[dict]:
    import cupy
    import numpy as np

    from qworkbench.experiments.sim_bench import layered_circuit
    from simulators import get_simulator

    free = cupy.cuda.runtime.memGetInfo()[0]
    rows = []
    for precision, dtype in (("single", np.complex64), ("double", np.complex128)):
        for n in sizes:
            if time.monotonic() > deadline:
                print(f"  statevector: out of time before n={n} {precision}", flush=True)
                return rows
            nbytes = (1 << n) * np.dtype(dtype).itemsize
            if 3 * nbytes > free:  # the state, a copy for the bandwidth, headroom
                print(f"  statevector: n={n} {precision} needs {3 * nbytes / 2**30:.0f} GiB")
                continue
            copy = copy_bandwidth(n, dtype)
            sim = get_simulator("statevector", device="gpu", precision=precision)
            kernels = sim.kernels
            state = kernels.zero_state(1, n, dtype)
            gate = kernels.asarray(np.array([[[0.6, 0.8], [0.8, -0.6]]]), dtype)
            one = _gpu_time(lambda: kernels.apply_matrix(state, (n // 2,), gate))
            state = None  # free it before the circuit runs
            circuit = layered_circuit(n, 10, seed=n)
            plan = sim._plans.get(circuit, sim.fusion)[0]
            seconds = _gpu_time(lambda: sim.statevector(circuit, as_numpy=False), repeats=2)
            passes = len(plan.steps)
            row = {
                "n": n,
                "precision": precision,
                "copy_GBps": copy,
                "one_gate_GBps": 2 * nbytes / one / 1e9,
                "layered_ms": seconds * 1e3,
                "layered_passes": passes,
                "layered_pass_GBps": 2 * nbytes * passes / seconds / 1e9,
            }
            row["one_gate_fraction"] = row["one_gate_GBps"] / copy
            row["layered_fraction"] = row["layered_pass_GBps"] / copy
            rows.append(row)
            print(f"  n={n} {precision}: copy {copy:.0f} GB/s, one gate "
                  f"{row['one_gate_GBps']:.0f} GB/s ({row['one_gate_fraction']:.0%}), "
                  f"layered {seconds * 1e3:.1f} ms over {passes} passes "
                  f"({row['layered_fraction']:.0%})", flush=True)  # fmt: skip
            cupy.get_default_memory_pool().free_all_blocks()
    return rows


def batched_rows(deadline: float) -> list[dict]:
    import numpy as np

    from qworkbench.experiments.sim_bench import qas_workload
    from simulators import get_simulator

    rows = []
    for n in (4, 8, 12, 16):
        for batch in (1_000, 100_000):
            if time.monotonic() > deadline:
                return rows
            circuit, ham, params = qas_workload(n, seed=n)
            params = np.resize(params, (batch, params.shape[1]))
            sim = get_simulator("statevector", device="gpu")
            seconds = _gpu_time(lambda: sim.expval(circuit, ham, params), repeats=3)
            rows.append({"n": n, "batch": batch, "evals_per_s": batch / seconds})
            print(f"  batched n={n} batch={batch}: {batch / seconds:,.0f} evals/s", flush=True)
    return rows


def run_step(cmd: list[str], log: str, timeout: float) -> int:
    """``cmd`` with its output in ``log``; its exit status (124 when it ran out of time)."""
    with open(log, "w") as fh:
        try:
            return subprocess.run(cmd, stdout=fh, stderr=subprocess.STDOUT,
                                  timeout=max(timeout, 1)).returncode  # fmt: skip
        except subprocess.TimeoutExpired:
            fh.write(f"\n(stopped after {timeout:.0f} s)\n")
            return 124


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", default="runs/gpu-check")
    parser.add_argument("--sizes", type=int, nargs="*", default=[24, 26, 28, 30])
    parser.add_argument("--budget", type=float, default=BUDGET_S, help="seconds in all")
    args = parser.parse_args(argv)

    device = cuda_device()
    if device is None:
        print("gpu-check: no CUDA device found (CuPy missing or no GPU visible); nothing to do")
        return 0
    start = time.monotonic()
    end = start + args.budget - 15  # leave time to write the results
    os.makedirs(args.out, exist_ok=True)
    print(f"gpu-check on {device}; results in {args.out}/", flush=True)
    results: dict = {"device": device}

    print("1. pytest -m gpu", flush=True)
    tests_until = start + 0.35 * args.budget
    status = run_step(
        [sys.executable, "-m", "pytest", "-m", "gpu", "-q", "-p", "no:cacheprovider",
         f"--junitxml={args.out}/junit.xml", "tests"],
        f"{args.out}/pytest.txt", tests_until - time.monotonic(),
    )  # fmt: skip
    with open(f"{args.out}/pytest.txt") as fh:
        tail = fh.read().strip().splitlines()[-1:] or [""]
    results["pytest"] = {"exit": status, "summary": tail[0]}
    print(f"   exit {status}: {tail[0]}", flush=True)

    print("2. statevector passes", flush=True)
    results["statevector"] = statevector_rows(args.sizes, start + 0.75 * args.budget)
    print("3. batched small circuits", flush=True)
    results["batched"] = batched_rows(start + 0.85 * args.budget)

    print("4. Pauli-frame sampler (benchmarks/stabilizer.py)", flush=True)
    if importlib.util.find_spec("stim") is None:
        results["frames"] = "skipped: stim is not installed (carry its wheel)"
    else:
        status = run_step(
            [sys.executable, "benchmarks/stabilizer.py", "--distances", "3,5,7",
             "--budget", "1", "--out", f"{args.out}/stabilizer.json"],
            f"{args.out}/stabilizer.txt", end - time.monotonic(),
        )  # fmt: skip
        results["frames"] = {"exit": status, "log": f"{args.out}/stabilizer.txt"}
    print(f"   {results['frames']}", flush=True)

    results["seconds"] = time.monotonic() - start
    with open(f"{args.out}/results.json", "w") as fh:
        json.dump(results, fh, indent=1)
    with open(f"{args.out}/summary.md", "w") as fh:
        fh.write(summary(results))
    print(summary(results))
    return 0 if results["pytest"]["exit"] in (0, 5) else 1


def summary(results: dict) -> str:
    lines = [f"# gpu-check on {results['device']}", "",
             f"pytest -m gpu: exit {results['pytest']['exit']}, {results['pytest']['summary']}",
             "", "| n | precision | copy GB/s | 1-qubit pass GB/s (share) | layered ms | "
             "passes | GB/s per pass (share) |", "|---|---|---|---|---|---|---|"]  # fmt: skip
    for r in results["statevector"]:
        lines.append(f"| {r['n']} | {r['precision']} | {r['copy_GBps']:.0f} | "
                     f"{r['one_gate_GBps']:.0f} ({r['one_gate_fraction']:.0%}) | "
                     f"{r['layered_ms']:.1f} | {r['layered_passes']} | "
                     f"{r['layered_pass_GBps']:.0f} ({r['layered_fraction']:.0%}) |")  # fmt: skip
    lines += ["", "| n | batch | evals/s |", "|---|---|---|"]
    lines += [f"| {r['n']} | {r['batch']} | {r['evals_per_s']:,.0f} |" for r in results["batched"]]
    lines += ["", f"Pauli frames: {results['frames']}", f"total {results['seconds']:.0f} s", ""]
    return "\n".join(lines)


if __name__ == "__main__":
    sys.exit(main())
