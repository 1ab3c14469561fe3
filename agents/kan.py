"""Kolmogorov–Arnold network (KAN) Q-functions, as used by KANQAS.

Liu et al., "KAN: Kolmogorov-Arnold Networks" (2024), eq. (2.10): every edge i -> o
of a layer carries its own activation

    phi_io(x) = w_b[i, o] * silu(x) + w_s[i, o] * sum_m c[i, o, m] * B_m(x)

with B_m the order-k B-splines on a grid of G intervals extended by k knots on each
side (G + k splines, zero off the extended grid), and node o sums its incoming edges.
Kundu et al., "KANQAS: Kolmogorov-Arnold Network for Quantum Architecture Search"
(2024) use it as the double-DQN Q-function with widths [inputs, 2, actions], G = 5,
k = 3. Parameter names and layouts follow pykan (``coef`` (in, out, G + k),
``scale_base``, ``scale_sp``, ``grid`` (in, G + 2k + 1)) so its coefficients load as is.

Speed: on knot interval j a spline is a degree-k polynomial in the position f in that
interval, whose coefficients are a fixed 4 x 4 map of the k + 1 spline coefficients
there (one map for all inputs on a uniform grid). Compiled kernels (forward and
backward) go input by input and, for each knot interval that holds samples, evaluate
that polynomial for the whole batch in one vectorised loop; nothing of size
(batch, in, G + k) is ever built, so a gradient step moves about as much memory as an
MLP's first layer. The dense Cox–de Boor basis (:func:`bspline_basis`) is the reference
the kernels are tested against and the path off the CPU and for orders above 3.
"""

from __future__ import annotations

import functools
import math
from collections.abc import Sequence

import numba
import numpy as np
import torch
import torch.nn.functional as F
from torch import nn

__all__ = ["KAN", "KANLayer", "bspline_basis"]


def _local_triangle(x: torch.Tensor, knots: torch.Tensor, order: int) -> torch.Tensor:
    """Cox–de Boor on the k + 1 splines that can be nonzero on x's knot interval j.

    ``knots[..., s]`` is t[j - k + 1 + s] for s = 0 .. 2k - 1; returns B_{j-k+m}(x) for
    m = 0 .. k in the last axis (de Boor's triangle, "A practical guide to splines",
    ch. X, vectorised over every x at once)."""
    x = x.unsqueeze(-1)
    values = torch.ones_like(x)
    for p in range(1, order + 1):
        right = knots[..., order : order + p] - x
        left = x - knots[..., order - p : order]
        # a zero-width span (repeated quantile knots) carries a zero spline: 0 / tiny = 0
        temp = values / (right + left).clamp_min(torch.finfo(x.dtype).tiny)
        values = F.pad(right * temp, (0, 1)) + F.pad(left * temp, (1, 0))
    return values


def _nonzero_splines(x: torch.Tensor, grid: torch.Tensor, order: int):
    """(j, values): x's knot interval (-1 or M - 1 off the grid) and B_{j-k+m}(x) for
    m = 0 .. k (meaningless where x is off the grid)."""
    knots = grid.shape[1]
    j = torch.searchsorted(grid, x.detach().T.contiguous(), right=True).T - 1
    # knots t[j-k+1 .. j+k]; pad the grid by k knots a side so every gather is in range
    step = (grid[:, -1:] - grid[:, :1]) / (knots - 1)
    step = torch.where(step > 0, step, torch.ones_like(step))
    ramp = torch.arange(1, order + 1, dtype=grid.dtype, device=grid.device)
    padded = torch.cat([grid[:, :1] - step * ramp.flip(0), grid, grid[:, -1:] + step * ramp], 1)
    offsets = torch.arange(grid.shape[0], device=grid.device) * padded.shape[1]
    index = j.clamp(0, knots - 2) + 1
    index = index.unsqueeze(-1) + torch.arange(2 * order, device=grid.device)
    return j, _local_triangle(x, padded.flatten()[index + offsets[:, None]], order)


