"""Our Pauli-frame sampler: ``get_simulator("stabilizer", engine="frames")``.

A frame simulator tracks, per shot, the Pauli by which the noisy run differs from
one noiseless reference run (Stim's ``reference_sample``). Gates conjugate the
frame (signs dropped), noise multiplies it by random Paulis, a Z measurement's
flip is the frame's X bit, and resets and measurements randomize the component
their eigenstate cannot see. Detector events and observable flips are parities
of measurement flips, so they need no reference at all.

The circuit is compiled once into a bytecode (:func:`compile_frames`) that one
Numba call runs over all shots (``_frames.py``), or one CUDA kernel on the GPU
(``_frames_gpu.py``); REPEAT blocks stay loops in the bytecode.

Examples:
    >>> import stim
    >>> from simulators import get_simulator
    >>> sim = get_simulator("stabilizer", engine="frames", device="cpu")
    >>> c = stim.Circuit.generated("surface_code:rotated_memory_z", distance=3, rounds=3)
    >>> dets, obs = sim.sample_detectors(c, 1000, seed=1)
    >>> dets.shape, obs.shape, int(dets.sum()), int(obs.sum())
    ((1000, 24), (1000, 1), 0, 0)
"""

from __future__ import annotations

import functools
import math
import os
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass

import numpy as np

from qworkbench import Circuit
from qworkbench.errors import UnsupportedGateError
from qworkbench.utils import check_allocation, int_seed, non_negative_int
from simulators import _frames as K
from simulators.stabilizer import StabilizerSimulator

__all__ = ["FrameSimulator", "FrameProgram", "compile_frames", "MAX_WORK"]

#: most target operations per shot a circuit may unroll to (REPEAT blocks included)
MAX_WORK = 10**9
_IGNORED = {"TICK", "QUBIT_COORDS", "SHIFT_COORDS", "I_ERROR", "II_ERROR"}
_MEASURE = {"M": (0, 0), "MX": (1, 0), "MY": (2, 0), "MR": (0, 1), "MRX": (1, 1),
            "MRY": (2, 1), "MPAD": (3, 0)}  # fmt: skip
_RESET = {"R": 0, "RX": 1, "RY": 2}
_PAULI_BITS = {"I": 0, "X": 1, "Z": 2, "Y": 3}  # x bit 1, z bit 2
_PAIRS = [a + b for a in "IXYZ" for b in "IXYZ"][1:]  # Stim's PAULI_CHANNEL_2 order


@dataclass(frozen=True)
class FrameProgram:
    """A circuit compiled for the frame sampler (see ``_frames.py`` for the rows)."""

    prog: np.ndarray  # int64 (ops, 5): code, t0, t1, a, b
    fprog: np.ndarray  # float64 (ops, 2): p, 1 / log(1 - p)
    targets: np.ndarray  # int64
    ftab: np.ndarray  # float64 cumulative outcome probabilities
    itab: np.ndarray  # int64 outcome Paulis (bits x_a, z_a, x_b, z_b)
    num_qubits: int
    ring_size: int
    num_measurements: int
    num_detectors: int
    num_observables: int


def _bits(pauli_string, n: int) -> list[int]:
    out = []
    for q in range(n):
        v = pauli_string[q]
        out += [int(v in (1, 2)), int(v in (2, 3))]
    return out


@functools.cache
def _gate_matrix(name: str) -> tuple[int, int]:
    """(number of qubits, frame matrix) of a unitary gate, see :func:`_frame_matrix`."""
    import stim

    tableau = stim.gate_data(name).tableau
    return len(tableau), _frame_matrix(tableau)


def _frame_matrix(tableau) -> int:
    """Bit (2n * out + in) set when frame component ``in`` maps onto ``out``; components
    are ordered x_0, z_0, x_1, z_1 (signs dropped)."""
    n = len(tableau)
    m = 0
    for k in range(n):
        for j, image in enumerate((tableau.x_output(k), tableau.z_output(k))):
            for o, bit in enumerate(_bits(image, n)):
                m |= bit << (2 * n * o + 2 * k + j)
    return m


