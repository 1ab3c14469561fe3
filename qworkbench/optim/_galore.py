"""GaLore-AdamW: Adam in a low-rank projection of each weight matrix's gradient.

Zhao et al., "GaLore: Memory-Efficient LLM Training by Gradient Low-Rank Projection"
(ICML 2024), Algorithm 2. For an m x n gradient G with m >= n (``proj_type="std"``)
the projector P (r x n) holds G's top right singular vectors, recomputed every
``update_proj_gap`` steps; Adam's moments live in R = G P^T (m x r) and the update
alpha * (M / (sqrt(V) + eps)) P goes back to full size. Parameters that are not 2-D
(biases, norms) get the same Adam update without projection.
"""

from __future__ import annotations

import math

import torch

from qworkbench.optim._base import (
    NonFiniteGradientError,
    PerParameterOptimizer,
    capped_rank,
    check_common,
    resolve_rank_cap,
    warn_unprojected,
)

__all__ = ["GaLoreAdamW", "galore_projector", "galore_adamw_update", "check_galore"]

_PROJ_TYPES = ("std", "reverse_std", "left", "right", "full")
DEFAULT_RANK = 128


def _side(shape: torch.Size, proj_type: str) -> str:
    tall = shape[0] >= shape[1]
    if proj_type == "std":
        return "right" if tall else "left"
    if proj_type == "reverse_std":
        return "left" if tall else "right"
    return proj_type


def galore_projector(grad: torch.Tensor, rank: int, side: str, svd: str = "full"):
    """Orthonormal projector(s) onto the top-``rank`` singular subspace of ``grad``:
    right (r x n), left (m x r) or full (both). ``svd="randomized"`` uses a randomized
    range finder (Halko et al. 2011) instead of a full SVD."""
    matrix = grad.float()
    if svd == "randomized":
        u, _, v = torch.svd_lowrank(matrix, q=min(rank + 8, min(matrix.shape)), niter=2)
        u, vh = u[:, :rank], v[:, :rank].T
    else:
        u, _, vh = torch.linalg.svd(matrix, full_matrices=False)
        u, vh = u[:, :rank], vh[:rank]
    if side == "right":
        return (vh.to(grad.dtype),)
    if side == "left":
        return (u.to(grad.dtype),)
    return u.to(grad.dtype), vh.to(grad.dtype)


def _project(grad, side, proj):
    if side == "right":
        return grad @ proj[0].T
    if side == "left":
        return proj[0].T @ grad
    return proj[0].T @ grad @ proj[1].T


def _project_back(low, side, proj):
    if side == "right":
        return low @ proj[0]
    if side == "left":
        return proj[0] @ low
    return proj[0] @ low @ proj[1]


def check_galore(lr, betas, eps, weight_decay, rank, update_proj_gap, scale, proj_type, svd):
    """Validate GaLore's hyperparameters (shared with Q-GaLore); errors name the value."""
    check_common(lr=lr, betas=betas, weight_decay=weight_decay)
    if not (math.isfinite(eps) and eps > 0):
        raise ValueError(f"eps must be positive and finite, got {eps}")
    if not (math.isfinite(scale) and scale > 0):
        raise ValueError(f"scale must be positive and finite, got {scale}")
    if isinstance(rank, bool) or not (isinstance(rank, int) and rank >= 1):
        raise ValueError(f"rank must be a positive integer, got {rank!r}")
    if not (isinstance(update_proj_gap, int) and update_proj_gap >= 1):
        raise ValueError(f"update_proj_gap must be a positive integer, got {update_proj_gap!r}")
    if proj_type not in _PROJ_TYPES:
        raise ValueError(f"proj_type must be one of {_PROJ_TYPES}, got {proj_type!r}")
    if svd not in ("full", "randomized"):
        raise ValueError(f"svd must be 'full' or 'randomized', got {svd!r}")


