"""The cache-blocked CPU engine (``simulators._cpu_blocked`` behind ``CpuKernels.run_block``)
and the planning around it (``fusion.cache_blocks``, the fusion cost model): against the
existing per-gate kernels (its twins) and ``qiskit.quantum_info.Statevector``, in both
precisions, fusion widths 0-5, cache-blocked into several chunks and not, serial and
threaded. A quick subset runs by default; the 1-16 qubit sweep is marked slow."""

from __future__ import annotations

import numpy as np
import pytest
from qiskit.quantum_info import Statevector

from simulators._cpu_kernels import CpuKernels
from simulators._plan import compile_plan, gates_of, run_plan
from simulators.fusion import cache_blocks, fuse_gates
from tests.conftest import random_circuit

DTYPES = {"double": np.complex128, "single": np.complex64}
TOL = {"double": 1e-10, "single": 2e-4}


class _Kernels(CpuKernels):
    """CPU kernels with a chosen chunk size and serial/threaded choice."""

    def __init__(self, chunk: int, threaded: bool):
        super().__init__()
        self._chunk = chunk
        self._serial_below = 0 if threaded else 1 << 40

    def block_qubits(self, num_qubits, dtype):
        return self._chunk


class _Stepwise(CpuKernels):
    def block_qubits(self, num_qubits, dtype):
        return 0  # the per-gate kernels: the twin the blocked engine must match


def _random_unitaries(rng, k: int, batch: int = 1, real: bool = False) -> np.ndarray:
    """Haar-ish unitaries; ``real``: orthogonal ones (a complex array with zero imaginary
    part), which take the kernels' real-matrix path."""
    a = rng.normal(size=(batch, 2**k, 2**k))
    if not real:
        a = a + 1j * rng.normal(size=(batch, 2**k, 2**k))
    q, _ = np.linalg.qr(a)
    return q.astype(complex)


def _random_state(rng, n: int, batch: int, dtype) -> np.ndarray:
    s = rng.normal(size=(batch, 2**n)) + 1j * rng.normal(size=(batch, 2**n))
    return (s / np.linalg.norm(s, axis=1, keepdims=True)).astype(dtype)


def _check_run_block(n: int, precision: str, chunk: int, threaded: bool, seed: int) -> None:
    """Random dense gates of widths 1-5 through cache_blocks + run_block, against
    apply_matrix gate by gate: complex and real (orthogonal) matrices, shared or one
    per state, and batches whose first matrix is real and second is not (which must
    not take the real path)."""
    rng = np.random.default_rng(seed)
    dtype = DTYPES[precision]
    gates = []
    for g in range(12):
        k = int(rng.integers(1, min(5, n) + 1))
        qubits = tuple(int(q) for q in rng.choice(n, size=k, replace=False))
        kind = g % 3
        if kind == 2:  # mixed batch: real, then complex
            mats = np.concatenate([_random_unitaries(rng, k, real=True), _random_unitaries(rng, k)])
        else:
            mats = _random_unitaries(rng, k, batch=int(rng.choice([1, 2])), real=kind == 1)
        gates.append((qubits, mats))
    start = _random_state(rng, n, 2, dtype)
    expected = start.copy()
    reference = CpuKernels()
    for qubits, mats in gates:
        m = np.broadcast_to(mats, (2, *mats.shape[1:])).astype(dtype)
        for b in range(2):
            reference.apply_matrix(expected[b : b + 1], qubits, np.ascontiguousarray(m[b : b + 1]))
    kernels = _Kernels(chunk, threaded)
    state = start.copy()
    blocks = cache_blocks([q for q, _ in gates], n, chunk)
    assert sorted(i for b in blocks for i in b.steps) == list(range(len(gates)))
    for block in blocks:
        assert list(block.high) == sorted(block.high)
        kernels.run_block(state, block.low, block.high, [gates[i][0] for i in block.steps],
                          [gates[i][1] for i in block.steps])  # fmt: skip
    np.testing.assert_allclose(state, expected, atol=TOL[precision])


@pytest.mark.parametrize("precision", ["double", "single"])
@pytest.mark.parametrize(
    "n, chunk, threaded",
    [(1, 17, False), (3, 17, False), (6, 17, True), (11, 9, False),
     pytest.param(12, 10, True, marks=pytest.mark.slow),
     pytest.param(9, 16, True, marks=pytest.mark.slow)],
)  # fmt: skip
def test_run_block_matches_per_gate_kernels(n, chunk, threaded, precision):
    _check_run_block(n, precision, chunk, threaded, seed=n * 7 + chunk)


