"""SCALE: Stochastic Column-normAlized Last-layer momEntum (Glentis, Li, Han, Hong,
"A Minimalist Optimizer Design for LLM Pretraining", arXiv:2506.16659).

Every weight matrix steps along its column-normalized gradient, C(M)[:, j] =
M[:, j] / ||M[:, j]||_2 (normalized along the output dimension: torch stores a
Linear weight as (out, in), so each input column is normalized over the outputs),
with first-order momentum m <- beta m + (1 - beta) g only on the last layer (the
output head), where gradient noise is largest. No second moments: the state is one
matrix for the head. Parameters that are not matrices get AdamW.
"""

from __future__ import annotations

import torch

from qworkbench.optim._apollo import _adam_update
from qworkbench.optim._base import PerParameterOptimizer, check_common

__all__ = ["Scale", "column_normalize"]


def column_normalize(m: torch.Tensor, eps: float = 1e-8) -> torch.Tensor:
    """Each column divided by its Euclidean norm."""
    return m / (m.norm(dim=0, keepdim=True) + eps)


class Scale(PerParameterOptimizer):
    """SCALE on 2-D parameters, AdamW on the rest.

    Args:
        lr: step size of the normalized updates (and of the AdamW fallback).
        momentum: beta of the last layer's momentum.
        betas, eps, weight_decay: the AdamW fallback's (weight decay applies to all).
        last_layer: in a param group, True marks its matrices as the head. When no
            group says, the last matrix in parameter order is taken as the head.
    """

    def __init__(self, params, lr=1e-3, momentum=0.9, betas=(0.9, 0.999), eps=1e-8,
                 weight_decay=0.0, last_layer=None):  # fmt: skip
        check_common(lr=lr, betas=betas, weight_decay=weight_decay, momentum=momentum)
        defaults = {"lr": lr, "momentum": momentum, "betas": tuple(betas), "eps": eps,
                    "weight_decay": weight_decay, "last_layer": last_layer}  # fmt: skip
        super().__init__(params, defaults)
        if all(g["last_layer"] is None for g in self.param_groups):
            matrices = [p for g in self.param_groups for p in g["params"] if p.ndim == 2]
            self._head = {id(matrices[-1])} if matrices else set()
        else:
            self._head = {id(p) for g in self.param_groups if g["last_layer"]
                          for p in g["params"] if p.ndim == 2}  # fmt: skip

    def _update(self, p, grad, state, group) -> None:
        if p.ndim != 2:
            _adam_update(p, grad, state, group, lambda u: u)
            return
        direction = grad
        if id(p) in self._head:
            m = state.setdefault("momentum_buffer", torch.zeros_like(p))
            m.mul_(group["momentum"]).add_(grad, alpha=1 - group["momentum"])
            direction = m
        p.mul_(1 - group["lr"] * group["weight_decay"])
        p.add_(column_normalize(direction), alpha=-group["lr"])
