"""Our Pauli-frame sampler (simulators/frames.py) against Stim's samplers."""

from __future__ import annotations

import numpy as np
import pytest

stim = pytest.importorskip("stim")

from qworkbench import Circuit  # noqa: E402
from qworkbench.errors import MemoryLimitError, NotCliffordError, UnsupportedGateError  # noqa: E402
from simulators import get_simulator  # noqa: E402
from simulators.frames import FrameSimulator, compile_frames  # noqa: E402

UNITARY_1 = sorted(
    n for n, d in stim.gate_data().items() if d.is_unitary and d.is_single_qubit_gate
)
UNITARY_2 = sorted(n for n, d in stim.gate_data().items() if d.is_unitary and d.is_two_qubit_gate)


@pytest.fixture(scope="module")
def sim():
    return get_simulator("stabilizer", engine="frames", device="cpu")


def surface(d: int, p: float, rounds: int | None = None) -> stim.Circuit:
    return stim.Circuit.generated("surface_code:rotated_memory_z", distance=d,
                                  rounds=rounds or d, after_clifford_depolarization=p,
                                  before_measure_flip_probability=p,
                                  after_reset_flip_probability=p)  # fmt: skip


def random_unitary(n: int, depth: int, rng: np.random.Generator) -> stim.Circuit:
    c = stim.Circuit()
    for _ in range(depth):
        if rng.random() < 0.5:
            a, b = rng.choice(n, 2, replace=False)
            c.append(str(rng.choice(UNITARY_2)), [int(a), int(b)])
        else:
            c.append(str(rng.choice(UNITARY_1)), [int(rng.integers(n))])
    return c


def forced_errors(n: int, rng: np.random.Generator) -> stim.Circuit:
    """Pauli noise channels at probability 0 or 1: deterministic errors."""
    q = [int(v) for v in rng.choice(n, 3, replace=False)]
    probs2 = [0.0] * 15
    probs2[int(rng.integers(15))] = 1.0
    probs1 = [0.0] * 3
    probs1[int(rng.integers(3))] = 1.0
    c = stim.Circuit()
    c.append(str(rng.choice(["X_ERROR", "Y_ERROR", "Z_ERROR"])), [q[0]], 1.0)
    c.append("DEPOLARIZE1", [q[1]], 0.0)
    c.append("PAULI_CHANNEL_1", [q[2]], probs1)
    c.append("PAULI_CHANNEL_2", [q[0], q[1]], probs2)
    c.append("DEPOLARIZE2", [q[1], q[2]], 0.0)
    pauli = str(rng.choice(list("XYZ")))
    c += stim.Circuit(f"E(1) {pauli}{q[0]} Z{q[2]}")
    return c


@pytest.mark.parametrize("case", range(12))
def test_forced_errors_give_stims_records_exactly(sim, case):
    """U1, forced Pauli errors, U2, errors, U2^-1 U1^-1, measurements: every gate, noise
    channel and measurement kind, with deterministic records Stim and we must agree on."""
    rng = np.random.default_rng(case)
    n = 5
    u1, u2 = random_unitary(n, 25, rng), random_unitary(n, 25, rng)
    c = stim.Circuit()
    c.append("R", range(n))
    c += u1 + forced_errors(n, rng) + u2 + forced_errors(n, rng)
    c += u2.inverse() + u1.inverse()
    c += stim.Circuit("M 0 !1\nMR(1) 2\nMPAD 1 0\nH 3\nMX !3\nH_YZ 4\nMY 4\nM 2\nRX 0\nMX(1) 0")
    c += stim.Circuit("RY 1\nMRY 1\nMY 1")
    ours = sim.sample_measurements(c, 300, seed=case)
    ref = c.compile_sampler(seed=case).sample(300)
    assert ours.dtype == ref.dtype and ours.shape == ref.shape
    np.testing.assert_array_equal(ours, ref)


