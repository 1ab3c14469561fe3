"""SPSA (Spall 1992, 1998) and Adam-SPSA as ``torch.optim.Optimizer``s.

Simultaneous-perturbation gradient estimate with Rademacher directions Delta:
    g_k = (f(x + c_k Delta) - f(x - c_k Delta)) / (2 c_k) * Delta,
with Spall's gains a_k = a / (k + 1 + A)^alpha and c_k = c / (k + 1)^gamma
(alpha = 0.602, gamma = 0.101, Spall 1998, "Implementation of the simultaneous
perturbation algorithm for stochastic optimization", IEEE TAES 34(3), Sec. III).
Adam-SPSA feeds g_k to Adam's moments (Kingma & Ba 2015), as CRLQAS does for
noisy angle fitting.
"""

from __future__ import annotations

import math
from collections.abc import Callable

import torch

__all__ = ["SPSA", "AdamSPSA", "spsa_gradient"]


def _check(value, name: str, low: float = 0.0, strict: bool = True) -> float:
    value = float(value)
    if not math.isfinite(value) or (value <= low if strict else value < low):
        relation = ">" if strict else ">="
        raise ValueError(f"{name} must be finite and {relation} {low}, got {value}")
    return value


def _generator(state: dict, seed: int | None) -> torch.Generator:
    """The optimizer's own generator, restored from ``state`` when it holds one."""
    gen = torch.Generator()
    if "rng_state" in state:
        # load_state_dict casts state tensors to the parameters' dtype; bytes survive exactly
        gen.set_state(state["rng_state"].to(torch.uint8))
    else:
        gen.manual_seed(int(seed) if seed is not None else torch.seed() % 2**63)
    return gen


@torch.no_grad()
def spsa_gradient(
    params: list[torch.Tensor],
    closure: Callable[[], torch.Tensor],
    c_k: float,
    generator: torch.Generator,
    resamplings: int = 1,
) -> tuple[list[torch.Tensor], float, int]:
    """SPSA gradient estimates for ``params`` (averaged over ``resamplings``), the mean of
    the evaluated losses, and the number of closure calls. Params are restored."""
    grads = [torch.zeros_like(p) for p in params]
    total, calls = 0.0, 0
    for _ in range(resamplings):
        deltas = [
            torch.randint(0, 2, p.shape, generator=generator, dtype=torch.int64).to(p.dtype) * 2 - 1
            for p in params
        ]
        for p, d in zip(params, deltas):
            p.add_(d, alpha=c_k)
        plus = float(closure())
        for p, d in zip(params, deltas):
            p.add_(d, alpha=-2 * c_k)
        minus = float(closure())
        for p, d in zip(params, deltas):
            p.add_(d, alpha=c_k)
        if not (math.isfinite(plus) and math.isfinite(minus)):
            raise ValueError(f"objective returned a non-finite value ({plus}, {minus})")
        scale = (plus - minus) / (2 * c_k * resamplings)
        for g, d in zip(grads, deltas):
            g.add_(d, alpha=scale)
        total += (plus + minus) / 2
        calls += 2
    return grads, total / resamplings, calls


class _SPSABase(torch.optim.Optimizer):
    """Shared bookkeeping: gains, the generator and its checkpointed state."""

    def __init__(self, params, defaults: dict, seed: int | None):
        super().__init__(params, defaults)
        self._seed = seed

    def _group_generator(self, group) -> torch.Generator:
        first = group["params"][0]
        return _generator(self.state[first], self._seed)

    def _store(self, group, generator: torch.Generator, k: int) -> None:
        first = self.state[group["params"][0]]
        first["rng_state"] = generator.get_state()
        first["k"] = k

    def _k(self, group) -> int:
        return int(self.state[group["params"][0]].get("k", 0))


