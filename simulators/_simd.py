"""Explicit SIMD for the cache-blocked kernels: one 1- or 2-qubit gate on 16 lanes.

Each intrinsic here emits LLVM vector code (``<16 x float>`` or ``<16 x double>``) for
one step of a dense gate on split real/imaginary arrays: it loads every input vector,
computes every output and only then stores, so no aliasing question arises between the
rows (which is what kept LLVM's own vectoriser to runtime alias checks per group of
amplitudes, and to a third of the FMA rate on short runs).

A gate qubit is either a *row* qubit (index bit 4 or above: its two values are two
different vectors, ``s`` apart) or a *lane* qubit (bit 0-3: its two values sit in the
same vector, and the partner amplitude is a lane shuffle, as in qsim's AVX kernels).
Lane positions must be compile-time constants (a shuffle mask is a constant), so the
callers branch on them; row offsets are runtime values.

Output vector ``r`` at lane ``l`` is the matrix row ``a(r, l)`` (the gate's local index:
bit j is gate qubit j's bit, taken from ``r`` for a row qubit and from ``l`` for a lane
qubit) times the inputs; grouping the columns by (source vector, lane flip) makes that
a sum of lane-wise coefficient vectors times shuffled inputs. The coefficient vectors
depend only on the matrix, so LLVM hoists them out of the caller's loop. A real matrix
(``ci`` passed as the empty tuple: RY, CNOT, CZ, H and their products, the usual
hardware-efficient ansatz) skips the imaginary coefficients and costs half the FMAs.

Numba's disk cache keys ``run_block`` on ``_cpu_blocked.py`` alone: after editing this
file, touch that one (or clear ``simulators/__pycache__``) so the kernels recompile.
"""

from __future__ import annotations

from llvmlite import ir
from numba import types
from numba.extending import intrinsic
from numba.np.arrayobj import make_array

__all__ = ["LANES", "LANE_QUBITS", "vec1", "vec1_lane", "vec2", "vec2_lane", "vec2_lanes"]

LANE_QUBITS = 4
LANES = 1 << LANE_QUBITS
_I32 = ir.IntType(32)


def _fast(instr):
    instr.flags.append("fast")  # contract into FMAs, as numba's fastmath does
    return instr


def _emit(context, builder, sig, args, rows: list, lanes: list[int | None]):
    """The gate step: ``args`` = (re, im, x, *row offsets, cr, ci, ...literals);
    ``rows``: per gate qubit, its offset argument index or None; ``lanes``: per gate
    qubit, its lane bit or None."""
    k = len(lanes)
    d = 1 << k
    dtype = sig.args[0].dtype
    fty = context.get_data_type(dtype)
    vty = ir.VectorType(fty, LANES)
    align = context.get_abi_sizeof(fty)
    re = make_array(sig.args[0])(context, builder, args[0])
    im = make_array(sig.args[1])(context, builder, args[1])
    x = args[2]
    n_offsets = sum(r is not None for r in rows)
    cr_arg, ci_arg = args[3 + n_offsets], args[4 + n_offsets]
    row_qubits = [j for j in range(k) if rows[j] is not None]
    lane_qubits = [j for j in range(k) if lanes[j] is not None]
    # the input/output vectors: one per row-bit pattern
    pointers = []
    for r in range(1 << len(row_qubits)):
        off = x
        for t, j in enumerate(row_qubits):
            if (r >> t) & 1:
                off = builder.add(off, args[rows[j]])
        pointers.append(
            (
                builder.bitcast(builder.gep(re.data, [off], inbounds=True), vty.as_pointer()),
                builder.bitcast(builder.gep(im.data, [off], inbounds=True), vty.as_pointer()),
            )
        )
    loaded = [(builder.load(pr, align=align), builder.load(pi, align=align)) for pr, pi in pointers]
    real = len(sig.args[4 + n_offsets]) == 0  # ci = (): a real matrix, half the FMAs
    diagonal = len(sig.args[3 + n_offsets]) == d  # cr, ci: the diagonal only
    entries = d if diagonal else d * d
    coef_r = [builder.extract_value(cr_arg, i) for i in range(entries)]
    coef_i = None if real else [builder.extract_value(ci_arg, i) for i in range(entries)]

    def gate_index(r: int, lane: int) -> int:
        a = 0
        for t, j in enumerate(row_qubits):
            a |= ((r >> t) & 1) << j
        for j in lane_qubits:
            a |= ((lane >> lanes[j]) & 1) << j
        return a

    undef = ir.Constant(vty, ir.Undefined)
    splat = ir.Constant(ir.VectorType(_I32, LANES), [0] * LANES)

    def lane_vector(values):
        if all(v is values[0] for v in values):
            v = builder.insert_element(undef, values[0], ir.Constant(_I32, 0))
            return builder.shuffle_vector(v, v, splat)
        v = undef
        for lane, value in enumerate(values):
            v = builder.insert_element(v, value, ir.Constant(_I32, lane))
        return v

    shuffled = {}

    def shuffle(src: int, flip: int):
        if flip == 0:
            return loaded[src]
        if (src, flip) not in shuffled:
            mask = ir.Constant(ir.VectorType(_I32, LANES), [lane ^ flip for lane in range(LANES)])
            shuffled[src, flip] = tuple(builder.shuffle_vector(v, v, mask) for v in loaded[src])
        return shuffled[src, flip]

    flips = []  # lane flip patterns: every subset of the lane qubits
    for f in range(1 << len(lane_qubits)):
        flips.append(sum(1 << lanes[j] for t, j in enumerate(lane_qubits) if (f >> t) & 1))
    outputs = []
    for r in range(len(pointers)):
        acc = None
        for src in range(len(pointers)):
            for flip in flips:
                if diagonal and (src != r or flip):
                    continue  # a diagonal matrix maps each amplitude to itself
                cols = []
                for lane in range(LANES):
                    a = gate_index(r, lane)
                    c = gate_index(src, lane ^ flip)
                    cols.append(a if diagonal else a * d + c)
                cr = lane_vector([coef_r[i] for i in cols])
                ar, ai = shuffle(src, flip)
                pr, pi = _fast(builder.fmul(cr, ar)), _fast(builder.fmul(cr, ai))
                if real:
                    if acc is None:
                        acc = (pr, pi)
                    else:
                        acc = (_fast(builder.fadd(acc[0], pr)), _fast(builder.fadd(acc[1], pi)))
                    continue
                ci = lane_vector([coef_i[i] for i in cols])
                qr, qi = _fast(builder.fmul(ci, ai)), _fast(builder.fmul(ci, ar))
                if acc is None:
                    acc = (_fast(builder.fsub(pr, qr)), _fast(builder.fadd(pi, qi)))
                else:
                    acc = (
                        _fast(builder.fsub(_fast(builder.fadd(acc[0], pr)), qr)),
                        _fast(builder.fadd(_fast(builder.fadd(acc[1], pi)), qi)),
                    )
        outputs.append(acc)
    for (pr, pi), (vr, vi) in zip(pointers, outputs):
        builder.store(vr, pr, align=align)
        builder.store(vi, pi, align=align)
    return context.get_dummy_value()


