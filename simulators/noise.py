"""Noise models: quantum channels after gates, and readout errors.

A channel is kept as its superoperator S on the column-stacked density matrix,
vec(rho)[r + 2**k c] = rho[r, c], so vec(E(rho)) = S vec(rho): the convention of
``qiskit.quantum_info.SuperOp``. The density-matrix simulator applies S in one pass
over the qubits (q..., q+n...) of rho seen as a 2n-qubit state.
"""

from __future__ import annotations

import itertools
import math
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field

import numpy as np

from qworkbench.circuit import GATES

__all__ = ["Channel", "NoiseModel"]

_PAULIS = {
    "I": np.eye(2, dtype=complex),
    "X": np.array([[0, 1], [1, 0]], dtype=complex),
    "Y": np.array([[0, -1j], [1j, 0]], dtype=complex),
    "Z": np.diag([1.0, -1.0]).astype(complex),
}


def _probability(value, what: str) -> float:
    p = float(value)
    if not (math.isfinite(p) and 0.0 <= p <= 1.0):
        raise ValueError(f"{what} must be a probability in [0, 1], got {value!r}")
    return p


def _pauli_matrix(label: str) -> np.ndarray:
    """Little-endian: the label's last character acts on qubit 0."""
    m = np.ones((1, 1), dtype=complex)
    for ch in label:
        m = np.kron(m, _PAULIS[ch])
    return m


def pauli_weights(pauli_probs: dict[str, float]) -> np.ndarray:
    """w[x, d] = sum_z p(x, z) (-1)^{|z & d|} for a k-qubit Pauli channel (x, z, d local
    little-endian bit masks; Y counts as both X and Z)."""
    k = len(next(iter(pauli_probs)))
    g = 1 << k
    weights = np.zeros((g, g))
    d = np.arange(g)
    for label, p in pauli_probs.items():
        x = sum(1 << (k - 1 - pos) for pos, ch in enumerate(label) if ch in "XY")
        z = sum(1 << (k - 1 - pos) for pos, ch in enumerate(label) if ch in "ZY")
        weights[x] += p * (1.0 - 2.0 * (np.bitwise_count(d & z) & 1))
    return weights


def pauli_superop(weights: np.ndarray) -> np.ndarray:
    """The dense superoperator of a Pauli channel given by its weights (for kernels
    without a Pauli-channel path)."""
    g = weights.shape[0]
    s = np.zeros((g * g, g * g))
    for r in range(g):
        for c in range(g):
            for x in range(g):
                s[r + g * c, (r ^ x) + g * (c ^ x)] += weights[x, r ^ c]
    return s.astype(complex)


