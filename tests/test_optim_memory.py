"""Memory-efficient optimizers: GaLore against galore-torch, Muon's Newton-Schulz against
the SVD polar factor, learning, state bytes and checkpoints."""

from __future__ import annotations

import io
import warnings

import numpy as np
import pytest
import torch

from qworkbench import optim

from .conftest import regression_data as _data
from .conftest import small_mlp as _mlp
from .conftest import train_steps as _train


@pytest.mark.parametrize("proj_type", ["std", "left", "right"])
def test_galore_matches_galore_torch(proj_type):
    galore_torch = pytest.importorskip("galore_torch")
    data = _data()
    ours_model, ref_model = _mlp(1), _mlp(1)
    hyper = {"rank": 8, "update_proj_gap": 5, "scale": 0.25, "proj_type": proj_type}

    def groups(model):
        matrices = [p for p in model.parameters() if p.ndim == 2]
        vectors = [p for p in model.parameters() if p.ndim != 2]
        return [{"params": vectors}, {"params": matrices, **hyper}]

    ours = optim.create("galore_adamw", [
        {"params": [p for p in ours_model.parameters() if p.ndim != 2], "galore": False},
        {"params": [p for p in ours_model.parameters() if p.ndim == 2], **hyper},
    ], lr=3e-3)  # fmt: skip
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        ref = galore_torch.GaLoreAdamW(groups(ref_model), lr=3e-3)
    ours_losses = _train(ours_model, ours, 30, data)
    ref_losses = _train(ref_model, ref, 30, data)
    np.testing.assert_allclose(ours_losses, ref_losses, rtol=1e-4)
    assert ours_losses[-1] < 0.9 * ours_losses[0]


def test_galore_randomized_svd_learns_like_full():
    data = _data(2)
    full_model, rand_model = _mlp(3), _mlp(3)
    full = optim.create("galore_adamw", full_model.parameters(), lr=3e-3, rank=8,
                        update_proj_gap=10)  # fmt: skip
    rand = optim.create("galore_adamw", rand_model.parameters(), lr=3e-3, rank=8,
                        update_proj_gap=10, svd="randomized")  # fmt: skip
    a, b = _train(full_model, full, 60, data), _train(rand_model, rand, 60, data)
    assert b[-1] < 0.85 * b[0]
    assert abs(a[-1] - b[-1]) < 0.2 * a[-1]  # a randomized subspace, not the same one


def test_galore_state_bytes_ratio_for_512_square_rank_128():
    w_ours = torch.nn.Parameter(torch.randn(512, 512))
    w_ref = torch.nn.Parameter(w_ours.detach().clone())
    galore = optim.create("galore_adamw", [w_ours], rank=128)
    adamw = optim.create("adamw", [w_ref])
    for p, opt in ((w_ours, galore), (w_ref, adamw)):
        p.grad = torch.randn(512, 512)
        opt.step()
    ratio = optim.state_bytes(galore) / optim.state_bytes(adamw)
    assert ratio < 0.5  # moments 2 x 512 x 128 and a 128 x 512 projector


@pytest.mark.parametrize(("name", "hyper"), [
    ("galore_adamw", {"rank": 4, "update_proj_gap": 3}),
    ("adam8bit", {"min_8bit_size": 1024}),
    ("adam4bit", {"min_4bit_size": 1024}),
    ("apollo", {"rank": 4, "update_proj_gap": 3}),
    ("apollo_mini", {"update_proj_gap": 3}),
    ("scale", {}),
    ("subset_norm", {"rank": 2, "update_proj_gap": 3}),
    ("muon", {}),
])  # fmt: skip
def test_checkpoint_continues_identically(name, hyper):
    data = _data(4)
    model = _mlp(5)
    opt = optim.create(name, model.parameters(), lr=3e-3, **hyper)
    _train(model, opt, 4, data)
    buffer = io.BytesIO()
    torch.save({"model": model.state_dict(), "opt": opt.state_dict()}, buffer)
    expected = _train(model, opt, 6, data)
    buffer.seek(0)
    saved = torch.load(buffer)
    resumed_model = _mlp(99)
    resumed_model.load_state_dict(saved["model"])
    resumed = optim.create(name, resumed_model.parameters(), lr=3e-3, **hyper)
    resumed.load_state_dict(saved["opt"])
    np.testing.assert_array_equal(_train(resumed_model, resumed, 6, data), expected)


