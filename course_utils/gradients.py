"""How much gradient reaches each layer, from each term of the loss (lesson 02; useful for 03 too).

GoogLeNet's auxiliary classifiers were added, the paper says (Section 5), because
"the ability to propagate gradients back through all the layers in an effective
manner was a concern" in a 22-layer network without batch normalization.
:func:`loss_gradient_norms` measures exactly that on one batch: the norm of the
gradient of the main loss and of each auxiliary loss with respect to the weights
of chosen layers (by default every conv/linear weight of the named modules).
"""
from __future__ import annotations

from collections.abc import Sequence

import torch
from torch import Tensor, nn

from .models.base import AuxOutputs

__all__ = ["layer_weights", "loss_gradient_norms"]


def layer_weights(model: nn.Module, layer: str) -> list[Tensor]:
    """The conv and linear weights inside submodule ``layer`` (biases and BN parameters left out)."""
    module = model.get_submodule(layer)
    weights = [m.weight for m in module.modules() if isinstance(m, (nn.Conv2d, nn.Linear))]
    if not weights:
        raise ValueError(f"{layer!r} ({type(module).__name__}) holds no conv or linear weights.")
    return weights


def loss_gradient_norms(
    model: nn.Module, images: Tensor, targets: Tensor, layers: Sequence[str]
) -> dict[str, dict[str, float]]:
    """``{loss: {layer: gradient norm}}`` for the main loss and each auxiliary loss, on one batch.

    The model runs once in training mode (it must return ``AuxOutputs``); each loss
    (cross-entropy, unweighted: multiply by ``model.aux_loss_weight`` for its share
    of the total) is differentiated separately with ``torch.autograd.grad``. A layer
    an auxiliary loss does not reach (after its tap) gets 0.0. The model's
    ``.grad`` fields are left untouched.
    """
    weights = {name: layer_weights(model, name) for name in layers}
    was_training = model.training
    model.train()
    try:
        outputs = model(images)
    finally:
        model.train(was_training)
    if not isinstance(outputs, AuxOutputs):
        raise ValueError(
            "The model returned plain logits in training mode: build it with aux_logits=True to compare "
            "the main loss with the auxiliary losses."
        )
    criterion = nn.CrossEntropyLoss()
    losses = {"main": criterion(outputs.logits, targets)}
    names = list(getattr(model, "aux_head_names", ())) or [f"aux{i + 1}" for i in range(len(outputs.aux))]
    losses.update({name: criterion(aux, targets) for name, aux in zip(names, outputs.aux)})
    flat = [w for ws in weights.values() for w in ws]
    result: dict[str, dict[str, float]] = {}
    for i, (name, loss) in enumerate(losses.items()):
        grads = torch.autograd.grad(loss, flat, retain_graph=i < len(losses) - 1, allow_unused=True)
        norms, k = {}, 0
        for layer, ws in weights.items():
            squares = [g.pow(2).sum() for g in grads[k:k + len(ws)] if g is not None]
            norms[layer] = float(torch.stack(squares).sum().sqrt()) if squares else 0.0
            k += len(ws)
        result[name] = norms
    return result
