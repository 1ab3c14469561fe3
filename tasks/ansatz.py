"""Parameterised ansatz circuits: hardware-efficient (Kandala et al. 2017) and UCCSD.

Both return a :class:`~qworkbench.Circuit` whose free angles are
:class:`~qworkbench.Parameter` objects, in the order ``circuit.parameters`` lists them.
"""

from __future__ import annotations

import itertools
import math
import numbers
from collections.abc import Sequence

from qworkbench import Circuit, Parameter, PauliSum

__all__ = ["hardware_efficient", "uccsd", "pauli_rotation", "excitations"]

_ROTATIONS = ("rx", "ry", "rz")
_ENTANGLERS = ("cx", "cz")
_ENTANGLEMENTS = ("linear", "ring", "full")


def _pairs(n: int, entanglement: str) -> list[tuple[int, int]]:
    if entanglement == "full":
        return list(itertools.combinations(range(n), 2))
    pairs = [(q, q + 1) for q in range(n - 1)]
    return pairs + [(n - 1, 0)] if entanglement == "ring" and n > 2 else pairs


def _check_count(value, name: str, minimum: int) -> int:
    if isinstance(value, bool) or not isinstance(value, numbers.Integral) or value < minimum:
        raise ValueError(f"{name} must be an integer >= {minimum}, got {value!r}")
    return int(value)


def _check_bitstring(bits, n: int) -> str:
    if not isinstance(bits, str) or len(bits) != n or set(bits) - {"0", "1"}:
        raise ValueError(f"initial_state must be a bitstring of {n} zeros and ones, got {bits!r}")
    return bits


def _cnot_preimage(bits: str, pairs, layers: int) -> str:
    """The bitstring that ``layers`` CNOT layers over ``pairs`` map to ``bits`` (a CNOT
    permutes basis states and is its own inverse: undo the layers in reverse order)."""
    state = [int(b) for b in reversed(bits)]  # state[q] is qubit q
    for _ in range(layers):
        for a, b in reversed(pairs):
            state[b] ^= state[a]
    return "".join(str(v) for v in reversed(state))


def _prepare(circuit: Circuit, bits: str) -> None:
    for q, bit in enumerate(reversed(bits)):
        if bit == "1":
            circuit.x(q)


def hardware_efficient(
    n: int,
    layers: int,
    rotations: Sequence[str] = ("ry", "rz"),
    entangler: str = "cx",
    entanglement: str = "linear",
    initial_state: str | None = None,
    prefix: str = "theta",
) -> Circuit:
    """The hardware-efficient ansatz of Kandala et al., Nature 549, 242 (2017).

    A layer of single-qubit ``rotations`` on every qubit, then ``layers`` times: the
    ``entangler`` on every pair of the ``entanglement`` pattern (``linear``: (q, q+1);
    ``ring``: plus (n-1, 0); ``full``: all pairs) followed by another rotation layer.
    ``len(rotations) * n * (layers + 1)`` parameters named ``{prefix}_k``.

    Args:
        initial_state: the basis state (a bitstring, qubit 0 rightmost) the circuit
            prepares at zero angles, e.g. a Hartree-Fock state. X gates first prepare the
            bitstring that the entangling layers carry to it (the same bitstring for
            ``cz``), so small angles start near ``initial_state`` and, through the CNOT
            layers, one rotation already reaches its double excitations.

    Examples:
        >>> c = hardware_efficient(3, 2)
        >>> c.num_parameters, c.count_ops()
        (18, {'ry': 9, 'rz': 9, 'cx': 4})
    """
    n = _check_count(n, "n", 1)
    layers = _check_count(layers, "layers", 0)
    if isinstance(rotations, str):
        rotations = (rotations,)
    rotations = tuple(rotations)
    if not rotations or any(r not in _ROTATIONS for r in rotations):
        raise ValueError(f"rotations must be a non-empty choice of {_ROTATIONS}, got {rotations!r}")
    if entangler not in _ENTANGLERS:
        raise ValueError(f"entangler must be one of {_ENTANGLERS}, got {entangler!r}")
    if entanglement not in _ENTANGLEMENTS:
        raise ValueError(f"entanglement must be one of {_ENTANGLEMENTS}, got {entanglement!r}")
    circuit = Circuit(n)
    pairs = _pairs(n, entanglement)
    if initial_state is not None:
        bits = _check_bitstring(initial_state, n)
        _prepare(circuit, _cnot_preimage(bits, pairs, layers) if entangler == "cx" else bits)
    counter = itertools.count()

    def rotation_layer():
        for q in range(n):
            for name in rotations:
                getattr(circuit, name)(Parameter(f"{prefix}_{next(counter)}"), q)

    rotation_layer()
    for _ in range(layers):
        for a, b in pairs:
            getattr(circuit, entangler)(a, b)
        rotation_layer()
    return circuit


