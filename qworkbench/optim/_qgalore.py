"""Q-GaLore-AdamW: GaLore with INT4 projectors and layer-adaptive subspace updates.

Zhang et al., "Q-GaLore: Quantized GaLore with INT4 Projection and Layer-Adaptive
Low-Rank Gradients" (arXiv:2407.08296, 2024). On top of GaLore (:mod:`._galore`, whose
step this module reuses) three things change:

* the projector is stored in ``proj_bits`` (4) bits, group-wise asymmetric, one float32
  minimum and step per ``proj_group`` (256) values (:func:`._quant.quantize_affine`), and
  dequantized when used;
* every projector refresh compares the new leading singular vector with the stored
  one; once the mean |cosine| over the last ``queue_size`` refreshes reaches
  ``cos_threshold``, that layer's gap is multiplied by ``gamma_proj``, so
  layers whose subspace has settled skip most SVDs;
* Adam's moments of the low-rank gradient are kept block-wise in 8 bits (the paper's
  8-bit Adam; ``moment_bits=32`` keeps float32) when they hold at least
  ``min_8bit_size`` values.

With ``proj_bits=None``, ``cos_threshold=None`` and ``moment_bits=32`` it is GaLore-AdamW.
The INT8 weights of the paper are :func:`qworkbench.optim.quantize_weights`.
"""

from __future__ import annotations

import math

import torch

from qworkbench.optim._adam8bit import _fusable, _fused, _load, _store
from qworkbench.optim._base import PerParameterOptimizer, resolve_rank_cap, warn_unprojected
from qworkbench.optim._galore import (
    DEFAULT_RANK,
    adam_direction,
    check_finite,
    check_galore,
    galore_adamw_update,
    galore_projector,
    galore_rank,
)
from qworkbench.optim._quant import (
    AffineQuantized,
    dequantize_affine,
    quantize_affine,
    quantize_blockwise,
)

__all__ = ["QGaLoreAdamW"]


class QGaLoreAdamW(PerParameterOptimizer):
    """GaLore-AdamW with quantized projectors, adaptive projector gaps and 8-bit moments.

    Args:
        lr, betas, eps, weight_decay, rank, update_proj_gap, scale, proj_type, svd, galore,
        rank_cap: as :class:`GaLoreAdamW` (``update_proj_gap`` is each layer's starting gap).
        proj_bits: 4 or 8 bits per projector entry, or None to keep it in float.
        proj_group: entries sharing one quantization minimum and step (256).
        cos_threshold: mean |cosine| between successive leading singular vectors above
            which a layer's gap grows (0.4); None turns the adaptive gap off.
        gamma_proj: the factor the gap grows by (2).
        queue_size: refreshes the mean is taken over (5).
        moment_bits: 8 (block-wise dynamic quantization, as 8-bit Adam) or 32.
        min_8bit_size: smaller low-rank moments stay float32 (4096, as bitsandbytes).
        block: elements per moment quantization block (256).
    """

    def __init__(self, params, lr=1e-3, betas=(0.9, 0.999), eps=1e-6, weight_decay=0.0,
                 rank=None, update_proj_gap=200, scale=0.25, proj_type="std", svd="full",
                 galore=True, proj_bits=4, proj_group=256, cos_threshold=0.4, gamma_proj=2,
                 queue_size=5, moment_bits=8, min_8bit_size=4096, block=256,
                 rank_cap=None):  # fmt: skip
        params, rank_cap = resolve_rank_cap(params, rank, rank_cap)
        rank = DEFAULT_RANK if rank is None else rank
        check_galore(lr, betas, eps, weight_decay, rank, update_proj_gap, scale, proj_type, svd)
        if proj_bits not in (None, 4, 8) or isinstance(proj_bits, bool):
            raise ValueError(f"proj_bits must be 4, 8 or None, got {proj_bits!r}")
        if not (isinstance(proj_group, int) and proj_group >= 2):
            raise ValueError(f"proj_group must be an integer >= 2, got {proj_group!r}")
        if cos_threshold is not None and not -1.0 <= cos_threshold <= 1.0:
            raise ValueError(f"cos_threshold must lie in [-1, 1] or be None, got {cos_threshold}")
        if not (math.isfinite(gamma_proj) and gamma_proj >= 1):
            raise ValueError(f"gamma_proj must be finite and >= 1, got {gamma_proj}")
        if not (isinstance(queue_size, int) and queue_size >= 1):
            raise ValueError(f"queue_size must be a positive integer, got {queue_size!r}")
        if moment_bits not in (8, 32) or isinstance(moment_bits, bool):
            raise ValueError(f"moment_bits must be 8 or 32, got {moment_bits!r}")
        if not (isinstance(min_8bit_size, int) and min_8bit_size >= 0):
            raise ValueError(f"min_8bit_size must be a non-negative integer, got {min_8bit_size!r}")
        if not (isinstance(block, int) and block >= 16):
            raise ValueError(f"block must be an integer >= 16, got {block!r}")
        defaults = {"lr": lr, "betas": tuple(betas), "eps": eps, "weight_decay": weight_decay,
                    "rank": rank, "update_proj_gap": update_proj_gap, "scale": scale,
                    "proj_type": proj_type, "svd": svd, "galore": galore, "proj_bits": proj_bits,
                    "proj_group": proj_group, "cos_threshold": cos_threshold,
                    "gamma_proj": gamma_proj, "queue_size": queue_size,
                    "moment_bits": moment_bits, "min_8bit_size": min_8bit_size,
                    "block": block, "rank_cap": rank_cap}  # fmt: skip
        super().__init__(params, defaults)
        warn_unprojected(self, "q_galore_adamw", "galore", galore_rank)

    def _update(self, p, grad, state, group) -> None:
        q_galore_adamw_update(p, grad, state, group)


