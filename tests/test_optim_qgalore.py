"""Q-GaLore-AdamW and INT8 weights: against galore-torch (quantization made exact) and
q-galore-torch's projector (INT4 and the adaptive gap), quantizer bounds, unbiased
stochastic rounding, state bytes, learning and checkpoints.

q-galore-torch 1.0's own optimizer class (``QGaLoreAdamW8bit``) passes bitsandbytes
arguments by position in an older order; under bitsandbytes 0.50 its low-rank updates
are clipped to zero on the CPU (the weight matrices never move). The reference here is
therefore its ``GaLoreProjector`` (INT4 quantization and the layer-adaptive gap) inside
galore-torch's ``GaLoreAdamW``, which is that class's algorithm with float32 moments.
"""

from __future__ import annotations

import io
import math
import warnings
from unittest import mock

import numpy as np
import pytest
import torch

from qworkbench import optim
from qworkbench.optim._quant import dequantize_affine, quantize_affine
from qworkbench.optim._qweights import dequantize_int, quantize_int

from .conftest import regression_data as _data
from .conftest import small_mlp as _mlp
from .conftest import train_steps as _train

HYPER = {"rank": 8, "update_proj_gap": 5, "scale": 0.25, "proj_type": "std"}
EXACT = {"proj_bits": None, "cos_threshold": None, "moment_bits": 32}


def _groups(model, **hyper):
    """Vectors unprojected, matrices projected (the same split for every optimizer)."""
    vectors = [p for p in model.parameters() if p.ndim != 2]
    matrices = [p for p in model.parameters() if p.ndim == 2]
    return [{"params": vectors, "galore": False}, {"params": matrices, **HYPER, **hyper}]


def _ours(model, **hyper):
    return optim.create("q_galore_adamw", _groups(model, **hyper), lr=3e-3)


def _matrices(model):
    return [p for p in model.parameters() if p.ndim == 2]


# -- against the references -----------------------------------------------------------------
@pytest.mark.parametrize("proj_type", ["std", "left", "right", "full"])
def test_exact_quantization_is_galore_bit_for_bit(proj_type):
    data = _data()
    a, b = _mlp(1), _mlp(1)
    q_galore = _ours(a, proj_type=proj_type, **EXACT)
    galore = optim.create("galore_adamw", _groups(b, proj_type=proj_type), lr=3e-3)
    np.testing.assert_array_equal(_train(a, q_galore, 25, data), _train(b, galore, 25, data))


def test_exact_quantization_matches_galore_torch():
    galore_torch = pytest.importorskip("galore_torch")
    data = _data()
    ours_model, ref_model = _mlp(1), _mlp(1)
    ours = _ours(ours_model, **EXACT)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        ref = galore_torch.GaLoreAdamW(
            [{"params": [p for p in ref_model.parameters() if p.ndim != 2]},
             {"params": _matrices(ref_model), **HYPER}], lr=3e-3,
        )  # fmt: skip
    np.testing.assert_allclose(_train(ours_model, ours, 30, data),
                               _train(ref_model, ref, 30, data), rtol=1e-4)  # fmt: skip


def _reference(model, quant: bool, group: int, monkeypatch):
    """galore-torch's GaLoreAdamW running q-galore-torch's projector (patched in for the
    whole test: galore-torch builds projectors lazily, in ``step``)."""
    galore_torch = pytest.importorskip("galore_torch")
    pytest.importorskip("q_galore_torch")
    from q_galore_torch.q_galore_projector import GaLoreProjector

    def projector(rank, update_proj_gap, scale, proj_type):
        return GaLoreProjector(rank, update_proj_gap=update_proj_gap, scale=scale,
                               proj_type=proj_type, quant=quant, group_size=group, n_bit=4,
                               cos_threshold=0.4, gamma_proj=2, queue_size=5)  # fmt: skip

    monkeypatch.setattr(galore_torch.adamw, "GaLoreProjector", projector)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return galore_torch.GaLoreAdamW(
            [{"params": [p for p in model.parameters() if p.ndim != 2]},
             {"params": _matrices(model), **HYPER}], lr=3e-3,
        )  # fmt: skip