def bspline_basis(x: torch.Tensor, grid: torch.Tensor, order: int) -> torch.Tensor:
    """All B-splines of ``order`` on knot rows ``grid`` (in, M) at x (batch, in):
    (batch, in, M - order - 1), zero off the grid (half-open knot intervals, as pykan).
    Dense and differentiable in x; the reference the compiled layer is tested against."""
    if x.ndim != 2 or grid.ndim != 2 or x.shape[1] != grid.shape[0]:
        raise ValueError(f"x must have shape (batch, {grid.shape[0]}), got {tuple(x.shape)}")
    knots = grid.shape[1]
    n_basis = knots - order - 1
    j, values = _nonzero_splines(x, grid, order)
    index = (j - order).unsqueeze(-1) + torch.arange(order + 1, device=x.device)
    keep = ((j >= 0) & (j <= knots - 2)).unsqueeze(-1) & (index >= 0) & (index < n_basis)
    dense = values.new_zeros(*x.shape, n_basis)
    return dense.scatter_add(2, index.clamp(0, n_basis - 1), values * keep)


_SLOTS = 4  # polynomial terms per knot interval in the compiled path: orders 0 .. 3


def _power_form(grid: torch.Tensor, order: int) -> torch.Tensor:
    """A (in, M - 1, 4, 4): on knot interval j of input i, B_{j-k+m}(x) =
    sum_d A[i, j, d, m] f^d with f = (x - t_j) / (t_j+1 - t_j) (k <= 3; padding rows d > k
    and columns m > k are zero, as are columns of splines off [0, G + k) and zero-width
    intervals). Found from k + 1 samples per interval."""
    g = grid.double()
    n_in, knots = g.shape
    n_basis = knots - order - 1
    f = (torch.arange(order + 1, dtype=torch.float64, device=g.device) + 0.5) / (order + 1)
    width = g[:, 1:] - g[:, :-1]  # (in, M - 1)
    x = g[:, :-1, None] + width[..., None] * f  # (in, M - 1, k + 1) samples in each span
    x = x.permute(2, 0, 1).reshape(order + 1, -1)
    _, values = _nonzero_splines(x, g.repeat_interleave(knots - 1, 0), order)
    values = values.reshape(order + 1, n_in, knots - 1, order + 1).permute(1, 2, 0, 3)
    vander = f[:, None] ** torch.arange(order + 1, device=g.device)
    power = torch.linalg.solve(vander, values)  # (in, j, d, m), entries O(1)
    power = torch.where(power.abs() < 1e-12, 0.0, power)  # exact zeros, not solver residue
    index = torch.arange(knots - 1, device=g.device)[:, None] - order
    index = index + torch.arange(order + 1, device=g.device)  # spline j - k + m
    keep = (index >= 0) & (index < n_basis) & (width[..., None] > 0)
    padded = power.new_zeros(n_in, knots - 1, _SLOTS, _SLOTS)
    padded[:, :, : order + 1, : order + 1] = power * keep[:, :, None, :]
    return padded.to(grid.dtype)


def _is_uniform(grid: torch.Tensor) -> bool:
    steps = grid[:, 1:] - grid[:, :-1]
    return bool((steps > 0).all() and torch.allclose(steps, steps[:, :1], rtol=1e-5, atol=0.0))


# reassociation lets the reductions vectorise; NaN and inf keep their IEEE meaning
_FASTMATH = {"reassoc", "contract"}


# The kernels index 2-D arrays directly rather than slicing rows: a numba slice is a new
# reference-counted array, and at small batches those counts cost more than the maths.


