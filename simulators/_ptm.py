"""The Pauli-transfer program of a noisy circuit, and conversions out of the Pauli vector.

The density-matrix simulator runs batches on CPU in the Pauli basis (kernels in
``simulators._cpu_ptm``): rho = 2**-n sum_P r_P P with real r_P = Tr(P rho). Every
gate and channel is a real transfer matrix R_ij = Tr(P_i E(P_j)) / 2**k on its k
qubits, and one-qubit gates with the channels after them are multiplied into one
4x4 matrix (the same fusion as the superoperator path). Against the superoperator on
vec(rho), the vector is real (half the bytes), a one-qubit gate costs 9 real
products per group of four instead of 32, and a CNOT with a Pauli channel after it
is a signed permutation (a swap of entries, no arithmetic beyond a scale).
"""

from __future__ import annotations

import functools
from dataclasses import dataclass, field

import numpy as np

from simulators._generic import CX, DENSE2, MONO2, U1, U1_UNITAL
from simulators._matrices import batched_matrix
from simulators._plan import Gate

_ONE = (np.eye(2), np.array([[0, 1], [1, 0]]), np.diag([1.0, -1.0]), np.array([[0, -1j], [1j, 0]]))


@functools.lru_cache(maxsize=4)
def _basis(k: int) -> tuple[np.ndarray, np.ndarray]:
    """(V, order): the column-stacked Paulis of k qubits, V[:, l] = vec(P_l), indexed by
    the symplectic local index l = sum_q x_q 2**q + z_q 2**(k + q)."""
    d = 1 << k
    cols = []
    for l in range(d * d):
        p = np.ones((1, 1))
        for q in reversed(range(k)):  # qubit 0 is the last (least significant) factor
            x, z = (l >> q) & 1, (l >> (k + q)) & 1
            p = np.kron(p, _ONE[x + 2 * z])
        cols.append(p.T.ravel())  # column stacking: vec(A)[r + d c] = A[r, c]
    return np.array(cols).T


def transfer(superop: np.ndarray, k: int) -> np.ndarray:
    """Real transfer matrices (batch, 4**k, 4**k) of superoperators (batch, 4**k, 4**k):
    R = V^H S V / 2**k."""
    v = _basis(k)
    out = np.matmul(v.conj().T, np.matmul(superop, v)).real / (1 << k)
    return np.ascontiguousarray(out)


def _gate_superop(gate: Gate, params) -> np.ndarray:
    u = gate.matrices(params)
    batch, d = u.shape[0], u.shape[1]
    s = u.conj()[:, :, None, :, None] * u[:, None, :, None, :]  # [b, c, r, c', r']
    return s.reshape(batch, d * d, d * d)


def _embed(superop: np.ndarray, positions: tuple[int, ...], k: int) -> np.ndarray:
    """A channel's superoperator on ``positions`` (local qubits of an op of k qubits)
    as a superoperator on all k, identity on the rest."""
    kc = len(positions)
    if kc == k and positions == tuple(range(k)):
        return superop
    d, dc = 1 << k, 1 << kc
    # vec index r + d c; act on the channel's bits of r and of c
    s = superop.reshape(dc, dc, dc, dc)  # [c_out, r_out, c_in, r_in] in column stacking
    out = np.zeros((d * d, d * d), dtype=complex)
    rest = [q for q in range(k) if q not in positions]
    for r_in in range(d):
        for c_in in range(d):
            rc_in = sum(((r_in >> p) & 1) << j for j, p in enumerate(positions))
            cc_in = sum(((c_in >> p) & 1) << j for j, p in enumerate(positions))
            keep_r = sum(((r_in >> p) & 1) << p for p in rest)
            keep_c = sum(((c_in >> p) & 1) << p for p in rest)
            for rc in range(dc):
                for cc in range(dc):
                    val = s[cc, rc, cc_in, rc_in]
                    if val == 0:
                        continue
                    r = keep_r | sum(((rc >> j) & 1) << p for j, p in enumerate(positions))
                    c = keep_c | sum(((cc >> j) & 1) << p for j, p in enumerate(positions))
                    out[r + d * c, r_in + d * c_in] += val
    return out