@pytest.mark.parametrize("quant", [False, True])
def test_tracks_q_galore_torch(quant, monkeypatch):
    """Same model, data and seed: the adaptive gap schedule is the reference's, and the
    loss curve equals it with float projectors, within 5% with INT4 ones (the two INT4
    quantizers differ: the reference rounds and clips its zero point, ours keeps the
    group minimum in float)."""
    data = _data()
    group = 64  # divides every projector size here, which the reference requires
    ours_model, ref_model = _mlp(1), _mlp(1)
    ours = _ours(ours_model, proj_bits=4 if quant else None, proj_group=group, moment_bits=32)
    ref = _reference(ref_model, quant, group, monkeypatch)
    ours_losses = _train(ours_model, ours, 60, data)
    ref_losses = _train(ref_model, ref, 60, data)
    ours_gaps = [ours.state[p]["proj_gap"] for p in _matrices(ours_model)]
    ref_gaps = [ref.state[p]["projector"].update_proj_gap for p in _matrices(ref_model)]
    assert ours_gaps == ref_gaps
    assert min(ours_gaps) > HYPER["update_proj_gap"]  # the schedule did adapt
    np.testing.assert_allclose(ours_losses, ref_losses, rtol=0.05 if quant else 1e-4)
    assert ours_losses[-1] < 0.8 * ours_losses[0]


# -- quantizers -----------------------------------------------------------------------------
@pytest.mark.parametrize("bits", [4, 8])
def test_projector_quantization_round_trip_within_bound(bits):
    g = torch.Generator().manual_seed(0)
    _, _, vh = torch.linalg.svd(torch.randn(300, 200, generator=g), full_matrices=False)
    projector = vh[:40]  # 40 x 200, not a multiple of the group
    q = quantize_affine(projector, bits, group=256)
    error = (dequantize_affine(q) - projector).abs().reshape(-1)
    bound = q.step.repeat_interleave(256)[: len(error)] / 2
    assert torch.all(error <= bound * (1 + 1e-5) + 1e-7)
    assert error.max() > 0.5 * bound.max()  # the bound is tight, so it says something
    if bits == 4:
        assert q.codes.dtype == torch.uint8 and q.codes.numel() == projector.numel() // 2


def test_stochastic_rounding_is_unbiased():
    g = torch.Generator().manual_seed(0)
    x = torch.tensor([0.1, 0.5, 2.3, -1.7, -0.02, 3.99])
    draws = 20_000
    mean = optim.stochastic_round(x.repeat(draws, 1), generator=g).mean(0)
    frac = x - x.floor()
    sigma = torch.sqrt(frac * (1 - frac) / draws)
    assert torch.all((mean - x).abs() <= 5 * sigma + 1e-6)
    # the same check catches a biased rounding: nearest rounding fails it
    assert torch.any((x.round() - x).abs() > 5 * sigma + 1e-6)


def test_int8_requantization_is_unbiased_and_bounded():
    g = torch.Generator().manual_seed(1)
    w = torch.randn(16, 40, generator=g)
    codes, scale = quantize_int(w, 8, block=16, stochastic=False)
    nearest = dequantize_int(codes, scale, 16, torch.float32)
    step = scale.repeat_interleave(16, dim=1)[:, :40]
    assert torch.all((nearest - w).abs() <= step / 2 * (1 + 1e-5))
    draws = torch.stack([
        dequantize_int(*quantize_int(w, 8, 16, generator=g), 16, torch.float32)
        for _ in range(2000)
    ])  # fmt: skip
    assert torch.all((draws - w).abs() <= step * (1 + 1e-5))  # one of the two neighbours
    sigma = step / 2 / math.sqrt(len(draws))
    assert torch.all((draws.mean(0) - w).abs() <= 5 * sigma)


# -- memory, learning, checkpoints ----------------------------------------------------------
def test_state_bytes_for_512_square_rank_128():
    ratios = {}
    for name, hyper in (("adamw", {}), ("galore_adamw", {"rank": 128}),
                        ("q_galore_adamw", {"rank": 128}),
                        ("q_galore_adamw", {"rank": 128, "moment_bits": 32})):  # fmt: skip
        torch.manual_seed(0)
        w = torch.nn.Parameter(torch.randn(512, 512))
        opt = optim.create(name, [w], **hyper)
        w.grad = torch.randn(512, 512)
        opt.step()
        ratios[name + str(hyper.get("moment_bits", ""))] = optim.state_bytes(opt)
        if name == "q_galore_adamw":
            assert opt.state[w]["projector_codes"].numel() == 128 * 512 // 2  # INT4, packed
    adamw = ratios["adamw"]
    assert ratios["galore_adamw"] / adamw == pytest.approx(0.375, abs=0.005)
    # INT4 projector: 0.5 bytes per entry (+ 8 bytes per 256); 8-bit moments, 1 byte each
    assert ratios["q_galore_adamw"] / adamw == pytest.approx(0.080, abs=0.002)
    assert ratios["q_galore_adamw32"] / adamw == pytest.approx(0.267, abs=0.002)