@numba.njit(cache=True, fastmath=_FASTMATH, inline="always")
def _locate_row(xt, grid, i, uniform, jj):
    """jj[b] = the knot interval of xt[i, b] (as a float; -1 off the grid or NaN);
    returns a bit mask of the intervals present, so callers visit those only."""
    n_int = grid.shape[1] - 1
    t0, t_end = grid[i, 0], grid[i, n_int]
    if not uniform:
        jj[:] = 0.0
        for c in range(1, n_int):
            t = grid[i, c]
            for b in range(xt.shape[1]):
                jj[b] += 1.0 if xt[i, b] >= t else 0.0
    scale = 1.0 / (grid[i, 1] - t0)
    present = 0
    for b in range(xt.shape[1]):
        xv = xt[i, b]
        j = np.floor(min(max((xv - t0) * scale, 0.0), n_int - 1.0)) if uniform else jj[b]
        j = j if (xv >= t0) & (xv < t_end) else -1.0
        jj[b] = j
        present |= 1 << int(j + 1.0)  # bit 0: off the grid
    return present >> 1 if n_int <= 62 else -1  # -1: visit every interval


@numba.njit(cache=True, inline="always")
def _span(power, coef, i, o, order, j):
    """The power-form coefficients c0..c3 on knot interval j of the spline with
    coefficients coef[i, o] (power: the (inputs or 1, M - 1, 4, 4) interval maps)."""
    p = i if power.shape[0] > 1 else 0
    c0 = c1 = c2 = c3 = 0.0
    for m in range(order + 1):
        value = coef[i, o, min(max(j - order + m, 0), coef.shape[2] - 1)]  # map 0 if clamped
        c0 += power[p, j, 0, m] * value
        c1 += power[p, j, 1, m] * value
        c2 += power[p, j, 2, m] * value
        c3 += power[p, j, 3, m] * value
    return c0, c1, c2, c3


@numba.njit(cache=True, fastmath=_FASTMATH)
def _spline_forward(xt, grid, power, coef, order, uniform, out_t):
    """out_t[o, b] += sum_i S_io(xt[i, b]) for splines with coefficients coef[i, o] and
    interval maps ``power`` (one shared map on uniform grids). Input-major and interval
    by interval with a select instead of a per-sample table lookup, so the sample loop
    vectorises; only intervals holding samples are visited."""
    n_in, batch = xt.shape
    jj = np.empty(batch, xt.dtype)
    for i in range(n_in):
        present = _locate_row(xt, grid, i, uniform, jj)
        for j in range(grid.shape[1] - 1):
            if not (present >> j) & 1:
                continue
            here, t, width = float(j), grid[i, j], grid[i, j + 1] - grid[i, j]
            scale = 1.0 / width if width > 0 else 0.0
            for o in range(coef.shape[1]):
                c0, c1, c2, c3 = _span(power, coef, i, o, order, j)
                for b in range(batch):
                    f = (xt[i, b] - t) * scale
                    value = ((c3 * f + c2) * f + c1) * f + c0
                    out_t[o, b] += value if jj[b] == here else 0.0


@numba.njit(cache=True, fastmath=_FASTMATH)
def _spline_backward(xt, grid, power, coef, order, uniform, grad_t, grad_coef, grad_xt, need_x):
    n_in, batch = xt.shape
    jj = np.empty(batch, xt.dtype)
    for i in range(n_in):
        present = _locate_row(xt, grid, i, uniform, jj)
        p = i if power.shape[0] > 1 else 0
        for j in range(grid.shape[1] - 1):
            if not (present >> j) & 1:
                continue
            here, t, width = float(j), grid[i, j], grid[i, j + 1] - grid[i, j]
            scale = 1.0 / width if width > 0 else 0.0
            for o in range(coef.shape[1]):
                s0, s1, s2, s3 = 0.0, 0.0, 0.0, 0.0
                for b in range(batch):
                    f = (xt[i, b] - t) * scale
                    gb = grad_t[o, b] if jj[b] == here else 0.0
                    s0 += gb
                    s1 += gb * f
                    s2 += gb * f * f
                    s3 += gb * f * f * f
                for m in range(order + 1):
                    n = min(max(j - order + m, 0), coef.shape[2] - 1)
                    up = power[p, j, 0, m] * s0 + power[p, j, 1, m] * s1
                    grad_coef[i, o, n] += up + power[p, j, 2, m] * s2 + power[p, j, 3, m] * s3
                if need_x:
                    c0, c1, c2, c3 = _span(power, coef, i, o, order, j)
                    for b in range(batch):
                        f = (xt[i, b] - t) * scale
                        slope = ((3.0 * c3 * f + 2.0 * c2) * f + c1) * scale
                        grad_xt[i, b] += grad_t[o, b] * slope if jj[b] == here else 0.0