class SPSA(_SPSABase):
    """Spall's SPSA. ``lr`` is the gain numerator ``a``; ``perturbation`` is ``c``.

    Args:
        lr: a (default 0.1); with ``calibrate=True`` it is set from the first gradients
            so that the first step has size ``target_step`` (Spall 1998, Sec. III.B).
        perturbation: c, the perturbation size (about the objective's noise std).
        alpha, gamma: gain exponents (0.602, 0.101).
        stability: A, about 10% of the expected iterations.
        resamplings: gradient estimates averaged per step.
        seed: seed of the perturbation directions (reproducible, checkpointed).

    ``step(closure)`` needs a closure that returns the loss at the current parameters.
    """

    def __init__(self, params, lr=0.1, perturbation=0.1, alpha=0.602, gamma=0.101,
                 stability=10.0, resamplings=1, calibrate=False, target_step=0.2,
                 calibration_steps=10, seed=None):  # fmt: skip
        defaults = {
            "lr": _check(lr, "lr"),
            "perturbation": _check(perturbation, "perturbation"),
            "alpha": _check(alpha, "alpha"),
            "gamma": _check(gamma, "gamma"),
            "stability": _check(stability, "stability", strict=False),
            "resamplings": int(_check(resamplings, "resamplings")),
            "calibrate": bool(calibrate),
            "target_step": _check(target_step, "target_step"),
            "calibration_steps": int(_check(calibration_steps, "calibration_steps")),
        }
        super().__init__(params, defaults, seed)

    @torch.no_grad()
    def step(self, closure=None):
        if closure is None:
            raise ValueError("SPSA needs a closure that returns the loss")
        loss = None
        for group in self.param_groups:
            params = group["params"]
            gen = self._group_generator(group)
            k = self._k(group)
            if group["calibrate"] and k == 0:
                group["lr"] = _calibrated_gain(params, closure, group, gen)
            a_k = group["lr"] / (k + 1 + group["stability"]) ** group["alpha"]
            c_k = group["perturbation"] / (k + 1) ** group["gamma"]
            grads, loss, _ = spsa_gradient(params, closure, c_k, gen, group["resamplings"])
            for p, g in zip(params, grads):
                p.add_(g, alpha=-a_k)
            self._store(group, gen, k + 1)
        return torch.tensor(loss)


def _calibrated_gain(params, closure, group, gen) -> float:
    """a such that a / (1 + A)^alpha * mean|g| = target_step."""
    c = group["perturbation"]
    magnitudes = []
    for _ in range(group["calibration_steps"]):
        grads, _, _ = spsa_gradient(params, closure, c, gen)
        magnitudes.append(sum(float(g.abs().mean()) for g in grads) / len(grads))
    mean = max(sum(magnitudes) / len(magnitudes), 1e-12)
    return group["target_step"] * (1 + group["stability"]) ** group["alpha"] / mean


class AdamSPSA(_SPSABase):
    """SPSA gradient estimates fed to Adam moments (bias-corrected).

    Args:
        lr: Adam's step size (default 0.01).
        perturbation, gamma: SPSA's c and its decay exponent.
        betas, eps: Adam's.
        resamplings, seed: as in :class:`SPSA`.
    """

    def __init__(self, params, lr=0.01, perturbation=0.1, gamma=0.101, betas=(0.9, 0.999),
                 eps=1e-8, resamplings=1, seed=None):  # fmt: skip
        b1, b2 = betas
        defaults = {
            "lr": _check(lr, "lr"),
            "perturbation": _check(perturbation, "perturbation"),
            "gamma": _check(gamma, "gamma", strict=False),
            "betas": (_check(b1, "beta1", strict=False), _check(b2, "beta2", strict=False)),
            "eps": _check(eps, "eps"),
            "resamplings": int(_check(resamplings, "resamplings")),
        }
        if not (b1 < 1 and b2 < 1):
            raise ValueError(f"betas must be below 1, got {betas}")
        super().__init__(params, defaults, seed)

    @torch.no_grad()
    def step(self, closure=None):
        if closure is None:
            raise ValueError("AdamSPSA needs a closure that returns the loss")
        loss = None
        for group in self.param_groups:
            params = group["params"]
            gen = self._group_generator(group)
            k = self._k(group)
            c_k = group["perturbation"] / (k + 1) ** group["gamma"]
            grads, loss, _ = spsa_gradient(params, closure, c_k, gen, group["resamplings"])
            b1, b2 = group["betas"]
            for p, g in zip(params, grads):
                state = self.state[p]
                m = state.setdefault("exp_avg", torch.zeros_like(p))
                v = state.setdefault("exp_avg_sq", torch.zeros_like(p))
                m.mul_(b1).add_(g, alpha=1 - b1)
                v.mul_(b2).addcmul_(g, g, value=1 - b2)
                m_hat = m / (1 - b1 ** (k + 1))
                v_hat = v / (1 - b2 ** (k + 1))
                p.addcdiv_(m_hat, v_hat.sqrt().add_(group["eps"]), value=-group["lr"])
            self._store(group, gen, k + 1)
        return torch.tensor(loss)
