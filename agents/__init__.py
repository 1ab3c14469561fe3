"""RL quantum architecture search: the QAS environment and the agents (docs/agents.md).

Examples:
    >>> from agents import QASEnv, make_agent
    >>> agent = make_agent("random", QASEnv("bell", max_gates=6, gate_set="kanqas"), seed=1)
    >>> log = agent.train(50, callback=lambda record: not record["success"])
    >>> agent.best_record["fidelity"] >= 0.98, agent.best_circuit.num_qubits
    (True, 2)
"""

from __future__ import annotations

from agents.env import GATE_SETS, QASEnv
from agents.vector import QASVectorEnv

__all__ = [
    "QASEnv",
    "QASVectorEnv",
    "GATE_SETS",
    "make_agent",
    "available_agents",
    "known_hyperparameters",
]

_AGENTS = {
    "random": ("agents.random_agent", "RandomAgent"),
    "dqn": ("agents.dqn", "DQNAgent"),
    "crlqas": ("agents.dqn", "CRLQASAgent"),
    "kanqas": ("agents.kanqas", "KANQASAgent"),
    "gadget": ("agents.gadget_agent", "GadgetAgent"),
}


def available_agents() -> list[str]:
    """Names :func:`make_agent` accepts."""
    return list(_AGENTS)


def make_agent(name: str, env: QASEnv, preset: str = "fast", seed=None, **hyper):
    """An agent by name (``random dqn crlqas kanqas gadget``) for ``env``.

    Args:
        preset: ``fast`` (default: an H2 run in minutes on two cores) or ``paper``
            (the papers' settings).
        seed: seeds the agent and its environment.
        hyper: overrides of the preset's hyperparameters.
    """
    import importlib

    if name not in _AGENTS:
        raise ValueError(f"unknown agent {name!r}; available: {', '.join(_AGENTS)}")
    module, cls = _AGENTS[name]
    return getattr(importlib.import_module(module), cls)(env, preset=preset, seed=seed, **hyper)


def known_hyperparameters(name: str) -> list[str]:
    """The hyperparameter names ``make_agent(name, ..., **hyper)`` accepts."""
    import importlib

    if name not in _AGENTS:
        raise ValueError(f"unknown agent {name!r}; available: {', '.join(_AGENTS)}")
    module, cls = _AGENTS[name]
    agent_cls = getattr(importlib.import_module(module), cls)
    known = getattr(agent_cls, "known_hyper", None)
    return list(known()) if known is not None else []