def q_galore_adamw_update(p, grad, state, group) -> None:
    """One Q-GaLore-AdamW step for one parameter: GaLore's step with the quantized,
    adaptively refreshed projector and the (8-bit) moments below swapped in."""
    galore_adamw_update(p, grad, state, group, projector=_adaptive_projector, direction=_direction)


_NAMES = ("projector", "projector_right")


def _shapes(grad_shape, rank: int, side: str) -> tuple[tuple[int, int], ...]:
    m, n = grad_shape
    return {"right": ((rank, n),), "left": ((m, rank),), "full": ((m, rank), (rank, n))}[side]


def _leading(proj: tuple[torch.Tensor, ...], side: str) -> torch.Tensor:
    """The leading singular vector a projector holds (its first row when it is the right
    factor r x n, its first column when it is the left factor m x r)."""
    return proj[0][0] if side == "right" else proj[0][:, 0]


def _adaptive_projector(grad, state, group, step, side):
    """Refresh on the layer's own gap; grow the gap once the subspace has settled."""
    rank = min(group["rank"], *grad.shape)
    gap = state.setdefault("proj_gap", group["update_proj_gap"])
    stored = _NAMES[0] in state or f"{_NAMES[0]}_codes" in state
    if stored and step % gap != 0:
        return _load_projector(state, group, grad.shape, rank, side)
    check_finite(grad)
    new = galore_projector(grad, rank, side, group["svd"])
    if stored and group["cos_threshold"] is not None:
        old = _load_projector(state, group, grad.shape, rank, side)
        # singular vectors are defined up to sign, so the cosine's size is what counts
        cos = torch.nn.functional.cosine_similarity(
            _leading(old, side).float(), _leading(new, side).float(), dim=0
        )
        queue = state.setdefault("cos_queue", [])
        queue.append(abs(float(cos)))
        del queue[: -group["queue_size"]]
        if len(queue) == group["queue_size"] and sum(queue) / len(queue) >= group["cos_threshold"]:
            state["proj_gap"] = int(gap * group["gamma_proj"])
    _store_projector(state, group, new)
    # the step uses what a checkpoint holds: the quantized projector, dequantized
    return _load_projector(state, group, grad.shape, rank, side)


def _store_projector(state, group, proj) -> None:
    for name, factor in zip(_NAMES, proj, strict=False):
        if group["proj_bits"] is None:
            state[name] = factor
            continue
        q = quantize_affine(factor, group["proj_bits"], group["proj_group"])
        state[f"{name}_codes"], state[f"{name}_low"], state[f"{name}_step"] = q.codes, q.low, q.step


def _load_projector(state, group, grad_shape, rank, side) -> tuple[torch.Tensor, ...]:
    shapes = _shapes(grad_shape, rank, side)
    if group["proj_bits"] is None:
        return tuple(state[name] for name in _NAMES[: len(shapes)])
    out = []
    for name, shape in zip(_NAMES, shapes, strict=False):
        codes = state[f"{name}_codes"].to(torch.uint8)  # load_state_dict may cast it
        low, step = state[f"{name}_low"], state[f"{name}_step"]
        group_size = min(group["proj_group"], shape[0] * shape[1])
        q = AffineQuantized(codes, low, step, torch.Size(shape), group["proj_bits"], group_size)
        out.append(dequantize_affine(q))
    return tuple(out)


def _direction(state, grad, group, step):
    """Adam's direction with 8-bit block-wise moments (8-bit Adam's code: the fused CPU
    pass, or dequantize-update-requantize elsewhere), or float ones below the size."""
    if group["moment_bits"] == 32 or grad.numel() < group["min_8bit_size"]:
        return adam_direction(state, grad, group, step)
    b1, b2 = group["betas"]
    bc2 = 1 - b2**step
    if _fusable(grad, grad):
        # the fused step on a zero "parameter" with lr 1 leaves -(sqrt(bc2)/bc1) M/(sqrt(V)+eps)
        # when given eps/sqrt(bc2); GaLore's step size puts sqrt(bc2)/bc1 back
        out = torch.zeros_like(grad)
        unit = {"lr": 1.0, "betas": (b1, b2), "eps": group["eps"] / math.sqrt(bc2),
                "weight_decay": 0.0, "block": group["block"]}  # fmt: skip
        _fused(out, grad.contiguous(), state, unit, step)
        return out.mul_(-(1 - b1**step) / math.sqrt(bc2))
    block = group["block"]
    if "m_codes" in state:
        m = _load(state, "m", signed=True, shape=grad.shape, block=block)
        v = _load(state, "v", signed=False, shape=grad.shape, block=block)
    else:
        m = torch.zeros_like(grad, dtype=torch.float32)
        v = torch.zeros_like(grad, dtype=torch.float32)
    update = adam_direction({"exp_avg": m, "exp_avg_sq": v}, grad.float(), group, step)
    _store(state, "m", quantize_blockwise(m, signed=True, block=block))
    _store(state, "v", quantize_blockwise(v, signed=False, block=block))
    return update
