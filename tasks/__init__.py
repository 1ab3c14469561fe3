"""Tasks: problems (Hamiltonians, state targets) and their solvers.

Importing ``tasks`` is light: PySCF, OpenFermion and torch load only when a molecular
task is built or a solver runs. Public names:

- :func:`available`, :func:`get_task`, :class:`Task` — the task registry
  (:mod:`tasks.registry`);
- :mod:`tasks.hamiltonians` (``molecule``, ``tfim``, ``heisenberg``, ``xxz``),
  :mod:`tasks.ansatz` (``hardware_efficient``, ``uccsd``), :mod:`tasks.vqe` (``VQE``).
"""

from tasks.registry import Task, available, get_task

__all__ = ["Task", "available", "get_task"]
