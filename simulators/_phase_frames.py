"""Phase frames: rewrite a plan's gate matrices so that most of them are real.

A real matrix costs the CPU kernels half the multiply-adds of a complex one
(``simulators._simd``: 2 instead of 4 per term), and the gates of the usual ansatze are
real up to phases on their qubits: RX is ``D RY(-theta) D*`` with ``D = diag(1, i)``, RZ
is a global phase times ``diag(1, e^{i theta})``, and products with CNOT or CZ keep that
form. So the CPU engine runs a circuit in a *frame*: it holds ``phi`` with

    psi = G * (diag(1, f_0) (x) diag(1, f_1) (x) ...) phi

(a global phase ``G`` and one phase ``f_q`` per qubit), and a gate ``M`` on qubits Q runs
as ``R = D_out^-1 M D_in``. ``D_in`` holds the phases the gate wants on its inputs: for
each gate qubit, the phase that makes two entries of one row that differ in that qubit
agree up to sign (where the current frame differs from it by more than a sign, a
*phase step* ``diag(1, f / w)`` on ``phi`` moves the qubit's frame there first). ``D_out``
takes each row's common phase, which must factor over the qubits as
``g * prod_j h_j^{a_j}``; then ``R`` is real and the qubits' frames become ``h_j``. Where
no such factoring exists the gate runs complex, as ``M D_f`` with the frames it met, and
hands each qubit on in the frame its next gate wants (so that gate needs no move).
Starting from |0...0> a qubit's first move is free: ``diag(1, w)`` leaves |0> as it is.
At the end one pass over the state multiplies in the
frame left (``phase_tables``), so the final ``phi`` is ``psi`` itself.

A phase step multiplies half the amplitudes by one complex number (the CPU kernels'
cheapest pass, ``simulators._cpu_blocked._phase1``). On the layered benchmark circuit
(random RX/RY/RZ and a CNOT brick) about three gates in four come out real; a circuit of
RY and CNOT needs no phase steps at all.
"""

from __future__ import annotations

import numpy as np
from numba import njit

__all__ = ["phase_tables", "real_frames"]

_TOL = 1e-13  # relative imaginary residue left by rounding (a real product leaves ~1e-16)


def real_frames(
    qubits: list[tuple[int, ...]], mats: list[np.ndarray], num_qubits: int, fresh: bool = False
):
    """The steps ``mats[s]`` ((1, d, d) matrices, matrix bit j on ``qubits[s][j]``, in
    execution order) rewritten in phase frames, with the phase steps they need.
    ``fresh``: the steps run on |0...0>, so a qubit's first frame move needs no step.

    Returns ``(steps, counts, final)``: ``steps`` is a list of (qubits, matrix) in
    execution order with every original step's rewritten matrix after its phase steps,
    ``counts[s]`` how many entries of ``steps`` step s became (so a caller can split
    them back into its cache blocks), and ``final`` the frame left at the end, as
    ``(G, f)`` with ``f[q]`` qubit q's phase, or None where it is the identity: the
    product of the steps followed by ``G * diag(prod_q f_q^{x_q})`` (``phase_tables``)
    equals that of ``mats``.
    """
    count = len(mats)
    widths = np.array([len(q) for q in qubits], dtype=np.int64)
    table = np.zeros((count, 5), dtype=np.int64)
    for s, qs in enumerate(qubits):
        table[s, : len(qs)] = qs
    sizes = 1 << (2 * widths)
    starts = np.zeros(count, dtype=np.int64)
    np.cumsum(sizes[:-1], out=starts[1:])
    flat = np.concatenate([np.asarray(m, dtype=np.complex128).reshape(-1) for m in mats])
    pre = np.ones((count, 5), dtype=np.complex128)
    frame = np.ones(num_qubits + 1, dtype=np.complex128)  # the qubits' phases, then G
    _frames(widths, table, starts, flat, pre, frame, fresh)
    steps: list = []
    counts = []
    for s, qs in enumerate(qubits):
        before = len(steps)
        k = len(qs)
        for j in range(k):
            if pre[s, j] != 1:
                steps.append(((qs[j],), _phase_matrix(pre[s, j])))
        d = 1 << k
        steps.append((qs, flat[starts[s] : starts[s] + d * d].reshape(1, d, d)))
        counts.append(len(steps) - before)
    final = None if np.all(frame == 1) else (frame[-1], frame[:-1])
    return steps, counts, final


def phase_tables(glob: complex, phases: np.ndarray):
    """``G * prod_q f_q^{x_q}`` for every basis index x, as two tables and a split:
    ``(lo, hi, low)`` with the value at x ``lo[x & (2**low - 1)] * hi[x >> low]`` (the
    kernels' ``apply_product_phase``)."""
    low = min(len(phases), 10)

    def table(qubits):
        t = np.ones(1, dtype=np.complex128)
        for q in qubits:
            t = np.concatenate([t, t * phases[q]])
        return t

    return table(range(low)) * glob, table(range(low, len(phases))), low


def _phase_matrix(w: complex) -> np.ndarray:
    return np.array([[[1, 0], [0, w]]], dtype=np.complex128)


