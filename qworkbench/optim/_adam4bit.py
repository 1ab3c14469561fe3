"""Adam with 4-bit moments (Li, Chen & Zhu, "Memory Efficient Optimizers with 4-bit
States", NeurIPS 2023).

First moment: blocks of 128 values scaled by their absmax and rounded to a 16-value
signed dynamic map. Second moment: rank-1 normalization, each value divided by
min(its row's max, its column's max) (a vector per dimension instead of a scale per
block), then a zero-point-free linear quantizer with codes q -> (q + 1) / 16, so no
positive second moment is ever rounded to 0 (which would make the step explode).
Codes are packed two per byte. Tensors under ``min_4bit_size`` keep float32 moments.
"""

from __future__ import annotations

import torch

from qworkbench.optim._apollo import _adam_update
from qworkbench.optim._base import PerParameterOptimizer, adamw_step, check_common
from qworkbench.optim._quant import dynamic_map, nearest_code, pack4, unpack4

__all__ = ["Adam4bit", "rank1_scales"]

_LINEAR = (torch.arange(16, dtype=torch.float32) + 1) / 16


def rank1_scales(v: torch.Tensor) -> torch.Tensor:
    """min(row max, column max) for every entry of a non-negative matrix (1-D: its max)."""
    if v.ndim < 2:
        return v.amax().clamp_min(1e-30).expand_as(v)
    matrix = v.reshape(v.shape[0], -1)
    rows = matrix.amax(dim=1, keepdim=True)
    cols = matrix.amax(dim=0, keepdim=True)
    return torch.minimum(rows, cols).clamp_min(1e-30).reshape(v.shape)


class Adam4bit(PerParameterOptimizer):
    """AdamW with 4-bit first (block-wise, dynamic map) and second (rank-1, linear)
    moments.

    Args:
        lr, betas, eps, weight_decay: AdamW's (decoupled weight decay).
        block: first-moment block size (128).
        min_4bit_size: smaller tensors keep float32 moments (4096).
    """

    def __init__(self, params, lr=1e-3, betas=(0.9, 0.999), eps=1e-8, weight_decay=0.0,
                 block=128, min_4bit_size=4096):  # fmt: skip
        check_common(lr=lr, betas=betas, weight_decay=weight_decay)
        if not (isinstance(block, int) and block >= 16 and block % 2 == 0):
            raise ValueError(f"block must be an even integer >= 16, got {block!r}")
        defaults = {"lr": lr, "betas": tuple(betas), "eps": eps, "weight_decay": weight_decay,
                    "block": block, "min_4bit_size": min_4bit_size}  # fmt: skip
        super().__init__(params, defaults)

    def _update(self, p, grad, state, group) -> None:
        if p.numel() < group["min_4bit_size"]:
            _adam_update(p, grad, state, group, lambda u: u)
        else:
            adam4bit_update(p, grad, state, group)


def adam4bit_update(p, grad, state, group) -> None:
    step = int(state.get("step", 0)) + 1
    state["step"] = step
    n, block = p.numel(), group["block"]
    if "m_codes" in state:
        m, v = _load(state, p.shape, n, block)
    else:
        m = torch.zeros(p.shape, dtype=torch.float32)
        v = torch.zeros(p.shape, dtype=torch.float32)
    adamw_step(p, grad, m, v, group, step)
    _save(state, m, v, block)


def _save(state, m, v, block) -> None:
    flat = m.reshape(-1)
    blocks = torch.nn.functional.pad(flat, (0, (-len(flat)) % block)).reshape(-1, block)
    absmax = blocks.abs().amax(dim=1).clamp_min(1e-30)
    m_codes = nearest_code((blocks / absmax[:, None]).reshape(-1)[: len(flat)],
                           dynamic_map(True, 4))  # fmt: skip
    if v.ndim >= 2:
        matrix = v.reshape(v.shape[0], -1)
        state["v_rows"] = matrix.amax(dim=1)
        state["v_cols"] = matrix.amax(dim=0)
    else:
        state["v_rows"] = v.amax().reshape(1)
        state["v_cols"] = v.amax().reshape(1)
    v_codes = nearest_code((v / rank1_scales(v)).reshape(-1), _LINEAR)
    state["m_codes"], state["m_absmax"] = pack4(m_codes), absmax
    state["v_codes"] = pack4(v_codes)


def _load(state, shape, n, block):
    m_codes = unpack4(state["m_codes"].to(torch.uint8), n).long()
    absmax = state["m_absmax"].float().repeat_interleave(block)[:n]
    m = (dynamic_map(True, 4)[m_codes] * absmax).reshape(shape)
    v_codes = unpack4(state["v_codes"].to(torch.uint8), n).long()
    rows, cols = state["v_rows"].float(), state["v_cols"].float()
    if len(shape) >= 2:
        scales = torch.minimum(rows[:, None], cols[None, :]).clamp_min(1e-30).reshape(shape)
    else:
        scales = rows.clamp_min(1e-30).expand(shape)
    v = (_LINEAR[v_codes].reshape(shape) * scales).clamp_min(0)
    return m, v
