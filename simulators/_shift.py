"""Parameter-shift gradients for any simulator with a batched ``expval``.

Used where adjoint differentiation does not apply (qiskit-aer; noisy simulation
later). Every parameter occurrence gets its own angle; the gradient with respect
to a circuit parameter sums ``scale * d<H>/d angle`` over its occurrences.
Rules: two-term (shift pi/2) for generators with eigenvalue gap 1 (rx ry rz p rxx
ryy rzz); four-term for controlled rotations (eigenvalues 0, +-1/2; Anselmetti
et al. 2021, arXiv:2107.12390, Eq. 14).
"""

from __future__ import annotations

import numpy as np

from qworkbench.circuit import Circuit, Parameter

__all__ = ["parameter_shift_gradient", "shift_gradient"]

_SQRT2 = np.sqrt(2.0)
_TWO_TERM = ((np.pi / 2, 0.5),)
_FOUR_TERM = (
    (np.pi / 2, (_SQRT2 + 1) / (4 * _SQRT2)),
    (3 * np.pi / 2, -(_SQRT2 - 1) / (4 * _SQRT2)),
)
# u(theta, phi, lam) = Rz(phi) Ry(theta) Rz(lam) up to a phase: each angle has gap 1
_RULES = {name: _TWO_TERM for name in ("rx", "ry", "rz", "p", "rxx", "ryy", "rzz", "u")}
_RULES.update({name: _FOUR_TERM for name in ("crx", "cry", "crz")})


def _occurrences(circuit: Circuit, simulator: str):
    """The circuit with one fresh parameter per occurrence, and per occurrence (gate name,
    slot of the original parameter, scale, offset). Gates are kept as they are (no
    rewriting), so a noise model sees the same gates as in the original circuit."""
    from simulators._plan import gates_of

    gates, params = gates_of(circuit, keep_id=True, simulator=simulator)
    out = Circuit(circuit.num_qubits)
    occ = []
    for gate in gates:
        angles = []
        for slot, scale, offset in zip(gate.slots, gate.scales, gate.offsets):
            if slot < 0:
                angles.append(offset)
            else:
                angles.append(Parameter(f"_occ{len(occ)}"))
                occ.append((gate.name, slot, scale, offset))
        out.append(gate.name, gate.qubits, angles)
    return out, occ, params


def _sim_name(sim) -> str:
    """How errors name ``sim`` (its class, e.g. DensityMatrixSimulator)."""
    return type(sim).__name__


def parameter_shift_gradient(sim, circuit: Circuit, observable, values: np.ndarray):
    """(batch, n_slots) gradient of ``sim.expval`` at (batch, n_slots) ``values``, the
    slots of ``gates_of`` (the parameters, then any general angles)."""
    expanded, occ, params = _occurrences(circuit, _sim_name(sim))
    batch = len(values)
    grads = np.zeros((batch, len(params)))
    if not occ:
        return grads
    base = np.stack([values[:, slot] * scale + offset for _, slot, scale, offset in occ], axis=1)
    rows, weights = [], []
    for k, (name, _slot, _scale, _offset) in enumerate(occ):
        for shift, coeff in _RULES[name]:
            for sign in (1.0, -1.0):
                shifted = base.copy()
                shifted[:, k] += sign * shift
                rows.append(shifted)
                weights.append((k, sign * coeff))
    energies = np.asarray(sim.expval(expanded, observable, np.concatenate(rows))).real
    energies = energies.reshape(len(rows), batch)
    for (k, weight), e in zip(weights, energies):
        _name, slot, scale, _offset = occ[k]
        grads[:, slot] += weight * scale * e
    return grads


def shift_gradient(sim, circuit: Circuit, observable, params):
    """``sim.gradient`` for simulators without adjoint differentiation: (n_params,) or
    (batch, n_params) like the statevector simulator's. General angles (expressions of
    several parameters) are shifted as angles and folded back by the chain rule."""
    from simulators._plan import bind_params, fold_gradient, gates_of

    slots = gates_of(circuit, keep_id=True, simulator=_sim_name(sim))[1]
    values, batched = bind_params(params, slots)
    if values is None:
        return np.zeros(0)
    grads = fold_gradient(parameter_shift_gradient(sim, circuit, observable, values), values, slots)
    return grads if batched else grads[0]