@njit(cache=True)
def _preferred(m, d, j, scale):
    """The input phase gate qubit j wants (two entries of a row that differ in bit j
    agree up to sign), or 0 where no row mixes bit j."""
    best = 0.0
    w = 0.0 + 0.0j
    for a in range(d):
        for b in range(d):
            if (b >> j) & 1 == 0:
                x = m[a * d + b]
                y = m[a * d + (b | (1 << j))]
                both = min(abs(x), abs(y))
                if both > best:
                    best = both
                    w = (x / abs(x)) * np.conj(y / abs(y))
    return w if best > 1e-6 * scale else 0.0 + 0.0j


@njit(cache=True)
def _frames(widths, qubits, starts, flat, pre, frame, fresh):  # pragma: no cover - compiled
    """The frame pass over the steps, in place on ``flat`` (step s's row-major matrix at
    ``starts[s]``); phase steps into ``pre`` (1 where none); the final frame into
    ``frame`` (the qubits' phases, then the global phase). ``fresh``: the state starts
    at |0...0>, where a qubit's first frame move is free (diag(1, w) fixes |0>)."""
    steps = widths.shape[0]
    n = frame.shape[0] - 1
    # what each gate wants of each of its qubits, and the next gate on that qubit: a
    # complex gate hands its qubits on in the frame their next gate wants
    pref = np.zeros((steps, 5), dtype=np.complex128)
    scales = np.zeros(steps)  # each matrix's largest |entry|
    for s in range(steps):
        k = widths[s]
        d = 1 << k
        m = flat[starts[s] : starts[s] + d * d]
        for i in range(d * d):
            scales[s] = max(scales[s], abs(m[i]))
        for j in range(k):
            pref[s, j] = _preferred(m, d, j, scales[s])
    following = np.zeros((steps, 5), dtype=np.complex128)  # next gate's pref (0: none)
    ahead = np.zeros(n, dtype=np.complex128)
    for s in range(steps - 1, -1, -1):
        for j in range(widths[s]):
            q = qubits[s, j]
            following[s, j] = ahead[q]
            ahead[q] = pref[s, j]
    touched = np.zeros(n, dtype=np.bool_)
    glob = 1.0 + 0.0j
    want = np.ones(5, dtype=np.complex128)
    col = np.ones(32, dtype=np.complex128)
    row = np.ones(32, dtype=np.complex128)
    hs = np.ones(5, dtype=np.complex128)
    for s in range(steps):
        k = widths[s]
        d = 1 << k
        m = flat[starts[s] : starts[s] + d * d]
        scale = scales[s]
        for j in range(k):
            q = qubits[s, j]
            w = pref[s, j]
            if fresh and not touched[q] and w != 0:
                frame[q] = w  # |0> is unchanged by the move
            touched[q] = True
            f = frame[q]
            want[j] = f
            if w != 0 and abs((f * np.conj(w)).imag) > 1e-9:
                want[j] = w  # differs from the frame by more than a sign: move there
        for b in range(d):
            q = 1.0 + 0.0j
            for j in range(k):
                if (b >> j) & 1:
                    q *= want[j]
            col[b] = q
        # each row's phase (its largest entry's), which must factor over the qubits
        for a in range(d):
            top = 0.0
            u = 1.0 + 0.0j
            for b in range(d):
                v = m[a * d + b] * col[b]
                if abs(v) > top:
                    top = abs(v)
                    u = v / abs(v)
            row[a] = u
        g = row[0]
        for j in range(k):
            hs[j] = row[1 << j] / g
        real = True
        for a in range(d):
            p = g
            for j in range(k):
                if (a >> j) & 1:
                    p *= hs[j]
            if abs((p * np.conj(row[a])).imag) > 1e-9:
                real = False
                break
        # R absorbs signs: keep the phases in the right half-plane, so that a real
        # gate leaves the frames at +1 rather than -1
        if g.real < 0:
            g = -g
        for j in range(k):
            if hs[j].real < 0:
                hs[j] = -hs[j]
        for a in range(d):
            p = g
            for j in range(k):
                if (a >> j) & 1:
                    p *= hs[j]
            row[a] = p
        if real:
            for a in range(d):
                for b in range(d):
                    if abs((m[a * d + b] * col[b] * np.conj(row[a])).imag) > _TOL * scale:
                        real = False
        if real:
            for a in range(d):
                for b in range(d):
                    m[a * d + b] = (m[a * d + b] * col[b] * np.conj(row[a])).real
            glob *= g
            for j in range(k):
                q = qubits[s, j]
                if want[j] != frame[q]:
                    pre[s, j] = frame[q] / want[j]
                frame[q] = hs[j]
        else:  # complex: fold in the frames it met, and leave each qubit in the frame
            # its next gate wants (1 where none)
            for b in range(d):
                q = 1.0 + 0.0j
                for j in range(k):
                    if (b >> j) & 1:
                        q *= frame[qubits[s, j]]
                for a in range(d):
                    m[a * d + b] *= q
            for j in range(k):
                target = following[s, j] if following[s, j] != 0 else 1.0 + 0.0j
                for a in range(d):
                    if (a >> j) & 1:
                        for b in range(d):
                            m[a * d + b] *= np.conj(target)
                frame[qubits[s, j]] = target
    frame[-1] = glob
