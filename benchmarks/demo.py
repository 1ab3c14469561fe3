"""A small statevector demo for ``make run`` until the QAS benchmark lands.

Builds a parameterised GHZ-style circuit, evaluates <Z...Z> and <X...X> for a batch
of angles in one run of qworkbench's simulator, checks one point against Qiskit's
exact ``Statevector``, and prints the adjoint gradient.
"""

from __future__ import annotations

import time

import numpy as np
from qiskit.quantum_info import Statevector

from qworkbench import Circuit, Parameter, PauliSum
from simulators import get_simulator


def ghz(n: int) -> Circuit:
    c = Circuit(n).ry(Parameter("theta"), 0)
    for q in range(n - 1):
        c.cx(q, q + 1)
    return c


def main(n: int = 4) -> None:
    circuit = ghz(n)
    print(circuit.draw())
    sim = get_simulator("statevector", device="auto")
    zz = PauliSum.from_list([("Z" * n, 1.0)])
    xx = PauliSum.from_list([("X" * n, 1.0)])
    thetas = np.linspace(0, np.pi, 5)[:, None]
    start = time.perf_counter()
    ez, ex = sim.expval(circuit, zz, thetas), sim.expval(circuit, xx, thetas)
    grads = sim.gradient(circuit, xx, thetas)
    elapsed = time.perf_counter() - start
    for theta, z, x, g in zip(thetas[:, 0], ez, ex, grads[:, 0]):
        print(f"theta={theta:5.3f}  <Z^{n}>={z:+.4f}  <X^{n}>={x:+.4f}  d<X^{n}>/dtheta={g:+.4f}")
    reference = Statevector(circuit.bind([thetas[1, 0]]).to_qiskit()).expectation_value(
        xx.to_qiskit()
    )
    print(f"check against qiskit Statevector: |diff| = {abs(ex[1] - reference.real):.1e}")
    print(f"{sim}: {len(thetas)} parameter sets, values and gradients in {elapsed:.3f} s")


if __name__ == "__main__":
    main()
