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

from qworkbench.optim._base import PerParameterOptimizer, check_common

__all__ = ["Apollo", "ApolloMini"]

_GAMMA = 1.01


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
        rank: rank of the random projection.
        update_proj_gap: steps between new projections (a new seed from the stored one).
        scale: the update is multiplied by sqrt(scale).
        scale_type: "channel" or "tensor".
        seed: base seed; parameter k's first projection uses seed + k.
        apollo: False in a param group gives it plain AdamW.
    """

    def __init__(self, params, lr=1e-3, betas=(0.9, 0.999), eps=1e-6, weight_decay=0.0,
                 rank=256, update_proj_gap=200, scale=1.0, scale_type="channel", seed=0,
                 apollo=True):  # fmt: skip
        check_common(lr=lr, betas=betas, weight_decay=weight_decay)
        if not (isinstance(rank, int) and rank >= 1):
            raise ValueError(f"rank must be a positive integer, got {rank!r}")
        if not (isinstance(update_proj_gap, int) and update_proj_gap >= 1):
            raise ValueError(f"update_proj_gap must be a positive integer, got {update_proj_gap!r}")
        if scale_type not in ("channel", "tensor"):
            raise ValueError(f"scale_type must be 'channel' or 'tensor', got {scale_type!r}")
        if not scale > 0:
            raise ValueError(f"scale must be positive, got {scale}")
        defaults = {"lr": lr, "betas": tuple(betas), "eps": eps, "weight_decay": weight_decay,
                    "rank": rank, "update_proj_gap": update_proj_gap, "scale": scale,
                    "scale_type": scale_type, "seed": seed, "apollo": apollo}  # fmt: skip
        super().__init__(params, defaults)
        self._projections: dict = {}  # (param id, seed) -> matrix, rebuilt from the seed
        index = 0
        for group in self.param_groups:  # parameter k's first projection: seed + k
            for p in group["params"]:
                index += 1
                if group["apollo"] and p.ndim == 2:
                    self.state[p]["proj_seed"] = group["seed"] + index

    def _update(self, p, grad, state, group) -> None:
        if group["apollo"] and p.ndim == 2:
            self._apollo_update(p, grad, state, group)
        else:
            _adam_update(p, grad, state, group, lambda u: u)

    def _apollo_update(self, p, grad, state, group) -> None:
        step = int(state.get("step", 0))
        tall = p.shape[0] >= p.shape[1]
        rank = min(group["rank"], *p.shape)
        if step > 0 and step % group["update_proj_gap"] == 0:
            state["proj_seed"] = _next_seed(state["proj_seed"])
        key = (id(p), state["proj_seed"])
        proj = self._projections.get(key)
        if proj is None:
            shape = (rank, p.shape[1]) if tall else (p.shape[0], rank)
            self._projections = {k: v for k, v in self._projections.items() if k[0] != id(p)}
            proj = self._projections[key] = _projection(state["proj_seed"], shape, rank, grad.dtype)
        low = grad @ proj.T if tall else proj.T @ grad

        def rescale(adam_direction):
            # Adam's rescaling of the projected gradient, applied to the full gradient
            dim = 1 if tall else 0
            if group["scale_type"] == "channel":
                factor = adam_direction.norm(dim=dim) / (low.norm(dim=dim) + 1e-8)
                factor = factor[:, None] if tall else factor[None, :]
            else:
                factor = adam_direction.norm() / (low.norm() + 1e-8)
            update = grad * factor
            norm = update.norm()
            previous = state.get("update_norm")
            if previous is not None:  # norm-growth limiter
                limiter = max(float(norm / (previous + 1e-8)), _GAMMA) / _GAMMA
                update = update / limiter
                norm = norm / limiter
            state["update_norm"] = norm
            return update * math.sqrt(group["scale"])

        _adam_update(p, low, state, group, rescale)


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
