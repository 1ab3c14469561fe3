"""Issue 16 items 8, 9, 17 and issue 18 item 5's keyword names: param_groups and the
rank cap against galore-torch / apollo-torch, minimize's gradient estimates against
SciPy, a NaN gradient into GaLore, and the reference packages' keyword names."""

from __future__ import annotations

import warnings

import numpy as np
import pytest
import scipy.optimize
import torch

from qworkbench import optim

from .conftest import regression_data as _data
from .conftest import small_mlp as _mlp
from .conftest import train_steps as _train


class _Tiny(torch.nn.Module):
    """Embedding, two blocks of linear layers with a norm, head: the recipes' shape."""

    def __init__(self):
        super().__init__()
        torch.manual_seed(0)
        self.embed = torch.nn.Embedding(40, 32)
        self.blocks = torch.nn.ModuleList(
            torch.nn.ModuleDict(
                {
                    "norm": torch.nn.LayerNorm(32),
                    "up": torch.nn.Linear(32, 64),
                    "down": torch.nn.Linear(64, 32),
                }
            )  # fmt: skip
            for _ in range(2)
        )
        self.head = torch.nn.Linear(32, 40, bias=False)


def test_param_groups_select_the_blocks_linear_weights():
    projected, plain = optim.param_groups(_Tiny(), rank=8, update_proj_gap=10)
    assert projected["param_names"] == [f"blocks.{k}.{n}.weight" for k in (0, 1)
                                        for n in ("up", "down")]  # fmt: skip
    assert projected["rank"] == 8 and projected["update_proj_gap"] == 10
    assert "embed.weight" in plain["param_names"] and "head.weight" in plain["param_names"]
    assert plain["galore"] is False and plain["apollo"] is False and "rank" not in plain
    # a rank at or above a matrix's smaller side never projects it
    projected, _ = optim.param_groups(_Tiny(), rank=32)
    assert projected["params"] == []
    with pytest.raises(ValueError, match="rank"):
        optim.param_groups(_Tiny(), rank=0)
    with pytest.raises(TypeError, match="Module"):
        optim.param_groups([torch.zeros(2)], rank=2)


def test_param_groups_galore_matches_galore_torch_and_saves_memory():
    galore_torch = pytest.importorskip("galore_torch")
    data = _data(30)
    ours_model, ref_model, adamw_model = _mlp(31), _mlp(31), _mlp(31)
    hyper = {"rank": 8, "update_proj_gap": 5, "scale": 0.25, "proj_type": "std"}
    ours = optim.create("galore_adamw", optim.param_groups(ours_model, **hyper), lr=3e-3)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        ref = galore_torch.GaLoreAdamW(optim.param_groups(ref_model, **hyper), lr=3e-3)
    adamw = optim.create("adamw", adamw_model.parameters(), lr=3e-3)
    ours_losses, ref_losses = _train(ours_model, ours, 30, data), _train(ref_model, ref, 30, data)
    _train(adamw_model, adamw, 1, data)
    np.testing.assert_allclose(ours_losses, ref_losses, rtol=1e-4)
    assert ours_losses[-1] < 0.9 * ours_losses[0]
    assert optim.state_bytes(ours) < optim.state_bytes(adamw)


def test_param_groups_apollo_tracks_apollo_torch():
    apollo_torch = pytest.importorskip("apollo_torch")
    data = _data(32)
    ours_model, ref_model = _mlp(33), _mlp(33)
    hyper = {"rank": 8, "update_proj_gap": 10, "scale": 1.0, "scale_type": "channel",
             "proj": "random", "proj_type": "std"}  # fmt: skip
    ours = optim.create("apollo", optim.param_groups(ours_model, **hyper), lr=3e-3)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        ref = apollo_torch.APOLLOAdamW(optim.param_groups(ref_model, **hyper), lr=3e-3)
    np.testing.assert_allclose(_train(ours_model, ours, 60, data),
                               _train(ref_model, ref, 60, data), rtol=0.02)  # fmt: skip