@pytest.mark.parametrize("name", UNITARY_1 + UNITARY_2)
def test_each_gate_conjugates_every_pauli_like_stim(sim, name):
    """Each unitary: an X, Y or Z error before it, its inverse after, per qubit."""
    n = 2 if name in UNITARY_2 else 1
    inv = stim.Circuit(f"{name} " + " ".join(map(str, range(n)))).inverse()
    for a in "IXYZ":
        for b in "IXYZ" if n == 2 else "I":
            if a == b == "I":
                continue
            err = " ".join(f"{p}{q}" for q, p in enumerate(a + b) if p != "I")
            for basis in "XZ":  # a Z measurement sees the X part, an X one the Z part
                r, m = ("RX", "MX") if basis == "X" else ("R", "M")
                c = stim.Circuit(f"{r} 0 1\n{name} " + " ".join(map(str, range(n))))
                c += stim.Circuit(f"E(1) {err}") + inv + stim.Circuit(f"{m} 0 1")
                ours = sim.sample_measurements(c, 70, seed=1)
                np.testing.assert_array_equal(ours, c.compile_sampler(seed=1).sample(70))


def test_random_measurements_match_stims_joint_distribution(sim):
    """Mid-circuit measurements and resets in every basis, some random, some correlated:
    the distribution of whole records agrees with Stim's (chi-square)."""
    from scipy.stats import chi2_contingency

    c = stim.Circuit("""
        H 0
        CX 0 1
        MY 2
        M 0
        S 1
        MX 1
        RY 0
        CZ 0 2
        MRX 2
        MR 0
        H 1
        M 1
        MY 0
        SQRT_X 0
        M 0
    """)
    shots = 20000
    ours = sim.sample_measurements(c, shots, seed=5)
    ref = c.compile_sampler(seed=5).sample(shots)
    w = 1 << np.arange(c.num_measurements)
    table = np.array([np.bincount(ours @ w, minlength=2**c.num_measurements),
                      np.bincount(ref @ w, minlength=2**c.num_measurements)])  # fmt: skip
    table = table[:, table.sum(0) > 0]
    assert chi2_contingency(table).pvalue > 1e-4
    # pairwise correlations too: E[m_i m_j]
    np.testing.assert_allclose(ours.T.astype(float) @ ours / shots,
                               ref.T.astype(float) @ ref / shots, atol=0.03)  # fmt: skip


def test_pauli_channels_match_stims_rates(sim):
    probs2 = list(np.linspace(0.005, 0.05, 15))
    c = stim.Circuit(f"""
        R 0 1 2
        RX 3 4 5
        PAULI_CHANNEL_2({",".join(map(str, probs2))}) 0 1 3 4
        PAULI_CHANNEL_1(0.05, 0.1, 0.15) 2 5
        DEPOLARIZE1(0.3) 2 5
        E(0.2) X0 Z5
        M 0 1 2
        MX 3 4 5
    """)
    shots = 40000
    ours = sim.sample_measurements(c, shots, seed=2)
    ref = c.compile_sampler(seed=2).sample(shots)
    w = 1 << np.arange(6)
    a = np.bincount(ours @ w, minlength=64) / shots
    b = np.bincount(ref @ w, minlength=64) / shots
    sigma = np.sqrt((a + b) / 2 * (1 - (a + b) / 2) * 2 / shots) + 1e-9
    assert np.all(np.abs(a - b) < 5 * sigma + 1e-4)


def _check_rates(ours, ref, shots):
    p = (ours.mean(0) + ref.mean(0)) / 2
    sigma = np.sqrt(p * (1 - p) * 2 / shots)
    z = np.abs(ours.mean(0) - ref.mean(0)) / np.maximum(sigma, 1e-12)
    assert np.all(z < 5), z.max()


@pytest.mark.parametrize("d", [3, pytest.param(5, marks=pytest.mark.slow)])
def test_surface_code_rates_match_stim(sim, d):
    c = surface(d, 1e-2)
    shots = 100_000
    dets, obs = sim.sample_detectors(c, shots, seed=11)
    sdets, sobs = c.compile_detector_sampler(seed=11).sample(shots, separate_observables=True)
    assert dets.shape == sdets.shape and obs.shape == sobs.shape and dets.dtype == sdets.dtype
    _check_rates(dets, sdets, shots)
    _check_rates(obs, sobs, shots)
    assert 0.005 < obs.mean() < 0.5  # the noise is actually there


@pytest.mark.parametrize("task", ["rotated_memory_x", "rotated_memory_z",
                                  "unrotated_memory_z"])  # fmt: skip
