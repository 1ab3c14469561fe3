"""INT8 weights for ``nn.Linear`` layers with stochastic rounding of updates (Q-GaLore,
Zhang et al. 2024, arXiv:2407.08296).

Each weight is held as signed integer codes (``weight_int8``, int8) and one float32
scale per block of ``block`` consecutive inputs of a row (``weight_scale``; ``block=None``
gives one scale per output channel): w = scale * code, scale = absmax / (2**(bits-1) - 1).
The float ``weight`` parameter is only a working copy: a forward pre-hook dequantizes it
from the codes when it is empty, and after each optimizer step the new weight is
quantized again with stochastic rounding, code = floor(w / scale + u), u ~ U[0, 1), whose
expectation is w / scale, so updates far smaller than one quantization step still move
the weight on average, and the float copy is released.
"""

from __future__ import annotations

import torch

__all__ = ["QuantizedWeights", "quantize_weights", "stochastic_round"]


def stochastic_round(x: torch.Tensor, generator: torch.Generator | None = None) -> torch.Tensor:
    """floor(x + u) with u ~ U[0, 1): rounds up with probability frac(x), so the result's
    expectation is x exactly."""
    u = torch.rand(x.shape, generator=generator, dtype=x.dtype, device=x.device)
    return torch.floor(x + u)


def _blocks(weight: torch.Tensor, block: int | None) -> tuple[torch.Tensor, int]:
    """The weight as (out, blocks, block) float32, zero-padded along the inputs."""
    out, inp = weight.shape
    size = inp if block is None else block
    pad = (-inp) % size
    padded = torch.nn.functional.pad(weight.detach().float(), (0, pad))
    return padded.reshape(out, -1, size), inp


def quantize_int(weight, bits, block, generator=None, stochastic=True):
    """Codes (int8, the weight's shape) and scales (out, blocks), float32."""
    qmax = (1 << (bits - 1)) - 1
    values, inp = _blocks(weight, block)
    scale = values.abs().amax(dim=2) / qmax
    scaled = values / scale.clamp_min(1e-30)[..., None]
    rounded = stochastic_round(scaled, generator) if stochastic else scaled.round()
    # |scaled| <= qmax, so only float rounding can step outside the code range
    codes = rounded.clamp_(-qmax, qmax).to(torch.int8).reshape(weight.shape[0], -1)[:, :inp]
    return codes.contiguous(), scale


def dequantize_int(codes: torch.Tensor, scale: torch.Tensor, block: int | None, dtype):
    out, inp = codes.shape
    size = inp if block is None else block
    padded = torch.nn.functional.pad(codes.float(), (0, (-inp) % size)).reshape(out, -1, size)
    return (padded * scale[..., None]).reshape(out, -1)[:, :inp].to(dtype)


class QuantizedWeights:
    """What :func:`quantize_weights` returns: the quantized layers and their hooks.

    ``attach(optimizer)`` requantizes after every ``optimizer.step()`` (a step post-hook);
    ``requantize()`` does it by hand; ``dequantize()`` puts float weights back and
    removes the hooks. ``state_dict()`` holds the rounding generator's state.
    """

    def __init__(self, layers, bits: int, block: int | None, generator: torch.Generator):
        self.layers = layers
        self.bits, self.block, self.generator = bits, block, generator
        self._handles = []
        for layer in layers:
            self._handles.append(layer.register_forward_pre_hook(self._materialize))
            # checkpoints and loads see the full float weight (equal to the INT8 one)
            self._handles.append(layer.register_state_dict_pre_hook(self._materialize_for_dict))
            self._handles.append(
                layer._register_load_state_dict_pre_hook(self._before_load, with_module=True)
            )

    def _materialize(self, layer, *args) -> None:
        if layer.weight.numel() == 0:
            layer.weight.data = dequantize_int(
                layer.weight_int8, layer.weight_scale, self.block, layer.weight.dtype
            )

    def _materialize_for_dict(self, layer, prefix, keep_vars) -> None:
        self._materialize(layer)

    def _before_load(self, layer, *args) -> None:
        self._materialize(layer)  # so the checkpoint's full-size weight fits

    def attach(self, optimizer: torch.optim.Optimizer) -> QuantizedWeights:
        self._handles.append(optimizer.register_step_post_hook(lambda *a: self.requantize()))
        return self

    @torch.no_grad()
    def requantize(self) -> None:
        """Round every updated weight back to INT8 (stochastically) and free its float copy."""
        for layer in self.layers:
            w = layer.weight
            if w.numel() == 0:
                continue
            if w.grad is not None:
                codes, scale = quantize_int(w, self.bits, self.block, self.generator)
                layer.weight_int8.copy_(codes)
                layer.weight_scale.copy_(scale)
            w.data = w.data.new_empty(0)

    @torch.no_grad()
    def dequantize(self) -> None:
        """Float weights again (equal to the INT8 ones); the hooks and buffers go."""
        for handle in self._handles:
            handle.remove()
        for layer in self.layers:
            self._materialize(layer)
            del layer.weight_int8, layer.weight_scale
        self._handles.clear()

    def state_dict(self) -> dict:
        return {"generator": self.generator.get_state()}

    def load_state_dict(self, state: dict) -> None:
        self.generator.set_state(state["generator"])


def quantize_weights(model: torch.nn.Module, bits: int = 8, *, block: int | None = 256,
                     seed: int = 0, optimizer=None) -> QuantizedWeights:  # fmt: skip
    """Keep every ``nn.Linear`` weight of ``model`` in ``bits``-bit integers (2..8).

    The first quantization rounds to nearest; updates are rounded stochastically, after
    each ``optimizer.step()`` when ``optimizer`` is given (or ``.attach(opt)`` later).
    The model still runs forward: the float weight is rebuilt from the codes on use.
    Between steps ``layer.weight`` is empty, so build the optimizer and its parameter
    groups (which look at shapes) before quantizing.

    Examples:
        >>> import torch
        >>> from qworkbench import optim
        >>> model = torch.nn.Sequential(torch.nn.Linear(4, 3))
        >>> q = optim.quantize_weights(model, bits=8)
        >>> model[0].weight_int8.dtype, model(torch.ones(1, 4)).shape
        (torch.int8, torch.Size([1, 3]))
    """
    if isinstance(bits, bool) or not isinstance(bits, int) or not 2 <= bits <= 8:
        raise ValueError(f"bits must be an integer from 2 to 8 (codes are int8), got {bits!r}")
    if block is not None and (isinstance(block, bool) or not isinstance(block, int) or block < 1):
        raise ValueError(f"block must be a positive integer or None, got {block!r}")
    if not isinstance(model, torch.nn.Module):
        raise TypeError(f"model must be a torch.nn.Module, got {type(model).__name__}")
    layers = [m for m in model.modules() if isinstance(m, torch.nn.Linear)]
    if not layers:
        raise ValueError("model has no nn.Linear layer to quantize")
    generator = torch.Generator(device=layers[0].weight.device).manual_seed(int(seed))
    with torch.no_grad():
        for layer in layers:
            if not torch.isfinite(layer.weight).all():
                raise ValueError("cannot quantize a weight with non-finite values")
            codes, scale = quantize_int(layer.weight, bits, block, stochastic=False)
            layer.register_buffer("weight_int8", codes)
            layer.register_buffer("weight_scale", scale)
            layer.weight.data = layer.weight.data.new_empty(0)
    handle = QuantizedWeights(layers, bits, block, generator)
    if optimizer is not None:
        handle.attach(optimizer)
    return handle