@functools.lru_cache(maxsize=1)
def _cx_source() -> np.ndarray:
    """src[l]: the entry a CNOT (control local qubit 0) maps onto local index l."""
    src = np.empty(16, dtype=np.int64)
    for l in range(16):
        xc, xt, zc, zt = l & 1, (l >> 1) & 1, (l >> 2) & 1, (l >> 3) & 1
        # the map is an involution: (x_c, x_t ^ x_c, z_c ^ z_t, z_t)
        src[l] = xc | ((xt ^ xc) << 1) | ((zc ^ zt) << 2) | (zt << 3)
    return src


@dataclass
class _PtmOp:
    kind: int
    qubits: tuple[int, ...]
    members: list  # (gate | None, [superoperator on the op's qubits, ...]) in order
    fixed: np.ndarray | None = None  # (1, size) entries when nothing is parameterised
    perm: np.ndarray | None = None
    _cached_parts: list | None = None
    _cached_trig: object = None

    @property
    def parameterized(self) -> bool:
        return any(g is not None and g.is_parameterized for g, _ in self.members)

    def _parts(self) -> list:
        """The members as transfer matrices: fixed ones multiplied together, a
        parameterised gate as (gate, transfer matrix of the channels after it)."""
        if self._cached_parts is None:
            k = len(self.qubits)
            parts: list = []
            for gate, channels in self.members:
                after = None
                for superop in channels:
                    t = transfer(superop[None], k)
                    after = t if after is None else t @ after
                if gate is not None and gate.is_parameterized:
                    parts.append((gate, after))
                    continue
                r = after if gate is None else transfer(_gate_superop(gate, None), k)
                if gate is not None and after is not None:
                    r = after @ r
                if parts and isinstance(parts[-1], np.ndarray):
                    r = r @ parts[-1]
                    parts[-1] = r
                else:
                    parts.append(r)
            self._cached_parts = parts
        return self._cached_parts

    def matrix(self, params) -> np.ndarray:
        """The op's transfer matrices (batch or 1, 4**k, 4**k)."""
        k = len(self.qubits)
        total = None
        for part in self._parts():
            if isinstance(part, np.ndarray):
                r = part
            else:
                gate, after = part
                r = transfer(_gate_superop(gate, params), k)
                if after is not None:
                    r = after @ r
            total = r if total is None else r @ total
        return total

    def _extract(self, r: np.ndarray) -> np.ndarray:
        """The kernel's entries of transfer matrices (batch, 4**k, 4**k): linear in r."""
        if self.kind in (U1, U1_UNITAL, DENSE2):
            return r.reshape(len(r), -1)
        src = _cx_source() if self.kind == CX else self.perm
        return r[:, np.arange(16), src]

    def _trig(self):
        """The op's entries as ``basis(angles) @ E``: each parameterised gate's transfer
        matrix is a trigonometric polynomial of its angle (frequencies: differences of
        its generator's eigenvalues), so the op's is a sum of products of cos/sin terms
        with fixed matrices, precomputed here. None when a gate has several angles or
        the terms would be many (then ``matrix`` is evaluated per call)."""
        if self._cached_trig is None:
            self._cached_trig = _trig_model(self) or False
        return self._cached_trig or None

    def entries(self, params) -> np.ndarray:
        model = None if params is None or not self.parameterized else self._trig()
        if model is None:
            return self._extract(self.matrix(params))
        gates, table = model
        basis = np.ones((len(params), 1))
        for gate, freqs in gates:
            theta = gate.angles(params)[:, 0]
            own = _trig_basis(theta, freqs)
            basis = (basis[:, :, None] * own[:, None, :]).reshape(len(params), -1)
        return basis @ table


_MAX_TRIG_TERMS = 64