def test_newton_schulz_approximates_the_polar_factor():
    rng = np.random.default_rng(0)
    for shape in ((64, 32), (32, 96), (50, 50)):
        d = rng.normal(size=shape)
        u, s, vh = np.linalg.svd(d, full_matrices=False)
        out = optim.newton_schulz(torch.tensor(d)).numpy()
        # same singular vectors, singular values pushed near 1
        core = u.T @ out @ vh.T
        assert np.abs(core - np.diag(np.diag(core))).max() < 1e-6
        assert np.all((np.diag(core) > 0.6) & (np.diag(core) < 1.25))


def test_muon_learns_and_routes_head_and_vectors_to_adamw():
    data = _data(6)
    model = _mlp(7)
    groups = optim.muon_param_groups(model)
    assert [len(g["params"]) for g in groups] == [2, 4]  # two hidden weights; head + biases
    muon = optim.create("muon", groups, lr=1e-2)
    losses = _train(model, muon, 60, data)
    baseline_model = _mlp(7)
    baseline = _train(baseline_model, optim.create("adamw", baseline_model.parameters(),
                                                   lr=3e-3), 60, data)  # fmt: skip
    assert losses[-1] < 0.5 * losses[0]
    assert losses[-1] < 1.5 * baseline[-1]


def test_hyperparameters_are_validated():
    w = [torch.nn.Parameter(torch.zeros(4, 4))]
    for name, bad in (("galore_adamw", {"rank": 0}), ("galore_adamw", {"proj_type": "x"}),
                      ("galore_adamw", {"svd": "qr"}), ("muon", {"lr": -1.0}),
                      ("muon", {"momentum": 1.0}), ("muon", {"ns_dtype": "float16"})):  # fmt: skip
        with pytest.raises(ValueError):
            optim.create(name, w, **bad)


