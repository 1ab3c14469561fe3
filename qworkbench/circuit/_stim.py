"""Export of Clifford circuits to ``stim.Circuit``."""

from __future__ import annotations

import functools

from qworkbench.circuit._analysis import first_non_clifford
from qworkbench.circuit._gates import GATES
from qworkbench.errors import NotCliffordError

__all__ = ["to_stim", "append_operation"]

_STIM_NAMES = {
    "id": "I",
    "h": "H",
    "x": "X",
    "y": "Y",
    "z": "Z",
    "s": "S",
    "sdg": "S_DAG",
    "sx": "SQRT_X",
    "sxdg": "SQRT_X_DAG",
    "cx": "CX",
    "cy": "CY",
    "cz": "CZ",
    "swap": "SWAP",
}


@functools.lru_cache(maxsize=1024)
def _synthesized(name: str, params: tuple[float, ...]):
    """Stim instructions (on local qubits 0..k-1) for a Clifford gate at given angles."""
    import stim

    tableau = stim.Tableau.from_unitary_matrix(GATES[name].matrix(*params), endian="little")
    return tuple(
        (inst.name, tuple(t.value for t in inst.targets_copy()))
        for inst in tableau.to_circuit(method="elimination")
    )


def to_stim(circuit):
    """The circuit as a ``stim.Circuit``.

    Named Clifford gates map to Stim's; rotations at Clifford angles (``rz(pi/2)``,
    ``rzz(pi/2)``, ...) are synthesized from their tableau. ``measure`` becomes ``M``
    (records in program order) and ``barrier`` becomes ``TICK``.

    Raises:
        NotCliffordError: naming the first gate that is not Clifford.
    """
    import stim

    bad = first_non_clifford(circuit)
    if bad is not None:
        index = circuit.operations.index(bad)
        raise NotCliffordError(
            f"circuit is not Clifford: operation {index}, {bad}, is not a Clifford gate", bad
        )
    out = stim.Circuit()
    for op in circuit:
        append_operation(out, op)
    return out


def append_operation(out, op) -> None:
    """Append one (Clifford) operation to the ``stim.Circuit`` ``out``."""
    if op.name == "measure":
        out.append("M", list(op.qubits))
    elif op.name == "barrier":
        out.append("TICK")
    elif op.name in _STIM_NAMES:
        out.append(_STIM_NAMES[op.name], list(op.qubits))
    else:
        for name, local in _synthesized(op.name, tuple(op.params)):
            out.append(name, [op.qubits[k] for k in local])