@dataclass(frozen=True)
class Channel:
    """A completely positive trace-preserving map on ``num_qubits`` qubits.

    Attributes:
        superop: (4**k, 4**k) superoperator (column stacking, qubit 0 = bit 0).
        num_qubits: k.
        pauli_probs: for Pauli channels, label -> probability (used to map to Stim).
    """

    superop: np.ndarray = field(repr=False)
    num_qubits: int
    pauli_probs: dict | None = None

    @classmethod
    def from_kraus(cls, kraus: Sequence[np.ndarray], pauli_probs=None) -> Channel:
        ops = [np.asarray(k, dtype=complex) for k in kraus]
        d = ops[0].shape[0]
        total = sum(k.conj().T @ k for k in ops)
        if not np.allclose(total, np.eye(d), atol=1e-10):
            raise ValueError("Kraus operators are not trace preserving (sum K^dagger K != I)")
        superop = sum(np.kron(k.conj(), k) for k in ops)
        return cls(superop, d.bit_length() - 1, pauli_probs)

    @classmethod
    def pauli(cls, probabilities: dict[str, float]) -> Channel:
        """sum_P p_P P rho P over Pauli labels (all of one length); p_I fills the rest."""
        labels = list(probabilities)
        k = len(labels[0])
        if any(len(lab) != k or set(lab) - set("IXYZ") for lab in labels):
            raise ValueError(f"Pauli labels must be equal-length strings of IXYZ, got {labels}")
        probs = {lab: _probability(p, f"probability of {lab}") for lab, p in probabilities.items()}
        rest = 1.0 - sum(p for lab, p in probs.items() if lab != "I" * k)
        if rest < -1e-12:
            raise ValueError(f"Pauli probabilities sum to more than 1: {probabilities}")
        probs["I" * k] = max(rest, 0.0)
        kraus = [math.sqrt(p) * _pauli_matrix(lab) for lab, p in probs.items() if p > 0]
        return cls.from_kraus(kraus, pauli_probs=probs)

    @classmethod
    def depolarizing(cls, p: float, num_qubits: int = 1) -> Channel:
        """rho -> (1 - p) rho + p I / 2**k (qiskit-aer's ``depolarizing_error(p, k)``)."""
        p = _probability(p, "depolarizing parameter")
        labels = ["".join(t) for t in itertools.product("IXYZ", repeat=num_qubits)]
        share = p / 4**num_qubits
        return cls.pauli({lab: share for lab in labels if lab != "I" * num_qubits})

    @classmethod
    def amplitude_damping(cls, gamma: float) -> Channel:
        g = _probability(gamma, "gamma")
        k0 = np.array([[1, 0], [0, math.sqrt(1 - g)]])
        k1 = np.array([[0, math.sqrt(g)], [0, 0]])
        return cls.from_kraus([k0, k1])

    @classmethod
    def phase_damping(cls, lam: float) -> Channel:
        lam = _probability(lam, "lambda")
        k0 = np.array([[1, 0], [0, math.sqrt(1 - lam)]])
        k1 = np.array([[0, 0], [0, math.sqrt(lam)]])
        return cls.from_kraus([k0, k1])

    @classmethod
    def thermal_relaxation(cls, t1: float, t2: float, time: float, excited_population=0.0):
        """T1 decay towards the thermal state and T2 dephasing for ``time`` (T2 <= 2 T1)."""
        for value, what in ((t1, "t1"), (t2, "t2")):
            if not (math.isfinite(value) and value > 0):
                raise ValueError(f"{what} must be positive and finite, got {value!r}")
        if not (math.isfinite(time) and time >= 0):
            raise ValueError(f"time must be non-negative and finite, got {time!r}")
        if t2 > 2 * t1 * (1 + 1e-12):
            raise ValueError(f"t2 = {t2} exceeds 2 * t1 = {2 * t1}")
        pe = _probability(excited_population, "excited_population")
        decay = math.exp(-time / t1)
        coherence = math.exp(-time / t2)
        # basis of vec(rho): (rho00, rho10, rho01, rho11)
        s = np.zeros((4, 4), dtype=complex)
        s[3, 3] = decay + pe * (1 - decay)  # rho11 <- rho11
        s[3, 0] = pe * (1 - decay)  # rho11 <- rho00
        s[0, 0] = 1 - s[3, 0]
        s[0, 3] = 1 - s[3, 3]
        s[1, 1] = s[2, 2] = coherence
        return cls(s, 1)

    @classmethod
    def from_qiskit(cls, error) -> Channel:
        """From a ``qiskit_aer.noise.QuantumError`` or any qiskit channel."""
        from qiskit.quantum_info import SuperOp

        superop = SuperOp(error)
        return cls(np.asarray(superop.data, dtype=complex), superop.num_qubits)

    def compose(self, other: Channel) -> Channel:
        """``other`` after ``self``."""
        if other.num_qubits != self.num_qubits:
            raise ValueError("channels act on different numbers of qubits")
        return Channel(other.superop @ self.superop, self.num_qubits)