@functools.cache
def _special_ops() -> dict:
    """(qubits, frame matrix) -> (opcode, swap pair) of gates with a kernel of their own."""
    import stim

    table = {(1, _gate_matrix("I")[1]): (None, False), (2, _gate_matrix("II")[1]): (None, False)}
    for name, code in [("H", K.OP_H), ("S", K.OP_S), ("SQRT_X", K.OP_SX)]:
        table[(1, _gate_matrix(name)[1])] = (code, False)
    for name, code in [("CX", K.OP_CX), ("CZ", K.OP_CZ), ("SWAP", K.OP_SWAP)]:
        table[(2, _gate_matrix(name)[1])] = (code, False)
    # CX with its targets exchanged (XCZ): the same kernel on swapped pairs
    table[(2, _frame_matrix(stim.Circuit("CX 1 0").to_tableau()))] = (K.OP_CX, True)
    return table


def _noise_table(name: str, args: list[float]) -> tuple[float, list[tuple[float, int]]]:
    """(probability of any error, [(probability, Pauli bits)]) of a Pauli channel."""
    if name in ("X_ERROR", "Y_ERROR", "Z_ERROR"):
        return args[0], [(args[0], _PAULI_BITS[name[0]])]
    if name == "DEPOLARIZE1":
        return args[0], [(args[0] / 3, _PAULI_BITS[p]) for p in "XYZ"]
    if name == "PAULI_CHANNEL_1":
        return sum(args), [(p, _PAULI_BITS[P]) for p, P in zip(args, "XYZ")]
    pairs = [_PAULI_BITS[ab[0]] | _PAULI_BITS[ab[1]] << 2 for ab in _PAIRS]
    if name == "DEPOLARIZE2":
        return args[0], [(args[0] / 15, code) for code in pairs]
    return sum(args), list(zip(args, pairs))  # PAULI_CHANNEL_2


