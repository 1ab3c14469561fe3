"""Detector sampling: our Pauli-frame sampler against Stim's compiled detector sampler.

    python benchmarks/stabilizer.py                 # d = 3..11, up to 1e6 shots, ~1 min
    python benchmarks/stabilizer.py --shots 1e7     # adds 1e7 shots
    python benchmarks/stabilizer.py --threads 0     # ours on every Numba thread

Stim's generated ``surface_code:rotated_memory_z`` circuits at distance d, d rounds,
after-Clifford depolarization 1e-3. Both samplers return bit-packed detection events
and observable flips (``bit_packed=True``), timed end to end including that output.
Stim runs on one thread; ours on ``--threads`` Numba threads (default 1) and, where
CuPy sees a GPU, on the GPU too. Prints a Markdown table of shots/s.
"""

from __future__ import annotations

import argparse
import json
import os
import time

import stim

from simulators.frames import FrameSimulator


def circuit(d: int) -> stim.Circuit:
    return stim.Circuit.generated(
        "surface_code:rotated_memory_z",
        distance=d,
        rounds=d,
        after_clifford_depolarization=1e-3,
    )


def best_rate(fn, shots: int, budget: float) -> float:
    """Shots/s of the fastest of a few calls (one warm-up call first), within ``budget`` s."""
    fn()
    best = float("inf")
    start = time.perf_counter()
    for _ in range(5):
        t = time.perf_counter()
        fn()
        best = min(best, time.perf_counter() - t)
        if time.perf_counter() - start > budget:
            break
    return shots / best


def rows(distances, shots_list, threads: int, budget: float) -> list[dict]:
    ours = FrameSimulator(device="cpu", num_threads=threads or None)
    gpu = FrameSimulator(device="gpu") if gpu_present() else None
    out = []
    for d in distances:
        c = circuit(d)
        sampler = c.compile_detector_sampler(seed=1)
        for shots in shots_list:
            row = {"d": d, "detectors": c.num_detectors, "shots": shots}
            row["stim"] = best_rate(
                lambda: sampler.sample(shots, separate_observables=True, bit_packed=True),
                shots,
                budget,
            )
            row["ours_cpu"] = best_rate(
                lambda: ours.sample_detectors(c, shots, seed=1, bit_packed=True), shots, budget
            )
            if gpu is not None:
                row["ours_gpu"] = best_rate(
                    lambda: gpu.sample_detectors(c, shots, seed=1, bit_packed=True), shots, budget
                )
            out.append(row)
            print(_line(row), flush=True)
    return out


def gpu_present() -> bool:
    return FrameSimulator(device="auto").device == "gpu"


def _line(row: dict) -> str:
    cells = [str(row["d"]), str(row["detectors"]), f"{row['shots']:.0e}",
             f"{row['stim'] / 1e6:.3f}M", f"{row['ours_cpu'] / 1e6:.3f}M",
             f"{row['ours_cpu'] / row['stim']:.2f}"]  # fmt: skip
    if "ours_gpu" in row:
        cells += [f"{row['ours_gpu'] / 1e6:.3f}M", f"{row['ours_gpu'] / row['stim']:.2f}"]
    return "| " + " | ".join(cells) + " |"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--distances", default="3,5,7,11")
    parser.add_argument("--shots", type=float, default=None, help="add this many shots (1e7)")
    parser.add_argument("--threads", type=int, default=1, help="Numba threads (0: all)")
    parser.add_argument("--budget", type=float, default=3.0, help="seconds per cell")
    parser.add_argument("--out", default="benchmarks/results/stabilizer.json")
    args = parser.parse_args()
    shots_list = [10**4, 10**5, 10**6] + ([int(args.shots)] if args.shots else [])
    gpu = gpu_present()
    head = "| d | detectors | shots | Stim shots/s | ours CPU | ratio |"
    print(head + (" ours GPU | ratio |" if gpu else ""))
    print("|---" * (8 if gpu else 6) + "|")
    out = rows([int(d) for d in args.distances.split(",")], shots_list, args.threads,
               args.budget)  # fmt: skip
    os.makedirs(os.path.dirname(args.out), exist_ok=True)
    with open(args.out, "w") as fh:
        json.dump({"threads": args.threads, "rows": out}, fh, indent=1)


if __name__ == "__main__":
    main()
