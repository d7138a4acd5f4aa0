"""Grad-CAM through Captum (Selvaraju et al., 2017, "Grad-CAM: Visual Explanations from
Deep Networks via Gradient-based Localization", Eq. 1-2).

:func:`grad_cam` explains one image at one layer with Captum's ``LayerGradCam``
and ``LayerAttribution.interpolate``; :func:`grad_cam_branches` gives every
branch of an Inception module its own map, in one forward and backward pass.
Both return :class:`GradCam` records; ``viz.plots`` draws them.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Mapping, Sequence

import numpy as np
import torch
from captum.attr import LayerAttribution, LayerGradCam
from torch import Tensor, nn

from ..checks import CourseError, CourseTypeError, describe

from .probe import (
    as_batch,
    branch_probe,
    check_multibranch,
    check_spatial,
    eval_mode,
    layer_names,
    main_logits,
    model_name,
    probe_forward,
    resolve_layer,
    shown_image,
    spliced_branches,
)


@dataclass(frozen=True)
class GradCam:
    """One Grad-CAM map (Selvaraju et al., 2017, Eq. 1-2) and what it explains.

    Attributes:
        heatmap: H x W at the input's resolution (bilinear upsampling of
            ``layer_map`` by Captum's ``LayerAttribution.interpolate``), >= 0.
        layer_map: h x w at the layer's own resolution: ReLU(sum_k alpha_k A^k),
            alpha_k the spatially averaged gradient of the target score w.r.t. channel k.
        target: the class explained.
        probability: the model's softmax probability for ``target`` on this image.
        predicted: the class the model predicts for this image.
        layer: the layer (and ``branch`` of an Inception module, if any) it was computed at.
        image: the input as an H x W x C array in [0, 1], for drawing.
    """

    heatmap: Tensor
    layer_map: Tensor
    target: int
    probability: float
    predicted: int
    layer: str
    branch: str | None
    image: np.ndarray

    @property
    def normalized(self) -> Tensor:
        """``heatmap`` divided by its maximum (all zeros if the map is zero everywhere)."""
        top = float(self.heatmap.max())
        return self.heatmap / top if top > 0 else torch.zeros_like(self.heatmap)

    @property
    def where(self) -> str:
        return f"{self.layer} / {self.branch}" if self.branch else self.layer


#: A Grad-CAM map is only as fine as its layer: the default layer has at least this many
#: cells a side (GoogLeNet's last stage at 224 px is 7 x 7; a 3 x 3 map can only name a ninth).
MIN_CAM_GRID = 6


def default_cam_layer(model: nn.Module, x: Tensor) -> str:
    """The layer Grad-CAM uses when none is given: the last stage still at least 6 x 6 for ``x``.

    Grad-CAM's usual choice is the last convolutional stage (Selvaraju et al.,
    2017, section 3: "the best compromise between high-level semantics and
    detailed spatial information"). That holds at the reference input sizes (7 x 7
    for GoogLeNet at 224, 8 x 8 for Inception v3 at 299), but at the mini models'
    48 px the last stage is 2 x 2 or 3 x 3, too coarse to point at an object, so
    the default is the last ``feature_info`` stage of at least
    :data:`MIN_CAM_GRID` cells a side. If none is that fine, the last stage with
    any spatial grid (at least 2 x 2) is used; a 1 x 1 map could only say "everywhere".
    """
    x = as_batch(model, x)
    names = layer_names(model)
    _, outputs = probe_forward(model, x, names, keep=False)
    return last_spatial_stage(model, x, names, outputs)


def last_spatial_stage(model: nn.Module, x: Tensor, names: Sequence[str], outputs: Mapping[str, object]) -> str:
    grid = {n: min(outputs[n].shape[-2:]) for n in names if isinstance(outputs.get(n), Tensor) and outputs[n].dim() == 4}
    fine = [n for n in grid if grid[n] >= MIN_CAM_GRID]
    spatial = [n for n in grid if grid[n] >= 2]
    if not spatial:
        raise CourseError(
            f"No stage of {model_name(model)} keeps a spatial grid of at least 2x2 for an input of "
            f"{x.shape[-2]}x{x.shape[-1]} pixels, so Grad-CAM has nowhere to point. Use a larger image."
        )
    return (fine or spatial)[-1]


def _check_target(model: nn.Module, logits: Tensor, target) -> int:
    num_classes = logits.shape[-1]
    if target is None:
        return int(logits[0].argmax())
    if isinstance(target, Tensor) and target.numel() == 1:
        target = int(target)
    if not isinstance(target, (int, np.integer)) or isinstance(target, bool) or not 0 <= target < num_classes:
        raise CourseError(
            f"target must be a class index from 0 to {num_classes - 1} for {model_name(model)}, "
            f"got {target!r}. Leave it out (None) to explain the predicted class."
        )
    return int(target)


class _BranchTap(nn.Module):
    """Returns the branch outputs unchanged: one hook point where Captum sees all of them.

    Captum's LayerGradCam accepts a layer with several output tensors and returns
    one map per tensor, so a single forward and backward pass explains every branch.
    """

    def forward(self, *branches: Tensor) -> tuple[Tensor, ...]:
        return branches


def _attribute(model: nn.Module, x: Tensor, layer_module: nn.Module, target: int) -> tuple[Tensor, ...]:
    """Captum's LayerGradCam at ``layer_module`` (ReLU applied, as in Eq. 2): 1 x 1 x h x w per output."""

    def forward(inputs: Tensor) -> Tensor:
        return main_logits(model(inputs))  # eval mode already; unwrap in case a model returns AuxOutputs anyway

    attribution = LayerGradCam(forward, layer_module).attribute(x, target=target, relu_attributions=True)
    return tuple(a.detach() for a in attribution) if isinstance(attribution, tuple) else (attribution.detach(),)


