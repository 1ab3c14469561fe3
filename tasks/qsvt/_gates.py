"""Circuit building blocks in our gate set: multi-controlled gates through a Toffoli
ladder on clean work qubits, uniformly controlled RY state preparation, projector-
controlled phases, global phases, resource counts and the dense block of a circuit."""

from __future__ import annotations

import functools

import numpy as np

from qworkbench import Circuit
from qworkbench.circuit import GATES
from qworkbench.utils import check_allocation
from simulators import get_simulator

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


def pauli_to_z(circ: Circuit, label: str, qubits, undo: bool = False) -> None:
    """Rotate the X and Y factors of Pauli ``label`` (Qiskit order) on ``qubits`` to Z
    (H for X, Sdg then H for Y); ``undo`` rotates back."""
    n = len(label)
    for q in qubits:
        if label[n - 1 - q] == "X":
            circ.h(q)
        elif label[n - 1 - q] == "Y":
            if undo:
                circ.h(q).s(q)
            else:
                circ.sdg(q).h(q)


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


@functools.lru_cache(maxsize=1)
def _simulator():
    """One statevector simulator, so its plan cache serves repeated blocks."""
    return get_simulator("statevector", precision="double")


def apply_circuit(circuit: Circuit, states: np.ndarray) -> np.ndarray:
    """Apply ``circuit`` to each column of ``states`` (shape (2**n, cols)): one batched
    run of the statevector simulator, each column an initial state."""
    for op in circuit:
        if op.name != "barrier" and op.name not in GATES:
            raise ValueError(f"cannot apply {op.name!r} in a unitary block")
    sim = _simulator()
    columns = np.asarray(states, dtype=complex).T
    return np.ascontiguousarray(sim.statevector(circuit, initial_state=columns).T)


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


# -- multi-controlled gates without clean work qubits ------------------------------------
def mcphase(circ: Circuit, qubits, phi: float, dirty=()) -> None:
    """Multiply by ``exp(i phi)`` the states where every qubit of ``qubits`` is 1, with
    no clean work qubits.

    The phase ``phi * x_1 ... x_K`` is the sum over non-empty subsets S of
    ``phi 2^(1-K) (-1)^(|S|+1) parity(x_S)``; each parity is computed in place on the
    subset's last qubit, walking the subsets in Gray-code order (one CNOT per step):
    ``2^K - 2`` CNOTs and ``2^K - 1`` phase gates. For ``phi = pi`` and many qubits,
    ``H C^(K-1)X H`` on borrowed ``dirty`` qubits (any state, restored; Barenco et al.,
    quant-ph/9503016, Lemmas 7.2 and 7.3) is used instead when it needs fewer CNOTs.
    """
    qubits = list(qubits)
    k = len(qubits)
    if k == 0:
        raise ValueError("mcphase needs at least one qubit")
    if len(set(qubits)) != k or set(qubits) & set(dirty):
        raise ValueError(f"qubits {qubits} must be distinct and not among dirty {list(dirty)}")
    is_pi = abs(phi - np.pi) < 1e-15
    if is_pi and k <= 2:
        circ.z(qubits[0]) if k == 1 else circ.cz(qubits[0], qubits[1])
        return
    if is_pi and k >= 3:
        cost = mcx_cnots(k - 1, len(dirty))
        if cost is not None and cost <= (1 << k) - 2:
            t = qubits[-1]
            circ.h(t)
            mcx(circ, qubits[:-1], t, dirty)
            circ.h(t)
            return
    scale = phi / (1 << (k - 1))
    for j, target in enumerate(qubits):
        # subsets {j} + T, T among qubits[:j], in Gray-code order
        circ.p(scale, target)
        for i in range(1, 1 << j):
            flip = (i & -i).bit_length() - 1
            circ.cx(qubits[flip], target)
            size = bin(i ^ (i >> 1)).count("1") + 1
            circ.p(scale if size % 2 else -scale, target)
        if j:
            circ.cx(qubits[j - 1], target)  # the last Gray code is {j - 1}


def mcx_cnots(k: int, num_dirty: int) -> int | None:
    """CNOTs of :func:`mcx` with ``k`` controls and ``num_dirty`` borrowed qubits
    (Toffoli = 6); None when it cannot be built."""
    if k <= 1:
        return k
    if k == 2:
        return 6
    if num_dirty >= k - 2:
        return 6 * 4 * (k - 2)
    if num_dirty == 0:
        return None
    k1 = (k + 1) // 2
    k2 = k - k1
    a = mcx_cnots(k1, k2 + 1 + num_dirty - 1)
    b = mcx_cnots(k2 + 1, k1 + num_dirty - 1)
    return None if a is None or b is None else 2 * (a + b)


def mcx(circ: Circuit, controls, target: int, dirty=()) -> None:
    """X on ``target`` when every control is 1, borrowing ``dirty`` qubits (restored).

    ``k - 2`` dirty qubits: the Toffoli V-chain (Barenco et al. Lemma 7.2, ``4(k-2)``
    Toffolis); fewer but at least one: split the controls in two halves around one
    dirty qubit (Lemma 7.3), each half borrowing the other's qubits.
    """
    controls, dirty = list(controls), list(dirty)
    k = len(controls)
    if k == 0:
        circ.x(target)
        return
    if k == 1:
        circ.cx(controls[0], target)
        return
    if k == 2:
        circ.ccx(controls[0], controls[1], target)
        return
    if len(dirty) >= k - 2:
        c, a = controls, dirty[: k - 2]  # Lemma 7.2 with 0-based c[i], a[i]

        def down_up():
            for i in range(k - 2, 1, -1):
                circ.ccx(c[i], a[i - 2], a[i - 1])
            circ.ccx(c[0], c[1], a[0])
            for i in range(2, k - 1):
                circ.ccx(c[i], a[i - 2], a[i - 1])

        circ.ccx(c[k - 1], a[k - 3], target)
        down_up()
        circ.ccx(c[k - 1], a[k - 3], target)
        down_up()
        return
    if not dirty:
        raise ValueError(f"a {k}-controlled X needs at least one borrowed qubit")
    k1 = (k + 1) // 2
    c1, c2 = controls[:k1], controls[k1:]
    a, rest = dirty[0], dirty[1:]
    for _ in range(2):
        mcx(circ, c1, a, c2 + [target] + rest)
        mcx(circ, c2 + [a], target, c1 + rest)