@pytest.mark.parametrize("name", ["galore_adamw", "apollo", "q_galore_adamw"])
def test_default_rank_is_capped_with_one_warning(name):
    """Issue 16 item 8: a 64-128-256 model with the default rank (128 / 256) kept more
    state than AdamW; now those matrices stay unprojected, with one warning."""
    torch.manual_seed(0)
    model = torch.nn.Sequential(torch.nn.Linear(64, 128), torch.nn.ReLU(),
                                torch.nn.Linear(128, 256))  # fmt: skip
    twin = torch.nn.Sequential(torch.nn.Linear(64, 128), torch.nn.ReLU(),
                               torch.nn.Linear(128, 256))  # fmt: skip
    with pytest.warns(UserWarning, match="2 matrices .* not projected") as record:
        opt = optim.create(name, model.parameters())
    assert len(record) == 1
    adamw = optim.create("adamw", twin.parameters())
    x = torch.randn(8, 64)
    for m, o in ((model, opt), (twin, adamw)):
        m(x).square().mean().backward()
        o.step()
    assert optim.state_bytes(opt) <= optim.state_bytes(adamw)
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # an explicit rank is kept, silently
        optim.create(name, model.parameters(), rank=8)
        optim.create(name, model.parameters(), rank=512, rank_cap=False)


def test_nan_gradient_into_galore_names_parameter_and_step():
    model = _mlp(34)
    opt = optim.create("galore_adamw", model.parameters(), rank=4, update_proj_gap=1)
    x, y = _data(34)
    torch.nn.functional.mse_loss(model(x), y).backward()
    opt.step()
    model[0].weight.grad.fill_(float("nan"))
    with pytest.raises(ValueError, match=r"parameter 0 \(shape 64x32\) at step 2: .*NaN"):
        opt.step()  # the projector's refresh step
    named = optim.create("galore_adamw", optim.param_groups(model, rank=4, update_proj_gap=1))
    with pytest.raises(ValueError, match=r"'0.weight' \(shape 64x32\) at step 1"):
        named.step()


def test_minimize_without_jac_uses_central_differences_like_scipy():
    target = np.array([1.0, -2.0, 0.5])

    def f(x):
        return float(((x - target) ** 2).sum() + np.sin(x[0]) * x[1])

    x0 = np.array([0.3, 0.1, -0.4])
    # one SGD step of size 1 moves x by minus the gradient estimate
    one = optim.minimize(f, x0, method="sgd", maxiter=1, lr=1.0)
    assert one.jac_method == "central-difference"
    np.testing.assert_allclose(x0 - one.x, scipy.optimize.approx_fprime(x0, f, 1e-7),
                               rtol=1e-5, atol=1e-6)  # fmt: skip
    quadratic = optim.minimize(lambda x: float(((x - target) ** 2).sum()), x0, method="adam",
                               maxiter=400, lr=0.05)  # fmt: skip
    np.testing.assert_allclose(quadratic.x, target, atol=1e-3)
    assert quadratic.nfev >= 400 * 2 * 3  # the estimate's evaluations are counted
    given = optim.minimize(f, x0, method="adam", maxiter=2, jac=lambda x: 2 * (x - target))
    assert given.jac_method == "given"
    assert optim.minimize(f, x0, method="cobyla", maxiter=5).jac_method == ""


def test_minimize_parameter_shift_is_exact_for_rotation_angles():
    def energy(x):  # <Z> after RY(x0) and 0.5 <Z> after RY(x1): cos terms
        return float(np.cos(x[0]) + 0.5 * np.cos(x[1]))

    x0 = np.array([0.3, 1.1])
    one = optim.minimize(energy, x0, method="sgd", maxiter=1, lr=1.0, jac="parameter-shift")
    assert one.jac_method == "parameter-shift"
    np.testing.assert_allclose(x0 - one.x, [-np.sin(0.3), -0.5 * np.sin(1.1)], atol=1e-12)


def test_reference_keyword_names_are_accepted():
    w = [torch.nn.Parameter(torch.randn(64, 128))]
    assert optim.create("adam4bit", w, block_size=64).param_groups[0]["block"] == 64
    with pytest.raises(ValueError, match="block_size"):
        optim.create("adam4bit", w, block=32, block_size=64)
    assert optim.create("apollo_mini", w, scale_front=True).param_groups[0]["scale_front"]
    assert optim.create("muon", w, adjust_lr_fn=None).param_groups[0]["adjust_lr_fn"] == "original"
    with pytest.raises(ValueError, match="adjust_lr_fn"):
        optim.create("muon", w, adjust_lr_fn="rms")


