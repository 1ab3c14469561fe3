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

import math

import numba
import numpy as np
import torch

from qworkbench.optim._adam8bit import _abs_max
from qworkbench.optim._apollo import _adam_update
from qworkbench.optim._base import PerParameterOptimizer, adamw_step, check_common
from qworkbench.optim._quant import dynamic_map, nearest_code, pack4, unpack4

__all__ = ["Adam4bit", "rank1_scales"]

_LINEAR = (torch.arange(16, dtype=torch.float32) + 1) / 16
# midpoints between neighbouring values of the first moment's map (float32, as a tuple)
_M_MAP = dynamic_map(True, 4)
_M_MIDS = tuple(np.float32(x) for x in ((_M_MAP[1:] + _M_MAP[:-1]) / 2).tolist())


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
        block: first-moment block size (128); ``block_size`` (torchao's name) is the same.
        min_4bit_size: smaller tensors keep float32 moments (4096).
    """

    def __init__(self, params, lr=1e-3, betas=(0.9, 0.999), eps=1e-8, weight_decay=0.0,
                 block=128, min_4bit_size=4096, *, block_size=None):  # fmt: skip
        check_common(lr=lr, betas=betas, weight_decay=weight_decay)
        if block_size is not None:
            if block != 128 and block != block_size:
                raise ValueError(f"block ({block}) and block_size ({block_size}) are the same "
                                 "setting; give one")  # fmt: skip
            block = block_size
        if isinstance(block, bool) or not (isinstance(block, int) and block >= 16
                                           and block % 2 == 0):  # fmt: skip
            raise ValueError(f"block must be an even integer >= 16, got {block!r}")
        defaults = {"lr": lr, "betas": tuple(betas), "eps": eps, "weight_decay": weight_decay,
                    "block": block, "min_4bit_size": min_4bit_size}  # fmt: skip
        super().__init__(params, defaults)

    def _update(self, p, grad, state, group) -> None:
        if p.numel() < group["min_4bit_size"]:
            _adam_update(p, grad, state, group, lambda u: u)
        elif _fusable(p, grad):
            _fused(p, grad, state, group)
        else:
            adam4bit_update(p, grad, state, group)


def adam4bit_update(p, grad, state, group) -> None:
    """The tensor-operation step (any device or dtype): dequantize, AdamW, quantize."""
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


def _matrix_shape(shape) -> tuple[int, int]:
    """The (rows, columns) the rank-1 scales run over (1-D: one row, one shared scale)."""
    return (shape[0], math.prod(shape[1:])) if len(shape) >= 2 else (1, math.prod(shape))


def _fused(p, grad, state, group) -> None:
    """The CPU fast path: one compiled pass dequantizes, steps and requantizes the first
    moment block by block, and finds the second moment's new row and column maxima; a
    second pass recomputes each second moment from its old code and quantizes it with
    the new scales (no float32 copy of either moment is ever held)."""
    step = int(state.get("step", 0)) + 1
    state["step"] = step
    n, block = p.numel(), group["block"]
    rows, cols = _matrix_shape(p.shape)
    if "m_codes" not in state:
        zero = int(torch.argmin(dynamic_map(True, 4).abs()))
        state["m_codes"] = torch.full(((n + 1) // 2,), zero | (zero << 4), dtype=torch.uint8)
        state["m_absmax"] = torch.zeros(-(-n // block), dtype=torch.float32)
        state["v_codes"] = torch.zeros((n + 1) // 2, dtype=torch.uint8)
        state["v_rows"] = torch.zeros(rows if p.ndim >= 2 else 1, dtype=torch.float32)
        state["v_cols"] = torch.zeros(cols if p.ndim >= 2 else 1, dtype=torch.float32)
    for key in ("m_codes", "v_codes"):  # load_state_dict may have cast them
        if state[key].dtype != torch.uint8:
            state[key] = state[key].to(torch.uint8)
    b1, b2 = group["betas"]
    new_rows = torch.empty_like(state["v_rows"])
    new_cols = torch.empty_like(state["v_cols"])
    _fused_step(
        p.data.view(-1).numpy(), grad.reshape(-1).numpy(),
        state["m_codes"].numpy(), state["m_absmax"].numpy(), state["v_codes"].numpy(),
        state["v_rows"].numpy(), state["v_cols"].numpy(), new_rows.numpy(), new_cols.numpy(),
        dynamic_map(True, 4).numpy(), _M_MIDS, cols, p.ndim >= 2,
        np.float32(group["lr"] / (1 - b1**step)), np.float32(b1), np.float32(b2),
        np.float32(1 - b2**step), np.float32(group["eps"]),
        np.float32(1 - group["lr"] * group["weight_decay"]), block,
    )  # fmt: skip
    state["v_rows"], state["v_cols"] = new_rows, new_cols


def _fusable(p, grad) -> bool:
    return (
        p.dtype == torch.float32 and grad.dtype == torch.float32 and p.device.type == "cpu"
        and p.is_contiguous() and grad.is_contiguous()
    )  # fmt: skip


def _nearest_count(mids, x):
    """Index of the nearest of the sorted map values whose 15 neighbour midpoints are
    ``mids``: the number of midpoints below ``x`` (compare-adds, no branch)."""
    m0, m1, m2, m3, m4, m5, m6, m7, m8, m9, m10, m11, m12, m13, m14 = mids
    return (np.int32(x > m0) + np.int32(x > m1) + np.int32(x > m2) + np.int32(x > m3)
            + np.int32(x > m4) + np.int32(x > m5) + np.int32(x > m6) + np.int32(x > m7)
            + np.int32(x > m8) + np.int32(x > m9) + np.int32(x > m10) + np.int32(x > m11)
            + np.int32(x > m12) + np.int32(x > m13) + np.int32(x > m14))  # fmt: skip


def _linear_code(x):
    """Nearest of the linear map's (q + 1) / 16 (ties to the lower), in closed form."""
    code = np.ceil(np.float32(16) * x - np.float32(1.5))
    return np.int32(min(max(code, np.float32(0)), np.float32(15)))  # float32 throughout


def _code(packed, i):
    return (packed[i >> 1] >> ((i & 1) << 2)) & 15


def _fused_step(p, g, m_codes, m_absmax, v_codes, rows, cols, new_rows, new_cols, m_map,
                m_mids, ncols, matrix, lr_m, b1, b2, bc2, eps, decay, block):  # fmt: skip
    n = p.shape[0]
    ob1, ob2 = np.float32(1) - b1, np.float32(1) - b2
    new_rows[:] = 0
    new_cols[:] = 0
    m_local = np.empty(block, dtype=np.float32)
    v_local = np.empty(block, dtype=np.float32)
    m_bits, v_bits = m_local.view(np.uint32), v_local.view(np.uint32)
    scratch = np.empty(1, dtype=np.uint32)
    out = np.empty(max(block, ncols), dtype=np.uint8)
    v_row = np.empty(max(block, ncols), dtype=np.float32)
    for k in range((n + block - 1) // block):
        start = k * block
        stop = min(start + block, n)
        for j in range(stop - start):  # decode: table lookups and nibbles, scalar
            e = start + j
            m_local[j] = m_map[_code(m_codes, e)]
            v_local[j] = np.float32(_code(v_codes, e) + 1) * np.float32(0.0625)
        m_scale = m_absmax[k]
        i = start
        while i < stop:  # the block's runs within one row: the column index is linear
            r = i // ncols if matrix else 0
            c0 = (i - r * ncols) if matrix else 0
            size = min(stop - i, ncols - c0) if matrix else stop - i
            row_scale = rows[r]
            pk = p[i : i + size]
            gk = g[i : i + size]
            mk = m_local[i - start : i - start + size]
            vk = v_local[i - start : i - start + size]
            if matrix:  # vectorised: every value float32, per-column maxima elementwise
                ck = cols[c0 : c0 + size]
                nk = new_cols[c0 : c0 + size]
                for t in range(size):
                    gi = gk[t]
                    m = b1 * mk[t] * m_scale + ob1 * gi
                    v = b2 * vk[t] * min(row_scale, ck[t]) + ob2 * gi * gi
                    pk[t] = pk[t] * decay - lr_m * m / (np.sqrt(v / bc2) + eps)
                    mk[t] = m
                    vk[t] = v
                    nk[t] = max(nk[t], v)
            else:
                scale = min(row_scale, cols[0])
                for t in range(size):
                    gi = gk[t]
                    m = b1 * mk[t] * m_scale + ob1 * gi
                    v = b2 * vk[t] * scale + ob2 * gi * gi
                    pk[t] = pk[t] * decay - lr_m * m / (np.sqrt(v / bc2) + eps)
                    mk[t] = m
                    vk[t] = v
            run_max = _abs_max(vk, v_bits[i - start : i - start + size], scratch)
            new_rows[r] = max(new_rows[r], run_max)
            if not matrix:
                new_cols[0] = new_rows[0]
            i += size
        m_max = _abs_max(m_local[: stop - start], m_bits[: stop - start], scratch)
        m_max = max(m_max, np.float32(1e-30))
        m_absmax[k] = m_max
        for j in range(stop - start):
            out[j] = _nearest_count(m_mids, m_local[j] / m_max)
        for j in range(0, stop - start - 1, 2):
            m_codes[(start + j) >> 1] = out[j] | (out[j + 1] << 4)
        if (stop - start) % 2:
            m_codes[(stop - 1) >> 1] = out[stop - start - 1]
    # second moments row by row, recomputed from their old codes and scales; a code
    # shares its byte with its neighbour, whose old code must survive until its turn
    for r in range(rows.shape[0] if matrix else 1):
        base = r * ncols if matrix else 0
        count = ncols if matrix else n
        row_scale = rows[r]
        new_row = new_rows[r]
        for c in range(count):  # decode, scalar; then the update again, vectorised
            v_row[c] = np.float32(_code(v_codes, base + c) + 1) * np.float32(0.0625)
        gk = g[base : base + count]
        if matrix:
            for c in range(count):
                gi = gk[c]
                v = b2 * v_row[c] * min(row_scale, cols[c]) + ob2 * gi * gi
                scale = max(min(new_row, new_cols[c]), np.float32(1e-30))
                out[c] = _linear_code(v / scale)
        else:
            old_scale = min(row_scale, cols[0])
            scale = max(min(new_row, new_cols[0]), np.float32(1e-30))
            for c in range(count):
                gi = gk[c]
                v = b2 * v_row[c] * old_scale + ob2 * gi * gi
                out[c] = _linear_code(v / scale)
        c = 0
        if base % 2:  # the high half of a byte whose low half is already new
            v_codes[base >> 1] = (v_codes[base >> 1] & 15) | (out[0] << 4)
            c = 1
        while c + 1 < count:
            v_codes[(base + c) >> 1] = out[c] | (out[c + 1] << 4)
            c += 2
        if c < count:  # the low half; the high half is the next row's, still old
            e = base + c
            v_codes[e >> 1] = (v_codes[e >> 1] & 240) | out[c]


_nearest_count = numba.njit(inline="always", cache=True)(_nearest_count)
_linear_code = numba.njit(inline="always", cache=True)(_linear_code)
_code = numba.njit(inline="always", cache=True)(_code)
_FAST = {"nnan", "ninf", "nsz", "contract", "reassoc"}  # exact divisions, vectorized maxima
_fused_step = numba.njit(cache=True, error_model="numpy", fastmath=_FAST)(_fused_step)


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
