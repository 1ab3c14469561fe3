"""The kernel interface (``simulators._kernels.Kernels``): CPU and GPU classes both
implement it, and the kernel twins agree — serial and threaded Numba kernels with each
other and with Qiskit, the generic array-namespace operations with the Numba ones.
Also ``NoiseModel.parse``, the one noise-spec parser, on every form the CLI takes."""

from __future__ import annotations

import ast
import inspect
from pathlib import Path

import numpy as np
import pytest
from qiskit.quantum_info import Operator, Statevector

from qworkbench import Circuit, PauliSum
from qworkbench.circuit import GATES
from simulators import _cpu, _generic, _ptm
from simulators._common import grouped_diagonals, pauli_arrays
from simulators._cpu_kernels import CpuKernels
from simulators._kernels import Kernels
from simulators._plan import gates_of
from simulators.noise import Channel, NoiseModel

GPU_SOURCE = Path(__file__).resolve().parents[1] / "simulators" / "_gpu.py"
PRECISIONS = {"double": np.complex128, "single": np.complex64}


# -- the Protocol ---------------------------------------------------------------------------
def _protocol_members():
    methods = {
        name: inspect.signature(value)
        for name, value in vars(Kernels).items()
        if callable(value) and not name.startswith("_")
    }
    return methods, set(Kernels.__annotations__)


def test_cpu_kernels_satisfy_the_protocol():
    kernels = CpuKernels()
    assert isinstance(kernels, Kernels)
    methods, attributes = _protocol_members()
    assert {"grouped_expvals", "run_ptm", "prefers_pauli_basis"} <= set(methods)
    for name, signature in methods.items():
        ours = inspect.signature(getattr(CpuKernels, name))
        assert list(ours.parameters) == list(signature.parameters), name
    for name in attributes:
        assert hasattr(kernels, name), name


def _gpu_class_outline():
    """GpuKernels' methods (name -> parameter names) and class attributes, read from the
    source without importing CuPy."""
    tree = ast.parse(GPU_SOURCE.read_text())
    (cls,) = [n for n in tree.body if isinstance(n, ast.ClassDef) and n.name == "GpuKernels"]
    methods, attributes = {}, set()
    for node in cls.body:
        if isinstance(node, ast.FunctionDef):
            methods[node.name] = [a.arg for a in node.args.posonlyargs + node.args.args]
        elif isinstance(node, ast.Assign):
            attributes.update(t.id for t in node.targets if isinstance(t, ast.Name))
        elif isinstance(node, ast.AnnAssign) and isinstance(node.target, ast.Name):
            attributes.add(node.target.id)
    return methods, attributes


def test_gpu_kernels_satisfy_the_protocol_structurally():
    methods, attributes = _protocol_members()
    gpu_methods, gpu_attributes = _gpu_class_outline()
    for name, signature in methods.items():
        assert name in gpu_methods, f"GpuKernels lacks {name}"
        assert gpu_methods[name] == list(signature.parameters), name
    assert attributes <= gpu_attributes


def test_gpu_kernels_satisfy_the_protocol_when_cupy_imports():
    pytest.importorskip("cupy")
    from simulators._gpu import GpuKernels

    methods, _ = _protocol_members()
    for name, signature in methods.items():
        ours = inspect.signature(getattr(GpuKernels, name))
        assert list(ours.parameters) == list(signature.parameters), name


def test_no_simulation_loop_asks_for_its_device():
    """The loops call the Protocol; none branches on the device or probes for a method."""
    root = GPU_SOURCE.parent
    for name in ("statevector.py", "density_matrix.py", "_adjoint.py", "_shots.py"):
        text = (root / name).read_text()
        assert 'device == "cpu"' not in text and 'device == "gpu"' not in text, name
        assert "hasattr(self.kernels" not in text and "hasattr(kernels" not in text, name


# -- serial and threaded twins --------------------------------------------------------------
def _random_states(rng, batch, n, dtype):
    s = rng.normal(size=(batch, 1 << n)) + 1j * rng.normal(size=(batch, 1 << n))
    s /= np.linalg.norm(s, axis=1, keepdims=True)
    return np.ascontiguousarray(s, dtype=dtype)


def _random_unitaries(rng, batch, k):
    d = 1 << k
    z = rng.normal(size=(batch, d, d)) + 1j * rng.normal(size=(batch, d, d))
    q, r = np.linalg.qr(z)
    return (
        q
        * (np.diagonal(r, axis1=1, axis2=2) / np.abs(np.diagonal(r, axis1=1, axis2=2)))[:, None, :]
    )


