"""Bookkeeping shared by the optimizers of this package."""

from __future__ import annotations

import math

import torch

__all__ = [
    "PerParameterOptimizer",
    "NonFiniteGradientError",
    "check_common",
    "adamw_step",
    "capped_rank",
    "resolve_rank_cap",
    "warn_unprojected",
]


class NonFiniteGradientError(ValueError):
    """A gradient with NaN or infinite entries reached a step that cannot use it (an SVD);
    :meth:`PerParameterOptimizer.step` adds which parameter and which step."""


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
                    try:
                        self._update(p, p.grad, self.state[p], group)
                    except NonFiniteGradientError as exc:
                        raise NonFiniteGradientError(
                            f"{type(self).__name__}: {self._label(p)} at step "
                            f"{int(self.state[p].get('step', 0)) + 1}: {exc}"
                        ) from None
        return loss

    def _label(self, p) -> str:
        """'parameter 3 (shape 64x32)', with its name when the group has ``param_names``."""
        index = 0
        for group in self.param_groups:
            names = group.get("param_names")
            for k, q in enumerate(group["params"]):
                if q is p:
                    shape = "x".join(map(str, p.shape))
                    name = f" {names[k]!r}" if names and k < len(names) else ""
                    return f"parameter {index}{name} (shape {shape})"
                index += 1
        return "a parameter"


def capped_rank(shape, rank: int, side: str, cap: bool = True) -> int | None:
    """The rank a low-rank method uses for a matrix of ``shape``: ``rank`` clipped to the
    smaller side, or None when ``cap`` is on and the projection would keep at least
    Adam's 2 m n numbers. ``side`` is where the projection acts: "right" (moments
    m x r, a stored r x n projector), "left" (r x n, m x r), "full" (r x r, both), or
    "right_seeded"/"left_seeded" (no stored projector: APOLLO regenerates it)."""
    m, n = shape
    r = min(rank, m, n)
    if not cap:
        return r
    state = {
        "right": 2 * m * r + r * n,
        "left": 2 * r * n + m * r,
        "full": 2 * r * r + m * r + r * n,
        "right_seeded": 2 * m * r,
        "left_seeded": 2 * r * n,
    }[side]
    return r if state < 2 * m * n else None


def resolve_rank_cap(params, rank, rank_cap):
    """``params`` as a list, and the groups' ``rank_cap`` resolved: ``rank_cap=None`` caps
    the rank where the user gave none (neither ``rank=`` nor a group's ``"rank"``), so
    an explicit rank is kept as the reference packages keep it."""
    params = list(params)
    if rank_cap is not None and not isinstance(rank_cap, bool):
        raise TypeError(f"rank_cap must be True, False or None, got {rank_cap!r}")
    if params and isinstance(params[0], dict):
        params = [dict(g) for g in params]
        for g in params:
            cap = g.get("rank_cap", rank_cap)
            g["rank_cap"] = (rank is None and "rank" not in g) if cap is None else bool(cap)
        return params, bool(rank_cap) if rank_cap is not None else rank is None
    return params, (rank is None) if rank_cap is None else rank_cap


def warn_unprojected(optimizer, name: str, flag: str, rank_of) -> None:
    """Warn once which matrices a capped rank leaves unprojected (plain Adam for them)."""
    import warnings

    skipped = []
    for group in optimizer.param_groups:
        if not (group[flag] and group.get("rank_cap")):
            continue
        skipped += [tuple(p.shape) for p in group["params"]
                    if p.ndim == 2 and rank_of(p.shape, group) is None]  # fmt: skip
    if skipped:
        shapes = ", ".join("x".join(map(str, s)) for s in skipped[:6])
        more = f" and {len(skipped) - 6} more" if len(skipped) > 6 else ""
        warnings.warn(
            f"{name}: {len(skipped)} matrices ({shapes}{more}) are not projected: at this "
            "rank the projection would keep as much state as AdamW, so they get plain "
            "AdamW. optim.param_groups(model, rank=...) selects the blocks' linear layers "
            "as the GaLore/APOLLO recipes do; rank_cap=False projects them anyway",
            stacklevel=3,
        )


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