@pytest.mark.slow
@pytest.mark.parametrize("precision", ["double", "single"])
@pytest.mark.parametrize("threaded", [False, True])
@pytest.mark.parametrize("n", range(1, 17))
def test_run_block_sweep(n, threaded, precision):
    for chunk in sorted({n, 8, 10, 12, 16}):
        _check_run_block(n, precision, chunk, threaded, seed=100 * n + chunk)


def _check_circuit(n: int, precision: str, fusion: int, chunk: int, threaded: bool, seed: int):
    rng = np.random.default_rng(seed)
    circuit = random_circuit(n, 6 * n, rng)
    gates, params = gates_of(circuit)
    plan = compile_plan(gates, n, len(params), fusion)
    dtype = DTYPES[precision]
    blocked = run_plan(_Kernels(chunk, threaded), plan, None, 1, dtype)[0]
    stepwise = run_plan(_Stepwise(), plan, None, 1, dtype)[0]
    expected = Statevector(circuit.to_qiskit()).data
    np.testing.assert_allclose(blocked, expected, atol=TOL[precision] * 10)
    np.testing.assert_allclose(blocked, stepwise, atol=TOL[precision] * 10)


@pytest.mark.parametrize("precision", ["double", "single"])
@pytest.mark.parametrize(
    "n, fusion, chunk, threaded",
    [(2, 2, 17, False), (5, 5, 17, False), (10, 3, 8, True), (11, 2, 9, False),
     (12, 4, 10, True), (13, 1, 16, True), (12, 0, 9, False)],
)  # fmt: skip
def test_plans_run_blocked_like_qiskit(n, fusion, chunk, threaded, precision):
    _check_circuit(n, precision, fusion, chunk, threaded, seed=n + 31 * fusion)


@pytest.mark.slow
@pytest.mark.parametrize("precision", ["double", "single"])
@pytest.mark.parametrize("fusion", range(6))
@pytest.mark.parametrize("n", range(1, 17))
def test_plans_run_blocked_sweep(n, fusion, precision):
    for chunk, threaded in ((n, False), (max(8, n - 4), True), (16, True)):
        _check_circuit(n, precision, fusion, chunk, threaded, seed=1000 * n + fusion)


def test_simulator_above_the_chunk_matches_qiskit():
    """18 qubits with the simulator's own chunk sizes (17 single, 16 double): several
    blocks with high qubits, threaded."""
    from simulators import get_simulator

    rng = np.random.default_rng(5)
    circuit = random_circuit(18, 40, rng)
    expected = Statevector(circuit.to_qiskit()).data
    for precision in ("double", "single"):
        state = get_simulator("statevector", device="cpu", precision=precision).statevector(circuit)
        np.testing.assert_allclose(state, expected, atol=TOL[precision] * 10)


def test_cache_blocks_keep_order_and_fit():
    rng = np.random.default_rng(2)
    n, chunk = 14, 10
    steps = [tuple(int(q) for q in rng.choice(n, size=int(rng.integers(1, 4)), replace=False))
             for _ in range(60)]  # fmt: skip
    blocks = cache_blocks(steps, n, chunk)
    position = {}
    for b, block in enumerate(blocks):
        # a pass holds at most chunk - low high qubits, unless one wider step needs more
        assert len(block.high) <= chunk - block.low or len(block.steps) == 1
        for i in block.steps:
            assert all(q < block.low or q in block.high for q in steps[i])
            position[i] = (b, block.steps.index(i))
    # two steps sharing a qubit run in circuit order
    for i in range(len(steps)):
        for j in range(i + 1, len(steps)):
            if set(steps[i]) & set(steps[j]):
                assert position[i] < position[j]
    assert cache_blocks(steps, 9, 17) == [type(blocks[0])(9, (), tuple(range(len(steps))))]


def test_fusion_cost_model():
    layer = [(q,) for q in range(6)] + [(q, q + 1) for q in range(0, 5, 2)]
    width_only = fuse_gates(layer * 3, max_qubits=5)
    costed = fuse_gates(layer * 3, max_qubits=5, pass_cost=4.0)
    assert max(len(b.qubits) for b in width_only) == 5
    # with passes at 4 multiply-adds, fusing past 4 qubits never pays
    assert max(len(b.qubits) for b in costed) <= 4
    assert fuse_gates(layer, max_qubits=2, pass_cost=None) == fuse_gates(layer, max_qubits=2)
    for blocks in (width_only, costed):
        assert sorted(i for b in blocks for i in b.ops) == list(range(len(layer) * 3))