def _finish(attribution: Tensor, x: Tensor, **fields) -> GradCam:
    heatmap = LayerAttribution.interpolate(attribution, tuple(x.shape[-2:]), interpolate_mode="bilinear")
    # Bilinear upsampling of a non-negative map stays non-negative; clamp only float round-off.
    return GradCam(heatmap=heatmap[0, 0].clamp_min(0).cpu(), layer_map=attribution[0, 0].cpu(), **fields)


def _explained(model: nn.Module, logits: Tensor, target) -> dict[str, object]:
    """The GradCam fields that come from the logits: target (default: predicted), probability, prediction."""
    target = _check_target(model, logits, target)
    return {"target": target, "probability": float(logits.softmax(-1)[0, target]),
            "predicted": int(logits[0].argmax())}


def grad_cam(model: nn.Module, x: Tensor, target: int | None = None, layer: str | None = None, image=None) -> GradCam:
    """Grad-CAM of ``target`` (default: the predicted class) at ``layer`` for one image.

    Args:
        model: a course model (or any nn.Module returning logits); run in eval mode.
        x: one image as the model takes it, C x H x W or 1 x C x H x W.
        target: the class index to explain; None explains the model's prediction.
        layer: a ``feature_info`` stage or any submodule name with a spatial output;
            None picks :func:`default_cam_layer` (the last stage still >= 6x6).
        image: the image to draw under the map (values in [0, 1]); default: ``x``
            un-normalized with ``model.preprocess``.

    Returns a :class:`GradCam` whose ``heatmap`` has the input's resolution.
    """
    x = as_batch(model, x, single=True)
    # One probing pass without gradients: the logits (for the default target) and the layers' shapes.
    candidates = layer_names(model) if layer is None else [layer]
    logits, outputs = probe_forward(model, x, candidates, keep=False)
    layer = last_spatial_stage(model, x, candidates, outputs) if layer is None else layer
    check_spatial(model, layer, outputs.get(layer), "Grad-CAM")
    fields = _explained(model, logits, target)
    with eval_mode(model):
        (attribution,) = _attribute(model, x, resolve_layer(model, layer), fields["target"])
    return _finish(attribution, x, layer=layer, branch=None, image=shown_image(model, x, image), **fields)


def grad_cam_branches(model: nn.Module, x: Tensor, layer: str, target: int | None = None, image=None) -> dict[str, GradCam]:
    """Grad-CAM of each branch of the Inception module ``layer``: ``{branch: GradCam}``.

    Each branch's output A_b gets its own Grad-CAM, ReLU(sum_k alpha_k A_b^k),
    with alpha from the gradient of the target score w.r.t. that branch's output
    (Captum LayerGradCam on a pass-through module spliced in after the branches,
    one forward and backward pass for all of them). For a
    concatenating module the branch maps add up, before the ReLU, to the module's
    map; for a residual module they show what each branch adds to the sum.
    """
    module = check_multibranch(model, layer)
    x = as_batch(model, x, single=True)
    branches, logits = branch_probe(model, x, module, layer)
    fields = _explained(model, logits, target)
    tap = _BranchTap()

    def through_tap(outputs: dict[str, Tensor]) -> dict[str, Tensor]:
        return dict(zip(outputs, tap(*outputs.values())))

    with eval_mode(model), spliced_branches(module, through_tap):
        attributions = _attribute(model, x, tap, fields["target"])
    shown = shown_image(model, x, image)
    return {name: _finish(a, x, layer=layer, branch=name, image=shown, **fields)
            for name, a in zip(branches, attributions)}