@pytest.mark.slow  # ~5 s of training
def test_learns_with_int8_weights_and_8bit_moments():
    torch.manual_seed(2)
    model = torch.nn.Sequential(torch.nn.Linear(32, 256), torch.nn.Tanh(),
                                torch.nn.Linear(256, 8))  # fmt: skip
    opt = optim.create("q_galore_adamw", model.parameters(), lr=3e-3, rank=32,
                       update_proj_gap=10, min_8bit_size=1024)  # fmt: skip
    weights = optim.quantize_weights(model, bits=8, optimizer=opt)
    losses = _train(model, opt, 120, _data(3))
    assert losses[-1] < 0.5 * losses[0]
    first = model[0]
    assert first.weight_int8.dtype == torch.int8
    assert "m_codes" in opt.state[first.weight]  # 256 x 32 moments in 8 bits
    # between steps the float copy is released; forward rebuilds it from the codes
    assert first.weight.numel() == 0
    model(torch.zeros(1, 32))
    step = first.weight_scale.repeat_interleave(256, dim=1)[:, :32]
    assert torch.equal(first.weight, first.weight_int8.float() * step)
    weights.dequantize()
    assert first.weight.shape == (256, 32) and not hasattr(first, "weight_int8")


def test_checkpoint_continues_identically():
    data = _data(4)
    hyper = {"rank": 4, "update_proj_gap": 2, "queue_size": 2, "proj_group": 64,
             "min_8bit_size": 128}  # fmt: skip

    def build(seed):
        model = _mlp(seed)
        opt = optim.create("q_galore_adamw", model.parameters(), lr=3e-3, **hyper)
        return model, opt, optim.quantize_weights(model, bits=8, optimizer=opt, seed=3)

    model, opt, weights = build(5)
    _train(model, opt, 7, data)
    buffer = io.BytesIO()
    torch.save({"model": model.state_dict(), "opt": opt.state_dict(),
                "weights": weights.state_dict()}, buffer)  # fmt: skip
    expected = _train(model, opt, 9, data)
    assert any(state.get("proj_gap", 0) > 2 for state in opt.state.values())  # gaps grew
    buffer.seek(0)
    saved = torch.load(buffer)
    resumed_model, resumed, resumed_weights = build(99)
    resumed_model.load_state_dict(saved["model"])
    resumed.load_state_dict(saved["opt"])
    resumed_weights.load_state_dict(saved["weights"])
    np.testing.assert_array_equal(_train(resumed_model, resumed, 9, data), expected)


def test_adaptive_gap_skips_svds_only_for_a_settled_subspace():
    g = torch.Generator().manual_seed(0)
    fixed = torch.randn(64, 48, generator=g)
    for settled in (True, False):
        w = torch.nn.Parameter(torch.zeros(64, 48))
        opt = optim.create("q_galore_adamw", [w], rank=4, update_proj_gap=2, queue_size=3)
        real = optim._qgalore.galore_projector
        with mock.patch.object(optim._qgalore, "galore_projector", side_effect=real) as svd:
            for _ in range(40):
                w.grad = fixed if settled else torch.randn(64, 48, generator=g)
                opt.step()
        if settled:
            assert opt.state[w]["proj_gap"] >= 8 and svd.call_count < 12
        else:
            assert opt.state[w]["proj_gap"] == 2 and svd.call_count == 20


def test_registry_and_validation():
    assert "q_galore_adamw" in optim.available()
    w = [torch.nn.Parameter(torch.zeros(4, 4))]
    bad = [{"lr": float("nan")}, {"weight_decay": float("inf")}, {"eps": float("inf")},
           {"scale": float("nan")}, {"proj_bits": 3}, {"proj_bits": True},
           {"cos_threshold": float("nan")}, {"cos_threshold": 1.5},
           {"gamma_proj": float("inf")}, {"gamma_proj": 0.5}, {"queue_size": 0},
           {"moment_bits": 16}, {"proj_group": 1}, {"rank": 0}]  # fmt: skip
    for hyper in bad:
        with pytest.raises(ValueError, match=next(iter(hyper))):
            optim.create("q_galore_adamw", w, **hyper)
    model = torch.nn.Sequential(torch.nn.Linear(4, 4))
    for bits in (0, 1, 9, 16, 8.0, True, "8"):
        with pytest.raises(ValueError, match="bits"):
            optim.quantize_weights(model, bits=bits)
    with pytest.raises(ValueError, match="block"):
        optim.quantize_weights(model, block=0)
    with pytest.raises(ValueError, match="nn.Linear"):
        optim.quantize_weights(torch.nn.Sequential(torch.nn.Tanh()))
    with pytest.raises(TypeError, match="Module"):
        optim.quantize_weights([torch.zeros(2, 2)])


