"""Adam with both moments stored in 8 bits, block-wise (Dettmers et al. 2022).

Each step dequantizes the moments of a parameter, applies Adam's update in float32
and quantizes them again: the first moment with the signed dynamic map, the second
with the unsigned one, one absmax per 256-element block. Tensors with fewer than
``min_8bit_size`` elements keep float32 moments (as the paper does for small ones).
"""

from __future__ import annotations

import numba
import numpy as np
import torch

from qworkbench.optim._base import PerParameterOptimizer, adamw_step, check_common
from qworkbench.optim._quant import (
    code_lookup,
    dequantize_blockwise,
    dynamic_map,
    quantize_blockwise,
)

__all__ = ["Adam8bit"]


class Adam8bit(PerParameterOptimizer):
    """Adam(W) with 8-bit block-wise quantized moments.

    Args:
        lr, betas, eps, weight_decay: AdamW's (decoupled weight decay).
        block: elements per quantization block (256).
        min_8bit_size: smaller tensors keep float32 state (4096).
    """

    def __init__(self, params, lr=1e-3, betas=(0.9, 0.999), eps=1e-8, weight_decay=0.0,
                 block=256, min_8bit_size=4096):  # fmt: skip
        check_common(lr=lr, betas=betas, weight_decay=weight_decay)
        if not (isinstance(block, int) and block >= 16):
            raise ValueError(f"block must be an integer >= 16, got {block!r}")
        defaults = {"lr": lr, "betas": tuple(betas), "eps": eps, "weight_decay": weight_decay,
                    "block": block, "min_8bit_size": min_8bit_size}  # fmt: skip
        super().__init__(params, defaults)

    def _update(self, p, grad, state, group) -> None:
        adam8bit_update(p, grad, state, group)


def _nearest(table, x):
    """Index of the nearest entry of the sorted ``table`` (binary search; the reference
    that :func:`_nearest_lookup` equals)."""
    lo, hi = 0, table.shape[0] - 1
    while hi - lo > 1:
        mid = (lo + hi) // 2
        if table[mid] <= x:
            lo = mid
        else:
            hi = mid
    return lo if x - table[lo] <= table[hi] - x else hi


def _nearest_lookup(table, lookup, x, bits):
    """The same index in O(1): ``lookup`` (see ``_quant.code_lookup``) gives the binary
    search's lower neighbour up to one step from the float32 ``x``'s top bits ``bits``.
    Branch-free (comparisons added as integers): random codes made the branches of the
    obvious version mispredict about half the time."""
    lo = np.int64(lookup[bits >> 16])
    lo += np.int64(lo < table.shape[0] - 2) & np.int64(x >= table[lo + 1])
    return lo + np.int64(x - table[lo] > table[lo + 1] - x)


def _abs_max(values, bits, scratch):
    """max |values| as float32, found on their bit patterns (``bits`` is ``values``
    viewed as uint32; ``scratch`` a 1-element uint32 array): non-negative floats order
    like their bits, and an integer maximum vectorises where a float one (NaN-aware in
    Numba) does not."""
    top = np.uint32(0)
    for j in range(values.shape[0]):
        b = bits[j] & np.uint32(0x7FFFFFFF)
        top = b if b > top else top
    scratch[0] = top
    return scratch.view(np.float32)[0]