class _Compiler:
    def __init__(self):
        self.rows: list[list[int]] = []
        self.fro: list[tuple[float, float]] = []
        self.targets: list[int] = []
        self.ftab: list[float] = []
        self.itab: list[int] = []
        self.ring = 1
        self.depth = 0

    def row(self, code, tgts=(), a=0, b=0, p=0.0):
        t0 = len(self.targets)
        self.targets += list(tgts)
        self.rows.append([code, t0, len(self.targets), a, b])
        inv = 0.0 if p >= 1.0 or p <= 0.0 else 1.0 / math.log1p(-p)
        self.fro.append((p, inv))

    def block(self, circuit, depth: int) -> int:
        """Compile ``circuit``'s instructions; return its work (target operations)."""
        import stim

        work = 0
        for inst in circuit:
            if isinstance(inst, stim.CircuitRepeatBlock):
                count = inst.repeat_count
                if depth + 1 > 60:
                    raise ValueError("REPEAT blocks nested more than 60 deep")
                start = len(self.rows)
                self.row(K.OP_REPEAT, a=count)
                body = self.block(inst.body_copy(), depth + 1)
                self.row(K.OP_END, a=start)
                if body * count > MAX_WORK:
                    raise ValueError(
                        f"REPEAT {count} block unrolls to {body * count:.3g} target "
                        f"operations per shot, more than the frame sampler's limit "
                        f"{MAX_WORK:.0e}"
                    )
                work += body * count
            else:
                work += self.instruction(inst) + 1
        return work

    def instruction(self, inst) -> int:
        import stim

        data = stim.gate_data(inst.name)
        name = data.name
        tgts = inst.targets_copy()
        args = inst.gate_args_copy()
        if name in _IGNORED:
            return 0
        if name == "DETECTOR" or name == "OBSERVABLE_INCLUDE":
            if not all(t.is_measurement_record_target for t in tgts):
                raise UnsupportedGateError(
                    f"the frame sampler takes only rec[-k] targets in {inst}", name
                )
            back = [-t.value for t in tgts]
            self.ring = max([self.ring, *back])
            if name == "OBSERVABLE_INCLUDE":
                self.row(K.OP_OBSERVABLE, back, a=int(args[0]))
            elif self.rows and self.rows[-1][0] == K.OP_DETECTORS:
                self.targets += [len(back), *back]
                self.rows[-1][2] = len(self.targets)
                self.rows[-1][3] += 1
            else:
                self.row(K.OP_DETECTORS, [len(back), *back], a=1)
            return len(tgts)
        if any(not t.is_qubit_target and name != "E" for t in tgts):
            raise UnsupportedGateError(
                f"the frame sampler takes only qubit targets in {inst} (no rec, sweep or "
                "Pauli-product targets)",
                name,
            )
        qubits = [t.value for t in tgts]
        if data.is_unitary:
            n, m = _gate_matrix(name)
            code, swap = _special_ops().get((n, m), (K.OP_G1 if n == 1 else K.OP_G2, False))
            if code is not None:
                if swap:
                    qubits = [q for i in range(0, len(qubits), 2) for q in qubits[i : i + 2][::-1]]
                self.row(code, qubits, a=m if code in (K.OP_G1, K.OP_G2) else 0)
        elif name in _MEASURE:
            basis, reset = _MEASURE[name]
            self.ring = max(self.ring, len(qubits))
            self.row(K.OP_MEASURE, qubits, a=basis, b=reset, p=args[0] if args else 0.0)
        elif name in _RESET:
            self.row(K.OP_RESET, qubits, a=_RESET[name])
        elif name == "E":
            if args[0] > 0:
                pairs = [v for t in tgts for v in (t.value, _pauli_of_target(t))]
                self.row(K.OP_CORR, pairs, p=args[0])
        elif name in ("X_ERROR", "Y_ERROR", "Z_ERROR", "DEPOLARIZE1", "DEPOLARIZE2",
                      "PAULI_CHANNEL_1", "PAULI_CHANNEL_2"):  # fmt: skip
            total, outcomes = _noise_table(name, args)
            outcomes = [(p, code) for p, code in outcomes if p > 0]
            if total > 0 and qubits:
                a = len(self.ftab)
                acc = 0.0
                for p, code in outcomes:
                    acc += p / total
                    self.ftab.append(acc)
                    self.itab.append(code)
                self.ftab[-1] = 1.0
                code = K.OP_NOISE2 if data.is_two_qubit_gate else K.OP_NOISE1
                self.row(code, qubits, a=a, b=len(self.ftab), p=min(total, 1.0))
        else:
            raise UnsupportedGateError(
                f"the frame sampler does not support the instruction {name} ({inst}); it "
                "takes Clifford gates, Pauli noise (X/Y/Z_ERROR, DEPOLARIZE1/2, "
                "PAULI_CHANNEL_1/2, E), R/RX/RY, M/MX/MY/MR/MRX/MRY/MPAD, DETECTOR, "
                "OBSERVABLE_INCLUDE and REPEAT",
                name,
            )
        return len(tgts)


def _pauli_of_target(t) -> int:
    if t.is_x_target:
        return 1
    if t.is_y_target:
        return 3
    return 2


def as_stim(circuit):
    """A ``stim.Circuit`` from a stim.Circuit, Stim program text or our Circuit."""
    import stim

    if isinstance(circuit, stim.Circuit):
        return circuit
    if isinstance(circuit, str):
        return stim.Circuit(circuit)
    if isinstance(circuit, Circuit):
        return circuit.to_stim()
    raise TypeError(f"expected a stim.Circuit or qworkbench Circuit, got {type(circuit).__name__}")