@pytest.mark.parametrize("precision", ["double", "single"])
def test_simd_gates_on_every_position_match_qiskit(precision):
    """The 16-lane kernels (``simulators._simd``) in all their cases: a 1-qubit gate on
    each qubit (lane bits 0-3, rows above) and a 2-qubit gate on every ordered pair of
    7 qubits (lane-lane, lane-row, row-row; either qubit first, so the matrix is
    re-indexed), one chunk, against qiskit's Operator on a Statevector."""
    from qiskit.quantum_info import Operator

    rng = np.random.default_rng(11)
    n = 7
    dtype = DTYPES[precision]
    start = _random_state(rng, n, 1, dtype)
    cases = [(q,) for q in range(n)]
    cases += [(a, b) for a in range(n) for b in range(n) if a != b]
    kernels = _Kernels(n, threaded=False)
    for qubits in cases:
        for real in (False, True):  # complex and real (orthogonal) matrices
            u = _random_unitaries(rng, len(qubits), real=real)
            state = start.copy()
            kernels.run_block(state, n, (), [qubits], [u])
            # our matrix bit j is qubits[j]: qiskit's Operator on qargs in that order
            evolved = Statevector(start[0].astype(complex)).evolve(Operator(u[0]), list(qubits))
            np.testing.assert_allclose(
                state[0], evolved.data, atol=TOL[precision], err_msg=f"{qubits} real={real}"
            )


@pytest.mark.slow
def test_blocked_inner_loops_vectorise():
    """The 1- and 2-qubit kernels compile to packed FMAs on 16-lane vectors (``zmm``, or
    pairs of ``ymm`` without AVX-512) for float32 and float64, in their row and lane
    cases, complex and real matrices (compiled here without the disk cache, which hides
    the asm)."""
    import re

    from numba import njit

    from simulators import _cpu_blocked

    def apply(re_, im_, cr, ci, cr4, ci4):
        _cpu_blocked._simd2(re_, im_, 4, 7, cr, ci)  # rows
        _cpu_blocked._simd2(re_, im_, 1, 7, cr, ci)  # lane and row
        _cpu_blocked._simd2(re_, im_, 0, 3, cr, ci)  # lanes
        _cpu_blocked._simd1(re_, im_, 5, cr4, ci4)
        _cpu_blocked._simd1(re_, im_, 2, cr4, ci4)

    kernel = njit(fastmath=True, cache=False)(apply)
    for real in (np.float32, np.float64):
        buf = np.zeros(1 << 10, real)
        c16 = tuple(real(v) for v in range(16))
        kernel(buf, buf.copy(), c16, c16, c16[:4], c16[:4])
        kernel(buf, buf.copy(), c16, (), c16[:4], ())
    for sig, asm in kernel.inspect_asm().items():
        packed = re.findall(r"vfmadd\w+\s+[^\n]*%[yz]mm", asm)
        # a real matrix has half the FMAs of a complex one
        least = 32 if len(sig[3]) == 0 else 64
        assert len(packed) >= least, (sig, len(packed))


@pytest.mark.gpu
def test_gpu_run_block_matches_cpu():
    """The GPU's run_block (gate by gate: it does no cache blocking) against the CPU's."""
    pytest.importorskip("cupy")
    from simulators._kernels import get_kernels, gpu_available

    if not gpu_available():
        pytest.skip("no CUDA GPU visible to CuPy")
    gpu = get_kernels("gpu")
    rng = np.random.default_rng(9)
    n = 12
    gates = [((1, 7), _random_unitaries(rng, 2)), ((0,), _random_unitaries(rng, 1)),
             ((11, 3, 5), _random_unitaries(rng, 3))]  # fmt: skip
    for precision, dtype in DTYPES.items():
        start = _random_state(rng, n, 1, dtype)
        cpu_state = start.copy()
        _Kernels(8, threaded=False).run_block(cpu_state, 5, (7, 11), *zip(*gates))
        state = gpu.asarray(start, dtype)
        assert gpu.block_qubits(n, dtype) == 0
        gpu.run_block(state, n, (), *zip(*gates))
        np.testing.assert_allclose(gpu.to_numpy(state), cpu_state, atol=TOL[precision])
