"""The experiments layer: grids of tasks, agents and optimizers, benchmark harnesses,
result tables and plots. It sits above ``agents`` and ``tasks``; only the command line,
notebooks and ``benchmarks/`` import it (``import qworkbench`` does not).

Modules (each imported on its own; this package imports none of them):

- :mod:`~qworkbench.experiments.results` -- the ``results.jsonl`` format: cell keys and
  the one reader.
- :mod:`~qworkbench.experiments.qas` -- ``qwb qas bench``: QAS agents over tasks and seeds.
- :mod:`~qworkbench.experiments.grid` -- sweep configs and their cells.
- :mod:`~qworkbench.experiments.sweep` -- ``qwb sweep``: cells on any executor.
- :mod:`~qworkbench.experiments.tables` -- Markdown and CSV tables of results.
- :mod:`~qworkbench.experiments.plots` -- figures of runs, benchmarks and sweeps.
- :mod:`~qworkbench.experiments.optim_bench` -- ``qwb bench optim``: a small character
  model (:mod:`~qworkbench.experiments.optim_model`) trained with each optimizer.
- :mod:`~qworkbench.experiments.sim_bench`, :mod:`~qworkbench.experiments.peers`,
  :mod:`~qworkbench.experiments.timing` -- ``qwb bench sim``: our statevector simulator
  against its peers.
- :mod:`~qworkbench.experiments.qaoa`, :mod:`~qworkbench.experiments.qsvt` -- what
  ``qwb qaoa`` and ``qwb qsvt`` run.
"""
