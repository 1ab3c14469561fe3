"""Noisy and stabilizer benchmark: our density-matrix simulator against qiskit-aer's
density_matrix method and PennyLane's default.mixed, and our Stim path against Stim.

    python benchmarks/noisy.py            # a few minutes

Prints Markdown tables for BENCHMARKS.md and writes benchmarks/results/noisy.json.
"""

from __future__ import annotations

import json
import os

import numpy as np

from qworkbench import Circuit, Parameter, PauliSum
from qworkbench.experiments.timing import timeit
from simulators import get_simulator
from simulators.noise import NoiseModel

P1, P2 = 0.001, 0.01


def workload(n: int, seed: int):
    """30 gates: parameterised RY/RZ rotations and CNOTs, depolarizing after each."""
    rng = np.random.default_rng(seed)
    c, k = Circuit(n), 0
    while len(c) < 30:
        if rng.random() < 0.6:
            c.append(("ry", "rz")[rng.integers(2)], [int(rng.integers(n))], [Parameter(f"p{k}")])
            k += 1
        else:
            a, b = rng.choice(n, 2, replace=False).tolist()
            c.cx(a, b)
    labels = ["".join(rng.choice(list("IXYZ"), n)) for _ in range(10)]
    ham = PauliSum.from_list(list(zip(labels, rng.normal(size=10))))
    return c, ham, rng.uniform(-np.pi, np.pi, (256, c.num_parameters))


def density_rows(n: int) -> list[dict]:
    import pennylane as qml
    from qiskit_aer import AerSimulator
    from qiskit_aer.noise import NoiseModel as AerNoise
    from qiskit_aer.noise import depolarizing_error

    circuit, ham, params = workload(n, n)
    ours = get_simulator("density_matrix", device="cpu", noise=NoiseModel.depolarizing(P1, P2))
    aer_noise = AerNoise()
    aer_noise.add_all_qubit_quantum_error(depolarizing_error(P1, 1), ["ry", "rz"])
    aer_noise.add_all_qubit_quantum_error(depolarizing_error(P2, 2), ["cx"])
    aer = AerSimulator(method="density_matrix", noise_model=aer_noise)
    qc = circuit.to_qiskit()
    qc.save_expectation_value(ham.to_qiskit(), range(n))
    binds = {p: params[:, circuit.parameters.index(Parameter(p.name))].tolist()
             for p in qc.parameters}  # fmt: skip
    one = {p: [v[0]] for p, v in binds.items()}

    dev = qml.device("default.mixed", wires=n)
    wire = {q: n - 1 - q for q in range(n)}
    pl_ham = qml.Hamiltonian(
        [c.real for c in ham.coeffs],
        [qml.pauli.string_to_pauli_word(lab, wire_map={i: i for i in range(n)})
         for lab in ham.labels()],
    )  # fmt: skip

    @qml.qnode(dev)
    def mixed(p):
        k = 0
        for op in circuit:
            if op.name == "cx":
                qml.CNOT(wires=[wire[q] for q in op.qubits])
                for q in op.qubits:  # a 2-qubit depolarizing channel is not in PennyLane
                    qml.DepolarizingChannel(P2 * 3 / 4, wires=wire[q])
            else:
                getattr(qml, op.name.upper())(p[k], wires=wire[op.qubits[0]])
                qml.DepolarizingChannel(P1 * 3 / 4, wires=wire[op.qubits[0]])
                k += 1
        return qml.expval(pl_ham)

    cases = {
        "qworkbench": (lambda: ours.expval(circuit, ham, params[0]),
                       lambda: ours.expval(circuit, ham, params)),
        "qiskit-aer density_matrix": (
            lambda: aer.run(qc, parameter_binds=[one]).result(),
            lambda: aer.run(qc, parameter_binds=[binds]).result(),
        ),
        "PennyLane default.mixed": (lambda: mixed(params[0]), None),
    }  # fmt: skip
    rows = []
    for name, (single, batch) in cases.items():
        t1 = timeit(single)
        tb = timeit(batch, 3) / len(params) if batch else None
        rows.append({"n": n, "simulator": name, "ms_per_circuit": t1 * 1e3,
                     "ms_per_circuit_batched": None if tb is None else tb * 1e3})  # fmt: skip
        print(f"  n={n} {name:28s} {t1 * 1e3:8.3f} ms  batched "
              f"{'-' if tb is None else f'{tb * 1e3:.4f} ms'}", flush=True)  # fmt: skip
    return rows