# -- the 8-bit optimizer's O(1) code lookup -------------------------------------------------
@pytest.mark.parametrize("signed", [True, False])
def test_code_lookup_equals_binary_search(signed):
    import numba

    from qworkbench.optim._adam8bit import _nearest, _nearest_lookup
    from qworkbench.optim._quant import code_lookup, dynamic_map, nearest_code

    @numba.njit
    def both(table, lookup, xs):
        out = np.empty((2, len(xs)), np.int64)
        bits = xs.view(np.uint32)
        for i in range(len(xs)):
            out[0, i] = _nearest(table, xs[i])
            out[1, i] = _nearest_lookup(table, lookup, xs[i], bits[i])
        return out

    table = dynamic_map(signed).numpy()
    rng = np.random.default_rng(0)
    sign = rng.choice([-1.0, 1.0], 300_000) if signed else 1.0
    mids = (table[1:] + table[:-1]) / 2  # the decision boundaries and their neighbours
    xs = np.concatenate([
        rng.uniform(-1 if signed else 0, 1, 300_000),
        sign * 10.0 ** rng.uniform(-9, 0, 300_000),
        table, mids, np.nextafter(mids, -2), np.nextafter(mids, 2),
        np.nextafter(table, -2), np.nextafter(table, 2), [0.0, -0.0, 1.0, -1.0, 1e-38, 1e-45],
    ]).astype(np.float32)  # fmt: skip
    search, lookup = both(table, code_lookup(signed), xs)
    np.testing.assert_array_equal(lookup, search)
    # torch's searchsorted version agrees on the normalized range (it compares absolute
    # distances, so just above 1 it keeps the lower of the two 1.0 entries)
    inside = np.abs(xs) <= 1
    torch_codes = nearest_code(torch.from_numpy(xs[inside]), dynamic_map(signed))
    np.testing.assert_array_equal(lookup[inside], torch_codes.numpy())


def test_8bit_moments_fused_and_tensor_paths_agree():
    """Low-rank 8-bit moments take 8-bit Adam's fused CPU pass for contiguous float32
    gradients and the tensor-operation path otherwise; both give the same direction."""
    from qworkbench.optim._qgalore import _direction

    group = {"betas": (0.9, 0.999), "eps": 1e-6, "moment_bits": 8, "min_8bit_size": 0,
             "block": 256}  # fmt: skip
    g = torch.Generator().manual_seed(0)
    fused, tensor = {}, {}
    for step in range(1, 6):
        grad = torch.randn(96, 64, generator=g)
        a = _direction(fused, grad, group, step)
        b = _direction(tensor, grad.T.contiguous().T, group, step)  # not contiguous
        assert torch.linalg.norm(a - b) <= 1e-3 * torch.linalg.norm(b)
    assert fused["m_codes"].dtype == torch.uint8 and "exp_avg" not in fused


def test_8bit_adam_threaded_fused_pass_agrees_with_the_tensor_path():
    """A tensor above the threading threshold takes the fused pass split over two
    workers; a non-contiguous gradient sends its twin through the tensor operations."""
    import numba

    from qworkbench.optim._adam8bit import _PARALLEL_MIN, adam8bit_update

    group = {"lr": 1e-2, "betas": (0.9, 0.999), "eps": 1e-8, "weight_decay": 0.1,
             "block": 256, "min_8bit_size": 4096}  # fmt: skip
    g = torch.Generator().manual_seed(1)
    rows = _PARALLEL_MIN // 256 + 3
    fused_p = torch.randn(rows, 256, generator=g)
    tensor_p = fused_p.clone()
    fused, tensor = {}, {}
    threads = numba.get_num_threads()
    numba.set_num_threads(min(2, numba.config.NUMBA_NUM_THREADS))
    try:
        for _ in range(4):
            grad = torch.randn(rows, 256, generator=g)
            adam8bit_update(fused_p, grad, fused, group)
            adam8bit_update(tensor_p, grad.T.contiguous().T, tensor, group)
    finally:
        numba.set_num_threads(threads)
    assert "m_codes" in fused and fused["m_codes"].dtype == torch.uint8
    moved = torch.linalg.norm(tensor_p - fused_p) / torch.linalg.norm(tensor_p)
    assert moved <= 1e-5
    same = (fused["m_codes"] == tensor["m_codes"].reshape(-1)).float().mean()
    assert same >= 0.999