def _zyz(u: np.ndarray) -> tuple[float, float, float, float]:
    """(alpha, beta, gamma, delta) with u = e^{i alpha} Rz(beta) Ry(gamma) Rz(delta)."""
    alpha = float(np.angle(np.linalg.det(u))) / 2
    v = u * np.exp(-1j * alpha)
    gamma = 2 * float(np.arctan2(abs(v[1, 0]), abs(v[0, 0])))
    plus = 2 * float(np.angle(v[1, 1])) if abs(v[1, 1]) > 1e-12 else 0.0  # beta + delta
    minus = 2 * float(np.angle(v[1, 0])) if abs(v[1, 0]) > 1e-12 else 0.0  # beta - delta
    return alpha, (plus + minus) / 2, gamma, (plus - minus) / 2


def _controlled_2x2(circ: Circuit, u: np.ndarray, c: int, t: int) -> None:
    """Controlled-u (exact, phase included) with two CNOTs (Barenco et al. Lemma 5.1)."""
    alpha, beta, gamma, delta = _zyz(u)
    circ.rz((delta - beta) / 2, t)  # C
    circ.cx(c, t)
    circ.rz(-(delta + beta) / 2, t)  # B
    circ.ry(-gamma / 2, t)
    circ.cx(c, t)
    circ.ry(gamma / 2, t)  # A
    circ.rz(beta, t)
    if alpha:
        circ.p(alpha, c)


def _cc_rotation(circ, axis: str, theta: float, c: int, a: int, t: int) -> None:
    """R_axis(theta) on t controlled on c and a: R(theta/2) X R(-theta/2) X (Z for rx)."""
    if axis == "x":
        circ.h(t)
    rot = circ.ry if axis == "y" else circ.rz
    rot(theta / 2, t)
    circ.ccx(c, a, t)
    rot(-theta / 2, t)
    circ.ccx(c, a, t)
    if axis == "x":
        circ.h(t)


_DIAGONAL_PHASE = {"z": np.pi, "s": np.pi / 2, "sdg": -np.pi / 2, "t": np.pi / 4, "tdg": -np.pi / 4}


def append_controlled(circ: Circuit, op, c: int, qubits, pool) -> None:
    """Append gate ``op`` (on circuit qubits ``qubits``) controlled on qubit ``c``;
    ``pool`` lists qubits that may be borrowed (restored) for multi-controlled gates."""
    name, params = op.name, tuple(float(p) for p in op.params)
    q = list(qubits)
    free = [p for p in pool if p != c and p not in q]
    if name in ("barrier", "id"):
        return
    if name in ("x", "y"):
        (circ.cx if name == "x" else circ.cy)(c, q[0])
    elif name in _DIAGONAL_PHASE or name == "p":
        mcphase(circ, [c, q[0]], params[0] if name == "p" else _DIAGONAL_PHASE[name])
    elif name in ("rx", "ry", "rz"):
        getattr(circ, "c" + name)(params[0], c, q[0])
    elif name in ("h", "sx", "sxdg", "u"):
        _controlled_2x2(circ, GATES[name].matrix(*params), c, q[0])
    elif name == "cx":
        circ.ccx(c, q[0], q[1])
    elif name == "cy":
        circ.sdg(q[1]).ccx(c, q[0], q[1]).s(q[1])
    elif name == "cz":
        mcphase(circ, [c, q[0], q[1]], np.pi, free)
    elif name in ("crx", "cry", "crz"):
        _cc_rotation(circ, name[-1], params[0], c, q[0], q[1])
    elif name == "swap":
        circ.cx(q[1], q[0]).ccx(c, q[0], q[1]).cx(q[1], q[0])
    elif name in ("rzz", "rxx", "ryy"):
        for p in q:  # basis change taking the Pauli to Z
            if name == "rxx":
                circ.h(p)
            elif name == "ryy":
                circ.sdg(p).h(p)
        circ.cx(q[0], q[1]).crz(params[0], c, q[1]).cx(q[0], q[1])
        for p in q:
            if name == "rxx":
                circ.h(p)
            elif name == "ryy":
                circ.h(p).s(p)
    elif name == "ccx":
        circ.h(q[2])
        mcphase(circ, [c, *q], np.pi, free)
        circ.h(q[2])
    else:
        raise ValueError(f"cannot control gate {name!r}")


def append_circuit(circ: Circuit, other: Circuit, qubits=None) -> None:
    """Append ``other``'s gates to ``circ`` in place (``other``'s qubit k on qubits[k]);
    ``Circuit.compose`` copies ``circ`` each time, quadratic over a long QSVT sequence."""
    where = list(range(other.num_qubits)) if qubits is None else list(qubits)
    for op in other:
        circ.append(op.name, [where[q] for q in op.qubits], op.params)