@pytest.mark.parametrize(
    "adjust_lr_fn, ns_dtype",
    [("original", "bfloat16"), ("match_rms_adamw", "bfloat16"), ("match_rms_adamw", "float32")],
)
def test_muon_step_matches_torch_muon(adjust_lr_fn, ns_dtype):
    """torch.optim.Muon runs Newton-Schulz in bfloat16 on the full matrix; ours in
    bfloat16 (the default) or float32, on the smaller Gram side: the steps agree to
    bfloat16's precision."""
    if not hasattr(torch.optim, "Muon"):
        pytest.skip("torch.optim.Muon needs torch >= 2.9")
    g = torch.Generator().manual_seed(35)
    w0 = torch.randn(96, 40, generator=g)
    ours_w, ref_w = torch.nn.Parameter(w0.clone()), torch.nn.Parameter(w0.clone())
    hyper = {"lr": 0.02, "weight_decay": 0.1, "momentum": 0.95, "adjust_lr_fn": adjust_lr_fn}
    ours = optim.create("muon", [ours_w], ns_dtype=ns_dtype, **hyper)
    ref = torch.optim.Muon([ref_w], **hyper)
    for _ in range(3):
        grad = torch.randn(96, 40, generator=g)
        for p, o in ((ours_w, ours), (ref_w, ref)):
            p.grad = grad.clone()
            o.step()
    ours_delta, ref_delta = (ours_w - w0).detach(), (ref_w - w0).detach()
    assert torch.linalg.norm(ours_delta - ref_delta) <= 0.03 * torch.linalg.norm(ref_delta)


def test_muon_newton_schulz_in_bfloat16_equals_torch_on_square_matrices():
    """On a square matrix both run the same iteration in bfloat16: equal to rounding."""
    if not hasattr(torch.optim, "Muon"):
        pytest.skip("torch.optim.Muon needs torch >= 2.9")
    from torch.optim._muon import _zeropower_via_newtonschulz

    d = torch.randn(64, 64, generator=torch.Generator().manual_seed(3))
    ref = _zeropower_via_newtonschulz(d, (3.4445, -4.7750, 2.0315), 5, 1e-7).float()
    ours = optim.newton_schulz(d, dtype=torch.bfloat16).float()
    full = optim.newton_schulz(d).float()  # float32: differs by bfloat16's error
    assert torch.linalg.norm(ours - ref) <= 2e-3 * torch.linalg.norm(ref)
    assert torch.linalg.norm(full - ref) > 2e-3 * torch.linalg.norm(ref)


def test_fused_4bit_pass_equals_the_tensor_path():
    """The Numba pass and the tensor-operation path keep the same codes and scales."""
    from qworkbench.optim._adam4bit import _fused, adam4bit_update

    g = torch.Generator().manual_seed(36)
    group = {"lr": 1e-2, "betas": (0.9, 0.999), "eps": 1e-8, "weight_decay": 0.1, "block": 128}
    for shape in ((96, 70), (5001,), (8, 3, 17, 5)):
        fused_p = torch.randn(*shape, generator=g)
        tensor_p = fused_p.clone()
        fused, tensor = {}, {}
        for _ in range(5):
            grad = torch.randn(*shape, generator=g)
            _fused(fused_p, grad, fused, group)
            adam4bit_update(tensor_p, grad, tensor, group)
        torch.testing.assert_close(fused_p, tensor_p, rtol=0, atol=1e-5)
        for key in ("m_codes", "v_codes"):
            assert torch.equal(fused[key], tensor[key]), (shape, key)
        torch.testing.assert_close(fused["v_rows"], tensor["v_rows"])


def test_muon_newton_schulz_bfloat16_keeps_a_wide_spectrum_bounded():
    """A 256 x 682 matrix with singular values from 1 to 1e-6 (gradients decay like
    that): in bfloat16 the output's singular values stay below 1.25, as torch's do (the
    Gram-side form, used in float32, pushed them to 3.9 in bfloat16)."""
    g = torch.Generator().manual_seed(0)
    u, _ = torch.linalg.qr(torch.randn(256, 256, generator=g))
    v, _ = torch.linalg.qr(torch.randn(682, 256, generator=g))
    d = (u * torch.logspace(0, -6, 256)) @ v.T
    for dtype in (torch.bfloat16, torch.float32):
        for matrix in (d, d.T):
            top = torch.linalg.svdvals(optim.newton_schulz(matrix, dtype=dtype).float()).max()
            assert top < 1.25, (dtype, tuple(matrix.shape), float(top))
