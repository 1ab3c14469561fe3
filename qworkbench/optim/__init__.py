"""One optimizer layer: angle fitting for VQE/QAOA/QAS and training of networks.

Every optimizer is a ``torch.optim.Optimizer`` (param groups, per-parameter state,
``state_dict``); ``create`` builds one by name with sensible defaults, and
``minimize`` runs SciPy's or ours on a NumPy objective.

Examples:
    >>> import torch
    >>> from qworkbench import optim
    >>> opt = optim.create("adam", [torch.zeros(3, requires_grad=True)], lr=0.1)
    >>> type(opt).__name__, "spsa" in optim.available()
    ('Adam', True)
"""

from __future__ import annotations

import torch

from qworkbench.optim._adam4bit import Adam4bit
from qworkbench.optim._adam8bit import Adam8bit
from qworkbench.optim._apollo import Apollo, ApolloMini
from qworkbench.optim._galore import GaLoreAdamW, galore_projector
from qworkbench.optim._groups import param_groups
from qworkbench.optim._minimize import METHODS, OptimizeResult, minimize
from qworkbench.optim._muon import Muon, muon_param_groups, newton_schulz
from qworkbench.optim._qgalore import QGaLoreAdamW
from qworkbench.optim._qweights import QuantizedWeights, quantize_weights, stochastic_round
from qworkbench.optim._scale import Scale, column_normalize
from qworkbench.optim._spsa import SPSA, AdamSPSA, spsa_gradient
from qworkbench.optim._subset_norm import SubsetNorm

__all__ = [
    "OPTIMIZERS",
    "create",
    "available",
    "state_bytes",
    "param_groups",
    "minimize",
    "OptimizeResult",
    "METHODS",
    "SPSA",
    "AdamSPSA",
    "spsa_gradient",
    "Adam8bit",
    "Adam4bit",
    "Apollo",
    "ApolloMini",
    "GaLoreAdamW",
    "galore_projector",
    "QGaLoreAdamW",
    "quantize_weights",
    "QuantizedWeights",
    "stochastic_round",
    "Scale",
    "SubsetNorm",
    "column_normalize",
    "Muon",
    "muon_param_groups",
    "newton_schulz",
]

#: name -> (optimizer class, default hyperparameters)
OPTIMIZERS: dict[str, tuple[type[torch.optim.Optimizer], dict]] = {
    "sgd": (torch.optim.SGD, {"lr": 0.01}),
    "adam": (torch.optim.Adam, {"lr": 1e-3}),
    "adamw": (torch.optim.AdamW, {"lr": 1e-3, "weight_decay": 0.01}),
    "spsa": (SPSA, {}),
    "adam_spsa": (AdamSPSA, {}),
    "galore_adamw": (GaLoreAdamW, {}),
    "q_galore_adamw": (QGaLoreAdamW, {}),
    "adam8bit": (Adam8bit, {}),
    "adam4bit": (Adam4bit, {}),
    "apollo": (Apollo, {}),
    "apollo_mini": (ApolloMini, {}),
    "scale": (Scale, {}),
    "subset_norm": (SubsetNorm, {}),
    "muon": (Muon, {"lr": 1e-3}),
}


def available() -> list[str]:
    """Names accepted by :func:`create`."""
    return sorted(OPTIMIZERS)


def create(name: str, params, **hyper) -> torch.optim.Optimizer:
    """Optimizer ``name`` over ``params`` with its defaults updated by ``hyper``."""
    if name not in OPTIMIZERS:
        raise ValueError(f"unknown optimizer {name!r}; available: {', '.join(available())}")
    cls, defaults = OPTIMIZERS[name]
    return cls(params, **{**defaults, **hyper})


def state_bytes(optimizer: torch.optim.Optimizer) -> int:
    """Bytes held in the optimizer's per-parameter state (tensors at their real size)."""

    def size(value, depth: int = 0) -> int:
        if isinstance(value, torch.Tensor):
            return value.numel() * value.element_size()
        if depth > 4:
            return 0
        if isinstance(value, dict):
            return sum(size(v, depth + 1) for v in value.values())
        if isinstance(value, list | tuple):
            return sum(size(v, depth + 1) for v in value)
        if hasattr(value, "__dict__"):  # e.g. a reference package's projector object
            return sum(size(v, depth + 1) for v in vars(value).values())
        return 0

    return sum(size(state) for state in optimizer.state.values())
