"""Statevector benchmark: qworkbench against qsim, qiskit-aer, PennyLane lightning.qubit
and qulacs, side by side in one process; medians of repeated runs, reported as ratios.

    python benchmarks/statevector.py                      # everything (long)
    python benchmarks/statevector.py --sizes 16 20 --qas  # a subset
    python benchmarks/statevector.py --no-qas --threads 1 2 --simulators "fusion 2" qsim lightning

The layered circuits run at each ``--threads`` count and end with a table of
ours/qsim and ours/lightning.qubit.

Writes a JSON file of rows (``--out``) and prints Markdown tables for BENCHMARKS.md.
``benchmarks/statevector.py`` and ``qwb bench sim`` both call :func:`main`.
"""

# ruff: noqa: B023 - the benchmark closures are called inside the loop that defines them

from __future__ import annotations

import argparse
import json
import os
import platform
import time
from dataclasses import asdict, dataclass

import numpy as np

from qworkbench import Circuit, Parameter, PauliSum
from qworkbench.experiments import peers
from qworkbench.experiments.timing import timeit


@dataclass(frozen=True)
class Row:
    suite: str
    n: int
    precision: str
    simulator: str
    seconds: float
    value: float  # GB/s (layered) or evaluations per second (qas)
    threads: int = 0  # 0: the machine's default


def layered_circuit(n: int, layers: int, seed: int) -> Circuit:
    """Every qubit gets a random rotation, then a brick of CNOTs; ``layers`` times."""
    rng = np.random.default_rng(seed)
    c = Circuit(n)
    for layer in range(layers):
        for q in range(n):
            c.append(("rx", "ry", "rz")[rng.integers(3)], [q], [float(rng.uniform(0, 2 * np.pi))])
        for q in range(layer % 2, n - 1, 2):
            c.cx(q, q + 1)
    return c


def copy_bandwidth(n: int, dtype) -> float:
    """GB/s (bytes read + written) of the faster of NumPy's copy and a parallel Numba
    copy (all cores) of a 2**n state: the ceiling a memory-bound gate pass can reach."""
    import numba

    @numba.njit(parallel=True)
    def parallel_copy(dst, src):
        for i in numba.prange(src.shape[0]):
            dst[i] = src[i]

    src = np.ones(1 << n, dtype=dtype)
    dst = np.empty_like(src)
    parallel_copy(dst, src)
    np.copyto(dst, src)
    best = min(
        min(_timed(lambda: np.copyto(dst, src)), _timed(lambda: parallel_copy(dst, src)))
        for _ in range(5)
    )
    return 2 * src.nbytes / best / 1e9


def _timed(fn) -> float:
    start = time.perf_counter()
    fn()
    return time.perf_counter() - start