def _trig_basis(theta: np.ndarray, freqs: tuple[float, ...]) -> np.ndarray:
    """(batch, 1 + 2 len(freqs)): 1, cos(f theta), sin(f theta) for each frequency."""
    cols = [np.ones_like(theta)]
    for f in freqs:
        cols += [np.cos(f * theta), np.sin(f * theta)]
    return np.stack(cols, axis=1)


def _gate_trig(gate: Gate, k: int):
    """(frequencies, A) with the gate's transfer matrix R(theta) = sum_b basis_b A[b]
    (fitted exactly from samples), or None for gates with several angles."""
    from simulators._matrices import _spectrum

    if len(gate.slots) != 1:
        return None
    values, _ = _spectrum(gate.name)
    diffs = {round(abs(a - b), 12) for a in values for b in values}
    freqs = tuple(sorted(f for f in diffs if f > 0))
    n_basis = 1 + 2 * len(freqs)
    theta = np.random.default_rng(1).uniform(-np.pi, np.pi, 3 * n_basis)
    u = batched_matrix(gate.name, theta[:, None])
    d = u.shape[1]
    superop = (u.conj()[:, :, None, :, None] * u[:, None, :, None, :]).reshape(-1, d * d, d * d)
    samples = transfer(superop, k).reshape(len(theta), -1)
    coeffs, *_ = np.linalg.lstsq(_trig_basis(theta, freqs), samples, rcond=None)
    fitted = _trig_basis(theta, freqs) @ coeffs
    if np.abs(fitted - samples).max() > 1e-12:  # not a trigonometric polynomial after all
        return None
    return freqs, coeffs.reshape(n_basis, 4**k, 4**k)


def _trig_model(op: _PtmOp):
    """(parameterised gates with their frequencies, E) with entries = basis @ E."""
    k = len(op.qubits)
    terms = [np.eye(4**k)[None]]  # (1, d2, d2) each, in basis-product order
    gates = []
    for part in op._parts():
        if isinstance(part, np.ndarray):
            terms = [part @ t for t in terms]
            continue
        gate, after = part
        fit = _gate_trig(gate, k)
        if fit is None:
            return None
        freqs, a = fit
        if after is not None:
            a = after @ a
        if len(terms) * len(a) > _MAX_TRIG_TERMS:
            return None
        terms = [a[b][None] @ t for t in terms for b in range(len(a))]
        gates.append((gate, freqs))
    table = np.concatenate([op._extract(t) for t in terms], axis=0)
    return tuple(gates), np.ascontiguousarray(table)


@dataclass(frozen=True)
class PtmProgram:
    """The flattened ops: kinds, qubits (padded to 2), offsets into the entries, the
    permutations of MONO2 ops, the constant entries and the parameterised ops."""

    kinds: np.ndarray
    qubits: np.ndarray
    offsets: np.ndarray
    perms: np.ndarray
    fixed_entries: np.ndarray
    dynamic: tuple[tuple[_PtmOp, int, int], ...]

    def entries_shape(self, batch: int) -> tuple[int, int]:
        return (batch if self.dynamic else 1, self.fixed_entries.shape[1])

    memo: dict = field(default_factory=dict, compare=False, repr=False)

    def entries(self, values) -> np.ndarray:
        if not self.dynamic or values is None:
            return self.fixed_entries
        if "trig" not in self.memo:
            self.memo["trig"] = _trig_plan(self.dynamic)
        plan = self.memo["trig"]
        out = np.repeat(self.fixed_entries, len(values), axis=0)
        # every parameterised gate's angle in one go, their cos/sin per frequency group
        slots, scales, offsets, groups, where, ops = plan
        theta = values[:, slots] * scales + offsets
        bases = []
        for freqs, idx in groups:
            t = theta[:, idx]
            cols = [np.ones_like(t)]
            for f in freqs:
                cols += [np.cos(f * t), np.sin(f * t)]
            bases.append(np.stack(cols, axis=2))  # (batch, gates, basis)
        for op, start, size, gate_ids, table in ops:
            if table is None:  # no trigonometric model: its transfer matrices per call
                out[:, start : start + size] = op.entries(values)
                continue
            g, j = where[gate_ids[0]]
            basis = bases[g][:, j, :]
            for gid in gate_ids[1:]:
                g, j = where[gid]
                own = bases[g][:, j, :]
                basis = (basis[:, :, None] * own[:, None, :]).reshape(len(values), -1)
            out[:, start : start + size] = basis @ table
        return out