def pauli_rotation(circuit: Circuit, label: str, angle) -> Circuit:
    """Append exp(-i angle/2 P) for the Pauli string ``label`` (qubit 0 rightmost).

    Basis changes (H for X, RX(pi/2) for Y) map P to a Z string, a CNOT ladder gathers
    its parity onto the highest qubit of the support, RZ(angle) acts there, and the
    ladder and basis changes are undone.
    """
    n = circuit.num_qubits
    if len(label) != n or set(label) - set("IXYZ"):
        raise ValueError(f"label must be a Pauli string of {n} characters, got {label!r}")
    support = [q for q in range(n) if label[n - 1 - q] != "I"]
    if not support:
        return circuit  # a global phase
    for q in support:
        p = label[n - 1 - q]
        if p == "X":
            circuit.h(q)
        elif p == "Y":
            circuit.rx(math.pi / 2, q)
    for a, b in itertools.pairwise(support):
        circuit.cx(a, b)
    circuit.rz(angle, support[-1])
    for a, b in reversed(list(itertools.pairwise(support))):
        circuit.cx(a, b)
    for q in support:
        p = label[n - 1 - q]
        if p == "X":
            circuit.h(q)
        elif p == "Y":
            circuit.rx(-math.pi / 2, q)
    return circuit


def excitations(
    num_qubits: int, n_electrons: int, singles: bool = True, doubles: bool = True
) -> list[tuple[tuple[int, ...], tuple[int, ...]]]:
    """Spin-conserving excitations ``(occupied, virtual)`` out of the Hartree-Fock state,
    spin orbitals interleaved (even = alpha, odd = beta), HF = the lowest ``n_electrons``.

    Examples:
        >>> excitations(4, 2)
        [((0,), (2,)), ((1,), (3,)), ((0, 1), (2, 3))]
    """
    occupied = range(n_electrons)
    virtual = range(n_electrons, num_qubits)
    out: list[tuple[tuple[int, ...], tuple[int, ...]]] = []
    if singles:
        out += [((i,), (a,)) for i in occupied for a in virtual if i % 2 == a % 2]
    if doubles:
        for i, j in itertools.combinations(occupied, 2):
            for a, b in itertools.combinations(virtual, 2):
                if (i % 2 + j % 2) == (a % 2 + b % 2):
                    out.append(((i, j), (a, b)))
    return out


