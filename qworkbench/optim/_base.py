"""Bookkeeping shared by the optimizers of this package."""

from __future__ import annotations

import math

import torch

__all__ = ["PerParameterOptimizer", "check_common", "adamw_step"]


def check_common(lr=None, betas=None, weight_decay=None, momentum=None) -> None:
    """Validate the hyperparameters most optimizers share; errors name the value."""
    if lr is not None and not (math.isfinite(lr) and lr > 0):
        raise ValueError(f"lr must be positive and finite, got {lr}")
    if betas is not None and not all(0.0 <= b < 1.0 for b in betas):
        raise ValueError(f"betas must lie in [0, 1), got {betas}")
    if weight_decay is not None and not (math.isfinite(weight_decay) and weight_decay >= 0):
        raise ValueError(f"weight_decay must be finite and >= 0, got {weight_decay}")
    if momentum is not None and not 0.0 <= momentum < 1.0:
        raise ValueError(f"momentum must lie in [0, 1), got {momentum}")


class PerParameterOptimizer(torch.optim.Optimizer):
    """``step`` evaluates the closure and calls ``_update(p, grad, state, group)`` for
    every parameter that has a gradient; subclasses only write ``_update``."""

    def _update(self, p, grad, state, group) -> None:  # pragma: no cover - abstract
        raise NotImplementedError

    @torch.no_grad()
    def step(self, closure=None):
        loss = None
        if closure is not None:
            with torch.enable_grad():
                loss = closure()
        for group in self.param_groups:
            for p in group["params"]:
                if p.grad is not None:
                    self._update(p, p.grad, self.state[p], group)
        return loss


def adamw_step(p, grad, m, v, group, step: int) -> None:
    """AdamW with float32 moments ``m``, ``v`` (updated in place; the quantized optimizers
    dequantize into them and requantize after): bias-corrected, decoupled decay."""
    b1, b2 = group["betas"]
    g = grad.float()
    m.mul_(b1).add_(g, alpha=1 - b1)
    v.mul_(b2).addcmul_(g, g, value=1 - b2)
    denom = (v / (1 - b2**step)).sqrt_().add_(group["eps"])
    p.mul_(1 - group["lr"] * group["weight_decay"])
    p.addcdiv_(m.to(p.dtype), denom.to(p.dtype), value=-group["lr"] / (1 - b1**step))
