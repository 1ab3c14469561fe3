"""Adjoint differentiation (Jones & Gacon 2020, arXiv:2009.02823, Algorithm 1), batched.

Forward with the fused plan to get |psi>, then walk the gates backwards keeping
|phi> = U_{k+1..} ^dagger |psi> and |lambda> = (same) H|psi>:
d<H>/d theta_k = 2 Im <lambda| G_k |phi> for U_k = exp(-i theta_k G_k).
"""

from __future__ import annotations

import numpy as np

from qworkbench.circuit import GATES
from simulators._plan import Plan, apply_step

__all__ = ["adjoint_gradient"]


def adjoint_gradient(kernels, phi, per_gate: Plan, params, pauli, dtype):
    """Gradients (batch, n_params) given the final states ``phi`` (overwritten).

    ``per_gate`` is the circuit's plan without fusion (one step per gate, ``u`` expanded
    to one-angle rotations), so fixed operands come precomputed from the plan cache.
    """
    xs, zs, coeffs = pauli
    batch = len(params)
    lam = kernels.apply_pauli_sum(phi, xs, zs, coeffs)
    grads = np.zeros((batch, params.shape[1]))
    for step in reversed(per_gate.steps):
        (gate,) = step.gates
        if gate.is_parameterized:
            slot, scale = gate.slots[0], gate.scales[0]
            mu = kernels.xp.array(phi, copy=True)
            generator = kernels.asarray(GATES[gate.name].generator[None], dtype)
            kernels.apply_matrix(mu, gate.qubits, generator)
            grads[:, slot] += 2 * scale * kernels.to_numpy(kernels.inner(lam, mu)).imag
        operand = step.operand(params)
        apply_step(kernels, phi, step, operand, dtype, adjoint=True)
        apply_step(kernels, lam, step, operand, dtype, adjoint=True)
    return grads