def compile_frames(circuit) -> FrameProgram:
    """Compile a Stim circuit (or our Circuit) into the frame sampler's bytecode.

    Raises UnsupportedGateError naming an instruction it cannot run and ValueError for a
    circuit that unrolls to more than :data:`MAX_WORK` target operations per shot.
    """
    circuit = as_stim(circuit)
    comp = _Compiler()
    comp.block(circuit, 0)
    ring = 1 << max(comp.ring - 1, 0).bit_length()
    return FrameProgram(
        prog=np.array(comp.rows, dtype=np.int64).reshape(-1, 5),
        fprog=np.array(comp.fro, dtype=np.float64).reshape(-1, 2),
        targets=np.array(comp.targets + [0], dtype=np.int64),
        ftab=np.array(comp.ftab + [1.0], dtype=np.float64),
        itab=np.array(comp.itab + [0], dtype=np.int64),
        num_qubits=max(circuit.num_qubits, 1),
        ring_size=ring,
        num_measurements=circuit.num_measurements,
        num_detectors=circuit.num_detectors,
        num_observables=circuit.num_observables,
    )


def _check_shots(shots) -> int:
    return non_negative_int("shots", shots)


def _seed64(seed) -> int:
    seed = int_seed(seed)
    if seed is None:
        seed = int(np.random.default_rng().integers(2**63))
    return seed % 2**64


