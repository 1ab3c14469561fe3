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

import numpy as np
import torch

__all__ = [
    "dynamic_map",
    "code_lookup",
    "LOOKUP_SHIFT",
    "QuantizedTensor",
    "quantize_blockwise",
    "dequantize_blockwise",
    "pack4",
    "unpack4",
    "AffineQuantized",
    "quantize_affine",
    "dequantize_affine",
]


@functools.lru_cache(maxsize=8)
def dynamic_map(signed: bool, total_bits: int = 8) -> torch.Tensor:
    """The 2**total_bits sorted code values in [-1, 1] (signed) or [0, 1] (unsigned)."""
    size = 1 << total_bits
    bits = total_bits - 1 if signed else total_bits
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
    if len(table) < size:  # pad with the top value so codes stay within the code range
        table = torch.cat([table, table[-1:].expand(size - len(table))])
    return table[:size]


#: a float32's bits >> LOOKUP_SHIFT index :func:`code_lookup` (sign, exponent, 7 mantissa bits)
LOOKUP_SHIFT = 16


@functools.lru_cache(maxsize=8)
def code_lookup(signed: bool, total_bits: int = 8) -> np.ndarray:
    """O(1) nearest-code search over the dynamic map: for every pattern of a float32's top
    16 bits, ``lo`` = the index of the last table entry <= the smallest float with that
    pattern (clamped to [0, len - 2], as a binary search ends). Every such bucket holds
    at most one table entry, so for x in it the binary search's ``lo`` is ``lo`` or
    ``lo + 1`` (one comparison with ``table[lo + 1]``), and one more comparison picks the
    nearer neighbour: the same code as the binary search, bit for bit (NaN buckets get 0,
    where the search's comparisons also leave it)."""
    table = dynamic_map(signed, total_bits).numpy()
    last = len(table) - 2
    patterns = np.arange(1 << (32 - LOOKUP_SHIFT), dtype=np.uint32) << LOOKUP_SHIFT
    ends = np.stack([patterns, patterns | ((1 << LOOKUP_SHIFT) - 1)]).view(np.float32)
    with np.errstate(invalid="ignore"):
        low, high = ends.min(axis=0), ends.max(axis=0)
    lo_low = np.clip(np.searchsorted(table, low, side="right") - 1, 0, last)
    lo_high = np.clip(np.searchsorted(table, high, side="right") - 1, 0, last)
    nan = np.isnan(low)
    if np.any((lo_high - lo_low)[~nan] > 1):  # pragma: no cover - a map too fine for 16 bits
        raise ValueError("a lookup bucket holds two code values; lower LOOKUP_SHIFT")
    lo_low[nan] = 0
    return lo_low.astype(np.uint8)


@dataclass
class QuantizedTensor:
    """uint8 codes, one float32 absmax per block, the original shape and the map used."""

    codes: torch.Tensor
    absmax: torch.Tensor
    shape: torch.Size
    signed: bool
    block: int


def nearest_code(normalized: torch.Tensor, table: torch.Tensor) -> torch.Tensor:
    """Index of the nearest entry of the sorted ``table`` for every value."""
    upper = torch.searchsorted(table, normalized).clamp(1, len(table) - 1)
    lower = upper - 1
    nearer_lower = (normalized - table[lower]).abs() <= (table[upper] - normalized).abs()
    return torch.where(nearer_lower, lower, upper).to(torch.uint8)


def pack4(codes: torch.Tensor) -> torch.Tensor:
    """Two 4-bit codes per byte (an odd count is padded with a zero code)."""
    flat = codes.reshape(-1).to(torch.uint8)
    if len(flat) % 2:
        flat = torch.cat([flat, flat.new_zeros(1)])
    return flat[0::2] | (flat[1::2] << 4)


def unpack4(packed: torch.Tensor, count: int) -> torch.Tensor:
    out = torch.stack([packed & 0xF, packed >> 4], dim=1).reshape(-1)
    return out[:count]


def quantize_blockwise(x: torch.Tensor, signed: bool, block: int = 256) -> QuantizedTensor:
    flat = x.detach().float().reshape(-1)
    pad = (-len(flat)) % block
    blocks = torch.nn.functional.pad(flat, (0, pad)).reshape(-1, block)
    absmax = blocks.abs().amax(dim=1).clamp_min(1e-30)
    normalized = (blocks / absmax[:, None]).reshape(-1)
    table = dynamic_map(signed)
    codes = nearest_code(normalized, table)
    return QuantizedTensor(codes[: len(flat)], absmax, x.shape, signed, block)


def dequantize_blockwise(q: QuantizedTensor) -> torch.Tensor:
    values = dynamic_map(q.signed)[q.codes.long()]
    scale = q.absmax.repeat_interleave(q.block)[: len(values)]
    return (values * scale).reshape(q.shape)


@dataclass
class AffineQuantized:
    """Group-wise asymmetric integer codes: ``x ~ low + step * code`` with one float32
    ``low`` (the group minimum) and ``step`` per group of ``group`` values; 4-bit codes
    are packed two per byte."""

    codes: torch.Tensor
    low: torch.Tensor
    step: torch.Tensor
    shape: torch.Size
    bits: int
    group: int


def quantize_affine(x: torch.Tensor, bits: int, group: int = 256) -> AffineQuantized:
    """Round every value to the nearest of ``2**bits`` evenly spaced levels spanning its
    group's [min, max]: the round-trip error is at most ``step / 2`` (Q-GaLore's INT4
    projector quantization; the minimum is kept in float, so no zero point is clipped)."""
    flat = x.detach().float().reshape(-1)
    group = min(group, len(flat))
    pad = (-len(flat)) % group
    blocks = torch.nn.functional.pad(flat, (0, pad), value=float(flat[-1])).reshape(-1, group)
    low = blocks.amin(dim=1)
    step = ((blocks.amax(dim=1) - low) / ((1 << bits) - 1)).clamp_min(1e-30)
    codes = ((blocks - low[:, None]) / step[:, None]).round_().clamp_(0, (1 << bits) - 1)
    codes = codes.reshape(-1)[: len(flat)].to(torch.uint8)
    if bits == 4:
        codes = pack4(codes)
    return AffineQuantized(codes, low, step, x.shape, bits, group)


def dequantize_affine(q: AffineQuantized) -> torch.Tensor:
    count = q.shape.numel()
    codes = unpack4(q.codes, count) if q.bits == 4 else q.codes[:count]
    codes = torch.nn.functional.pad(codes.float(), (0, (-count) % q.group)).reshape(-1, q.group)
    values = q.low[:, None] + q.step[:, None] * codes
    return values.reshape(-1)[:count].reshape(q.shape)
