"""``PauliSum``: a weighted sum of Pauli strings stored as bit-packed masks.

Term ``k`` is ``coeffs[k] * P(x[k], z[k])`` with ``P(x, z) = i^{|x & z|} X^x Z^z``:
bit ``q`` of word ``q // 64`` is qubit ``q``, so a bit set in both masks is a Y.
Labels read like Qiskit's: ``"XZI"`` is X on qubit 2, Z on qubit 1, I on qubit 0.
"""

from __future__ import annotations

import numbers
from collections.abc import Iterable, Iterator, Sequence

import numpy as np

from qworkbench.utils import check_allocation

__all__ = ["PauliSum"]

_WORD = 64
_LABEL_BITS = {"I": (0, 0), "X": (1, 0), "Z": (0, 1), "Y": (1, 1)}
_MAX_QUBITS = 100_000
_MAX_MATRIX_QUBITS = 30  # indices of a matrix must fit int64 arithmetic comfortably


def _popcount(words: np.ndarray) -> np.ndarray:
    """Set bits summed over the last axis (the words of one mask)."""
    return np.bitwise_count(words).sum(axis=-1, dtype=np.int64)


def _num_words(num_qubits: int) -> int:
    return (num_qubits + _WORD - 1) // _WORD


def _check_coeff(value, where: str) -> complex:
    if isinstance(value, bool | np.bool_) or not isinstance(value, numbers.Number):
        raise TypeError(f"{where} must be a number, got {value!r}")
    c = complex(value)
    if not (np.isfinite(c.real) and np.isfinite(c.imag)):
        raise ValueError(f"{where} must be finite, got {value!r}")
    return c


