"""Parameter groups for the low-rank methods, as the GaLore and APOLLO recipes build them.

Both papers' training scripts project only the weights of the ``nn.Linear`` layers
inside the transformer blocks (GaLore's ``target_modules_list = ["attn", "mlp"]``);
embeddings, the output head, norms and biases train with plain AdamW. Projecting every
2-D parameter instead (what ``model.parameters()`` gives) also projects the embedding
and head, and at a rank near a matrix's own size keeps more state than AdamW.
"""

from __future__ import annotations

import torch

from qworkbench.optim._base import capped_rank

__all__ = ["param_groups"]

#: the flags that turn projection off in a group, one per method family
_PLAIN = {"galore": False, "apollo": False}


def param_groups(model: torch.nn.Module, *, rank: int | None = None, **hyper) -> list[dict]:
    """Two parameter groups for ``galore_adamw``, ``q_galore_adamw``, ``apollo``,
    ``apollo_mini`` (and galore-torch / apollo-torch, which read the same keys).

    The projected group holds the weights of every ``nn.Linear`` except the last one
    (the head), at ``rank`` (default: a quarter of the smallest such weight's smaller
    side, at least 1), with ``hyper`` (``update_proj_gap``, ``scale``, ...). A weight is
    projected only where moments plus projector stay below AdamW's two moments (so a
    rank at or above its smaller side never projects it). Everything else (embeddings,
    head, norms, biases, other parameters) goes to the plain group, with the methods'
    projection flags off. Both groups carry ``param_names``, so errors name parameters.

    Examples:
        >>> import torch
        >>> from qworkbench import optim
        >>> model = torch.nn.Sequential(torch.nn.Embedding(50, 32), torch.nn.Linear(32, 64),
        ...                             torch.nn.ReLU(), torch.nn.Linear(64, 50))
        >>> projected, plain = optim.param_groups(model, rank=8)
        >>> projected["param_names"], plain["param_names"]
        (['1.weight'], ['0.weight', '1.bias', '3.weight', '3.bias'])
        >>> opt = optim.create("galore_adamw", [projected, plain], lr=1e-3)
    """
    if not isinstance(model, torch.nn.Module):
        raise TypeError(f"model must be a torch.nn.Module, got {type(model).__name__}")
    if rank is not None and (isinstance(rank, bool) or not isinstance(rank, int) or rank < 1):
        raise ValueError(f"rank must be a positive integer, got {rank!r}")
    for key in ("params", "param_names", "galore", "apollo"):
        if key in hyper:
            raise ValueError(f"param_groups sets {key!r} itself; got {key}={hyper[key]!r}")
    linears = [m for m in model.modules() if isinstance(m, torch.nn.Linear)]
    candidates = {id(m.weight) for m in linears[:-1]}
    if rank is None:
        sides = [min(m.weight.shape) for m in linears[:-1]]
        rank = max(1, min(sides) // 4) if sides else 1
    names = {id(p): n for n, p in model.named_parameters()}
    projected, plain = [], []
    for p in model.parameters():
        projects = (id(p) in candidates and p.ndim == 2
                    and capped_rank(p.shape, rank, _std_side(p.shape)) is not None)  # fmt: skip
        (projected if projects else plain).append(p)
    return [
        {"params": projected, "param_names": [names[id(p)] for p in projected], "rank": rank,
         **hyper},
        {"params": plain, "param_names": [names[id(p)] for p in plain], **_PLAIN},
    ]  # fmt: skip


def _std_side(shape) -> str:
    """GaLore's default side: project the smaller dimension (with its stored projector)."""
    return "right" if shape[0] >= shape[1] else "left"
