"""Muon: momentum orthogonalized by a Newton-Schulz iteration (Jordan et al. 2024,
"Muon: An optimizer for hidden layers in neural networks"; Liu et al. 2025,
"Muon is Scalable for LLM Training" for the RMS-matching scale).

For a 2-D hidden weight: B <- mu B + G, D = G + mu B (Nesterov) or B, then
O = NS5(D) ~ U V^T of D's SVD via the quintic iteration X <- a X + (b A + c A^2) X,
A = X X^T with (a, b, c) = (3.4445, -4.7750, 2.0315), five steps, X0 = D / ||D||_F;
W <- W - lr (0.2 sqrt(max(m, n)) O + wd W). Parameters in groups with ``muon=False``
(embeddings, the output head, vectors: see :func:`muon_param_groups`) and every
non-2-D parameter get AdamW.
"""

from __future__ import annotations

import math

import torch

from qworkbench.optim._base import PerParameterOptimizer, check_common

__all__ = ["Muon", "newton_schulz", "muon_param_groups"]

_NS = (3.4445, -4.7750, 2.0315)
_NS_DTYPES = {"bfloat16": torch.bfloat16, "float32": torch.float32}
#: the Muon step's scale by weight shape (rows, columns), under torch.optim.Muon's names
_ADJUST_LR = {
    "match_rms_adamw": lambda rows, cols: 0.2 * math.sqrt(max(rows, cols)),
    "original": lambda rows, cols: math.sqrt(max(1.0, rows / cols)),
}


def newton_schulz(
    d: torch.Tensor, steps: int = 5, eps: float = 1e-7, dtype: torch.dtype | None = None
) -> torch.Tensor:
    """Approximate orthogonal polar factor U V^T of a 2-D ``d`` (singular values are
    pushed into roughly [0.7, 1.2], enough for the update direction).

    For an r x c matrix with r < c the iteration runs on r x r matrices: every iterate
    is X_k = Q_k X_0 with Q_k a polynomial in G = X_0 X_0^T, and with S_k = X_k X_k^T,
    H = aI + bS + cS^2 the step X <- H X becomes Q <- Q H, S <- S H^2. That is four
    r x r products per step and two r x r x c ones in all, instead of two r x r x c
    products and one r x r x r per step: the same polynomial in exact arithmetic, about
    a third fewer flops for the blocks' 256 x 682 and 256 x 768 matrices.

    ``dtype``: the iteration's precision (None: ``d``'s, at least float32); Muon passes
    bfloat16, as ``torch.optim.Muon`` and Keller Jordan's reference do (half the matmul
    time on CPUs with AVX512-BF16 or AMX). In bfloat16 the iteration is always the
    direct one, as theirs: the Gram-side form loses too much there."""
    a, b, c = _NS
    x = d.to(torch.promote_types(d.dtype, torch.float32) if dtype is None else dtype)
    x = x / (x.norm() + eps)
    transposed = x.shape[0] > x.shape[1]
    if transposed:
        x = x.T
    # the Gram-side form only in float32/64: in bfloat16 its products of H drift (the
    # singular values of a 256 x 682 matrix with a decaying spectrum reach 3.9)
    gram_side = x.dtype in (torch.float32, torch.float64) and 3 * x.shape[0] < 2 * x.shape[1]
    if not gram_side:  # near square (c <= 1.5 r) the direct form is cheaper anyway
        for _ in range(steps):
            gram = x @ x.T
            x = torch.addmm(x, torch.addmm(gram, gram, gram, beta=b, alpha=c), x, beta=a)
    else:
        s = x @ x.T
        q = None
        for k in range(steps):
            h = torch.addmm(s, s, s, beta=b, alpha=c)
            h.diagonal().add_(a)
            q = h if q is None else q @ h
            if k < steps - 1:
                s = s @ (h @ h)
        x = q @ x
    return (x.T if transposed else x).to(d.dtype)


