"""Subset-Norm step sizes with Subspace-Momentum (Nguyen & Nguyen, "Lean and Mean
Adaptive Optimization via Subset-Norm and Subspace-Momentum with Convergence
Guarantees", ICML 2025).

Subset-Norm: the coordinates of an m x n weight are split into subsets (the rows
when n >= m, else the columns: about sqrt(d) subsets of about sqrt(d) entries) and
each subset shares one AdaGrad accumulator, b_i^2 <- b_i^2 + ||g_{Psi_i}||^2, so the
second-moment state is O(sqrt(d)). Subspace-Momentum: momentum lives only in the
span of the top-k left singular vectors P of the gradient (refreshed every
``update_proj_gap`` steps), m <- beta m + (1 - beta) P^T g; the rest of the gradient,
r = g - P P^T g, takes plain SGD steps. Together: theta_j <- theta_j - lr (P m + r)_j /
(b_{psi(j)} + eps). Parameters that are not matrices get AdamW.
"""

from __future__ import annotations

import torch

from qworkbench.optim._apollo import _adam_update
from qworkbench.optim._base import PerParameterOptimizer, check_common

__all__ = ["SubsetNorm"]


class SubsetNorm(PerParameterOptimizer):
    """Subset-Norm with Subspace-Momentum on 2-D parameters, AdamW elsewhere.

    Args:
        lr: step size (AdaGrad-style: larger than Adam's, e.g. 0.01-0.1).
        momentum: beta of the subspace momentum.
        rank: k, the momentum subspace's dimension (0: no momentum, plain Subset-Norm).
        update_proj_gap: steps between recomputing the subspace by SVD.
        eps: added to the shared step-size denominators.
        betas, weight_decay: the AdamW fallback's (weight decay decoupled, for all).
    """

    def __init__(self, params, lr=0.05, momentum=0.9, rank=16, update_proj_gap=200,
                 eps=1e-8, betas=(0.9, 0.999), weight_decay=0.0):  # fmt: skip
        check_common(lr=lr, betas=betas, weight_decay=weight_decay, momentum=momentum)
        if not (isinstance(rank, int) and rank >= 0):
            raise ValueError(f"rank must be a non-negative integer, got {rank!r}")
        if not (isinstance(update_proj_gap, int) and update_proj_gap >= 1):
            raise ValueError(f"update_proj_gap must be a positive integer, got {update_proj_gap!r}")
        defaults = {"lr": lr, "momentum": momentum, "rank": rank,
                    "update_proj_gap": update_proj_gap, "eps": eps, "betas": tuple(betas),
                    "weight_decay": weight_decay}  # fmt: skip
        super().__init__(params, defaults)

    def _update(self, p, grad, state, group) -> None:
        if p.ndim != 2:
            _adam_update(p, grad, state, group, lambda u: u)
            return
        step = int(state.get("step", 0))
        state["step"] = step + 1
        g = grad.to(torch.promote_types(grad.dtype, torch.float32))  # bf16 -> float32
        rows_are_subsets = p.shape[1] >= p.shape[0]
        norms = g.pow(2).sum(dim=1 if rows_are_subsets else 0)
        acc = state.setdefault("subset_sq", torch.zeros_like(norms))
        acc.add_(norms)
        direction = g
        rank = min(group["rank"], *p.shape)
        if rank > 0:
            if step % group["update_proj_gap"] == 0 or "basis" not in state:
                u, _, _ = torch.linalg.svd(g, full_matrices=False)
                state["basis"] = u[:, :rank].contiguous()
            basis = state["basis"]
            low = basis.T @ g
            m = state.setdefault("momentum_buffer", torch.zeros_like(low))
            m.mul_(group["momentum"]).add_(low, alpha=1 - group["momentum"])
            direction = basis @ m + (g - basis @ low)
        denom = acc.sqrt().add_(group["eps"])
        denom = denom[:, None] if rows_are_subsets else denom[None, :]
        p.mul_(1 - group["lr"] * group["weight_decay"])
        p.add_((direction / denom).to(p.dtype), alpha=-group["lr"])
