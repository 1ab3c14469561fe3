"""A small statevector demo for ``make run`` until the QAS benchmark lands.

Builds a parameterised GHZ-style circuit in qworkbench's IR, binds it, evaluates
<ZZ...Z> and <X...X> through Qiskit's exact ``Statevector`` (qworkbench's own
simulator replaces it when the statevector issue lands) and prints the results.
"""

from __future__ import annotations

import time

import numpy as np
from qiskit.quantum_info import Statevector

from qworkbench import Circuit, Parameter, PauliSum


def ghz(n: int) -> Circuit:
    theta = Parameter("theta")
    c = Circuit(n).ry(theta, 0)
    for q in range(n - 1):
        c.cx(q, q + 1)
    return c


def main(n: int = 4) -> None:
    circuit = ghz(n)
    print(circuit.draw())
    zz = PauliSum.from_list([("Z" * n, 1.0)])
    xx = PauliSum.from_list([("X" * n, 1.0)])
    start = time.perf_counter()
    for theta in np.linspace(0, np.pi, 5):
        state = Statevector(circuit.bind([theta]).to_qiskit())
        ez = state.expectation_value(zz.to_qiskit()).real
        ex = state.expectation_value(xx.to_qiskit()).real
        p0, p1 = state.probabilities()[[0, -1]]
        print(
            f"theta={theta:5.3f}  <Z^{n}>={ez:+.4f}  <X^{n}>={ex:+.4f}  "
            f"P(0..0)={p0:.3f}  P(1..1)={p1:.3f}"
        )
    print(f"{n}-qubit demo in {time.perf_counter() - start:.3f} s")


if __name__ == "__main__":
    main()
