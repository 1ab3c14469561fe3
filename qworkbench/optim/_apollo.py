"""APOLLO and APOLLO-Mini (Zhu et al., "APOLLO: SGD-like Memory, AdamW-level
Performance", MLSys 2025).

Adam's moments are kept for a random projection R of each weight's gradient G
(rank r; a Gaussian matrix with variance 1/r, regenerated from a stored seed every
``update_proj_gap`` steps), and only used to estimate how Adam would rescale G:
per channel (``scale_type="channel"``) s_j = ||R~_j|| / ||R_j|| with R~ = M/(sqrt(V)+eps),
or per tensor (APOLLO-Mini, rank 1). The step is sqrt(scale) * G * s, with a
norm-growth limiter (the update norm may grow by at most gamma = 1.01 per step).
Parameters that are not 2-D get plain AdamW.
"""

from __future__ import annotations

import math

import torch

from qworkbench.optim._base import (
    PerParameterOptimizer,
    capped_rank,
    check_common,
    resolve_rank_cap,
    warn_unprojected,
)

__all__ = ["Apollo", "ApolloMini"]

_GAMMA = 1.01
_DEFAULT_RANK = 256


def _projection(seed: int, shape: tuple[int, int], rank: int, dtype) -> torch.Tensor:
    generator = torch.Generator().manual_seed(int(seed))
    return torch.randn(shape, generator=generator, dtype=torch.float32).to(dtype) / math.sqrt(rank)


def _next_seed(seed: int, advance: int = 15) -> int:
    """The next projection seed: the ``advance``-th draw of a generator seeded with the
    current one (the schedule apollo-torch uses, so runs can be compared draw for draw)."""
    generator = torch.Generator().manual_seed(int(seed))
    draws = torch.randint(0, torch.iinfo(torch.int64).max, (advance,), generator=generator)
    return int(draws[-1])


class Apollo(PerParameterOptimizer):
    """APOLLO (channel-wise scaling, rank ``rank``) with AdamW for non-matrix parameters.

    Args:
        lr, betas, eps, weight_decay: AdamW's (weight decay decoupled, after the step).
        rank: rank of the random projection (default 256, clipped to each matrix's
            smaller side).
        rank_cap: True leaves a matrix unprojected (plain AdamW, with one warning) where
            the projection's moments would be no smaller than Adam's; None (default) does
            so only when no rank was given (neither ``rank=`` nor a group's ``"rank"``).
        update_proj_gap: steps between new projections (a new seed from the stored one).
        scale: the update is multiplied by sqrt(scale).
        scale_type: "channel" or "tensor".
        scale_front: apply sqrt(scale) before the norm-growth limiter instead of after
            (apollo-torch's option of that name; the same steps up to rounding).
        seed: base seed; parameter k's first projection uses seed + k.
        apollo: False in a param group gives it plain AdamW.
    """

    def __init__(self, params, lr=1e-3, betas=(0.9, 0.999), eps=1e-6, weight_decay=0.0,
                 rank=None, update_proj_gap=200, scale=1.0, scale_type="channel", seed=0,
                 apollo=True, scale_front=False, rank_cap=None):  # fmt: skip
        check_common(lr=lr, betas=betas, weight_decay=weight_decay)
        params, rank_cap = resolve_rank_cap(params, rank, rank_cap)
        rank = _DEFAULT_RANK if rank is None else rank
        if isinstance(rank, bool) or not (isinstance(rank, int) and rank >= 1):
            raise ValueError(f"rank must be a positive integer, got {rank!r}")
        if not (isinstance(update_proj_gap, int) and update_proj_gap >= 1):
            raise ValueError(f"update_proj_gap must be a positive integer, got {update_proj_gap!r}")
        if scale_type not in ("channel", "tensor"):
            raise ValueError(f"scale_type must be 'channel' or 'tensor', got {scale_type!r}")
        if not scale > 0:
            raise ValueError(f"scale must be positive, got {scale}")
        defaults = {"lr": lr, "betas": tuple(betas), "eps": eps, "weight_decay": weight_decay,
                    "rank": rank, "update_proj_gap": update_proj_gap, "scale": scale,
                    "scale_type": scale_type, "seed": seed, "apollo": apollo,
                    "scale_front": bool(scale_front), "rank_cap": rank_cap}  # fmt: skip
        super().__init__(params, defaults)
        index = 0
        for group in self.param_groups:  # parameter k's first projection: seed + k
            for p in group["params"]:
                index += 1
                if group["apollo"] and p.ndim == 2:
                    self.state[p]["proj_seed"] = group["seed"] + index
        warn_unprojected(self, "apollo", "apollo", rank_of=_apollo_rank)

    def _update(self, p, grad, state, group) -> None:
        if group["apollo"] and p.ndim == 2 and _apollo_rank(p.shape, group) is not None:
            apollo_update(p, grad, state, group)
        else:
            _adam_update(p, grad, state, group, lambda u: u)


