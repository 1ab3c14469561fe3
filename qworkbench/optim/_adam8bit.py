"""Adam with both moments stored in 8 bits, block-wise (Dettmers et al. 2022).

Each step dequantizes the moments of a parameter, applies Adam's update in float32
and quantizes them again: the first moment with the signed dynamic map, the second
with the unsigned one, one absmax per 256-element block. Tensors with fewer than
``min_8bit_size`` elements keep float32 moments (as the paper does for small ones).
"""

from __future__ import annotations

import math

import torch

from qworkbench.optim._quant import dequantize_blockwise, quantize_blockwise

__all__ = ["Adam8bit"]


class Adam8bit(torch.optim.Optimizer):
    """Adam(W) with 8-bit block-wise quantized moments.

    Args:
        lr, betas, eps, weight_decay: AdamW's (decoupled weight decay).
        block: elements per quantization block (256).
        min_8bit_size: smaller tensors keep float32 state (4096).
    """

    def __init__(self, params, lr=1e-3, betas=(0.9, 0.999), eps=1e-8, weight_decay=0.0,
                 block=256, min_8bit_size=4096):  # fmt: skip
        if not (math.isfinite(lr) and lr > 0):
            raise ValueError(f"lr must be positive and finite, got {lr}")
        if not all(0.0 <= b < 1.0 for b in betas):
            raise ValueError(f"betas must lie in [0, 1), got {betas}")
        if not (isinstance(block, int) and block >= 16):
            raise ValueError(f"block must be an integer >= 16, got {block!r}")
        defaults = {"lr": lr, "betas": tuple(betas), "eps": eps, "weight_decay": weight_decay,
                    "block": block, "min_8bit_size": min_8bit_size}  # fmt: skip
        super().__init__(params, defaults)

    @torch.no_grad()
    def step(self, closure=None):
        loss = None
        if closure is not None:
            with torch.enable_grad():
                loss = closure()
        for group in self.param_groups:
            for p in group["params"]:
                if p.grad is not None:
                    adam8bit_update(p, p.grad, self.state[p], group)
        return loss


def adam8bit_update(p, grad, state, group) -> None:
    """One step for one parameter; state holds codes/absmax (8-bit) or float moments."""
    b1, b2 = group["betas"]
    step = int(state.get("step", 0)) + 1
    state["step"] = step
    quantized = p.numel() >= group["min_8bit_size"]
    if quantized and "m_codes" in state:
        m = _load(state, "m", signed=True, shape=p.shape, block=group["block"])
        v = _load(state, "v", signed=False, shape=p.shape, block=group["block"])
    elif quantized:
        m, v = torch.zeros_like(p, dtype=torch.float32), torch.zeros_like(p, dtype=torch.float32)
    else:
        m = state.setdefault("exp_avg", torch.zeros_like(p, dtype=torch.float32))
        v = state.setdefault("exp_avg_sq", torch.zeros_like(p, dtype=torch.float32))
    g = grad.float()
    m.mul_(b1).add_(g, alpha=1 - b1)
    v.mul_(b2).addcmul_(g, g, value=1 - b2)
    denom = (v / (1 - b2**step)).sqrt_().add_(group["eps"])
    p.mul_(1 - group["lr"] * group["weight_decay"])
    p.addcdiv_(m.to(p.dtype), denom.to(p.dtype), value=-group["lr"] / (1 - b1**step))
    if quantized:
        _store(state, "m", quantize_blockwise(m, signed=True, block=group["block"]))
        _store(state, "v", quantize_blockwise(v, signed=False, block=group["block"]))


def _store(state, name, q) -> None:
    state[f"{name}_codes"] = q.codes
    state[f"{name}_absmax"] = q.absmax


def _load(state, name, signed, shape, block):
    from qworkbench.optim._quant import QuantizedTensor

    codes = state[f"{name}_codes"].to(torch.uint8)  # load_state_dict may cast it
    q = QuantizedTensor(codes, state[f"{name}_absmax"].float(), shape, signed, block)
    return dequantize_blockwise(q)