def muon_param_groups(model: torch.nn.Module, **hyper) -> list[dict]:
    """Muon for the 2-D weights of hidden layers; AdamW (``muon=False``) for embeddings,
    the last Linear layer (the head) and all other parameters."""
    linears = [m for m in model.modules() if isinstance(m, torch.nn.Linear)]
    head = linears[-1].weight if linears else None
    embeddings = {id(m.weight) for m in model.modules() if isinstance(m, torch.nn.Embedding)}
    hidden, other = [], []
    for p in model.parameters():
        if p.ndim == 2 and p is not head and id(p) not in embeddings:
            hidden.append(p)
        else:
            other.append(p)
    return [{"params": hidden, "muon": True, **hyper}, {"params": other, "muon": False}]


class Muon(PerParameterOptimizer):
    """Muon on 2-D parameters of ``muon=True`` groups, AdamW elsewhere.

    Args:
        lr: step size for both (the Muon update is scaled to AdamW's RMS).
        momentum, nesterov, ns_steps: Muon's.
        betas, eps: the AdamW fallback's.
        weight_decay: decoupled, for both.
        adjust_lr_fn: the Muon step's scale, as ``torch.optim.Muon`` names it:
            "match_rms_adamw" (the default here: 0.2 sqrt(max(m, n)), AdamW's RMS) or
            "original" (sqrt(max(1, m / n)), Keller Jordan's; None means it, as in torch).
        ns_dtype: Newton-Schulz's precision, "bfloat16" (the default, as in
            ``torch.optim.Muon``) or "float32".
    """

    def __init__(self, params, lr=1e-3, momentum=0.95, nesterov=True, ns_steps=5,
                 betas=(0.9, 0.95), eps=1e-8, weight_decay=0.0, muon=True,
                 adjust_lr_fn="match_rms_adamw", ns_dtype="bfloat16"):  # fmt: skip
        check_common(lr=lr, betas=betas, weight_decay=weight_decay, momentum=momentum)
        if not (isinstance(ns_steps, int) and ns_steps >= 1):
            raise ValueError(f"ns_steps must be a positive integer, got {ns_steps!r}")
        adjust_lr_fn = "original" if adjust_lr_fn is None else adjust_lr_fn
        if adjust_lr_fn not in _ADJUST_LR:
            raise ValueError(f"adjust_lr_fn must be one of {sorted(_ADJUST_LR)} or None, got "
                             f"{adjust_lr_fn!r}")  # fmt: skip
        if ns_dtype not in _NS_DTYPES:
            raise ValueError(f"ns_dtype must be one of {sorted(_NS_DTYPES)}, got {ns_dtype!r}")
        defaults = {"lr": lr, "momentum": momentum, "nesterov": nesterov, "ns_steps": ns_steps,
                    "betas": tuple(betas), "eps": eps, "weight_decay": weight_decay,
                    "muon": muon, "adjust_lr_fn": adjust_lr_fn, "ns_dtype": ns_dtype}  # fmt: skip
        super().__init__(params, defaults)

    def _update(self, p, grad, state, group) -> None:
        if group["muon"] and p.ndim == 2:
            muon_update(p, grad, state, group)
        else:
            adamw_update(p, grad, state, group)


def muon_update(p, grad, state, group) -> None:
    buf = state.setdefault("momentum_buffer", torch.zeros_like(grad))
    buf.mul_(group["momentum"]).add_(grad)
    direction = grad.add(buf, alpha=group["momentum"]) if group["nesterov"] else buf
    update = newton_schulz(
        direction, group["ns_steps"], dtype=_NS_DTYPES[group.get("ns_dtype", "bfloat16")]
    )
    scale = _ADJUST_LR[group.get("adjust_lr_fn", "match_rms_adamw")](*p.shape)
    p.mul_(1 - group["lr"] * group["weight_decay"])
    p.add_(update, alpha=-group["lr"] * scale)


def adamw_update(p, grad, state, group) -> None:
    step = int(state.get("step", 0)) + 1
    state["step"] = step
    m = state.setdefault("exp_avg", torch.zeros_like(grad))
    v = state.setdefault("exp_avg_sq", torch.zeros_like(grad))
    b1, b2 = group["betas"]
    m.mul_(b1).add_(grad, alpha=1 - b1)
    v.mul_(b2).addcmul_(grad, grad, value=1 - b2)
    denom = (v / (1 - b2**step)).sqrt_().add_(group["eps"])
    p.mul_(1 - group["lr"] * group["weight_decay"])
    p.addcdiv_(m, denom, value=-group["lr"] / (1 - b1**step))