def test_blockwise_dynamic_quantization_round_trip_bound():
    """Every value comes back within half the largest gap of the map (times the block's
    absmax), and block maxima come back exactly."""
    from qworkbench.optim._quant import dequantize_blockwise, dynamic_map, quantize_blockwise

    g = torch.Generator().manual_seed(0)
    for signed in (True, False):
        table = dynamic_map(signed)
        assert len(table) == 256 and torch.all(table[1:] >= table[:-1])
        x = torch.randn(10_000, generator=g) * torch.logspace(-4, 1, 10_000)
        x = x if signed else x.abs()
        q = quantize_blockwise(x, signed=signed)
        assert q.codes.dtype == torch.uint8 and q.absmax.numel() == -(-10_000 // 256)
        y = dequantize_blockwise(q)
        bound = (table[1:] - table[:-1]).max() / 2
        blocks = torch.nn.functional.pad(x, (0, (-len(x)) % 256)).reshape(-1, 256)
        absmax = blocks.abs().amax(dim=1).repeat_interleave(256)[: len(x)]
        assert torch.all((x - y).abs() <= bound * absmax + 1e-7)
        peaks = blocks.abs().argmax(dim=1) + 256 * torch.arange(len(blocks))
        peaks = peaks[peaks < len(x)]
        torch.testing.assert_close(y[peaks], x[peaks])


def test_adam8bit_tracks_bitsandbytes_and_uses_a_quarter_of_the_state():
    bnb = pytest.importorskip("bitsandbytes")
    data = _data(8)
    torch.manual_seed(9)
    ours_model = torch.nn.Sequential(torch.nn.Linear(32, 256), torch.nn.Tanh(),
                                      torch.nn.Linear(256, 8))  # fmt: skip
    ref_model = torch.nn.Sequential(torch.nn.Linear(32, 256), torch.nn.Tanh(),
                                     torch.nn.Linear(256, 8))  # fmt: skip
    ref_model.load_state_dict(ours_model.state_dict())
    ours = optim.create("adam8bit", ours_model.parameters(), lr=3e-3)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        ref = bnb.optim.Adam8bit(ref_model.parameters(), lr=3e-3, min_8bit_size=4096)
    ours_losses = _train(ours_model, ours, 80, data)
    ref_losses = _train(ref_model, ref, 80, data)
    assert ours_losses[-1] < 0.5 * ours_losses[0]
    np.testing.assert_allclose(ours_losses, ref_losses, rtol=0.05)
    w = torch.nn.Parameter(torch.randn(512, 512))
    w32 = torch.nn.Parameter(w.detach().clone())
    a8, a32 = optim.create("adam8bit", [w]), optim.create("adam", [w32])
    for p, opt in ((w, a8), (w32, a32)):
        p.grad = torch.randn(512, 512)
        opt.step()
    assert optim.state_bytes(a8) / optim.state_bytes(a32) < 0.26


@pytest.mark.parametrize(("name", "hyper"), [
    ("apollo", {"rank": 8, "update_proj_gap": 10, "scale": 1.0, "scale_type": "channel"}),
    ("apollo_mini", {"rank": 1, "update_proj_gap": 10, "scale": 128.0, "scale_type": "tensor"}),
])  # fmt: skip
def test_apollo_tracks_apollo_torch(name, hyper):
    apollo_torch = pytest.importorskip("apollo_torch")
    data = _data(10)
    ours_model, ref_model = _mlp(11), _mlp(11)
    lr = 1e-3 if name == "apollo_mini" else 3e-3

    def groups(model, extra):
        return [{"params": [p for p in model.parameters() if p.ndim != 2], **extra[0]},
                {"params": [p for p in model.parameters() if p.ndim == 2], **extra[1]}]  # fmt: skip

    ours = optim.create(name, groups(ours_model, ({"apollo": False}, hyper)), lr=lr)
    ref_hyper = {**hyper, "proj": "random", "proj_type": "std"}
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        ref = apollo_torch.APOLLOAdamW(groups(ref_model, ({}, ref_hyper)), lr=lr)
    ours_losses = _train(ours_model, ours, 80, data)
    ref_losses = _train(ref_model, ref, 80, data)
    assert ours_losses[-1] < 0.7 * ours_losses[0]
    # same projection seeds; the curves agree within a few percent
    np.testing.assert_allclose(ours_losses, ref_losses, rtol=0.02)


def test_apollo_mini_state_under_two_percent_of_adamw():
    w = torch.nn.Parameter(torch.randn(512, 512))
    w32 = torch.nn.Parameter(w.detach().clone())
    mini, adamw = optim.create("apollo_mini", [w]), optim.create("adamw", [w32])
    for p, opt in ((w, mini), (w32, adamw)):
        p.grad = torch.randn(512, 512)
        opt.step()
    assert optim.state_bytes(mini) / optim.state_bytes(adamw) < 0.02


def test_scale_steps_equal_the_formula_and_learn():
    """One step computed by hand with NumPy; then SCALE learns at a fraction of AdamW's
    state (momentum on the head only)."""
    model = _mlp(12)
    before = [p.detach().numpy().copy() for p in model.parameters()]
    opt = optim.create("scale", model.parameters(), lr=0.01, momentum=0.9)
    x, y = _data(12)
    torch.nn.functional.mse_loss(model(x), y).backward()
    grads = [p.grad.numpy().copy() for p in model.parameters()]
    opt.step()
    weights = [0, 2, 4]  # the three Linear weights; index 4 is the head
    for k in weights:
        g = grads[k] * (0.1 if k == 4 else 1.0)  # first momentum step: (1 - beta) g
        expected = before[k] - 0.01 * g / (np.linalg.norm(g, axis=0, keepdims=True) + 1e-8)
        np.testing.assert_allclose(list(model.parameters())[k].detach().numpy(), expected,
                                   rtol=1e-5, atol=1e-7)  # fmt: skip
    model = _mlp(12)
    losses = _train(model, optim.create("scale", model.parameters(), lr=0.02), 80, _data(12))
    assert losses[-1] < 0.5 * losses[0]
    scale_model, adamw_model = _mlp(12), _mlp(12)
    scale = optim.create("scale", scale_model.parameters())
    adamw = optim.create("adamw", adamw_model.parameters())
    _train(scale_model, scale, 1, _data(12))
    _train(adamw_model, adamw, 1, _data(12))
    assert optim.state_bytes(scale) < 0.2 * optim.state_bytes(adamw)


def test_adam4bit_learns_like_adamw_at_an_eighth_of_the_state():
    data = _data(14)
    torch.manual_seed(15)
    model = torch.nn.Sequential(torch.nn.Linear(32, 256), torch.nn.Tanh(), torch.nn.Linear(256, 8))
    twin = torch.nn.Sequential(torch.nn.Linear(32, 256), torch.nn.Tanh(), torch.nn.Linear(256, 8))
    twin.load_state_dict(model.state_dict())
    four = _train(model, optim.create("adam4bit", model.parameters(), lr=3e-3), 80, data)
    full = _train(twin, optim.create("adam", twin.parameters(), lr=3e-3), 80, data)
    assert four[-1] < 0.2 * four[0]
    # the zero-point-free linear map rounds small second moments up to 1/16 of their
    # rank-1 scale, so steps shrink: on this toy problem 4-bit Adam ends ~35% above
    # full Adam (8-bit matches it); the curves still agree early and in trend
    np.testing.assert_allclose(four[:25], full[:25], rtol=0.05)
    assert four[-1] < 1.5 * full[-1]
    w = torch.nn.Parameter(torch.randn(512, 512))
    w32 = torch.nn.Parameter(w.detach().clone())
    a4, a32 = optim.create("adam4bit", [w]), optim.create("adam", [w32])
    for p, opt in ((w, a4), (w32, a32)):
        p.grad = torch.randn(512, 512)
        opt.step()
    assert optim.state_bytes(a4) / optim.state_bytes(a32) < 0.14


def test_4bit_quantizers_round_trip_within_their_resolution():
    from qworkbench.optim._adam4bit import _LINEAR, rank1_scales
    from qworkbench.optim._quant import dynamic_map, nearest_code, pack4, unpack4

    g = torch.Generator().manual_seed(3)
    codes = torch.randint(0, 16, (1001,), generator=g, dtype=torch.uint8)
    assert torch.equal(unpack4(pack4(codes), 1001), codes)
    table = dynamic_map(True, 4)
    assert len(table) == 16 and table.min() == -1 and table.max() == 1
    x = torch.rand(5000, generator=g) * 2 - 1
    y = table[nearest_code(x, table).long()]
    assert (x - y).abs().max() <= (table[1:] - table[:-1]).max() / 2 + 1e-7
    v = torch.rand(64, 32, generator=g) ** 4
    scaled = v / rank1_scales(v)
    assert scaled.max() <= 1.0 + 1e-6
    back = _LINEAR[nearest_code(scaled.reshape(-1), _LINEAR).long()].reshape(v.shape)
    assert back.min() > 0  # zero-point free: no second moment becomes 0
    error = (back - scaled).abs()
    assert (error[scaled >= 1 / 16] <= 1 / 32 + 1e-6).all()  # half the grid spacing
    assert (error <= 1 / 16 + 1e-6).all()  # below the first code: rounded up to it


def test_subset_norm_steps_equal_the_formula_and_learn():
    """Two steps against the paper's update computed with NumPy (SVD basis included)."""
    rng = np.random.default_rng(20)
    w0 = rng.normal(size=(6, 10))
    grads = [rng.normal(size=(6, 10)) for _ in range(2)]
    w = torch.nn.Parameter(torch.tensor(w0))
    opt = optim.create("subset_norm", [w], lr=0.1, momentum=0.9, rank=2, update_proj_gap=5)
    acc, m, expected = np.zeros(6), np.zeros((2, 10)), w0.copy()
    basis = np.linalg.svd(grads[0], full_matrices=False)[0][:, :2]  # fixed for 5 steps
    for g in grads:
        w.grad = torch.tensor(g)
        opt.step()
        acc += (g**2).sum(axis=1)  # rows are the subsets (10 >= 6)
        low = basis.T @ g
        m = 0.9 * m + 0.1 * low
        direction = basis @ m + (g - basis @ low)
        expected -= 0.1 * direction / (np.sqrt(acc)[:, None] + 1e-8)
    np.testing.assert_allclose(w.detach().numpy(), expected, atol=1e-10)
    model = _mlp(21)
    losses = _train(model, optim.create("subset_norm", model.parameters(), lr=0.05), 80,
                    _data(21))  # fmt: skip
    assert losses[-1] < 0.5 * losses[0]
    big = torch.nn.Parameter(torch.randn(512, 512))
    sn = optim.create("subset_norm", [big], rank=16)
    big.grad = torch.randn(512, 512)
    sn.step()
    # 512 shared accumulators + a 512 x 16 basis + 16 x 512 momentum vs Adam's 2 x 512^2
    assert optim.state_bytes(sn) < 0.07 * (2 * 512 * 512 * 4)
