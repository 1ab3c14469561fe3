"""Statevector benchmark: qworkbench against qsim, qiskit-aer, PennyLane lightning.qubit
and qulacs, side by side in one process; medians of repeated runs, reported as ratios.

    python benchmarks/statevector.py                      # everything (long)
    python benchmarks/statevector.py --sizes 16 20 --qas  # a subset
    python benchmarks/statevector.py --no-qas --threads 1 2 --simulators "fusion 2" qsim lightning

Layered circuits run at each ``--threads`` count and end with ours/qsim and
ours/lightning.qubit. The benchmark is :mod:`qworkbench.experiments.sim_bench`
(also ``qwb bench sim``).
"""

from qworkbench.experiments.sim_bench import main

if __name__ == "__main__":
    main()