class GaLoreAdamW(PerParameterOptimizer):
    """AdamW with GaLore gradient projection on 2-D parameters.

    Args:
        lr, betas, eps, weight_decay: AdamW's (weight decay decoupled, after the step).
        rank: projection rank r (default 128, clipped to the matrix's smaller side).
        rank_cap: True leaves a matrix unprojected (plain AdamW, with one warning) where
            moments and projector would hold no less than Adam's moments; None (default)
            does so only when no rank was given (neither ``rank=`` nor a group's
            ``"rank"``), so an explicit rank is used as galore-torch uses it.
        update_proj_gap: steps between projector updates.
        scale: alpha, the factor on the projected-back update.
        proj_type: "std" (project the smaller side), "reverse_std", "left", "right", "full".
        svd: "full" (the paper's) or "randomized" (faster for large matrices).
        galore: False in a param group turns the projection off for it.
    """

    def __init__(self, params, lr=1e-3, betas=(0.9, 0.999), eps=1e-6, weight_decay=0.0,
                 rank=None, update_proj_gap=200, scale=0.25, proj_type="std", svd="full",
                 galore=True, rank_cap=None):  # fmt: skip
        params, rank_cap = resolve_rank_cap(params, rank, rank_cap)
        rank = DEFAULT_RANK if rank is None else rank
        check_galore(lr, betas, eps, weight_decay, rank, update_proj_gap, scale, proj_type, svd)
        defaults = {"lr": lr, "betas": tuple(betas), "eps": eps, "weight_decay": weight_decay,
                    "rank": rank, "update_proj_gap": update_proj_gap, "scale": scale,
                    "proj_type": proj_type, "svd": svd, "galore": galore,
                    "rank_cap": rank_cap}  # fmt: skip
        super().__init__(params, defaults)
        warn_unprojected(self, "galore_adamw", "galore", galore_rank)

    def _update(self, p, grad, state, group) -> None:
        galore_adamw_update(p, grad, state, group)


def galore_rank(shape, group) -> int | None:
    """The projection rank for a matrix of ``shape`` in ``group``, or None where a capped
    rank leaves it unprojected (see :func:`~._base.capped_rank`)."""
    side = _side(shape, group["proj_type"])
    return capped_rank(shape, group["rank"], side, group.get("rank_cap", False))


def check_finite(grad) -> None:
    """Refuse a NaN or infinite gradient before an SVD (LAPACK's error names neither)."""
    if not torch.isfinite(grad).all():
        bad = int((~torch.isfinite(grad)).sum())
        raise NonFiniteGradientError(
            f"the gradient has {bad} NaN or infinite entries; the projector's SVD cannot "
            "use it (check the loss and the learning rate)"
        )


def refresh_projector(grad, state, group, step, side):
    """GaLore's schedule: a new projector every ``update_proj_gap`` steps, kept in float."""
    if step % group["update_proj_gap"] == 0 or "projector" not in state:
        check_finite(grad)
        proj = galore_projector(grad, min(group["rank"], *grad.shape), side, group["svd"])
        state["projector"] = proj[0]
        if side == "full":
            state["projector_right"] = proj[1]
    proj = (state["projector"],)
    if side == "full":
        proj += (state["projector_right"],)
    return proj


def adam_direction(state, grad, group, step):
    """Adam's direction M / (sqrt(V) + eps) (no bias correction: the step size carries it),
    with float moments kept in ``state`` and updated in place."""
    if "exp_avg" not in state:
        state["exp_avg"] = torch.zeros_like(grad)
        state["exp_avg_sq"] = torch.zeros_like(grad)
    b1, b2 = group["betas"]
    m, v = state["exp_avg"], state["exp_avg_sq"]
    m.mul_(b1).add_(grad, alpha=1 - b1)
    v.mul_(b2).addcmul_(grad, grad, value=1 - b2)
    return m / (v.sqrt() + group["eps"])


def galore_adamw_update(p: torch.Tensor, grad: torch.Tensor, state: dict, group: dict,
                        projector=refresh_projector, direction=adam_direction) -> None:  # fmt: skip
    """One GaLore-AdamW step for one parameter (the maths of :class:`GaLoreAdamW`).

    ``projector(grad, state, group, step, side)`` returns the projector tuple and
    ``direction(state, low_rank_grad, group, step)`` Adam's direction from the moments it
    keeps: Q-GaLore swaps in quantized projectors and 8-bit moments.
    """
    step = int(state.get("step", 0))
    low_rank = group["galore"] and p.ndim == 2 and galore_rank(p.shape, group) is not None
    if low_rank:
        side = _side(p.shape, group["proj_type"])
        proj = projector(grad, state, group, step, side)
        grad = _project(grad, side, proj)
    b1, b2 = group["betas"]
    step += 1
    state["step"] = step
    update = direction(state, grad, group, step)
    step_size = group["lr"] * math.sqrt(1 - b2**step) / (1 - b1**step)
    decay = 1 - group["lr"] * group["weight_decay"]  # decoupled, after the step
    if low_rank and side != "full":
        # one matmul writes the projected-back step into p: p <- decay (p - c U P)
        alpha = -step_size * group["scale"] * decay
        if side == "right":
            p.addmm_(update.to(p.dtype), proj[0].to(p.dtype), beta=decay, alpha=alpha)
        else:
            p.addmm_(proj[0].to(p.dtype), update.to(p.dtype), beta=decay, alpha=alpha)
        return
    if low_rank:
        update = _project_back(update, side, proj) * group["scale"]
    p.add_(update, alpha=-step_size)
    if group["weight_decay"] > 0:
        p.mul_(decay)
