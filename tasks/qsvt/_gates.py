"""Circuit building blocks in our gate set: multi-controlled gates through a Toffoli
ladder on clean work qubits, uniformly controlled RY state preparation, projector-
controlled phases, global phases, resource counts and the dense block of a circuit."""

from __future__ import annotations

import numpy as np

from qworkbench import Circuit
from qworkbench._memory import check_allocation
from qworkbench.circuit._gates import GATES

# CNOTs and T gates in the standard decompositions (Toffoli: 6 CNOT + 7 T; a controlled
# rotation: 2 CNOT + 2 rotations; rzz/rxx/ryy: 2 CNOT + 1 rotation)
_CNOT = {"cx": 1, "cy": 1, "cz": 1, "swap": 3, "ccx": 6, "crx": 2, "cry": 2, "crz": 2}
_CNOT.update({"rzz": 2, "rxx": 2, "ryy": 2})
_T = {"t": 1, "tdg": 1, "ccx": 7}
_ROT = {"rx": 1, "ry": 1, "rz": 1, "p": 1, "u": 1, "crx": 2, "cry": 2, "crz": 2}
_ROT.update({"rzz": 1, "rxx": 1, "ryy": 1})


def gate_counts(circuit: Circuit) -> dict[str, int]:
    """CNOTs, T gates and arbitrary-angle rotations after standard decompositions."""
    ops = circuit.count_ops()
    return {
        "cnot": sum(n * _CNOT.get(k, 0) for k, n in ops.items()),
        "t": sum(n * _T.get(k, 0) for k, n in ops.items()),
        "rotations": sum(n * _ROT.get(k, 0) for k, n in ops.items()),
        "gates": len(circuit),
    }


def and_ladder(circ: Circuit, controls, work) -> int:
    """Compute the AND of ``controls`` into a qubit (returned); uses ``len(controls) - 1``
    clean work qubits for two or more controls, none for one."""
    controls = list(controls)
    if len(controls) == 1:
        return controls[0]
    acc = controls[0]
    for i, q in enumerate(controls[1:]):
        circ.ccx(acc, q, work[i])
        acc = work[i]
    return acc


def and_unladder(circ: Circuit, controls, work) -> None:
    controls = list(controls)
    if len(controls) == 1:
        return
    accs = [controls[0], *work[: len(controls) - 2]]
    for i in reversed(range(len(controls) - 1)):
        circ.ccx(accs[i], controls[i + 1], work[i])


def global_phase(circ: Circuit, theta: float, q: int) -> None:
    """Multiply the state by exp(i theta): p(theta) X p(theta) X is exp(i theta) * 1."""
    if theta:
        circ.p(theta, q).x(q).p(theta, q).x(q)


def zero_flag(circ: Circuit, qubits, flag: int, work) -> None:
    """Toggle ``flag`` when every qubit of ``qubits`` is 0 (its own inverse)."""
    qubits = list(qubits)
    for q in qubits:
        circ.x(q)
    if len(qubits) == 1:
        circ.cx(qubits[0], flag)
    else:
        top = and_ladder(circ, qubits, work)
        circ.cx(top, flag)
        and_unladder(circ, qubits, work)
    for q in qubits:
        circ.x(q)


def branch_rotation(circ: Circuit, flag: int, branch_qubits, angles) -> None:
    """exp(-i Z_flag * angles[s]) where s is the pattern of ``branch_qubits`` (bit i =
    branch_qubits[i]), by its Walsh expansion: one parity-rotation per subset."""
    k = len(branch_qubits)
    angles = np.asarray(angles, dtype=np.float64)
    signs = np.array(
        [[(-1) ** bin(s & m).count("1") for s in range(1 << k)] for m in range(1 << k)]
    )
    weights = signs @ angles / (1 << k)
    for mask, w in enumerate(weights):
        if abs(w) < 1e-15:
            continue
        sub = [branch_qubits[i] for i in range(k) if mask >> i & 1]
        for q in sub:
            circ.cx(q, flag)
        circ.rz(2 * w, flag)
        for q in reversed(sub):
            circ.cx(q, flag)


def uniformly_controlled_ry(circ: Circuit, controls, target: int, angles) -> None:
    """RY(angles[s]) on ``target`` for control pattern s (bit i of s = controls[i]),
    split recursively on the last control: X RY(b) X = RY(-b)."""
    angles = np.asarray(angles, dtype=np.float64)
    if not controls:
        if abs(angles[0]) > 1e-15:
            circ.ry(float(angles[0]), target)
        return
    half = len(angles) // 2
    lo, hi = angles[:half], angles[half:]
    if np.allclose(lo, hi, atol=1e-15):
        uniformly_controlled_ry(circ, controls[:-1], target, lo)
        return
    uniformly_controlled_ry(circ, controls[:-1], target, (lo + hi) / 2)
    circ.cx(controls[-1], target)
    uniformly_controlled_ry(circ, controls[:-1], target, (lo - hi) / 2)
    circ.cx(controls[-1], target)


