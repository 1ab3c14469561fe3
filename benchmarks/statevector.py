"""Statevector benchmark: qworkbench against qiskit-aer, PennyLane lightning.qubit and
qulacs, side by side in one process; medians of repeated runs, reported as ratios.

    python benchmarks/statevector.py                      # everything (minutes)
    python benchmarks/statevector.py --sizes 16 20 --qas  # a subset

The benchmark is :mod:`qworkbench.experiments.sim_bench` (also ``qwb bench sim``).
"""

from qworkbench.experiments.sim_bench import main

if __name__ == "__main__":
    main()
