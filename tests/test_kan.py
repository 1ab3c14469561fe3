"""The KAN Q-network (agents.kan): B-spline basis against SciPy, the compiled layer
against the dense reference, gradients, grid refits, and pykan parity when installed."""

from __future__ import annotations

import functools
import math

import numpy as np
import pytest
import torch
from scipy.interpolate import BSpline
from torch.func import functional_call

from agents.kan import KAN, KANLayer, bspline_basis


@pytest.fixture(autouse=True)
def one_thread():
    """Tiny tensors: one thread avoids OpenMP spin-waits on a busy shared machine."""
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(threads)


def scipy_basis(x: np.ndarray, knots: np.ndarray, order: int) -> np.ndarray:
    columns = []
    for i in range(len(knots) - order - 1):
        element = BSpline.basis_element(knots[i : i + order + 2], extrapolate=False)
        columns.append(np.nan_to_num(element(x)))
    return np.stack(columns, axis=1)


def dense_reference(layer: KANLayer, x: torch.Tensor) -> torch.Tensor:
    basis = bspline_basis(x, layer.grid, layer.order)
    spline = torch.einsum("bin,ion->bo", basis, layer.coef * layer.scale_sp[..., None])
    return spline + torch.nn.functional.silu(x) @ layer.scale_base


def smooth_target(x: torch.Tensor) -> torch.Tensor:
    """f(x, y) = exp(sin(pi x) + y^2), the KAN paper's first example."""
    return torch.exp(torch.sin(math.pi * x[:, :1]) + x[:, 1:] ** 2)


@pytest.mark.parametrize("order", [0, 1, 2, 3, 4])
@pytest.mark.parametrize("uniform", [True, False])
def test_basis_matches_scipy(order, uniform):
    rng = np.random.default_rng(order)
    if uniform:
        knots = -1.0 + 0.4 * np.arange(-order, 5 + order + 1)
    else:
        knots = np.sort(rng.uniform(-2, 2, 5 + 2 * order + 1))
    x = rng.uniform(knots[0] - 0.5, knots[-1] + 0.5, 300)  # some off the grid
    ours = bspline_basis(torch.from_numpy(x)[:, None], torch.from_numpy(knots)[None, :], order)
    np.testing.assert_allclose(ours[:, 0].numpy(), scipy_basis(x, knots, order), atol=1e-12)


@pytest.mark.parametrize("order", [1, 2, 3])
def test_partition_of_unity_inside_the_grid(order):
    layer = KANLayer(3, 1, grid=7, order=order, grid_range=(-0.5, 2.0)).double()
    x = torch.rand(500, 3, dtype=torch.float64) * 2.5 - 0.5
    total = bspline_basis(x, layer.grid, order).sum(-1)
    torch.testing.assert_close(total, torch.ones_like(total), atol=1e-12, rtol=0)


@pytest.mark.parametrize("dtype", [torch.float32, torch.float64])
@pytest.mark.parametrize("order", [0, 1, 2, 3, 4])
def test_compiled_layer_matches_dense_reference(dtype, order):
    torch.manual_seed(order)
    layer = KANLayer(6, 3, order=order).to(dtype)
    x = torch.rand(40, 6, dtype=dtype) * 5 - 2.5  # inside, in the extension and off the grid
    x[0, 0] = 1e6  # far off the grid: the silu branch only
    x[1, 1] = -1.0  # exactly on a knot
    atol = 1e-6 if dtype == torch.float32 else 1e-12
    torch.testing.assert_close(layer(x), dense_reference(layer, x), atol=atol, rtol=0)
    layer.update_grid(torch.randn(300, 6, dtype=dtype))  # adaptive: non-uniform knots
    assert not layer.uniform
    torch.testing.assert_close(layer(x), dense_reference(layer, x), atol=atol, rtol=0)