def _trig_plan(dynamic):
    """The parameterised ops' trigonometric models gathered for ``PtmProgram.entries``
    (an op without one gets table None and is evaluated per call)."""
    gates, ops = [], []
    for op, start, size in dynamic:
        model = op._trig()
        if model is None:
            ops.append((op, start, size, (), None))
            continue
        own, table = model
        ids = tuple(range(len(gates), len(gates) + len(own)))
        gates.extend(own)
        ops.append((op, start, size, ids, table))
    groups: dict[tuple, list[int]] = {}
    where = []
    for gid, (_, freqs) in enumerate(gates):
        members = groups.setdefault(freqs, [])
        where.append((list(groups).index(freqs), len(members)))
        members.append(gid)
    return (
        np.array([g.slots[0] for g, _ in gates], dtype=np.int64),
        np.array([g.scales[0] for g, _ in gates]),
        np.array([g.offsets[0] for g, _ in gates]),
        tuple((freqs, np.array(ids, dtype=np.int64)) for freqs, ids in groups.items()),
        where,
        tuple(ops),
    )


def _classify(op: _PtmOp, n_params: int) -> None:
    """Pick the kernel: unital 1-qubit ops skip the identity row; fixed 2-qubit ops
    that are signed permutations (Cliffords with Pauli channels) move entries only."""
    k = len(op.qubits)
    probe = np.random.default_rng(0).uniform(-np.pi, np.pi, (2, n_params)) if n_params else None
    r = op.matrix(probe if op.parameterized else None)
    if k == 1:
        e0 = np.zeros(4)
        e0[0] = 1
        unital = np.allclose(r[:, 0], e0, atol=1e-13) and np.allclose(r[:, :, 0], e0, atol=1e-13)
        op.kind = U1_UNITAL if unital else U1
    else:
        op.kind = DENSE2
        if not op.parameterized:
            nz = np.abs(r[0]) > 1e-14
            if (nz.sum(axis=1) == 1).all() and (nz.sum(axis=0) == 1).all():
                perm = nz.argmax(axis=1)
                if abs(r[0, 0, 0] - 1) < 1e-13 and perm[0] == 0:
                    is_cx = np.array_equal(perm, _cx_source())
                    op.kind = CX if is_cx else MONO2
                    op.perm = perm
    if not op.parameterized:
        op.fixed = op.entries(None)


def compile_ptm(gates: list[Gate], n: int, noise, n_params: int) -> PtmProgram | None:
    """The program for ``gates`` with ``noise`` after them, or None when an op acts on
    more than two qubits (those go to the superoperator path)."""
    ops: list[_PtmOp] = []
    open_one: dict[int, int] = {}  # qubit -> index of a one-qubit op nothing has followed

    def close(qubits):
        for q in qubits:
            open_one.pop(q, None)

    def one_qubit(q, member):
        if q in open_one:
            ops[open_one[q]].members.append(member)
        else:
            open_one[q] = len(ops)
            ops.append(_PtmOp(U1, (q,), [member]))

    for gate in gates:
        errors = noise.errors_after(gate.name, gate.qubits) if noise else []
        if len(gate.qubits) > 2 or any(len(qs) > 2 for _, qs in errors):
            return None
        qubits = tuple(gate.qubits)
        if len(qubits) == 1 and gate.name == "id" and not errors:
            continue
        # the leading channels that fold into the gate's op: on its qubits and, after a
        # two-qubit gate, Pauli channels only (the product stays a signed permutation)
        folded = 0
        for channel, qs in errors:
            inside = set(qs) <= set(qubits) and (
                len(qubits) == 1 or channel.pauli_probs is not None
            )
            if not inside:
                break
            folded += 1
        local = {q: j for j, q in enumerate(qubits)}
        member = (gate, [_embed(c.superop, tuple(local[q] for q in qs), len(qubits))
                         for c, qs in errors[:folded]])  # fmt: skip
        if len(qubits) == 1:
            one_qubit(qubits[0], member)
        else:
            close(qubits)
            ops.append(_PtmOp(DENSE2, qubits, [member]))
        for channel, qs in errors[folded:]:
            qs = tuple(qs)
            if len(qs) == 1:
                one_qubit(qs[0], (None, [channel.superop]))
            else:
                close(qs)
                ops.append(_PtmOp(DENSE2, qs, [(None, [channel.superop])]))
    for op in ops:
        _classify(op, n_params)
    return _flatten(ops)