def _fused_step(p, g, m_codes, v_codes, m_absmax, v_absmax, m_map, v_map, m_lookup, v_lookup,
                lr_m, b1, b2, bc2, eps, decay, block, workers):  # fmt: skip
    """Dequantize, update and requantize block by block in one pass (no temporaries):
    per block a table-lookup loop, a vectorised update loop, integer maxima, a
    vectorised normalisation and the nearest-code lookups. Every constant is float32
    (a Python ``1 - b1`` would make the update float64 and scalar)."""
    n = p.shape[0]
    blocks = (n + block - 1) // block
    c1 = np.float32(1.0) - b1
    c2 = np.float32(1.0) - b2
    floor = np.float32(1e-30)
    for w in numba.prange(workers):
        m_local = np.empty(block, dtype=np.float32)
        v_local = np.empty(block, dtype=np.float32)
        scratch = np.empty(1, dtype=np.uint32)
        m_bits, v_bits = m_local.view(np.uint32), v_local.view(np.uint32)
        for k in range(w * blocks // workers, (w + 1) * blocks // workers):
            start = k * block
            size = min(block, n - start)
            m_scale, v_scale = m_absmax[k] * b1, v_absmax[k] * b2
            for j in range(size):
                m_local[j] = m_map[m_codes[start + j]]
                v_local[j] = v_map[v_codes[start + j]]
            pk = p[start : start + size]
            gk = g[start : start + size]
            mk = m_local[:size]
            vk = v_local[:size]
            for j in range(size):
                gj = gk[j]
                m = mk[j] * m_scale + c1 * gj
                v = vk[j] * v_scale + c2 * gj * gj
                pk[j] = pk[j] * decay - lr_m * m / (np.sqrt(v / bc2) + eps)
                mk[j] = m
                vk[j] = v
            m_max = max(_abs_max(mk, m_bits, scratch), floor)
            v_max = max(_abs_max(vk, v_bits, scratch), floor)
            m_absmax[k] = m_max
            v_absmax[k] = v_max
            for j in range(size):  # normalized values, read back as bits for the lookup
                mk[j] = mk[j] / m_max
                vk[j] = vk[j] / v_max
            for j in range(size):  # two loops: measured 30% faster than one with both
                m_codes[start + j] = _nearest_lookup(m_map, m_lookup, m_local[j], m_bits[j])
            for j in range(size):
                v_codes[start + j] = _nearest_lookup(v_map, v_lookup, v_local[j], v_bits[j])


_nearest = numba.njit(inline="always", cache=True)(_nearest)
_nearest_lookup = numba.njit(inline="always", cache=True)(_nearest_lookup)
_abs_max = numba.njit(inline="always", cache=True)(_abs_max)
# threads only pay off on large tensors: on small ones (GaLore's low-rank moments) the
# OpenMP pool's start and spin-wait, beside torch's own pool, cost more than the pass
# error_model="numpy": no zero-division branch in the loops (a zero block max cannot occur:
# the maxima are floored at 1e-30); the fast-math flags let the update and normalisation
# loops vectorize (no reciprocal or approximate functions: the divisions stay exact)
_FAST = {"nnan", "ninf", "nsz", "contract", "reassoc"}
_fused_step_parallel = numba.njit(parallel=True, cache=True, error_model="numpy",
                                  fastmath=_FAST)(_fused_step)  # fmt: skip
_fused_step = numba.njit(cache=True, error_model="numpy", fastmath=_FAST)(_fused_step)
_PARALLEL_MIN = 1 << 18


def adam8bit_update(p, grad, state, group) -> None:
    """One step for one parameter; state holds codes/absmax (8-bit) or float moments."""
    step = int(state.get("step", 0)) + 1
    state["step"] = step
    quantized = p.numel() >= group["min_8bit_size"]
    if quantized and _fusable(p, grad):
        _fused(p, grad, state, group, step)
        return
    if quantized and "m_codes" in state:
        m = _load(state, "m", signed=True, shape=p.shape, block=group["block"])
        v = _load(state, "v", signed=False, shape=p.shape, block=group["block"])
    elif quantized:
        m, v = torch.zeros_like(p, dtype=torch.float32), torch.zeros_like(p, dtype=torch.float32)
    else:
        m = state.setdefault("exp_avg", torch.zeros_like(p, dtype=torch.float32))
        v = state.setdefault("exp_avg_sq", torch.zeros_like(p, dtype=torch.float32))
    adamw_step(p, grad, m, v, group, step)
    if quantized:
        _store(state, "m", quantize_blockwise(m, signed=True, block=group["block"]))
        _store(state, "v", quantize_blockwise(v, signed=False, block=group["block"]))


def _fusable(p, grad) -> bool:
    return (
        p.dtype == torch.float32 and grad.dtype == torch.float32 and p.device.type == "cpu"
        and p.is_contiguous() and grad.is_contiguous()
    )  # fmt: skip


def _fused(p, grad, state, group, step) -> None:
    """The CPU fast path: the whole step in one compiled pass over the parameter."""
    n, block = p.numel(), group["block"]
    blocks = -(-n // block)
    if "m_codes" not in state:
        state["m_codes"] = torch.full((n,), _zero_code(True), dtype=torch.uint8)
        state["v_codes"] = torch.zeros(n, dtype=torch.uint8)
        state["m_absmax"] = torch.zeros(blocks, dtype=torch.float32)
        state["v_absmax"] = torch.zeros(blocks, dtype=torch.float32)
    for key in ("m_codes", "v_codes"):  # load_state_dict may have cast them
        if state[key].dtype != torch.uint8:
            state[key] = state[key].to(torch.uint8)
    b1, b2 = group["betas"]
    kernel, workers = _fused_step, 1
    if n >= _PARALLEL_MIN:
        kernel, workers = _fused_step_parallel, numba.get_num_threads()
    kernel(
        p.data.view(-1).numpy(), grad.reshape(-1).numpy(),
        state["m_codes"].numpy(), state["v_codes"].numpy(),
        state["m_absmax"].numpy(), state["v_absmax"].numpy(),
        dynamic_map(True).numpy(), dynamic_map(False).numpy(),
        code_lookup(True), code_lookup(False),
        np.float32(group["lr"] / (1 - b1**step)), np.float32(b1), np.float32(b2),
        np.float32(1 - b2**step), np.float32(group["eps"]),
        np.float32(1 - group["lr"] * group["weight_decay"]), block, workers,
    )  # fmt: skip


def _zero_code(signed: bool) -> int:
    return int(torch.argmin(dynamic_map(signed).abs()))


def _store(state, name, q) -> None:
    state[f"{name}_codes"] = q.codes
    state[f"{name}_absmax"] = q.absmax


def _load(state, name, signed, shape, block):
    from qworkbench.optim._quant import QuantizedTensor

    codes = state[f"{name}_codes"].to(torch.uint8)  # load_state_dict may cast it
    q = QuantizedTensor(codes, state[f"{name}_absmax"].float(), shape, signed, block)
    return dequantize_blockwise(q)