class _SplineSum(torch.autograd.Function):
    """(xt, coef) -> (out, batch) sums of splines by the compiled kernels; grid and
    interval maps are constants."""

    @staticmethod
    def forward(ctx, xt, coef, grid, power, order, uniform):
        xt, coef = xt.detach().contiguous(), coef.detach().contiguous()
        out_t = torch.zeros(coef.shape[1], xt.shape[1], dtype=xt.dtype)
        _spline_forward(xt.numpy(), grid.numpy(), power.numpy(), coef.numpy(), order, uniform,
                        out_t.numpy())  # fmt: skip
        ctx.save_for_backward(xt, coef, grid, power)
        ctx.order, ctx.uniform = order, uniform
        return out_t

    @staticmethod
    @torch.autograd.function.once_differentiable
    def backward(ctx, grad_out):
        xt, coef, grid, power = ctx.saved_tensors
        need_x = ctx.needs_input_grad[0]
        grad_coef = torch.zeros_like(coef)
        grad_xt = torch.zeros_like(xt) if need_x else xt.new_zeros(1, 1)
        grad_t = grad_out.to(xt.dtype).contiguous()
        _spline_backward(xt.numpy(), grid.numpy(), power.numpy(), coef.numpy(), ctx.order,
                         ctx.uniform, grad_t.numpy(), grad_coef.numpy(), grad_xt.numpy(),
                         need_x)  # fmt: skip
        return (grad_xt if need_x else None), grad_coef, None, None, None, None