@dataclass
class NoiseModel:
    """Channels applied after gates, and readout confusion matrices.

    Rules are looked up per instruction: qubit-specific rules of its gate name, then
    the gate's all-qubit rules. ``"*"`` as a gate name matches every gate.

    Examples:
        >>> noise = NoiseModel.depolarizing(0.001, 0.01)
        >>> noise = noise.add_readout_error([[0.98, 0.02], [0.05, 0.95]])
        >>> len(noise.errors_after("cx", (0, 1)))
        1
    """

    gate_errors: dict = field(default_factory=dict)  # (name, qubits | None) -> [Channel]
    readout: dict = field(default_factory=dict)  # qubit | None -> (2, 2) matrix

    @classmethod
    def depolarizing(cls, p1: float, p2: float) -> NoiseModel:
        """Depolarizing ``p1`` after every 1-qubit gate and ``p2`` after every 2-qubit gate."""
        model = cls()
        one = [g for g, s in GATES.items() if s.num_qubits == 1 and g != "id"]
        two = [g for g, s in GATES.items() if s.num_qubits == 2]
        model.add_gate_error(Channel.depolarizing(p1, 1), one)
        model.add_gate_error(Channel.depolarizing(p2, 2), two)
        return model

    def add_gate_error(self, channel: Channel, gates: str | Iterable[str], qubits=None):
        """Apply ``channel`` after ``gates`` (names, or "*"), on ``qubits`` only if given.

        A channel narrower than the gate (a 1-qubit channel after a 2-qubit gate) acts
        on each of the gate's qubits.
        """
        if not isinstance(channel, Channel):
            raise TypeError(f"expected a Channel, got {type(channel).__name__}")
        names = [gates] if isinstance(gates, str) else list(gates)
        for name in names:
            if name != "*" and name not in GATES:
                raise ValueError(f"unknown gate {name!r} in noise rule")
            key = (name, None if qubits is None else tuple(int(q) for q in qubits))
            self.gate_errors.setdefault(key, []).append(channel)
        return self

    def add_readout_error(self, matrix, qubits=None):
        """Readout confusion ``matrix[prepared][measured]`` = P(read ``measured`` | state
        ``prepared``), Qiskit's ``ReadoutError`` layout, on ``qubits`` (default all)."""
        m = np.asarray(matrix, dtype=float)
        if m.shape != (2, 2) or not np.all(np.isfinite(m)) or np.any(m < 0):
            raise ValueError(f"readout error must be a 2x2 matrix of probabilities, got {matrix}")
        if not np.allclose(m.sum(axis=1), 1.0, atol=1e-9):
            raise ValueError(f"readout error rows must sum to 1, got {m.tolist()}")
        for q in [None] if qubits is None else qubits:
            self.readout[None if q is None else int(q)] = m
        return self

    def errors_after(self, name: str, qubits: tuple[int, ...]) -> list[tuple[Channel, tuple]]:
        """(channel, qubits it acts on) applied after gate ``name`` on ``qubits``."""
        found = []
        for key in ((name, qubits), (name, None), ("*", qubits), ("*", None)):
            for channel in self.gate_errors.get(key, ()):
                if channel.num_qubits == len(qubits):
                    found.append((channel, qubits))
                elif channel.num_qubits == 1:
                    found.extend((channel, (q,)) for q in qubits)
                else:
                    raise ValueError(
                        f"a {channel.num_qubits}-qubit channel cannot follow {name} on {qubits}"
                    )
            if found and key[1] is not None:
                break  # qubit-specific rules replace the all-qubit ones
        return found

    def readout_matrix(self, qubit: int) -> np.ndarray | None:
        return self.readout.get(qubit, self.readout.get(None))

    @property
    def is_pauli(self) -> bool:
        """Whether every channel is a Pauli channel and there is no readout error."""
        return not self.readout and all(
            c.pauli_probs is not None for cs in self.gate_errors.values() for c in cs
        )

    @classmethod
    def parse(cls, spec, num_qubits: int | None = None) -> NoiseModel | None:
        """The noise a command line names (one parser for every command).

        ``spec`` is ``None``, ``""`` or ``"none"`` (no noise: returns None),
        ``"depolarizing:P"`` (P after every 1- and 2-qubit gate), ``"depolarizing:P1,P2"``,
        a fake IBM backend name (``"fake_manila"``, ``"fake_fez"``, ...: its noise, on its
        first ``num_qubits`` qubits when given), or a NoiseModel (returned as is).
        Anything else raises ValueError naming it.

        Examples:
            >>> NoiseModel.parse("none") is None
            True
            >>> len(NoiseModel.parse("depolarizing:0.001,0.01").errors_after("cx", (0, 1)))
            1
        """
        if spec is None or (isinstance(spec, str) and spec.strip().lower() in ("", "none")):
            return None
        if isinstance(spec, NoiseModel):
            return spec
        if isinstance(spec, str) and spec.lower().startswith("fake_"):
            return cls._parse_fake_backend(spec, num_qubits)
        if isinstance(spec, str) and spec.lower().startswith("depolarizing:"):
            try:
                probs = [float(p) for p in spec.split(":", 1)[1].split(",")]
            except ValueError:
                probs = []
            if len(probs) in (1, 2) and all(0.0 <= p <= 1.0 for p in probs):
                return cls.depolarizing(probs[0], probs[-1])
        raise ValueError(
            f"noise must be 'none', 'depolarizing:P' or 'depolarizing:P1,P2' with "
            f"probabilities in [0, 1], a fake backend (fake_manila, fake_fez, ...) or a "
            f"NoiseModel; got {spec!r}"
        )

    @classmethod
    def _parse_fake_backend(cls, spec: str, num_qubits: int | None) -> NoiseModel:
        from qiskit_ibm_runtime import fake_provider

        wanted = spec.lower().replace("_", "")
        for attr in dir(fake_provider):
            if attr.lower() in (wanted, wanted + "v2") and attr.endswith("V2"):
                backend = getattr(fake_provider, attr)()
                if num_qubits is None:
                    return cls.from_backend(backend)
                if backend.num_qubits < num_qubits:
                    raise ValueError(
                        f"{spec} has {backend.num_qubits} qubits; the task needs {num_qubits}"
                    )
                return cls.from_backend(backend, qubits=list(range(num_qubits)))
        raise ValueError(f"unknown fake backend {spec!r} (e.g. fake_manila, fake_fez)")

    @classmethod
    def from_aer(cls, aer_model, qubits: Sequence[int] | None = None) -> NoiseModel:
        """Convert a ``qiskit_aer.noise.NoiseModel`` (its gate and readout errors).

        With ``qubits`` (physical qubits), only errors on those are converted and
        physical qubit ``qubits[k]`` becomes qubit ``k``: a circuit that uses 5 of a
        156-qubit device's qubits gets a 5-qubit model.
        """
        where = None if qubits is None else {int(q): k for k, q in enumerate(qubits)}

        def local(qs):
            if where is None:
                return tuple(qs)
            return tuple(where[q] for q in qs) if all(q in where for q in qs) else None

        model = cls()
        for name, error in aer_model._default_quantum_errors.items():
            if name in GATES:
                model.add_gate_error(Channel.from_qiskit(error), name)
        for name, by_qubits in aer_model._local_quantum_errors.items():
            if name not in GATES:
                continue
            for qs, error in by_qubits.items():
                mapped = local(qs)
                if mapped is not None:
                    model.add_gate_error(Channel.from_qiskit(error), name, mapped)
        if aer_model._default_readout_error is not None:
            model.add_readout_error(aer_model._default_readout_error.probabilities)
        for qs, error in aer_model._local_readout_errors.items():
            mapped = local(qs)
            if mapped is not None:
                model.add_readout_error(error.probabilities, mapped)
        return model

    @classmethod
    def from_backend(cls, backend, qubits: Sequence[int] | None = None) -> NoiseModel:
        """Gate errors (depolarizing + thermal relaxation from the target's gate errors,
        durations, T1/T2) and readout errors of a Qiskit ``BackendV2``, built by
        qiskit-aer's ``NoiseModel.from_backend`` and converted (only for ``qubits``,
        renumbered from 0, when given; see :meth:`from_aer`)."""
        from qiskit_aer.noise import NoiseModel as AerNoiseModel

        return cls.from_aer(AerNoiseModel.from_backend(backend), qubits=qubits)