_SIZES = {U1: 16, U1_UNITAL: 16, CX: 16, MONO2: 16, DENSE2: 256}


def _flatten(ops: list[_PtmOp]) -> PtmProgram:
    kinds, qubits, offsets, perms, fixed, dynamic = [], [], [], [], [], []
    cursor = 0
    for op in ops:
        size = _SIZES[op.kind]
        kinds.append(op.kind)
        qubits.append([*op.qubits, *([0] * (2 - len(op.qubits)))])
        perms.append(op.perm if op.perm is not None else np.arange(16))
        offsets.append(cursor)
        if op.fixed is None:
            dynamic.append((op, cursor, size))
            fixed.append(np.zeros(size))
        else:
            fixed.append(op.fixed[0])
        cursor += size
    entries = np.concatenate(fixed)[None] if cursor else np.zeros((1, 1))
    return PtmProgram(
        np.array(kinds, dtype=np.int64),
        np.array(qubits, dtype=np.int64).reshape(-1, 2),
        np.array(offsets, dtype=np.int64),
        np.array(perms, dtype=np.int64).reshape(-1, 16),
        np.ascontiguousarray(entries),
        tuple(dynamic),
    )


# -- out of the Pauli vector -------------------------------------------------------------------
def _walsh(a: np.ndarray, n: int) -> np.ndarray:
    """out[..., s] = sum_z a[..., z] (-1)^{|z & s|} over the last axis (length 2**n)."""
    shape = a.shape[:-1]
    a = a.reshape(-1, 1 << n).copy()
    h = 1
    while h < (1 << n):
        v = a.reshape(len(a), -1, 2, h)
        x, y = v[:, :, 0, :].copy(), v[:, :, 1, :]
        v[:, :, 0, :] += y
        v[:, :, 1, :] = x - y
        h *= 2
    return a.reshape(*shape, 1 << n)


def probabilities(r: np.ndarray, n: int) -> np.ndarray:
    """p(s) = 2**-n sum_z r[z << n] (-1)^{|z & s|}."""
    z = np.arange(1 << n) << n
    return _walsh(r[:, z].astype(np.float64), n) / (1 << n)


def density_matrices(r: np.ndarray, n: int) -> np.ndarray:
    """rho[s ^ x, s] = 2**-n sum_z r[x + (z << n)] i^{|x & z|} (-1)^{|z & s|}."""
    d = 1 << n
    z = np.arange(d)
    s = np.arange(d)
    rho = np.zeros((len(r), d, d), dtype=np.complex128)
    for x in range(d):
        phase = 1j ** (np.bitwise_count(x & z) % 4)
        col = _walsh(r[:, x + (z << n)] * phase, n) / d  # indexed by s
        rho[:, s ^ x, s] = col
    return rho


def expvals(r: np.ndarray, xs, zs, coeffs, n: int) -> np.ndarray:
    """sum_k c_k Tr(P_k rho) with ``coeffs`` in ``pauli_arrays``' form (i^{|x&z|} folded in)."""
    xs = np.asarray(xs, dtype=np.int64)
    zs = np.asarray(zs, dtype=np.int64)
    hermitian = np.asarray(coeffs) * (-1j) ** (np.bitwise_count(xs & zs) % 4)
    return r[:, xs + (zs << n)].astype(np.float64) @ hermitian