def _apollo_rank(shape, group) -> int | None:
    """The projection's rank for a matrix of ``shape``, or None where projecting would
    keep as much state as Adam (see :func:`~._base.capped_rank`)."""
    side = "right_seeded" if shape[0] >= shape[1] else "left_seeded"
    return capped_rank(shape, group["rank"], side, group.get("rank_cap", False))


def apollo_update(p, grad, state, group) -> None:
    """One APOLLO step for a matrix: the projection is regenerated from its seed (never
    stored), Adam's moments live in the r-dimensional projection, and the step is one
    fused pass over the parameter, p <- p - c * G * s, with the update's norm for the
    limiter computed from the channels' gradient norms instead of a pass over G * s."""
    step = int(state.get("step", 0))
    tall = p.shape[0] >= p.shape[1]
    rank = _apollo_rank(p.shape, group)
    if step > 0 and step % group["update_proj_gap"] == 0:
        state["proj_seed"] = _next_seed(state["proj_seed"])
    shape = (rank, p.shape[1]) if tall else (p.shape[0], rank)
    proj = _projection(state["proj_seed"], shape, rank, grad.dtype)
    low = grad @ proj.T if tall else proj.T @ grad
    b1, b2 = group["betas"]
    step += 1
    state["step"] = step
    m = state.setdefault("exp_avg", torch.zeros_like(low))
    v = state.setdefault("exp_avg_sq", torch.zeros_like(low))
    m.mul_(b1).add_(low, alpha=1 - b1)
    v.mul_(b2).addcmul_(low, low, value=1 - b2)
    direction = m / (v.sqrt() + group["eps"])
    # Adam's rescaling of the projected gradient, applied to the full gradient
    dim = 1 if tall else 0
    if group["scale_type"] == "channel":
        factor = direction.norm(dim=dim) / (low.norm(dim=dim) + 1e-8)
        norm = (factor * torch.linalg.vector_norm(grad, dim=dim)).norm()
    else:
        factor = direction.norm() / (low.norm() + 1e-8)
        norm = factor * grad.norm()
    root = math.sqrt(group["scale"])
    if group["scale_front"]:
        factor, norm = factor * root, norm * root
    previous = state.get("update_norm")
    if previous is not None:  # norm-growth limiter (Fira): at most x1.01 per step
        limiter = max(float(norm / (previous + 1e-8)), _GAMMA) / _GAMMA
        factor, norm = factor / limiter, norm / limiter
    state["update_norm"] = norm
    if not group["scale_front"]:
        factor = factor * root
    step_size = group["lr"] * math.sqrt(1 - b2**step) / (1 - b1**step)
    if group["scale_type"] == "channel":
        p.addcmul_(grad, factor[:, None] if tall else factor[None, :], value=-step_size)
    else:
        p.add_(grad, alpha=-step_size * float(factor))
    if group["weight_decay"] > 0:
        p.mul_(1 - group["lr"] * group["weight_decay"])


def _adam_update(p, grad, state, group, finish) -> None:
    """Adam's moments on ``grad``; ``finish`` turns M/(sqrt(V)+eps) into the step."""
    b1, b2 = group["betas"]
    step = int(state.get("step", 0)) + 1
    state["step"] = step
    m = state.setdefault("exp_avg", torch.zeros_like(grad))
    v = state.setdefault("exp_avg_sq", torch.zeros_like(grad))
    m.mul_(b1).add_(grad, alpha=1 - b1)
    v.mul_(b2).addcmul_(grad, grad, value=1 - b2)
    step_size = group["lr"] * math.sqrt(1 - b2**step) / (1 - b1**step)
    p.add_(finish(m / (v.sqrt() + group["eps"])), alpha=-step_size)
    if group["weight_decay"] > 0:
        p.add_(p, alpha=-group["lr"] * group["weight_decay"])


class ApolloMini(Apollo):
    """APOLLO-Mini: rank 1, one tensor-wise scaling factor, scale 128 (sqrt: 11.3)."""

    def __init__(self, params, lr=1e-3, rank=1, scale=128.0, scale_type="tensor", **hyper):
        super().__init__(params, lr=lr, rank=rank, scale=scale, scale_type=scale_type, **hyper)