@pytest.mark.parametrize("grid_eps", [1.0, 0.02])
def test_gradcheck(grid_eps):
    torch.manual_seed(0)
    net = KAN([3, 2, 2], seed=1).double()
    net.update_grid(torch.randn(200, 3, dtype=torch.float64) * 0.6, grid_eps=grid_eps)
    assert all(layer.uniform == (grid_eps == 1.0) for layer in net.layers)
    params = {k: v.detach().clone().requires_grad_() for k, v in net.named_parameters()}
    x = (torch.rand(6, 3, dtype=torch.float64) * 1.6 - 0.8).requires_grad_()

    def fn(x, *values):
        return functional_call(net, dict(zip(params, values)), (x,))

    assert torch.autograd.gradcheck(fn, (x, *params.values()))


def _fit(net, x, y, lr: float, steps: int = 300) -> tuple[float, float]:
    """Adam on the mean squared error; the loss before training and at the last step."""
    opt = torch.optim.Adam(net.parameters(), lr=lr)
    first = ((net(x) - y) ** 2).mean().item()
    for _ in range(steps):
        loss = ((net(x) - y) ** 2).mean()
        opt.zero_grad()
        loss.backward()
        opt.step()
    return first, loss.item()


def test_fits_smooth_1d_function():
    torch.manual_seed(0)
    x = torch.linspace(-1, 1, 200)[:, None]
    y = torch.sin(math.pi * x)
    first, last = _fit(KAN([1, 1], grid=8, seed=0), x, y, lr=2e-2)
    assert last < first / 100


def test_fits_smooth_2d_function():
    torch.manual_seed(0)
    x = torch.rand(512, 2) * 2 - 1
    y = smooth_target(x)
    first, last = _fit(KAN([2, 5, 1], seed=0), x, y, lr=1e-2)
    assert last < first / 100


@functools.lru_cache(maxsize=1)
def _trained_state() -> dict:
    torch.manual_seed(0)
    x = torch.rand(512, 2) * 2 - 1
    net = KAN([2, 5, 1], seed=0)
    opt = torch.optim.Adam(net.parameters(), lr=1e-2)
    for _ in range(200):
        loss = ((net(x) - smooth_target(x)) ** 2).mean()
        opt.zero_grad()
        loss.backward()
        opt.step()
    return net.state_dict()


def trained_net() -> KAN:
    net = KAN([2, 5, 1])
    net.load_state_dict(_trained_state())
    return net


def test_update_grid_on_the_same_range_keeps_the_function():
    layer = KANLayer(2, 3, order=3).double()  # knots rounded to float32 once
    x = torch.rand(300, 2, dtype=torch.float64) * 2 - 1
    x[0], x[1] = -1.0, 1.0  # the samples span exactly the current grid range
    before = layer(x)
    grid, coef = layer.grid.clone(), layer.coef.detach().clone()
    layer.update_grid(x, grid_eps=1.0)
    torch.testing.assert_close(layer.grid, grid, atol=1e-7, rtol=0)
    torch.testing.assert_close(layer.coef.detach(), coef, atol=1e-6, rtol=0)
    torch.testing.assert_close(layer(x), before, atol=1e-6, rtol=0)


@pytest.mark.parametrize("grid_eps", [1.0, 0.02])
def test_update_grid_preserves_outputs_on_the_samples(grid_eps):
    net = trained_net()
    xs = torch.rand(400, 2) * 1.6 - 0.8
    with torch.no_grad():
        before = net(xs)
    net.update_grid(xs, grid_eps=grid_eps)
    with torch.no_grad():
        after = net(xs)
    rms = ((after - before) ** 2).mean().sqrt()
    assert rms < 0.05 * before.std()
    grids = [layer.grid for layer in net.layers]
    assert torch.allclose(grids[0][:, 3], xs.min(0).values)  # knot k = the sample minimum
    assert torch.allclose(grids[0][:, -4], xs.max(0).values)


def test_update_grid_keeps_constant_inputs():
    layer = KANLayer(3, 2)
    x = torch.rand(100, 3)
    x[:, 1] = 0.0  # e.g. a one-hot slot never set in the replay buffer
    grid, coef = layer.grid.clone(), layer.coef.detach().clone()
    layer.update_grid(x)
    torch.testing.assert_close(layer.grid[1], grid[1])
    torch.testing.assert_close(layer.coef.detach()[1], coef[1])
    assert torch.isfinite(layer(torch.rand(5, 3))).all()