class FrameSimulator(StabilizerSimulator):
    """Pauli-frame sampling of Stim circuits on our kernels (CPU Numba or GPU CuPy).

    ``sample_detectors`` and ``sample_measurements`` return what Stim's compiled
    detector sampler and measurement sampler return (bool arrays, or bytes packed
    little-endian with ``bit_packed=True``). ``expval`` and ``sample`` of our Circuits
    work as on the Stim engine, sampling with frames.

    Args:
        device: "cpu", "gpu" (CuPy and a CUDA GPU) or "auto" (the GPU when present).
        noise: a Pauli NoiseModel applied to our Circuits (Stim circuits carry their own).
        num_threads: CPU threads (default: every core).
        max_memory: bytes the outputs may take (default: the memory available).
    """

    def __init__(self, device: str = "auto", precision: str = "double", noise=None,
                 num_threads: int | None = None, max_memory: int | None = None):  # fmt: skip
        super().__init__(precision=precision, noise=noise)
        if device not in ("auto", "cpu", "gpu"):
            raise ValueError(f"device must be 'auto', 'cpu' or 'gpu', got {device!r}")
        from simulators import _frames_gpu

        if device == "gpu" and not _frames_gpu.available():
            raise ValueError("device='gpu' needs CuPy and a CUDA GPU; use device='cpu'")
        gpu = device == "gpu" or (device == "auto" and _frames_gpu.available())
        self.device = "gpu" if gpu else "cpu"
        self.num_threads = num_threads
        self.max_memory = max_memory
        self._compiled: dict = {}

    def __repr__(self) -> str:
        return f"FrameSimulator(device={self.device!r})"

    def compile(self, circuit) -> FrameProgram:
        """The bytecode of ``circuit`` (cached by its text)."""
        key = str(circuit)
        hit = self._compiled.get(key)
        if hit is None:
            hit = self._compiled[key] = compile_frames(circuit)
            if len(self._compiled) > 32:
                self._compiled.pop(next(iter(self._compiled)))
        return hit

    def _stim(self, circuit):
        if isinstance(circuit, Circuit) and self.noise is not None:
            return self._program(circuit)[0]  # our Circuit with the noise model's channels
        return as_stim(circuit)

    def sample_detectors(
        self,
        circuit,
        shots: int,
        seed=None,
        *,
        bit_packed: bool = False,
        separate_observables: bool = True,
        append_observables: bool = False,
    ):
        """Detection events (shots, detectors) and observable flips (shots, observables),
        as ``circuit.compile_detector_sampler().sample(shots, separate_observables=True)``.

        ``separate_observables=False`` returns the detection events alone, with the
        observables appended as extra columns when ``append_observables``.
        """
        shots = _check_shots(shots)
        prog = self.compile(self._stim(circuit))
        nd, no = prog.num_detectors, prog.num_observables
        cols_a = nd + no if append_observables and not separate_observables else nd
        cols_b = no if separate_observables else 0
        outs = self._sample(prog, shots, seed, bit_packed, [cols_a, cols_b], nd + no,
                            np.zeros(1, np.uint64), False)  # fmt: skip
        return (outs[0], outs[1]) if separate_observables else outs[0]

    def sample_measurements(self, circuit, shots: int, seed=None, *, bit_packed: bool = False):
        """Measurement results (shots, measurements), as
        ``circuit.compile_sampler().sample(shots)``: Stim's noiseless reference sample
        XOR each shot's measurement flips."""
        shots = _check_shots(shots)
        circuit = self._stim(circuit)
        prog = self.compile(circuit)
        nm = prog.num_measurements
        ref = np.asarray(circuit.reference_sample(), dtype=bool)
        refw = np.where(ref, np.uint64(2**64 - 1), np.uint64(0)).astype(np.uint64)
        if nm == 0:
            refw = np.zeros(1, np.uint64)
        return self._sample(prog, shots, seed, bit_packed, [nm, 0], nm, refw, True)[0]

    def _sample_program(self, program, shots, seed):
        # the hook StabilizerSimulator.sample_bits samples through
        return self.sample_measurements(program, shots, seed)

    def _sample(self, prog, shots, seed, bit_packed, cols, nwords, refw, keep_m):
        width = [(c + 7) // 8 if bit_packed else c for c in cols]
        cols_total = (shots + 63) // 64
        scratch = (2 * prog.num_qubits + prog.ring_size + nwords) * 8 * 64 * 16
        check_allocation(
            shots * sum(width) + scratch,
            f"sampling {shots} shots of {sum(cols)} bits each",
            self.max_memory,
        )
        outs = [np.zeros((shots, w), dtype=np.uint8) for w in width]
        if shots and cols_total:
            args = (prog, shots, _seed64(seed), outs, cols[0], nwords, refw, keep_m,
                    bit_packed)  # fmt: skip
            if self.device == "gpu":
                from simulators import _frames_gpu

                _frames_gpu.sample(*args)
            else:
                _cpu_sample(*args, num_threads=self.num_threads)
        return [o if bit_packed else o.view(np.bool_) for o in outs]


def _cpu_sample(prog, shots, seed, outs, nrows_a, nwords, refw, keep_m, packed, num_threads):
    """Chunks of 64-shot columns sized to stay in cache, spread over threads (the
    kernel releases the GIL)."""
    threads = max(1, int(num_threads or os.cpu_count() or 1))
    ncols = (shots + 63) // 64
    per_col = (2 * prog.num_qubits + prog.ring_size + nwords) * 8 + 32
    chunk = max(1, min(256, (1 << 19) // per_col, -(-ncols // threads)))
    nchunks = -(-ncols // chunk)
    out_b = outs[1] if len(outs) > 1 else outs[0][:, :0]

    def run(ch0, ch1):
        K.sample_words(prog.prog, prog.fprog, prog.targets, prog.ftab, prog.itab,
                       prog.num_qubits, prog.ring_size, nwords, refw, keep_m,
                       prog.num_detectors, shots, chunk, np.uint64(seed), outs[0], nrows_a,
                       out_b, packed, ch0, ch1)  # fmt: skip

    if threads == 1 or nchunks == 1:
        run(0, nchunks)
        return
    bounds = np.linspace(0, nchunks, min(threads, nchunks) + 1).astype(int)
    with ThreadPoolExecutor(len(bounds) - 1) as pool:
        for f in [pool.submit(run, a, b) for a, b in zip(bounds[:-1], bounds[1:])]:
            f.result()