def test_noiseless_detectors_are_all_zero(sim, task):
    c = stim.Circuit.generated(f"surface_code:{task}", distance=3, rounds=4)
    dets, obs = sim.sample_detectors(c, 1000, seed=1)
    assert not dets.any() and not obs.any()
    meas = sim.sample_measurements(c, 200, seed=1)
    ref = c.compile_sampler(seed=1).sample(200)
    # deterministic measurements (Stim's columns that never vary) agree exactly
    fixed = np.all(ref == ref[0], axis=0) & np.all(meas == meas[0], axis=0)
    np.testing.assert_array_equal(meas[:, fixed], ref[:, fixed])


@pytest.mark.parametrize("p", [1e-4, 1e-2, 0.5])
def test_geometric_skipping_follows_the_binomial_law(sim, p):
    from scipy.stats import chisquare

    n, shots = 200, 20_000
    c = stim.Circuit(f"X_ERROR({p}) " + " ".join(map(str, range(n))) + "\nM " +
                     " ".join(map(str, range(n))))  # fmt: skip
    m = sim.sample_measurements(c, shots, seed=3)
    trials = n * shots
    total = int(m.sum())
    z = (total - trials * p) / np.sqrt(trials * p * (1 - p))
    assert abs(z) < 5, z
    # no bias by target or by bit position within a 64-shot word
    by_target = m.sum(axis=0)
    by_bit = m[: shots // 64 * 64].reshape(-1, 64, n).sum(axis=(0, 2))
    for counts in (by_target, by_bit):
        if counts.sum() >= 5 * len(counts):
            assert chisquare(counts).pvalue > 1e-4
    # flips of different shots and targets are independent: per-shot counts are binomial
    if p >= 1e-2:
        per_shot = m.sum(axis=1)
        assert abs(per_shot.var() - n * p * (1 - p)) < 0.1 * n * p * (1 - p)


def test_bit_packed_layout_is_stims(sim):
    c = surface(3, 2e-2)
    shots = 1000
    dets, obs = sim.sample_detectors(c, shots, seed=4)
    pdets, pobs = sim.sample_detectors(c, shots, seed=4, bit_packed=True)
    sdets, sobs = c.compile_detector_sampler().sample(shots, separate_observables=True,
                                                      bit_packed=True)  # fmt: skip
    assert pdets.dtype == sdets.dtype == np.uint8 and pdets.shape == sdets.shape
    assert pobs.shape == sobs.shape
    np.testing.assert_array_equal(pdets, np.packbits(dets, axis=1, bitorder="little"))
    np.testing.assert_array_equal(pobs, np.packbits(obs, axis=1, bitorder="little"))
    meas = sim.sample_measurements(c, shots, seed=4)
    pmeas = sim.sample_measurements(c, shots, seed=4, bit_packed=True)
    assert pmeas.shape == c.compile_sampler().sample(shots, bit_packed=True).shape
    np.testing.assert_array_equal(pmeas, np.packbits(meas, axis=1, bitorder="little"))
    # Stim's other layouts
    alone = sim.sample_detectors(c, shots, seed=4, separate_observables=False)
    np.testing.assert_array_equal(alone, dets)
    both = sim.sample_detectors(c, shots, seed=4, separate_observables=False,
                                append_observables=True)  # fmt: skip
    np.testing.assert_array_equal(both, np.hstack([dets, obs]))


def test_same_seed_same_result_whatever_the_chunking():
    c = surface(3, 1e-2)
    one = FrameSimulator(device="cpu", num_threads=1)
    two = FrameSimulator(device="cpu", num_threads=2)
    for shots in (1, 63, 65, 3000):
        a = one.sample_detectors(c, shots, seed=9)
        b = two.sample_detectors(c, shots, seed=9)
        np.testing.assert_array_equal(a[0], b[0])
        np.testing.assert_array_equal(a[1], b[1])
        assert a[0].shape == (shots, c.num_detectors)
    assert not np.array_equal(one.sample_detectors(c, 3000, seed=10)[0], a[0])
    gen = one.sample_detectors(c, 100, seed=np.random.default_rng(1))[0]
    assert gen.shape == (100, c.num_detectors)


def test_repeat_blocks_run_as_loops_like_the_flattened_circuit(sim):
    c = stim.Circuit("""
        R 0 1 2
        REPEAT 3 {
            H 0
            REPEAT 4 {
                DEPOLARIZE1(0.1) 0 1
                CX 0 1 1 2
                MR 2
                DETECTOR rec[-1]
            }
            M 0
            DETECTOR rec[-1] rec[-2]
            OBSERVABLE_INCLUDE(1) rec[-1]
        }
        X_ERROR(0.2) 1
        M 1
        OBSERVABLE_INCLUDE(0) rec[-1] rec[-2]
    """)
    a = sim.sample_detectors(c, 500, seed=1)
    b = sim.sample_detectors(c.flattened(), 500, seed=1)
    np.testing.assert_array_equal(a[0], b[0])
    np.testing.assert_array_equal(a[1], b[1])
    np.testing.assert_array_equal(sim.sample_measurements(c, 500, seed=2),
                                  sim.sample_measurements(c.flattened(), 500, seed=2))  # fmt: skip
    assert compile_frames(c).prog.shape[0] < 20  # loops, not unrolled
    ref = c.compile_detector_sampler(seed=1).sample(20000, separate_observables=True)
    ours = sim.sample_detectors(c, 20000, seed=1)
    _check_rates(ours[0], ref[0], 20000)
    _check_rates(ours[1], ref[1], 20000)


def test_our_circuits_and_noise_models_sample(sim):
    from simulators.noise import NoiseModel

    bell = Circuit(2).h(0).cx(0, 1).measure_all()
    counts = sim.sample(bell, 4000, seed=1)
    assert set(counts) == {"00", "11"} and abs(counts["00"] - 2000) < 300
    bits = sim.sample_measurements(bell, 100, seed=1)
    assert bits.shape == (100, 2) and np.array_equal(bits[:, 0], bits[:, 1])
    noisy = FrameSimulator(device="cpu", noise=NoiseModel.depolarizing(0.0, 0.3))
    counts = noisy.sample(bell, 4000, seed=1)
    assert counts.get("01", 0) + counts.get("10", 0) > 400


def test_bad_input_gives_one_clear_error(sim):
    with pytest.raises(ValueError, match="T"):
        sim.sample_detectors("T 0\nM 0", 10)  # Stim's parser names the unknown gate
    with pytest.raises(NotCliffordError, match="t"):
        sim.sample_measurements(Circuit(1).t(0).measure_all(), 10)
    for text, name in [("MPP X0*Z1", "MPP"), ("HERALDED_ERASE(0.1) 0", "HERALDED_ERASE"),
                       ("X_ERROR(0.1) 0\nELSE_CORRELATED_ERROR(0.1) X1", "ELSE_CORRELATED_ERROR"),
                       ("M 0\nCX rec[-1] 1", "CX"), ("MZZ 0 1", "MZZ")]:  # fmt: skip
        with pytest.raises(UnsupportedGateError, match=name):
            sim.sample_measurements(stim.Circuit(text), 10)
    with pytest.raises(ValueError, match="1000000000"):
        sim.sample_detectors(stim.Circuit("REPEAT 1000000000 {\n H 0\n M 0\n}"), 10)
    with pytest.raises(MemoryLimitError, match="GiB"):
        sim.sample_detectors(surface(3, 1e-3), 10**13)
    with pytest.raises(ValueError, match="shots"):
        sim.sample_detectors(surface(3, 1e-3), -1)
    with pytest.raises(TypeError, match="Circuit"):
        sim.sample_detectors(42, 10)
    with pytest.raises(ValueError, match="engine"):
        get_simulator("stabilizer", engine="qiskit")
    with pytest.raises(ValueError, match="device"):
        get_simulator("stabilizer", engine="frames", device="tpu")


def test_zero_shots_and_empty_circuits(sim):
    dets, obs = sim.sample_detectors(surface(3, 1e-3), 0)
    assert dets.shape == (0, 24) and obs.shape == (0, 1)
    assert sim.sample_measurements(stim.Circuit("H 0"), 5).shape == (5, 0)
    assert sim.sample_detectors(stim.Circuit(), 5)[0].shape == (5, 0)


@pytest.mark.gpu
def test_gpu_matches_cpu_bit_for_bit():
    cpu = FrameSimulator(device="cpu")
    gpu = FrameSimulator(device="gpu")
    for c in (surface(3, 1e-2), surface(5, 1e-3, rounds=2)):
        for shots in (100, 5000):
            a, b = cpu.sample_detectors(c, shots, seed=3), gpu.sample_detectors(c, shots, seed=3)
            np.testing.assert_array_equal(a[0], b[0])
            np.testing.assert_array_equal(a[1], b[1])
            np.testing.assert_array_equal(
                cpu.sample_measurements(c, shots, seed=4, bit_packed=True),
                gpu.sample_measurements(c, shots, seed=4, bit_packed=True),
            )


def _host_twin(c: stim.Circuit, shots: int, seed: int, measurements: bool, tmp_path):
    """The CUDA source of _frames_gpu compiled for the host (-DFRAMES_HOST) and run on
    all columns: what the GPU computes, checkable without a GPU."""
    import ctypes
    import shutil
    import subprocess

    from simulators import _frames_gpu

    cc = shutil.which("cc") or shutil.which("gcc")
    if cc is None:
        pytest.skip("no C compiler")
    src, lib_path = tmp_path / "frames.c", tmp_path / "frames.so"
    src.write_text(_frames_gpu.CUDA_SOURCE)
    subprocess.run([cc, "-O1", "-shared", "-fPIC", "-DFRAMES_HOST", "-o", str(lib_path),
                    str(src), "-lm"], check=True)  # fmt: skip
    lib = ctypes.CDLL(str(lib_path))
    prog = compile_frames(c)
    ncols = (shots + 63) // 64
    nq = prog.num_qubits
    if measurements:
        nwords = nrows = prog.num_measurements
        ref = np.asarray(c.reference_sample(), dtype=bool)
        refw = np.where(ref, np.uint64(2**64 - 1), np.uint64(0)).astype(np.uint64)
    else:
        nwords = nrows = prog.num_detectors + prog.num_observables
        refw = np.zeros(1, np.uint64)
    x, z = np.empty((nq, ncols), np.uint64), np.empty((nq, ncols), np.uint64)
    ring = np.zeros((prog.ring_size, ncols), np.uint64)
    words = np.empty((max(nwords, 1), ncols), np.uint64)
    out = np.zeros((shots, nrows), np.uint8)
    p = [a.ctypes.data_as(ctypes.c_void_p) for a in
         (prog.prog, prog.fprog, prog.targets, prog.ftab, prog.itab, refw, x, z, ring, words,
          out)]  # fmt: skip
    L, U = ctypes.c_longlong, ctypes.c_ulonglong
    lib.frames_run(L(ncols), L(0), p[0], p[1], L(len(prog.prog)), p[2], p[3], p[4], L(nq),
                   L(prog.ring_size), L(nwords), p[5], ctypes.c_int(measurements),
                   L(prog.num_detectors), U(seed), p[6], p[7], p[8], p[9])  # fmt: skip
    lib.frames_emit(p[9], L(ncols), L(0), L(nrows), p[10], L(nrows), L(shots), ctypes.c_int(0))
    return out.view(np.bool_)


def test_cuda_source_matches_the_numba_kernels_bit_for_bit(sim, tmp_path):
    c = surface(3, 2e-2)
    c += stim.Circuit(
        "PAULI_CHANNEL_2(0.1,0,0,0,0.2,0,0,0,0,0.1,0,0,0,0,0.05) 0 1\n"
        "E(0.3) X0 Y1\nISWAP 0 1\nSQRT_Y 1\nMY(0.1) 0\nMRX 1\nRY 2\nMR 2"
    )
    shots = 700
    twin = _host_twin(c, shots, 12, False, tmp_path)
    ours = sim.sample_detectors(c, shots, seed=12, separate_observables=False,
                                append_observables=True)  # fmt: skip
    np.testing.assert_array_equal(twin, ours)
    twin = _host_twin(c, shots, 13, True, tmp_path)
    np.testing.assert_array_equal(twin, sim.sample_measurements(c, shots, seed=13))