def test_state_dict_round_trip_after_refit():
    net = KAN([4, 2, 3], seed=0)
    net.update_grid(torch.randn(200, 4))
    keys = set(net.state_dict())
    assert {"layers.0.grid", "layers.0.coef", "layers.0.scale_base", "layers.0.scale_sp"} <= keys
    assert not any("power" in k for k in keys)  # derived from the grid, not stored
    fresh = KAN([4, 2, 3], seed=5)
    assert fresh.layers[0].uniform
    fresh.load_state_dict(net.state_dict())
    assert not fresh.layers[0].uniform
    x = torch.randn(10, 4)
    torch.testing.assert_close(fresh(x), net(x))


def test_grid_written_in_place_is_followed():
    source, copy = KAN([3, 2, 2], seed=0), KAN([3, 2, 2], seed=0)
    source.update_grid(torch.randn(100, 3))
    with torch.no_grad():  # e.g. a target network synced tensor by tensor
        for a, b in zip(copy.parameters(), source.parameters()):
            a.copy_(b)
        for layer, reference in zip(copy.layers, source.layers):
            layer.grid.copy_(reference.grid)
    x = torch.randn(8, 3)
    torch.testing.assert_close(copy(x), source(x))


def test_seed_reproducible_and_default_widths():
    a, b = KAN([5, 2, 4], seed=3), KAN([5, 2, 4], seed=3)
    for (name, p), q in zip(a.named_parameters(), b.parameters()):
        torch.testing.assert_close(p, q, msg=name)
    assert [(layer.in_dim, layer.out_dim) for layer in a.layers] == [(5, 2), (2, 4)]
    assert a.layers[0].coef.shape == (5, 2, 8)  # G + k splines
    assert a.layers[0].grid.shape == (5, 12)  # G + 2k + 1 knots


def test_bad_inputs_raise_clear_errors():
    with pytest.raises(ValueError, match="in_dim"):
        KANLayer(0, 2)
    with pytest.raises(ValueError, match="order"):
        KANLayer(2, 2, order=-1)
    with pytest.raises(ValueError, match="grid_range"):
        KANLayer(2, 2, grid_range=(1.0, -1.0))
    with pytest.raises(ValueError, match="widths"):
        KAN([3])
    layer = KANLayer(3, 2)
    with pytest.raises(ValueError, match=r"\(batch, 3\)"):
        layer(torch.zeros(4, 5))
    with pytest.raises(ValueError, match="NaN"):
        layer.update_grid(torch.full((10, 3), float("nan")))
    with pytest.raises(ValueError, match="grid_eps"):
        layer.update_grid(torch.zeros(10, 3), grid_eps=2.0)
    with pytest.raises(ValueError, match="batch >= 2"):
        layer.update_grid(torch.zeros(1, 3))


def test_matches_pykan_forward_and_grid_update(tmp_path, monkeypatch):
    pykan = pytest.importorskip("kan")
    monkeypatch.chdir(tmp_path)  # pykan may write checkpoint folders to the cwd
    net = trained_net()
    reference = pykan.KAN(width=[2, 5, 1], grid=5, k=3, seed=0, auto_save=False)
    with torch.no_grad():
        for ours, theirs in zip(net.layers, reference.act_fun):
            for name in ("coef", "scale_base", "scale_sp", "grid"):
                getattr(theirs, name).copy_(getattr(ours, name))
    x = torch.rand(300, 2) * 3 - 1.5
    with torch.no_grad():
        torch.testing.assert_close(net(x), reference(x), atol=1e-5, rtol=1e-5)
    xs = torch.randn(400, 2) * 0.5
    reference.update_grid_from_samples(xs)
    net.update_grid(xs)  # pykan's default grid_eps = 0.02 is ours too
    for ours, theirs in zip(net.layers, reference.act_fun):
        torch.testing.assert_close(ours.grid, theirs.grid.detach(), atol=1e-6, rtol=1e-6)
    with torch.no_grad():
        torch.testing.assert_close(net(x), reference(x), atol=1e-4, rtol=1e-4)
