"""Ideal, noisy and mitigated energies of one circuit: the hardware cross-check of a
QAS run (CRLQAS evaluates its found circuits on hardware the same way)."""

from __future__ import annotations

from qworkbench.hardware._submit import retrieve, submit

__all__ = ["compare_energies"]


def compare_energies(circuit, observable, backend, *, shots: int = 4096,
                     resilience_level: int = 1, seed: int | None = 0, mode: str = "job",
                     tags=(), store=None) -> dict:  # fmt: skip
    """``<observable>`` of ``circuit`` exactly (``qiskit.quantum_info.Statevector``), and
    with the Estimator on ``backend`` raw (resilience level 0) and mitigated
    (``resilience_level``); returns the three energies and the two job ids."""
    from qiskit.quantum_info import Statevector

    from qworkbench.hardware._submit import _to_observable, _to_qiskit

    if resilience_level not in (1, 2):
        raise ValueError(f"resilience_level must be 1 or 2 here, got {resilience_level!r}")
    qc = _to_qiskit(circuit).remove_final_measurements(inplace=False)
    op = _to_observable(observable, qc.num_qubits)
    ideal = float(Statevector(qc).expectation_value(op).real)
    common = {"shots": shots, "seed": seed, "mode": mode, "tags": tags, "store": store}
    noisy = submit(qc, backend, observables=op, resilience_level=0, **common)
    mitigated = submit(qc, backend, observables=op, resilience_level=resilience_level, **common)
    return {
        "backend": noisy.backend,
        "shots": shots,
        "resilience_level": resilience_level,
        "ideal": ideal,
        "noisy": retrieve(noisy.id, store=store),
        "mitigated": retrieve(mitigated.id, store=store),
        "noisy_job": noisy.id,
        "mitigated_job": mitigated.id,
        "family": noisy.options.get("family"),
        "circuit_hash": noisy.circuit_hash,
    }