def _qiskit_apply(state, qubits, mat):
    return Statevector(state).evolve(Operator(mat), qargs=list(qubits)).data


def _tolerance(dtype):
    return 1e-12 if dtype == np.complex128 else 2e-5


#: qubit counts checked by default; the rest of 1-12 under -m slow (each case is quick once
#: its kernels are compiled, but the default run is kept short)
_N_CASES = [n if n in (1, 2, 3, 6, 12) else pytest.param(n, marks=pytest.mark.slow)
            for n in range(1, 13)]  # fmt: skip


@pytest.mark.parametrize("precision", ["double", "single"])
@pytest.mark.parametrize("n", _N_CASES)
def test_serial_and_threaded_gate_kernels_agree_with_each_other_and_qiskit(n, precision):
    dtype = PRECISIONS[precision]
    rng = np.random.default_rng(1000 + n)
    batch = 2
    state = _random_states(rng, batch, n, dtype)
    qubits = rng.permutation(n)
    ops = [("apply_1q", (int(qubits[0]),), _random_unitaries(rng, batch, 1))]
    if n >= 2:
        ops.append(("apply_2q", (int(qubits[1]), int(qubits[0])), _random_unitaries(rng, 1, 2)))
    if n >= 3:
        ops.append(("apply_kq", tuple(int(q) for q in qubits[:3]), _random_unitaries(rng, 1, 3)))
    for kernel, qs, mats in ops:
        mats = np.ascontiguousarray(mats, dtype=dtype)
        threaded, serial = state.copy(), state.copy()
        if kernel == "apply_kq":
            layout = _generic.kq_layout(qs)
            _cpu.apply_kq(threaded, *layout, mats)
            _cpu.serial.apply_kq(serial, *layout, mats)
        else:
            getattr(_cpu, kernel)(threaded, *qs, mats)
            getattr(_cpu.serial, kernel)(serial, *qs, mats)
        np.testing.assert_array_equal(threaded, serial)
        for b in range(batch):
            expected = _qiskit_apply(state[b], qs, mats[b if len(mats) > 1 else 0])
            np.testing.assert_allclose(threaded[b], expected, atol=_tolerance(dtype))
    # the diagonal, X and the swap-pair permutations (cx, swap)
    qs = tuple(int(q) for q in qubits[: min(n, 3)])
    diags = np.ascontiguousarray(np.exp(1j * rng.uniform(0, 6, (1, 1 << len(qs)))), dtype=dtype)
    threaded, serial = state.copy(), state.copy()
    _cpu.apply_diagonal(threaded, np.array(qs, dtype=np.int64), diags)
    _cpu.serial.apply_diagonal(serial, np.array(qs, dtype=np.int64), diags)
    np.testing.assert_array_equal(threaded, serial)
    expected = _qiskit_apply(state[0], qs, np.diag(diags[0].astype(complex)))
    np.testing.assert_allclose(threaded[0], expected, atol=_tolerance(dtype))
    threaded, serial = state.copy(), state.copy()
    _cpu.apply_x(threaded, qs[0])
    _cpu.serial.apply_x(serial, qs[0])
    np.testing.assert_array_equal(threaded, serial)
    np.testing.assert_array_equal(threaded[0], _qiskit_apply(state[0], qs[:1], GATES["x"].matrix()))
    if n >= 2:
        c, t = int(qubits[0]), int(qubits[1])
        lo, hi = sorted((c, t))
        threaded, serial = state.copy(), state.copy()
        _cpu.swap_pairs(threaded, lo, hi, 1 << c, 0, 1 << t)
        _cpu.serial.swap_pairs(serial, lo, hi, 1 << c, 0, 1 << t)
        np.testing.assert_array_equal(threaded, serial)
        cx = _qiskit_apply(state[0], (c, t), GATES["cx"].matrix())
        np.testing.assert_array_equal(threaded[0], cx)


def _random_hamiltonian(rng, n, terms):
    labels = ["".join(rng.choice(list("IXYZ"), n)) for _ in range(terms)]
    return PauliSum.from_list([(lab, rng.normal()) for lab in labels])


def _shared_x_hamiltonian(rng, n):
    """Terms sharing X masks (what the grouped path takes): ZZ, XX, YY on neighbours, Z."""
    terms = [("I" * (n - 1 - i) + "Z" + "I" * i, rng.normal()) for i in range(n)]
    for i in range(n - 1):
        for p in "XYZ":
            label = ["I"] * n
            label[n - 1 - i] = label[n - 2 - i] = p
            terms.append(("".join(label), rng.normal()))
    return PauliSum.from_list(terms)