def stim_rows() -> list[dict]:
    import stim

    rows = []
    n, gates = 100, 10_000
    rng = np.random.default_rng(0)
    c = Circuit(n).h(0)
    while len(c) < gates:
        a, b = rng.choice(n, 2, replace=False).tolist()
        c.cx(a, b).h(int(rng.integers(n))).s(int(rng.integers(n)))
    c.measure_all()
    shots = 10_000
    auto = get_simulator("auto", device="cpu")
    stim_circuit = c.to_stim()

    def direct():
        bits = stim_circuit.compile_sampler(seed=1).sample(shots)
        rows_, counts = np.unique(np.packbits(bits, axis=1), axis=0, return_counts=True)
        return rows_, counts

    ours = timeit(lambda: auto.sample(c, shots, seed=1), 5)
    ref = timeit(direct, 5)
    rows.append({"case": f"{n}-qubit {len(c)}-op Clifford, {shots} shots (counts dict)",
                 "ours_ms": ours * 1e3, "stim_ms": ref * 1e3})  # fmt: skip
    ours = timeit(lambda: auto.simulator_for(c).sample_bits(c, shots, seed=1), 5)
    ref = timeit(lambda: stim_circuit.compile_sampler(seed=1).sample(shots), 5)
    rows.append({"case": f"{n}-qubit {len(c)}-op Clifford, {shots} shots (raw bits, dispatched)",
                 "ours_ms": ours * 1e3, "stim_ms": ref * 1e3})  # fmt: skip
    for d in (5, 11):
        circuit = stim.Circuit.generated("surface_code:rotated_memory_x", distance=d, rounds=d,
                                         after_clifford_depolarization=0.001)  # fmt: skip
        from simulators.stabilizer import StabilizerSimulator

        ours = timeit(lambda: StabilizerSimulator.sample_detectors(circuit, 10_000, seed=1), 5)
        ref = timeit(lambda: circuit.compile_detector_sampler(seed=1).sample(
            10_000, separate_observables=True), 5)  # fmt: skip
        rows.append({"case": f"surface code d={d}, {d} rounds, 10000 shots (detectors)",
                     "ours_ms": ours * 1e3, "stim_ms": ref * 1e3})  # fmt: skip
    for r in rows:
        print(f"  {r['case']}: ours {r['ours_ms']:.1f} ms, Stim {r['stim_ms']:.1f} ms", flush=True)
    return rows


def main() -> None:
    density = [row for n in (6, 8) for row in density_rows(n)]
    stabilizer = stim_rows()
    os.makedirs("benchmarks/results", exist_ok=True)
    tmp = "benchmarks/results/noisy.json.tmp"
    with open(tmp, "w") as fh:
        json.dump({"density_matrix": density, "stabilizer": stabilizer}, fh, indent=1)
    os.replace(tmp, "benchmarks/results/noisy.json")
    print("\n| n | simulator | ms / circuit | ms / circuit in a batch of 256 | vs aer (single) |")
    print("|---|---|---|---|---|")
    for n in (6, 8):
        group = [r for r in density if r["n"] == n]
        aer = next(r for r in group if r["simulator"].startswith("qiskit-aer"))
        for r in group:
            b = r["ms_per_circuit_batched"]
            print(f"| {n} | {r['simulator']} | {r['ms_per_circuit']:.3f} | "
                  f"{'-' if b is None else f'{b:.4f}'} | "
                  f"{aer['ms_per_circuit'] / r['ms_per_circuit']:.2f}x faster |")  # fmt: skip
    print("\n| case | ours (ms) | Stim directly (ms) | overhead |")
    print("|---|---|---|---|")
    for r in stabilizer:
        print(f"| {r['case']} | {r['ours_ms']:.1f} | {r['stim_ms']:.1f} | "
              f"{(r['ours_ms'] / r['stim_ms'] - 1) * 100:+.1f}% |")  # fmt: skip


if __name__ == "__main__":
    main()
