"""Block-wise dynamic quantization of optimizer states (Dettmers et al., "8-bit
Optimizers via Block-wise Quantization", ICLR 2022).

A tensor is cut into blocks of ``block`` elements; each block is divided by its
absolute maximum and every value is stored as the index of the nearest entry of a
256-value *dynamic* map (Dettmers 2016, dynamic tree quantization): an exponent
10^-e (a run of leading zero bits) times a linear fraction in [0.1, 1] whose
precision shrinks as the exponent grows, so small and large magnitudes both keep
a few significant digits. The signed map (first moment) spends one bit on the sign;
the unsigned map (second moment) uses all eight for magnitude.
"""

from __future__ import annotations

import functools
from dataclasses import dataclass

import torch

__all__ = ["dynamic_map", "QuantizedTensor", "quantize_blockwise", "dequantize_blockwise"]


@functools.lru_cache(maxsize=2)
def dynamic_map(signed: bool) -> torch.Tensor:
    """The 256 sorted code values in [-1, 1] (signed) or [0, 1] (unsigned)."""
    bits = 7 if signed else 8
    values = [0.0]
    for e in range(bits):
        fraction_bits = bits - 1 - e
        count = 1 << fraction_bits
        for k in range(count):
            magnitude = (0.1 + 0.9 * (k + 0.5) / count) * 10.0**-e
            values.append(magnitude)
            if signed:
                values.append(-magnitude)
    values = sorted(set(values))
    # exact extremes: the block maximum must round-trip exactly
    values[-1] = 1.0
    if signed:
        values[0] = -1.0
    table = torch.tensor(values, dtype=torch.float32)
    if len(table) < 256:  # pad with the top value so codes stay within 256 entries
        table = torch.cat([table, table[-1:].expand(256 - len(table))])
    return table[:256]


@dataclass
class QuantizedTensor:
    """uint8 codes, one float32 absmax per block, the original shape and the map used."""

    codes: torch.Tensor
    absmax: torch.Tensor
    shape: torch.Size
    signed: bool
    block: int


def quantize_blockwise(x: torch.Tensor, signed: bool, block: int = 256) -> QuantizedTensor:
    flat = x.detach().float().reshape(-1)
    pad = (-len(flat)) % block
    blocks = torch.nn.functional.pad(flat, (0, pad)).reshape(-1, block)
    absmax = blocks.abs().amax(dim=1).clamp_min(1e-30)
    normalized = (blocks / absmax[:, None]).reshape(-1)
    table = dynamic_map(signed)
    upper = torch.searchsorted(table, normalized).clamp(1, len(table) - 1)
    lower = upper - 1
    nearer_lower = (normalized - table[lower]).abs() <= (table[upper] - normalized).abs()
    codes = torch.where(nearer_lower, lower, upper).to(torch.uint8)
    return QuantizedTensor(codes[: len(flat)], absmax, x.shape, signed, block)


def dequantize_blockwise(q: QuantizedTensor) -> torch.Tensor:
    values = dynamic_map(q.signed)[q.codes.long()]
    scale = q.absmax.repeat_interleave(q.block)[: len(values)]
    return (values * scale).reshape(q.shape)