@pytest.mark.parametrize("precision", ["double", "single"])
@pytest.mark.parametrize("n", _N_CASES)
def test_serial_and_threaded_observable_kernels_agree_with_each_other_and_qiskit(n, precision):
    dtype = PRECISIONS[precision]
    rng = np.random.default_rng(2000 + n)
    state = _random_states(rng, 3, n, dtype)
    ham = _random_hamiltonian(rng, n, 6)
    xs, zs, coeffs = pauli_arrays(ham)
    threaded = _cpu.pauli_expvals(state, xs, zs, coeffs)
    serial = _cpu.serial.pauli_expvals(state, xs, zs, coeffs)
    np.testing.assert_allclose(threaded, serial, rtol=1e-13, atol=1e-13)
    op = ham.to_qiskit()
    expected = [Statevector(s.astype(complex)).expectation_value(op) for s in state]
    np.testing.assert_allclose(threaded, expected, atol=_tolerance(dtype) * 10)
    out_threaded, out_serial = np.empty_like(state), np.empty_like(state)
    _cpu.apply_pauli_sum(state, xs, zs, coeffs, out_threaded)
    _cpu.serial.apply_pauli_sum(state, xs, zs, coeffs, out_serial)
    np.testing.assert_array_equal(out_threaded, out_serial)
    np.testing.assert_allclose(
        out_threaded[0], op.to_matrix() @ state[0].astype(complex), atol=_tolerance(dtype) * 10
    )
    inner = _cpu.inner(state, out_threaded)
    np.testing.assert_allclose(inner, _cpu.serial.inner(state, out_threaded), rtol=1e-13)
    np.testing.assert_allclose(inner, threaded, atol=_tolerance(dtype) * 10)
    # the grouped form: Numba threaded, serial, and the generic NumPy twin
    if n >= 2:
        shared = _shared_x_hamiltonian(rng, n)
        grouped = grouped_diagonals(shared, n)
        assert grouped is not None
        threaded = _cpu.grouped_expvals(state, *grouped)
        serial = _cpu.serial.grouped_expvals(state, *grouped)
        generic = _generic.grouped_expvals(np, state, *grouped)
        np.testing.assert_allclose(threaded, serial, rtol=1e-13, atol=1e-13)
        # the Numba kernel multiplies single-precision amplitudes in single, the twin in double
        np.testing.assert_allclose(generic, threaded, atol=_tolerance(dtype))
        np.testing.assert_allclose(threaded, _cpu.pauli_expvals(state, *pauli_arrays(shared)),
                                   atol=_tolerance(dtype) * 10)  # fmt: skip


@pytest.mark.parametrize("precision", ["double", "single"])
@pytest.mark.parametrize("n", [1, 3, 6, 9, 12])
def test_serial_and_threaded_gate_programs_agree(n, precision):
    """The small-circuit engine (``run_gates``) on a random circuit, both twins."""
    from simulators._program import compile_program

    dtype = PRECISIONS[precision]
    rng = np.random.default_rng(3000 + n)
    names = [g for g in GATES if GATES[g].num_qubits <= min(n, 3)]
    circ = Circuit(n)
    for _ in range(30):
        spec = GATES[names[rng.integers(len(names))]]
        circ.append(spec.name, rng.choice(n, spec.num_qubits, replace=False).tolist(),
                    rng.uniform(-3, 3, spec.num_params).tolist())  # fmt: skip
    program = compile_program(gates_of(circ)[0])
    entries = np.ascontiguousarray(program.entries(None), dtype=dtype)
    state = _random_states(rng, 2, n, dtype)
    threaded, serial = state.copy(), state.copy()
    _cpu.run_gates(threaded, program.kinds, program.qubits, program.offsets, entries)
    _cpu.serial.run_gates(serial, program.kinds, program.qubits, program.offsets, entries)
    np.testing.assert_array_equal(threaded, serial)
    expected = Statevector(state[1].astype(complex)).evolve(circ.to_qiskit()).data
    np.testing.assert_allclose(threaded[1], expected, atol=_tolerance(dtype) * 10)