def prepare_state(circ: Circuit, qubits, amplitudes) -> None:
    """Prepare sum_j amplitudes[j] |j> (non-negative, normalised; bit i of j = qubits[i])
    from |0...0>, top qubit first (Mottonen et al., quant-ph/0407010)."""
    amps = np.asarray(amplitudes, dtype=np.float64)
    m = len(qubits)
    for level in reversed(range(m)):
        t = qubits[level]
        blocks = amps.reshape(-1, 2, 1 << level)  # (higher pattern, bit of t, lower)
        n0 = np.linalg.norm(blocks[:, 0, :], axis=1)
        n1 = np.linalg.norm(blocks[:, 1, :], axis=1)
        theta = 2 * np.arctan2(n1, n0)
        uniformly_controlled_ry(circ, list(qubits[level + 1 :]), t, theta)


_CONTROLLED = {"cx": 1, "cy": 1, "cz": 1, "crx": 1, "cry": 1, "crz": 1, "ccx": 2}


def _target_matrix(op) -> np.ndarray:
    """The 2x2 matrix a (controlled) single-target gate applies to its target."""
    full = GATES[op.name].matrix(*op.params)
    nc = _CONTROLLED.get(op.name, 0)
    on = [(1 << nc) - 1, (1 << nc) - 1 + (1 << nc)]  # every control 1, target 0 / 1
    return full[np.ix_(on, on)]


def apply_circuit(circuit: Circuit, states: np.ndarray) -> np.ndarray:
    """Apply ``circuit`` to each column of ``states`` (shape (2**n, cols)) densely.

    Single-target gates (with up to two controls) update views of the state in place;
    others go through ``tensordot``.
    """
    n = circuit.num_qubits
    cols = states.shape[1]
    psi = np.array(states, dtype=complex).reshape((2,) * n + (cols,))
    cache: dict = {}
    for op in circuit:
        if op.name == "barrier":
            continue
        if op.name not in GATES:
            raise ValueError(f"cannot apply {op.name!r} in a unitary block")
        k = len(op.qubits)
        nc = _CONTROLLED.get(op.name, 0 if k == 1 else None)
        if nc is None:
            # matrix index bit i is gate qubit i; reshaped big-endian: axis j <-> k-1-j
            axes = [n - 1 - q for q in reversed(op.qubits)]
            mat = GATES[op.name].matrix(*op.params).reshape((2,) * (2 * k))
            psi = np.tensordot(mat, psi, axes=(list(range(k, 2 * k)), axes))
            psi = np.ascontiguousarray(np.moveaxis(psi, list(range(k)), axes))
            continue
        key = (op.name, op.params)
        m = cache.get(key)
        if m is None:
            m = cache[key] = _target_matrix(op)
        idx = [slice(None)] * (n + 1)
        for c in op.qubits[:nc]:
            idx[n - 1 - c] = 1
        t = n - 1 - op.qubits[nc]
        i0, i1 = list(idx), list(idx)
        i0[t], i1[t] = 0, 1
        i0, i1 = tuple(i0), tuple(i1)
        x0, x1 = psi[i0], psi[i1]
        if m[0, 1] == 0 and m[1, 0] == 0:  # diagonal
            if m[0, 0] != 1:
                x0 *= m[0, 0]
            if m[1, 1] != 1:
                x1 *= m[1, 1]
        elif m[0, 0] == 0 and m[1, 1] == 0:  # anti-diagonal (X, Y)
            tmp = x0.copy()
            x0[...] = m[0, 1] * x1
            x1[...] = m[1, 0] * tmp
        else:
            tmp = x0.copy()
            x0 *= m[0, 0]
            x0 += m[0, 1] * x1
            x1 *= m[1, 1]
            x1 += m[1, 0] * tmp
    return psi.reshape(1 << n, cols)


def block_of(circuit: Circuit, system, ancillas, max_memory=None) -> np.ndarray:
    """<0|_ancillas U |0>_ancillas as a (2**s, 2**s) matrix, index bit i = system[i]."""
    n, s = circuit.num_qubits, len(system)
    check_allocation(3 * 16 * (1 << n) * (1 << s), f"the block of a {n}-qubit circuit", max_memory)
    rows = np.zeros(1 << s, dtype=np.int64)
    for i, q in enumerate(system):
        rows |= ((np.arange(1 << s) >> i) & 1) << q
    states = np.zeros((1 << n, 1 << s), dtype=complex)
    states[rows, np.arange(1 << s)] = 1.0
    out = apply_circuit(circuit, states)
    return out[rows, :]