class PauliSum:
    """A sum of Pauli strings with complex coefficients on ``num_qubits`` qubits.

    Immutable: arithmetic returns new sums. Terms are not merged automatically;
    call :meth:`simplify` to combine equal strings and drop zeros.

    Examples:
        >>> from qworkbench import PauliSum
        >>> h = PauliSum.from_list([("ZZ", -1.0), ("XI", 0.5)])
        >>> (h @ h).simplify().to_list()
        [('II', (1.25+0j))]
        >>> h.to_matrix().shape
        (4, 4)
    """

    __slots__ = ("_x", "_z", "_coeffs", "_num_qubits", "_memo")

    def __init__(self, x: np.ndarray, z: np.ndarray, coeffs: np.ndarray, num_qubits: int):
        """Low-level constructor from masks of shape (terms, words); prefer the ``from_*``."""
        if isinstance(num_qubits, bool) or not isinstance(num_qubits, numbers.Integral):
            raise TypeError(f"num_qubits must be an integer, got {num_qubits!r}")
        if not 1 <= num_qubits <= _MAX_QUBITS:
            raise ValueError(f"num_qubits must be between 1 and {_MAX_QUBITS}, got {num_qubits}")
        words = _num_words(num_qubits)
        x = np.ascontiguousarray(x, dtype=np.uint64).reshape(-1, words)
        z = np.ascontiguousarray(z, dtype=np.uint64).reshape(-1, words)
        coeffs = np.ascontiguousarray(coeffs, dtype=np.complex128).reshape(-1)
        if not (len(x) == len(z) == len(coeffs)):
            raise ValueError(
                f"mask and coefficient lengths differ: {len(x)}, {len(z)}, {len(coeffs)}"
            )
        if not np.all(np.isfinite(coeffs)):
            bad = coeffs[~np.isfinite(coeffs)][0]
            raise ValueError(f"coefficients must be finite, got {bad}")
        spare = num_qubits % _WORD
        if spare and len(x) and ((x[:, -1] | z[:, -1]) >> np.uint64(spare)).any():
            raise ValueError(f"masks have bits set beyond qubit {num_qubits - 1}")
        for arr in (x, z, coeffs):
            arr.setflags(write=False)
        self._x, self._z, self._coeffs = x, z, coeffs
        self._num_qubits = int(num_qubits)
        self._memo: dict = {}  # derived data of this immutable sum (see memo())

    def memo(self, key, compute):
        """``compute()`` once per ``key`` for this (immutable) sum; used by simulators
        to keep e.g. their mask arrays with the operator."""
        if key not in self._memo:
            self._memo[key] = compute()
        return self._memo[key]

    # -- constructors ---------------------------------------------------------------------
    @classmethod
    def from_list(cls, terms: Iterable[tuple[str, complex]], num_qubits: int | None = None):
        """From ``[(label, coeff), ...]`` with Qiskit-order labels (qubit 0 rightmost)."""
        terms = list(terms)
        if not terms:
            if num_qubits is None:
                raise ValueError("an empty term list needs num_qubits")
            return cls.zero(num_qubits)
        labels, coeffs = [], []
        for k, term in enumerate(terms):
            if not isinstance(term, tuple | list) or len(term) != 2:
                raise TypeError(f"term {k} must be a (label, coeff) pair, got {term!r}")
            label, coeff = term
            if not isinstance(label, str) or not label:
                raise TypeError(f"term {k}: label must be a non-empty string, got {label!r}")
            labels.append(label.upper())
            coeffs.append(_check_coeff(coeff, f"coefficient of term {k} ({label!r})"))
        n = len(labels[0]) if num_qubits is None else num_qubits
        words = _num_words(n) if n >= 1 else 1
        x = np.zeros((len(labels), words), dtype=np.uint64)
        z = np.zeros_like(x)
        for k, label in enumerate(labels):
            if len(label) != n:
                raise ValueError(f"label {label!r} has {len(label)} qubits, expected {n}")
            for pos, ch in enumerate(label):
                bits = _LABEL_BITS.get(ch)
                if bits is None:
                    raise ValueError(f"label {label!r} has {ch!r}; use only I, X, Y, Z")
                q = n - 1 - pos
                w, b = divmod(q, _WORD)
                if bits[0]:
                    x[k, w] |= np.uint64(1 << b)
                if bits[1]:
                    z[k, w] |= np.uint64(1 << b)
        return cls(x, z, np.array(coeffs), n)

    @classmethod
    def from_sparse_list(cls, terms, num_qubits: int):
        """From ``[(paulis, qubits, coeff), ...]``, e.g. ``("XZ", [0, 3], 1.0)`` is X0 Z3."""
        full = []
        for k, term in enumerate(terms):
            if not isinstance(term, tuple | list) or len(term) != 3:
                raise TypeError(f"term {k} must be (paulis, qubits, coeff), got {term!r}")
            paulis, qubits, coeff = term
            if len(paulis) != len(qubits):
                raise ValueError(f"term {k}: {paulis!r} does not match qubits {list(qubits)}")
            chars = ["I"] * num_qubits
            for ch, q in zip(paulis, qubits):
                if isinstance(q, bool) or not isinstance(q, numbers.Integral):
                    raise TypeError(f"term {k}: qubit {q!r} is not an integer")
                if not 0 <= q < num_qubits:
                    raise IndexError(f"term {k}: qubit {q} is out of range for {num_qubits}")
                if chars[num_qubits - 1 - q] != "I":
                    raise ValueError(f"term {k}: qubit {q} appears twice")
                chars[num_qubits - 1 - q] = ch
            full.append(("".join(chars), coeff))
        return cls.from_list(full, num_qubits=num_qubits)

    @classmethod
    def zero(cls, num_qubits: int) -> PauliSum:
        words = _num_words(num_qubits) if num_qubits >= 1 else 1
        empty = np.zeros((0, words), dtype=np.uint64)
        return cls(empty, empty, np.zeros(0), num_qubits)

    @classmethod
    def identity(cls, num_qubits: int, coeff: complex = 1.0) -> PauliSum:
        return cls.from_list([("I" * num_qubits, coeff)])

    @classmethod
    def from_qiskit(cls, op) -> PauliSum:
        """From a ``qiskit.quantum_info.SparsePauliOp`` (or ``Pauli``)."""
        from qiskit.quantum_info import Pauli, SparsePauliOp

        if isinstance(op, Pauli):
            op = SparsePauliOp(op)
        if not isinstance(op, SparsePauliOp):
            raise TypeError(f"expected a qiskit SparsePauliOp, got {type(op).__name__}")
        if op.coeffs.dtype == object:
            raise TypeError("SparsePauliOp with parameter coefficients is not supported")
        return cls.from_list(list(zip(op.paulis.to_labels(), op.coeffs)), op.num_qubits)

    @classmethod
    def from_openfermion(cls, op, num_qubits: int | None = None) -> PauliSum:
        """From an ``openfermion.QubitOperator``; OpenFermion's qubit ``q`` is ours."""
        from openfermion import QubitOperator, count_qubits

        if not isinstance(op, QubitOperator):
            raise TypeError(f"expected an openfermion QubitOperator, got {type(op).__name__}")
        n = max(count_qubits(op), 1) if num_qubits is None else num_qubits
        terms = [
            ("".join(p for _, p in term), [q for q, _ in term], coeff)
            for term, coeff in op.terms.items()
        ]
        return cls.from_sparse_list(terms, n) if terms else cls.zero(n)

    # -- views ----------------------------------------------------------------------------
    @property
    def num_qubits(self) -> int:
        return self._num_qubits

    @property
    def coeffs(self) -> np.ndarray:
        return self._coeffs

    @property
    def x(self) -> np.ndarray:
        """X masks, shape (terms, words), uint64 (read-only)."""
        return self._x

    @property
    def z(self) -> np.ndarray:
        """Z masks, shape (terms, words), uint64 (read-only)."""
        return self._z

    def __len__(self) -> int:
        return len(self._coeffs)

    def labels(self) -> list[str]:
        """Each term's Pauli label, Qiskit order."""
        n = self._num_qubits
        out = []
        for xs, zs in zip(self._x, self._z):
            xi, zi = _to_int(xs), _to_int(zs)
            chars = ["IXZY"[((xi >> q) & 1) | (((zi >> q) & 1) << 1)] for q in range(n)]
            out.append("".join(reversed(chars)))
        return out

    def to_list(self) -> list[tuple[str, complex]]:
        return list(zip(self.labels(), (complex(c) for c in self._coeffs)))

    def __iter__(self) -> Iterator[tuple[str, complex]]:
        return iter(self.to_list())

    def __repr__(self) -> str:
        shown = self.to_list()[:8]
        more = f", ... ({len(self) - 8} more)" if len(self) > 8 else ""
        return f"PauliSum({shown}{more}, num_qubits={self._num_qubits})"

    def to_qiskit(self):
        """A ``qiskit.quantum_info.SparsePauliOp``."""
        from qiskit.quantum_info import SparsePauliOp

        if not len(self):
            return SparsePauliOp(["I" * self._num_qubits], [0.0])
        return SparsePauliOp(self.labels(), self._coeffs.copy())

    # -- arithmetic -----------------------------------------------------------------------
    def _check_same_size(self, other: PauliSum, op: str) -> None:
        if not isinstance(other, PauliSum):
            raise TypeError(f"cannot {op} PauliSum and {type(other).__name__}")
        if other._num_qubits != self._num_qubits:
            raise ValueError(
                f"cannot {op} PauliSums on {self._num_qubits} and {other._num_qubits} qubits"
            )

    def __add__(self, other):
        if isinstance(other, numbers.Number) and not isinstance(other, bool):
            other = PauliSum.identity(self._num_qubits, _check_coeff(other, "added scalar"))
        if not isinstance(other, PauliSum):
            return NotImplemented
        self._check_same_size(other, "add")
        return PauliSum(
            np.concatenate([self._x, other._x]),
            np.concatenate([self._z, other._z]),
            np.concatenate([self._coeffs, other._coeffs]),
            self._num_qubits,
        )

    __radd__ = __add__

    def __neg__(self):
        return self * -1.0

    def __sub__(self, other):
        return self + (-other)

    def __rsub__(self, other):
        return (-self) + other

    def __mul__(self, scalar):
        if isinstance(scalar, PauliSum):
            raise TypeError("use @ for the product of two PauliSums")
        if not isinstance(scalar, numbers.Number) or isinstance(scalar, bool):
            return NotImplemented
        c = _check_coeff(scalar, "scalar factor")
        return PauliSum(self._x, self._z, self._coeffs * c, self._num_qubits)

    __rmul__ = __mul__

    def __truediv__(self, scalar):
        c = _check_coeff(scalar, "divisor")
        if c == 0:
            raise ZeroDivisionError("division of a PauliSum by zero")
        return self * (1.0 / c)

    def __matmul__(self, other: PauliSum) -> PauliSum:
        """Operator product; phases from P1 P2 = i^{|x1z1|+|x2z2|-|x3z3|} (-1)^{|z1 x2|} P3."""
        self._check_same_size(other, "multiply")
        x1, z1 = self._x[:, None, :], self._z[:, None, :]
        x2, z2 = other._x[None, :, :], other._z[None, :, :]
        x3, z3 = x1 ^ x2, z1 ^ z2
        power = (
            _popcount(x1 & z1) + _popcount(x2 & z2) + 2 * _popcount(z1 & x2) - _popcount(x3 & z3)
        )
        phase = (1j) ** (power % 4)
        coeffs = self._coeffs[:, None] * other._coeffs[None, :] * phase
        words = self._x.shape[1]
        return PauliSum(
            x3.reshape(-1, words), z3.reshape(-1, words), coeffs.reshape(-1), self._num_qubits
        )

    def adjoint(self) -> PauliSum:
        """The Hermitian conjugate (Pauli strings are Hermitian: conjugate coefficients)."""
        return PauliSum(self._x, self._z, self._coeffs.conj(), self._num_qubits)

    def simplify(self, atol: float = 1e-12) -> PauliSum:
        """Combine equal Pauli strings and drop terms with ``|coeff| <= atol``."""
        if not len(self):
            return self
        keys = np.concatenate([self._x, self._z], axis=1)
        unique, inverse = np.unique(keys, axis=0, return_inverse=True)
        coeffs = np.zeros(len(unique), dtype=np.complex128)
        np.add.at(coeffs, inverse.reshape(-1), self._coeffs)
        keep = np.abs(coeffs) > atol
        words = self._x.shape[1]
        return PauliSum(unique[keep, :words], unique[keep, words:], coeffs[keep], self._num_qubits)

    def is_hermitian(self, atol: float = 1e-12) -> bool:
        return self.memo(
            ("is_hermitian", atol),
            lambda: bool(np.all(np.abs(self.simplify(atol).coeffs.imag) <= atol)),
        )

    def equiv(self, other: PauliSum, atol: float = 1e-10) -> bool:
        """Whether both sums are the same operator (up to ``atol`` per coefficient)."""
        self._check_same_size(other, "compare")
        return len((self - other).simplify(atol)) == 0

    # -- matrices -------------------------------------------------------------------------
    def to_matrix(self, sparse: bool = False, max_memory: int | None = None):
        """The operator as a (2**n, 2**n) matrix, index bit q = qubit q.

        ``sparse=True`` builds a ``scipy.sparse.csr_matrix`` directly from the masks,
        never a dense array. Memory is checked before allocating.
        """
        n = self._num_qubits
        if n > _MAX_MATRIX_QUBITS:
            raise ValueError(f"to_matrix supports at most {_MAX_MATRIX_QUBITS} qubits, got {n}")
        dim = 1 << n
        ham = self.simplify(0.0)
        xs = np.array([_to_int(w) for w in ham._x], dtype=np.int64)
        zs = np.array([_to_int(w) for w in ham._z], dtype=np.int64)
        if sparse:
            flips = len(np.unique(xs)) if len(xs) else 0
            # data + row indices (complex128 + int64) per nonzero, x2 for the COO staging
            check_allocation(2 * 24 * flips * dim, f"sparse matrix of {n} qubits", max_memory)
        else:
            check_allocation(16 * dim * dim, f"dense {dim}x{dim} matrix", max_memory)
        cols = np.arange(dim, dtype=np.int64)
        rows_all, data_all = [], []
        for x_int in np.unique(xs) if len(xs) else []:
            sel = xs == x_int
            # P|j> = i^{|x&z|} (-1)^{|z&j|} |j ^ x>; all terms sharing x share the pattern
            data = np.zeros(dim, dtype=np.complex128)
            for z_int, c in zip(zs[sel], ham._coeffs[sel]):
                sign = 1.0 - 2.0 * (np.bitwise_count(cols & z_int) & 1)  # uint8 counts
                data += (c * (1j) ** (int(x_int & z_int).bit_count() % 4)) * sign
            rows_all.append(cols ^ x_int)
            data_all.append(data)
        if sparse:
            import scipy.sparse

            if not rows_all:
                return scipy.sparse.csr_matrix((dim, dim), dtype=np.complex128)
            rows = np.concatenate(rows_all)
            data = np.concatenate(data_all)
            cols_rep = np.tile(cols, len(rows_all))
            return scipy.sparse.csr_matrix((data, (rows, cols_rep)), shape=(dim, dim))
        out = np.zeros((dim, dim), dtype=np.complex128)
        for rows, data in zip(rows_all, data_all):
            out[rows, cols] += data
        return out

    # -- grouping -------------------------------------------------------------------------
    def group_qubitwise_commuting(self) -> list[PauliSum]:
        """Partition the terms into qubit-wise commuting groups (greedy colouring of the
        conflict graph, largest degree first), for shot-based estimation."""
        import networkx as nx

        count = len(self)
        if count == 0:
            return []
        support = self._x | self._z
        both = support[:, None, :] & support[None, :, :]
        differ = (self._x[:, None, :] ^ self._x[None, :, :]) | (
            self._z[:, None, :] ^ self._z[None, :, :]
        )
        conflict = ((both & differ) != 0).any(axis=-1)
        graph = nx.Graph()
        graph.add_nodes_from(range(count))
        graph.add_edges_from(zip(*np.nonzero(np.triu(conflict, k=1))))
        colours = nx.greedy_color(graph, strategy="largest_first")
        groups: dict[int, list[int]] = {}
        for term in range(count):
            groups.setdefault(colours[term], []).append(term)
        return [
            PauliSum(self._x[idx], self._z[idx], self._coeffs[idx], self._num_qubits)
            for idx in (np.array(members) for _, members in sorted(groups.items()))
        ]


def _to_int(words: Sequence[np.uint64]) -> int:
    """One mask's words as a Python int (qubit q = bit q)."""
    value = 0
    for k, w in enumerate(words):
        value |= int(w) << (_WORD * k)
    return value