# -- the Pauli-transfer engine: Numba against the generic twin ------------------------------
@pytest.mark.parametrize("seed", range(3))
def test_generic_run_ptm_equals_the_numba_engine(seed):
    rng = np.random.default_rng(4000 + seed)
    n = 4
    names = [g for g in GATES if GATES[g].num_qubits <= 2]
    circ = Circuit(n)
    for _ in range(40):
        spec = GATES[names[rng.integers(len(names))]]
        circ.append(spec.name, rng.choice(n, spec.num_qubits, replace=False).tolist(),
                    rng.uniform(-3, 3, spec.num_params).tolist())  # fmt: skip
    circ.cx(0, 1).h(2).cz(2, 3)  # every op kind at least once
    noise = NoiseModel.depolarizing(0.01, 0.03)
    noise.add_gate_error(Channel.amplitude_damping(0.02), ["rx", "h", "sx"])
    noise.add_gate_error(Channel.pauli({"XY": 0.02, "ZI": 0.01}), "cx")
    gates, parameters = gates_of(circ, keep_id=True)
    program = _ptm.compile_ptm(gates, n, noise, len(parameters))
    assert program is not None
    assert set(program.kinds.tolist()) == set(range(5))  # every op kind
    entries = np.ascontiguousarray(program.fixed_entries)
    numba_state = np.empty((3, 4**n))
    CpuKernels().run_ptm(numba_state, n, program, entries)
    generic_state = np.full((3, 4**n), np.nan)
    _generic.run_ptm(np, generic_state, n, program, entries)
    np.testing.assert_allclose(generic_state, numba_state, atol=1e-13)


# -- NoiseModel.parse -----------------------------------------------------------------------
@pytest.mark.parametrize("spec", [None, "", "none", " None ", "NONE"])
def test_parse_no_noise(spec):
    assert NoiseModel.parse(spec) is None
    assert NoiseModel.parse(spec, 3) is None


def _depolarizing_probs(model, name, qubits):
    (channel, _), *rest = model.errors_after(name, qubits)
    assert not rest
    probs = channel.pauli_probs
    return sum(p for lab, p in probs.items() if lab != "I" * len(qubits))


@pytest.mark.parametrize(
    "spec, p1, p2",
    [("depolarizing:0.01", 0.01, 0.01), ("Depolarizing:0.001,0.02", 0.001, 0.02),
     ("depolarizing:0,1", 0.0, 1.0)],
)  # fmt: skip
def test_parse_depolarizing_equals_the_constructor(spec, p1, p2):
    model = NoiseModel.parse(spec)
    ref = NoiseModel.depolarizing(p1, p2)
    for name, qubits in (("h", (0,)), ("cx", (0, 1))):
        ours = model.errors_after(name, qubits)[0][0]
        theirs = ref.errors_after(name, qubits)[0][0]
        np.testing.assert_array_equal(ours.superop, theirs.superop)
    # depolarizing(p) on k qubits puts p (4**k - 1) / 4**k on the non-identity Paulis
    assert _depolarizing_probs(model, "h", (0,)) == pytest.approx(p1 * 3 / 4)


def test_parse_passes_a_noise_model_through():
    model = NoiseModel.depolarizing(0.1, 0.1)
    assert NoiseModel.parse(model) is model


@pytest.mark.parametrize(
    "spec",
    ["depolarizing:1.5", "depolarizing:", "depolarizing:a", "depolarizing:0.1,0.2,0.3",
     "depolarizing:-0.1", "depolarizing:nan", "loud", 0.1],
)  # fmt: skip
def test_parse_rejects_bad_specs_naming_them(spec):
    with pytest.raises(ValueError, match="depolarizing:P") as info:
        NoiseModel.parse(spec)
    assert repr(spec) in str(info.value)


def test_parse_fake_backend_equals_from_backend():
    fake_provider = pytest.importorskip("qiskit_ibm_runtime.fake_provider")
    model = NoiseModel.parse("fake_manila", 2)
    ref = NoiseModel.from_backend(fake_provider.FakeManilaV2(), qubits=[0, 1])
    assert set(model.gate_errors) == set(ref.gate_errors)
    for key, channels in ref.gate_errors.items():
        for ours, theirs in zip(model.gate_errors[key], channels):
            np.testing.assert_array_equal(ours.superop, theirs.superop)
    with pytest.raises(ValueError, match="fake_nowhere"):
        NoiseModel.parse("fake_nowhere", 2)
    with pytest.raises(ValueError, match="5 qubits; the task needs 7"):
        NoiseModel.parse("fake_manila", 7)