def _literal(t) -> int | None:
    if isinstance(t, types.IntegerLiteral) and 0 <= t.literal_value < LANE_QUBITS:
        return t.literal_value
    return None


def _sig(re, im, n_offsets, cr, ci, *literals):
    return types.none(re, im, types.intp, *([types.intp] * n_offsets), cr, ci, *literals)


@intrinsic
def vec1(typingctx, re, im, x, s, cr, ci):
    """2x2 (cr + i ci, row-major tuples) on the vectors at x and x + s (s >= 16).
    ``ci = ()`` marks a real matrix: then each term is 2 FMAs (real coefficient times
    the real and imaginary parts) instead of 4, in every intrinsic here; ``cr``, ``ci``
    of length 2 (4 for the 4x4 intrinsics) give a diagonal matrix's diagonal, and the
    step is one term per amplitude with no shuffles."""

    def codegen(context, builder, sig, args):
        return _emit(context, builder, sig, args, [3], [None])

    return _sig(re, im, 1, cr, ci), codegen


@intrinsic
def vec1_lane(typingctx, re, im, x, cr, ci, p):
    """2x2 on lane bit ``p`` (a literal 0-3) of the vector at x."""
    lane = _literal(p)
    if lane is None:
        return None

    def codegen(context, builder, sig, args):
        return _emit(context, builder, sig, args, [None], [lane])

    return _sig(re, im, 0, cr, ci, p), codegen


@intrinsic
def vec2(typingctx, re, im, x, s0, s1, cr, ci):
    """4x4 (matrix bit 0 is the lower qubit) on the vectors at x, x+s0, x+s1, x+s0+s1."""

    def codegen(context, builder, sig, args):
        return _emit(context, builder, sig, args, [3, 4], [None, None])

    return _sig(re, im, 2, cr, ci), codegen


@intrinsic
def vec2_lane(typingctx, re, im, x, s1, cr, ci, p0):
    """4x4 with the lower qubit on lane bit ``p0`` (literal) and the upper a row (s1)."""
    lane = _literal(p0)
    if lane is None:
        return None

    def codegen(context, builder, sig, args):
        return _emit(context, builder, sig, args, [None, 3], [lane, None])

    return _sig(re, im, 1, cr, ci, p0), codegen


@intrinsic
def vec2_lanes(typingctx, re, im, x, cr, ci, p0, p1):
    """4x4 with both qubits on lane bits ``p0 < p1`` (literals) of the vector at x."""
    lane0, lane1 = _literal(p0), _literal(p1)
    if lane0 is None or lane1 is None or lane0 >= lane1:
        return None

    def codegen(context, builder, sig, args):
        return _emit(context, builder, sig, args, [None, None], [lane0, lane1])

    return _sig(re, im, 0, cr, ci, p0, p1), codegen