def uccsd(
    problem=None,
    n_electrons: int | None = None,
    *,
    num_qubits: int | None = None,
    singles: bool = True,
    doubles: bool = True,
    reps: int = 1,
    prefix: str = "t",
) -> Circuit:
    """A UCCSD-style ansatz: the Hartree-Fock state, then one factor
    exp(theta_k (T_k - T_k^dagger)) per spin-conserving single and double excitation
    (first-order Trotterised), Jordan-Wigner mapped (OpenFermion) and decomposed into
    Pauli rotations (:func:`pauli_rotation`). ``reps`` repeats the product with new
    angles.

    Args:
        problem: a :class:`~tasks.hamiltonians.MolecularProblem` (Jordan-Wigner,
            untapered) or a :class:`~tasks.Task` built from one; or the number of qubits
            (spin orbitals, interleaved) with ``n_electrons``.
        n_electrons: electrons when ``problem`` is a qubit count.

    Examples:
        >>> c = uccsd(4, 2)
        >>> c.num_parameters, c.count_ops()["x"]
        (3, 2)
    """
    hf_state = None
    if isinstance(problem, numbers.Integral) and not isinstance(problem, bool):
        num_qubits = int(problem)
    elif problem is not None:
        hf_state, num_qubits, n_electrons = _from_problem(problem)
    if num_qubits is None or n_electrons is None:
        raise ValueError("uccsd needs a problem, or num_qubits and n_electrons")
    num_qubits = _check_count(num_qubits, "num_qubits", 2)
    n_electrons = _check_count(n_electrons, "n_electrons", 0)
    reps = _check_count(reps, "reps", 1)
    if num_qubits % 2 or n_electrons > num_qubits:
        raise ValueError(
            f"uccsd needs an even number of spin orbitals holding the electrons, got "
            f"{num_qubits} qubits and {n_electrons} electrons"
        )
    if hf_state is None:
        hf_state = "0" * (num_qubits - n_electrons) + "1" * n_electrons
    circuit = Circuit(num_qubits)
    _prepare(circuit, hf_state)
    generators = [_generator(num_qubits, occ, virt) for occ, virt in
                  excitations(num_qubits, n_electrons, singles, doubles)]  # fmt: skip
    if not generators:
        raise ValueError(f"no excitations for {n_electrons} electrons in {num_qubits} qubits")
    counter = itertools.count()
    for _ in range(reps):
        for terms in generators:
            theta = Parameter(f"{prefix}_{next(counter)}")
            # exp(theta sum_k i r_k P_k) = prod_k exp(-i (-2 r_k theta)/2 P_k): the terms
            # of one excitation commute
            for label, r in terms:
                pauli_rotation(circuit, label, (-2.0 * r) * theta)
    return circuit


def _from_problem(problem):
    molecular = getattr(problem, "problem", problem)  # a registry Task carries its problem
    hf = getattr(molecular, "hf_state", None)
    if hf is None or not hasattr(molecular, "n_electrons"):
        raise ValueError(f"uccsd needs a molecular problem or task, got {problem!r}")
    if molecular.mapping != "jordan_wigner" or molecular.tapered:
        raise ValueError(
            f"uccsd builds Jordan-Wigner excitations; the problem uses {molecular.mapping!r}"
            + (" with tapered qubits" if molecular.tapered else "")
        )
    return hf, molecular.num_qubits, molecular.n_electrons


def _ladder(n: int, p: int, dagger: bool) -> PauliSum:
    """Jordan-Wigner a_p^dagger (or a_p) = (X_p -+ i Y_p)/2 Z_{p-1} ... Z_0."""
    zs = "Z" * p
    pad = "I" * (n - p - 1)
    sign = -0.5j if dagger else 0.5j
    return PauliSum.from_list([(pad + "X" + zs, 0.5), (pad + "Y" + zs, sign)])


def _generator(n: int, occupied, virtual) -> list[tuple[str, float]]:
    """T - T^dagger Jordan-Wigner mapped, T = a_a^dag (a_b^dag) (a_j) a_i: [(label, r)]
    with the operator equal to sum_k i r_k P_k."""
    ops = [_ladder(n, a, True) for a in virtual] + [_ladder(n, i, False) for i in occupied[::-1]]
    excitation = ops[0]
    for op in ops[1:]:
        excitation = (excitation @ op).simplify()
    generator = (excitation - excitation.adjoint()).simplify(1e-12)
    terms = []
    for label, coeff in generator.to_list():
        if abs(coeff.real) > 1e-12:
            raise ValueError(f"excitation generator is not anti-Hermitian: {label} {coeff}")
        terms.append((label, float(coeff.imag)))
    return sorted(terms)