def test_vqe_parse_noise_is_noise_model_parse():
    from tasks.vqe import parse_noise

    assert parse_noise("none") is None
    np.testing.assert_array_equal(
        parse_noise("depolarizing:0.01,0.02").errors_after("cx", (0, 1))[0][0].superop,
        NoiseModel.parse("depolarizing:0.01,0.02").errors_after("cx", (0, 1))[0][0].superop,
    )
    with pytest.raises(ValueError, match="depolarizing:P"):
        parse_noise("depolarizing:1.5")


# -- the statevector loop from a given state (what tasks.qsvt's dense blocks use) ---------
@pytest.mark.parametrize("n, small", [(3, True), (5, False)])
def test_statevector_from_initial_states_equals_qiskit(n, small):
    from simulators import get_simulator

    rng = np.random.default_rng(5000 + n)
    circ = Circuit(n).h(0).ccx(0, 1, 2).rx(0.3, 1).cx(2, 0).swap(0, 1).crz(0.7, 1, 2)
    sim = get_simulator("statevector", device="cpu", small_circuit_qubits=n if small else 0)
    starts = _random_states(rng, 3, n, np.complex128)
    kept = starts.copy()
    out = sim.statevector(circ, initial_state=starts)
    np.testing.assert_array_equal(starts, kept)  # the input is not modified
    for start, got in zip(starts, out):
        expected = Statevector(start).evolve(circ.to_qiskit()).data
        np.testing.assert_allclose(got, expected, atol=1e-12)
    one = sim.statevector(circ, initial_state=starts[1])
    assert one.shape == (1 << n,)
    np.testing.assert_allclose(one, out[1], atol=1e-14)
    with pytest.raises(ValueError, match="initial_state must have shape"):
        sim.statevector(circ, initial_state=np.ones(3))


_COMPILE_ORDER_SCRIPT = """
import numpy as np
from simulators import _cpu, _cpu_blocked

rng = np.random.default_rng(0)
for dtype, real in ((np.complex128, np.float64), (np.complex64, np.float32)):
    # the fast-math serial kernels first: the blocked engine and the reductions
    st = (rng.normal(size=(1, 128)) + 1j * rng.normal(size=(1, 128))).astype(dtype)
    m = np.eye(2).reshape(1, 4)
    _cpu_blocked.run_block_serial(st, 7, np.zeros(0, np.int64), np.ones(1, np.int64),
                                  np.zeros((1, 5), np.int64), np.zeros(1, np.int64),
                                  m.astype(real), np.zeros((1, 4), real), 1)
    one = np.ones(1, np.int64)
    _cpu.serial.pauli_expvals(st, one, one, np.ones(1, complex))
    _cpu.serial.pauli_expvals(st, 0 * one, one, np.ones(1, complex))
    _cpu.serial.grouped_expvals(st, one, np.ones((1, 128), complex))
    _cpu.serial.inner(st, st)
    # then the exact kernels, serial and threaded
    s = (rng.normal(size=(1, 1024)) + 1j * rng.normal(size=(1, 1024))).astype(dtype)
    u = np.linalg.qr(rng.normal(size=(4, 4)) + 1j * rng.normal(size=(4, 4)))[0][None]
    for name, args in (("apply_1q", (3, u[:, :2, :2].astype(dtype))),
                       ("apply_2q", (1, 6, u.astype(dtype)))):
        a, b = s.copy(), s.copy()
        getattr(_cpu, name)(a, *args)
        getattr(_cpu.serial, name)(b, *args)
        assert np.array_equal(a, b), (name, dtype, np.abs(a - b).max())
        ir = "\\n".join(getattr(_cpu.serial, name).inspect_llvm().values())
        assert " fast " not in ir, (name, dtype, ir.count(" fast "))
print("ok")
"""


@pytest.mark.slow
def test_fast_math_kernels_do_not_change_the_exact_ones(tmp_path):
    """Compiling the fast-math serial kernels first (blocked engine, reductions) must not
    give the exact serial kernels fast-math flags: Numba shares the internal functions of
    complex products between kernels, so they spell those products out in reals. In a
    fresh process with an empty cache, since the order of first compilation matters."""
    import os
    import subprocess
    import sys

    env = {**os.environ, "NUMBA_CACHE_DIR": str(tmp_path)}
    root = Path(__file__).resolve().parents[1]
    env["PYTHONPATH"] = os.pathsep.join([str(root), env.get("PYTHONPATH", "")])
    out = subprocess.run([sys.executable, "-c", _COMPILE_ORDER_SCRIPT], env=env,
                         capture_output=True, text=True, timeout=900)  # fmt: skip
    assert out.returncode == 0 and out.stdout.strip() == "ok", out.stderr[-3000:]