class KANLayer(nn.Module):
    """One KAN layer: ``in_dim * out_dim`` learnable edge activations, summed per output.

    Args:
        in_dim, out_dim: numbers of input and output nodes.
        grid: number of grid intervals G on ``grid_range``.
        order: B-spline order k (3 = cubic).
        grid_range: (lo, hi) of the initial uniform grid; inputs off the grid extended
            by k intervals a side get the silu branch only.
        noise_scale: spread of the initial spline coefficients (uniform, width
            noise_scale / G, as pykan's default 0.3).
        base_scale: spread of the initial silu weights (uniform in +-base_scale / sqrt(in)).
        generator: a ``torch.Generator`` for the initial values.
    """

    def __init__(
        self,
        in_dim: int,
        out_dim: int,
        grid: int = 5,
        order: int = 3,
        grid_range: Sequence[float] = (-1.0, 1.0),
        *,
        noise_scale: float = 0.3,
        base_scale: float = 1.0,
        generator: torch.Generator | None = None,
    ):
        super().__init__()
        for name, value, least in (("in_dim", in_dim, 1), ("out_dim", out_dim, 1),
                                   ("grid", grid, 1), ("order", order, 0)):  # fmt: skip
            if isinstance(value, bool) or not isinstance(value, int) or value < least:
                raise ValueError(f"{name} must be an integer >= {least}, got {value!r}")
        lo, hi = (float(v) for v in grid_range)
        if not (math.isfinite(lo) and math.isfinite(hi) and lo < hi):
            raise ValueError(f"grid_range must be finite (lo, hi) with lo < hi, got {grid_range!r}")
        self.in_dim, self.out_dim, self.num, self.order = in_dim, out_dim, grid, order
        dtype = torch.get_default_dtype()
        h = (hi - lo) / grid
        knots = lo + h * torch.arange(-order, grid + order + 1, dtype=torch.float64)
        self.register_buffer("grid", knots.to(dtype).expand(in_dim, -1).contiguous())
        rand = functools.partial(torch.rand, generator=generator, dtype=dtype)
        self.coef = nn.Parameter((rand(in_dim, out_dim, grid + order) - 0.5) * noise_scale / grid)
        self.scale_base = nn.Parameter(base_scale * (2 * rand(in_dim, out_dim) - 1) / in_dim**0.5)
        self.scale_sp = nn.Parameter(torch.full((in_dim, out_dim), in_dim**-0.5, dtype=dtype))
        self._refresh()
        self.register_load_state_dict_post_hook(_after_load)

    def _refresh(self) -> None:
        """Derived grid data (not in the state dict): the power form and uniformity."""
        self.uniform = _is_uniform(self.grid)
        if self.order >= _SLOTS:  # the dense path serves orders above cubic
            power = self.grid.new_zeros(1, 0, _SLOTS, _SLOTS)
        else:
            power = _power_form(self.grid, self.order)
        # uniform rows share one map (it is scale-free)
        self.register_buffer("power", power[:1] if self.uniform else power, persistent=False)
        self._grid_version = self.grid._version

    def _apply(self, fn, recurse=True):
        # rebuild the derived power form at the grid's new dtype (e.g. after .double())
        module = super()._apply(fn, recurse)
        self._refresh()
        return module

    @property
    def n_basis(self) -> int:
        return self.grid.shape[1] - self.order - 1

    def extra_repr(self) -> str:
        kind = "uniform" if self.uniform else "adaptive"
        return f"{self.in_dim}, {self.out_dim}, grid={self.num}, order={self.order}, {kind} grid"

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if x.ndim != 2 or x.shape[1] != self.in_dim:
            raise ValueError(
                f"expected input of shape (batch, {self.in_dim}), got {tuple(x.shape)}"
            )
        # (out, in) contiguous: the fast layout for BLAS with few outputs, both ways
        base = F.linear(F.silu(x), self.scale_base.T.contiguous())
        coef = self.coef * self.scale_sp.unsqueeze(-1)
        compiled = x.device.type == "cpu" and x.dtype in (torch.float32, torch.float64)
        if compiled and self.order < _SLOTS:
            if self.grid._version != self._grid_version:  # grid written in place elsewhere
                self._refresh()
            # input-major for the kernels; a no-op on the previous layer's output
            xt = x.T.contiguous()
            grid, power = self.grid.to(x.dtype), self.power.to(x.dtype)
            spline = _SplineSum.apply(xt, coef.to(x.dtype), grid, power, self.order, self.uniform)
            return base + spline.T
        return base + torch.einsum("bin,ion->bo", bspline_basis(x, self.grid, self.order), coef)

    def spline(self, x: torch.Tensor) -> torch.Tensor:
        """sum_m c[i, o, m] B_m(x_i) per edge, without the scales: (batch, in, out)."""
        return torch.einsum("bin,ion->bio", bspline_basis(x, self.grid, self.order), self.coef)

    @torch.no_grad()
    def update_grid(self, x: torch.Tensor, grid_eps: float = 0.02, min_span: float = 1e-6) -> None:
        """Move the grid onto the samples ``x`` (batch, in) and refit ``coef`` by least
        squares so every edge keeps its values on the samples (pykan's
        ``update_grid_from_samples``): knots at sample quantiles, blended by ``grid_eps``
        with the uniform grid on [min, max] (1 = uniform, the faster kernel). Inputs
        whose samples span less than ``min_span`` keep their grid and splines."""
        if not 0.0 <= grid_eps <= 1.0:
            raise ValueError(f"grid_eps must be in [0, 1], got {grid_eps!r}")
        if x.ndim != 2 or x.shape[1] != self.in_dim or x.shape[0] < 2:
            raise ValueError(
                f"update_grid needs samples of shape (batch >= 2, {self.in_dim}), "
                f"got {tuple(x.shape)}"
            )
        x = x.to(self.grid.dtype)
        if not torch.isfinite(x).all():
            raise ValueError("update_grid samples contain NaN or inf")
        xs = torch.sort(x, dim=0).values
        batch, g, k = xs.shape[0], self.num, self.order
        ids = [int(batch / g * i) for i in range(g)] + [batch - 1]
        adaptive = xs[ids].T  # (in, G + 1)
        lo, hi = adaptive[:, :1], adaptive[:, -1:]
        h = (hi - lo) / g
        uniform = lo + h * torch.arange(g + 1, dtype=xs.dtype, device=xs.device)
        inner = grid_eps * uniform + (1 - grid_eps) * adaptive
        ramp = torch.arange(1, k + 1, dtype=xs.dtype, device=xs.device)
        new = torch.cat([lo - h * ramp.flip(0), inner, hi + h * ramp], dim=1)
        moved = (hi - lo).squeeze(1) >= min_span
        new = torch.where(moved[:, None], new, self.grid)
        coef = torch.empty_like(self.coef, dtype=torch.float64)
        driver = "gelsd" if xs.device.type == "cpu" else None
        step = max(1, 2**22 // (batch * self.n_basis))  # inputs per least-squares batch
        for rows in torch.arange(self.in_dim, device=xs.device).split(step):
            old = bspline_basis(xs[:, rows], self.grid[rows], k).double()
            target = torch.einsum("bin,ion->ibo", old, self.coef[rows].double())
            design = bspline_basis(xs[:, rows], new[rows], k).double().transpose(0, 1)
            fit = torch.linalg.lstsq(design, target, driver=driver).solution  # (in, n, out)
            coef[rows] = fit.transpose(1, 2)
        self.coef.copy_(torch.where(moved[:, None, None], coef.to(self.coef.dtype), self.coef))
        self.grid.copy_(new)
        self._refresh()


def _after_load(layer: KANLayer, incompatible_keys) -> None:
    layer._refresh()  # a loaded grid brings its own power form and uniformity


class KAN(nn.Module):
    """A stack of :class:`KANLayer` with ``widths`` nodes, e.g. [inputs, 2, actions]
    (KANQAS's Q-network); ``seed`` makes the initial values reproducible.

    Examples:
        >>> net = KAN([4, 2, 3], seed=0)
        >>> net(torch.zeros(5, 4)).shape
        torch.Size([5, 3])
    """

    def __init__(
        self,
        widths: Sequence[int],
        grid: int = 5,
        order: int = 3,
        grid_range: Sequence[float] = (-1.0, 1.0),
        *,
        noise_scale: float = 0.3,
        base_scale: float = 1.0,
        seed: int | None = None,
    ):
        super().__init__()
        widths = list(widths)
        if len(widths) < 2:
            raise ValueError(f"widths needs at least an input and an output size, got {widths!r}")
        generator = None if seed is None else torch.Generator().manual_seed(int(seed))
        self.widths = widths
        self.layers = nn.ModuleList(
            KANLayer(a, b, grid, order, grid_range, noise_scale=noise_scale,
                     base_scale=base_scale, generator=generator)
            for a, b in zip(widths[:-1], widths[1:])
        )  # fmt: skip

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        for layer in self.layers:
            x = layer(x)
        return x

    @torch.no_grad()
    def update_grid(self, x: torch.Tensor, grid_eps: float = 0.02) -> None:
        """Refit every layer's grid to the activations that samples ``x`` (e.g. states
        from the replay buffer) produce, layer by layer from the input, keeping the
        network's function on them (see :meth:`KANLayer.update_grid`)."""
        for layer in self.layers:
            layer.update_grid(x, grid_eps=grid_eps)
            x = layer(x.to(layer.grid.dtype))