def single_gate_bandwidth(n: int, precision: str) -> float:
    """GB/s of one 1-qubit gate pass of our kernels (bytes read + written)."""
    from simulators import CpuKernels

    dtype = np.complex128 if precision == "double" else np.complex64
    k = CpuKernels()
    state = k.zero_state(1, n, dtype)
    mat = np.array([[[0.6, 0.8], [0.8, -0.6]]], dtype=dtype)
    k.apply_matrix(state, (n // 2,), mat)
    best = min(_timed(lambda: k.apply_matrix(state, (n // 2,), mat)) for _ in range(5))
    return 2 * state.nbytes / best / 1e9


_LAYERED = {  # name -> prepare(circuit, precision, threads)
    "qworkbench (fusion 2)": lambda c, p, t: peers.prepare_ours(c, p, 2),
    "qworkbench (fusion 3)": lambda c, p, t: peers.prepare_ours(c, p, 3),
    "qworkbench (no fusion)": lambda c, p, t: peers.prepare_ours(c, p, 0),
    "qsim": lambda c, p, t: peers.prepare_qsim(c, p, t),
    "qiskit-aer (fusion)": lambda c, p, t: peers.prepare_aer(c, p, True, t),
    "qiskit-aer (no fusion)": lambda c, p, t: peers.prepare_aer(c, p, False, t),
    "lightning.qubit": lambda c, p, t: peers.prepare_lightning(c, p),
    "qulacs": lambda c, p, t: peers.prepare_qulacs(c, p),
    "qulacs (fusion 2)": lambda c, p, t: peers.prepare_qulacs(c, p, 2),
}


def layered_suite(sizes, precisions, layers: int, repeats: int, threads=(0,),
                  simulators=None) -> list[Row]:  # fmt: skip
    """Every simulator on the layered circuit at each size, precision and thread count
    (0: the machine's default). Numba, qsim and Aer take the thread count directly; the
    OpenMP peers (lightning.qubit, qulacs) are capped with threadpoolctl."""
    import numba
    from threadpoolctl import threadpool_limits

    default_threads = numba.get_num_threads()
    names = [k for k in _LAYERED if simulators is None or any(s in k for s in simulators)]
    rows = []
    for n in sizes:
        circuit = layered_circuit(n, layers, seed=n)
        for t in threads:
            numba.set_num_threads(t or default_threads)
            for precision in precisions:
                itemsize = 16 if precision == "double" else 8
                traffic = 2 * itemsize * (1 << n) * len(circuit)  # one read+write per gate
                reps = repeats if n < 24 else max(1, repeats // 2)
                for name in names:
                    fn = _LAYERED[name](circuit, precision, t)
                    if fn is None:
                        continue
                    with threadpool_limits(limits=t or None, user_api="openmp"):
                        seconds = timeit(fn, reps)
                    rows.append(Row("layered", n, precision, name, seconds,
                                    traffic / seconds / 1e9, t))  # fmt: skip
                    print(f"  layered n={n} threads={t} {precision:6s} {name:24s} "
                          f"{seconds * 1e3:10.2f} ms", flush=True)  # fmt: skip
    numba.set_num_threads(default_threads)
    return rows


def qas_workload(n: int, seed: int):
    """20 parameterised gates (RY/RZ) with a CNOT ladder, a random Pauli-sum Hamiltonian
    of 15-100 terms, and 1,000 parameter sets."""
    rng = np.random.default_rng(seed)
    c = Circuit(n)
    k = 0
    while k < 20:
        for q in range(n):
            if k == 20:
                break
            c.append("ry" if k % 2 == 0 else "rz", [q], [Parameter(f"p{k}")])
            k += 1
        for q in range(n - 1):
            c.cx(q, q + 1)
    terms = int(np.clip(5 * n, 15, 100))
    labels = ["".join(rng.choice(list("IXYZ"), n)) for _ in range(terms)]
    ham = PauliSum.from_list(list(zip(labels, rng.normal(size=terms))))
    params = rng.uniform(-np.pi, np.pi, (1000, 20))
    return c, ham, params


def qas_suite(sizes, repeats: int) -> list[Row]:
    import pennylane as qml
    import qulacs
    from qiskit_aer import AerSimulator

    from simulators import get_simulator

    rows = []
    for n in sizes:
        circuit, ham, params = qas_workload(n, seed=n)
        batch = len(params)
        sim = get_simulator("statevector", device="cpu")

        def ours_batched():
            return sim.expval(circuit, ham, params)

        def ours_loop():
            return [sim.expval(circuit, ham, p) for p in params]

        # qulacs: parametric circuit, parameters updated in place
        qc = qulacs.ParametricQuantumCircuit(n)
        slots = []
        for op in circuit:
            if op.name == "cx":
                qc.add_CNOT_gate(*op.qubits)
            else:
                getattr(qc, f"add_parametric_{op.name.upper()}_gate")(op.qubits[0], 0.0)
                slots.append(circuit.parameters.index(op.params[0]))
        obs = qulacs.Observable(n)
        for label, coeff in ham.to_list():
            term = " ".join(f"{p} {n - 1 - i}" for i, p in enumerate(label) if p != "I")
            obs.add_operator(coeff.real, term)
        state = qulacs.QuantumState(n)

        def qulacs_loop():
            out = []
            for p in params:
                for i, s in enumerate(slots):
                    qc.set_parameter(i, -p[s])
                state.set_zero_state()
                qc.update_quantum_state(state)
                out.append(obs.get_expectation_value(state))
            return out

        dev = qml.device("lightning.qubit", wires=n)
        qfunc = circuit.to_pennylane()
        pl_ham = qml.Hamiltonian(
            [c.real for c in ham.coeffs],
            [qml.pauli.string_to_pauli_word(lab, wire_map={i: i for i in range(n)})
             for lab in ham.labels()],
        )  # fmt: skip

        @qml.qnode(dev, diff_method="adjoint")
        def pl_energy(p):
            qfunc(p)
            return qml.expval(pl_ham)

        pl_params = qml.numpy.array(params, requires_grad=False)

        def lightning_broadcast():
            return pl_energy(pl_params.T)

        aer = AerSimulator(method="statevector")
        aer_qc = circuit.to_qiskit()
        aer_qc.save_expectation_value(ham.to_qiskit(), range(n))
        aer_params = {p: params[:, circuit.parameters.index(Parameter(p.name))].tolist()
                      for p in aer_qc.parameters}  # fmt: skip

        def aer_batched():
            return aer.run(aer_qc, parameter_binds=[aer_params], shots=1).result()

        candidates = {
            "qworkbench (batched)": ours_batched,
            "qworkbench (loop)": ours_loop,
            "qulacs (loop)": qulacs_loop,
            "lightning.qubit (broadcast)": lightning_broadcast,
            "qiskit-aer (parameter_binds)": aer_batched,
        }
        for name, fn in candidates.items():
            seconds = timeit(fn, repeats)
            rows.append(Row("qas", n, "double", name, seconds, batch / seconds))
            print(f"  qas n={n} {name:30s} {batch / seconds:12.0f} evals/s", flush=True)

        # gradients over the 20 parameters, for 100 parameter sets
        sub = params[:100]
        grad_params = qml.numpy.array(sub, requires_grad=True)

        def ours_grad():
            return sim.gradient(circuit, ham, sub)

        def lightning_grad():
            return [qml.grad(pl_energy)(p) for p in grad_params]

        def qulacs_grad():
            out = []
            for p in sub:
                for i, s in enumerate(slots):
                    qc.set_parameter(i, -p[s])
                out.append(qc.backprop(obs))
            return out

        for name, fn in {
            "qworkbench adjoint (batched)": ours_grad,
            "qulacs backprop (loop)": qulacs_grad,
            "lightning.qubit adjoint (loop)": lightning_grad,
        }.items():
            seconds = timeit(fn, max(1, repeats // 2))
            rows.append(Row("qas-gradient", n, "double", name, seconds, len(sub) / seconds))
            print(f"  grad n={n} {name:30s} {len(sub) / seconds:12.0f} gradients/s", flush=True)
    return rows


def markdown(rows: list[Row]) -> str:
    lines = []
    layered = [r for r in rows if r.suite == "layered"]
    if layered:
        lines += ["| n | precision | threads | simulator | ms / circuit | effective GB/s "
                  "| vs fastest peer |", "|---|---|---|---|---|---|---|"]  # fmt: skip
        for key in sorted({(r.n, r.precision, r.threads) for r in layered}):
            group = [r for r in layered if (r.n, r.precision, r.threads) == key]
            peers = [r.seconds for r in group if not r.simulator.startswith("qworkbench")]
            best = min(peers) if peers else float("nan")
            for r in sorted(group, key=lambda r: r.seconds):
                lines.append(
                    f"| {r.n} | {r.precision} | {r.threads or 'all'} | {r.simulator} | "
                    f"{r.seconds * 1e3:.1f} | {r.value:.1f} | {r.seconds / best:.2f}x |"
                )
        lines += ["", ratio_table(layered)]
    for suite, unit in (("qas", "evals/s"), ("qas-gradient", "gradients/s")):
        group_rows = [r for r in rows if r.suite == suite]
        if not group_rows:
            continue
        lines += ["", f"| n | simulator | {unit} | vs fastest peer |", "|---|---|---|---|"]
        for n in sorted({r.n for r in group_rows}):
            group = [r for r in group_rows if r.n == n]
            best = max(r.value for r in group if not r.simulator.startswith("qworkbench"))
            for r in sorted(group, key=lambda r: -r.value):
                lines.append(f"| {n} | {r.simulator} | {r.value:,.0f} | {r.value / best:.2f}x |")
    return "\n".join(lines)


def ratio_table(rows: list[Row], ours: str = "qworkbench (fusion 2)") -> str:
    """ours/qsim and ours/lightning.qubit per size, precision and thread count (qsim is
    float32 in both columns)."""
    lines = ["| n | precision | threads | ours ms | ours / qsim | ours / lightning.qubit |",
             "|---|---|---|---|---|---|"]  # fmt: skip
    by = {(r.n, r.precision, r.threads, r.simulator): r.seconds for r in rows}
    for n, precision, t in sorted({(r.n, r.precision, r.threads) for r in rows}):
        mine = by.get((n, precision, t, ours))
        if mine is None:
            continue
        qsim = by.get((n, "single", t, "qsim"), by.get((n, precision, t, "qsim")))
        light = by.get((n, precision, t, "lightning.qubit"))
        cells = [f"{mine / other:.2f}" if other else "-" for other in (qsim, light)]
        lines.append(f"| {n} | {precision} | {t or 'all'} | {mine * 1e3:.1f} | "
                     f"{cells[0]} | {cells[1]} |")  # fmt: skip
    return "\n".join(lines)


def main(argv: list[str] | None = None, prog: str | None = None) -> None:
    """Run the benchmark with command-line arguments ``argv`` (default ``sys.argv[1:]``)."""
    parser = argparse.ArgumentParser(prog=prog, description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", type=int, nargs="*", default=[16, 18, 20, 22, 24, 26])
    parser.add_argument(
        "--threads",
        type=int,
        nargs="*",
        default=[1, 2],
        help="thread counts for the layered circuits (0: the default)",
    )
    parser.add_argument(
        "--simulators",
        nargs="*",
        default=None,
        help="only the layered simulators whose names contain one of these",
    )
    parser.add_argument("--precisions", nargs="*", default=["double", "single"])
    parser.add_argument("--layers", type=int, default=10)
    parser.add_argument("--repeats", type=int, default=5)
    parser.add_argument("--qas", action="store_true", help="run only the QAS workload")
    parser.add_argument("--no-qas", action="store_true", help="skip the QAS workload")
    parser.add_argument("--out", default="benchmarks/results/statevector.json")
    args = parser.parse_args(argv)

    print(f"machine: {platform.machine()}, {os.cpu_count()} cores")
    for precision, dtype in (("double", np.complex128), ("single", np.complex64)):
        print(f"copy bandwidth ({precision}, 2**24): {copy_bandwidth(24, dtype):.1f} GB/s; "
              f"our 1-qubit pass: {single_gate_bandwidth(24, precision):.1f} GB/s")  # fmt: skip
    rows: list[Row] = []
    if not args.qas:
        rows += layered_suite(args.sizes, args.precisions, args.layers, args.repeats,
                              args.threads, args.simulators)  # fmt: skip
    if not args.no_qas:
        rows += qas_suite([4, 6, 8], args.repeats)
    os.makedirs(os.path.dirname(args.out), exist_ok=True)
    tmp = args.out + ".tmp"
    with open(tmp, "w") as fh:
        json.dump([asdict(r) for r in rows], fh, indent=1)
    os.replace(tmp, args.out)
    print(markdown(rows))
