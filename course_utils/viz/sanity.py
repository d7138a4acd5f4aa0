"""Is a saliency map about the model? The sanity check and the localization scores.

* The model parameter randomization test (Adebayo et al., 2018, "Sanity Checks
  for Saliency Maps", section 3): :func:`randomize_weights`,
  :func:`randomization_sanity_check`, compared by :func:`rank_correlation`.
* Localization: :func:`cam_mass_in_box` (the "energy-based pointing game" of
  Wang et al., 2020, Score-CAM, section 5.2) and :func:`cam_peak_in_box` (the
  pointing game of Zhang et al., 2016).
"""
from __future__ import annotations

import copy
from dataclasses import dataclass
from typing import Sequence

import torch
from torch import Tensor, nn

from ..checks import CourseError, CourseTypeError, check_tensor, describe, is_number

from .gradcam import GradCam, grad_cam


def randomize_weights(model: nn.Module, seed: int = 0) -> nn.Module:
    """A copy of ``model`` with every weight re-initialized (Adebayo et al., 2018, section 3).

    Each submodule with ``reset_parameters`` (conv, linear, BatchNorm: weights and
    running statistics) draws fresh initial values; any other parameter is
    redrawn from a normal distribution with its own mean and std. The original
    model and the global random state are left untouched.
    """
    randomized = copy.deepcopy(model)
    covered: set[int] = set()
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(seed)
        for module in randomized.modules():
            if hasattr(module, "reset_parameters"):
                module.reset_parameters()
                covered.update(id(p) for p in module.parameters(recurse=False))
        with torch.no_grad():
            for p in randomized.parameters():
                if id(p) not in covered:
                    std = float(p.std()) if p.numel() > 1 else 0.0
                    p.copy_(torch.randn_like(p) * std + p.mean())
    return randomized


def cam_mass_in_box(heatmap: Tensor, box: Sequence[int]) -> float:
    """The fraction of the map's mass inside the box (Score-CAM's energy-based pointing game).

    ``box`` is ``(x0, y0, x1, y1)`` in pixels with x1, y1 exclusive (torchvision's
    XYXY convention, as the embedded dataset's boxes). A map spread evenly over
    the image scores the box's share of the image area; a perfect one scores 1.
    Returns NaN for a map that is zero everywhere (it points nowhere).
    """
    check_tensor(heatmap, "heatmap", hint="Use GradCam.heatmap.")
    heatmap = heatmap.detach().float()
    if heatmap.dim() != 2:
        raise CourseError(f"heatmap must be H x W, got shape {tuple(heatmap.shape)} (use GradCam.heatmap).")
    h, w = heatmap.shape
    if isinstance(box, torch.Tensor):
        box = box.tolist()
    if not isinstance(box, (tuple, list)) or len(box) != 4 or not all(is_number(v) for v in box):
        raise CourseTypeError(f"box must be four numbers (x0, y0, x1, y1) in pixels, got {describe(box)}.")
    x0, y0, x1, y1 = (int(v) for v in box)
    if not (0 <= x0 < x1 <= w and 0 <= y0 < y1 <= h):
        raise CourseError(f"box {tuple(box)} is not (x0, y0, x1, y1) with 0 <= x0 < x1 <= {w} and 0 <= y0 < y1 <= {h}.")
    total = float(heatmap.sum())
    if total <= 0:
        return float("nan")
    return float(heatmap[y0:y1, x0:x1].sum()) / total


def cam_peak_in_box(heatmap: Tensor, box: Sequence[int]) -> bool:
    """Whether the map's maximum lies inside the box: the pointing game
    (Zhang et al., 2016, "Top-down Neural Attention by Excitation Backprop", section 5.1).

    ``box`` as in :func:`cam_mass_in_box`. A map that is zero everywhere points
    nowhere: False.
    """
    heatmap = heatmap.detach().float()
    cam_mass_in_box(heatmap, box)  # same checks of shapes and box
    if float(heatmap.max()) <= 0:
        return False
    y, x = divmod(int(heatmap.argmax()), heatmap.shape[1])
    x0, y0, x1, y1 = (int(v) for v in box)
    return x0 <= x < x1 and y0 <= y < y1


def _average_ranks(v: Tensor) -> Tensor:
    """Ranks 0..n-1, ties sharing their average rank (as Spearman's rho needs)."""
    sorted_v, order = v.sort()
    _, inverse, counts = torch.unique_consecutive(sorted_v, return_inverse=True, return_counts=True)
    ends = counts.cumsum(0)
    average = (ends - counts + ends - 1).double() / 2
    ranks = torch.empty_like(v, dtype=torch.float64)
    ranks[order] = average[inverse]
    return ranks


def rank_correlation(a: Tensor, b: Tensor) -> float:
    """Spearman's rank correlation of two maps (Adebayo et al., 2018, Fig. 2's similarity measure).

    1 = the same ordering of positions, 0 = unrelated; NaN if either map is constant.
    """
    if a.shape != b.shape:
        raise CourseError(f"The maps must have the same shape, got {tuple(a.shape)} and {tuple(b.shape)}.")
    ra, rb = _average_ranks(a.flatten().double()), _average_ranks(b.flatten().double())
    ra, rb = ra - ra.mean(), rb - rb.mean()
    denominator = float(ra.norm() * rb.norm())
    return float((ra * rb).sum()) / denominator if denominator > 0 else float("nan")


@dataclass(frozen=True)
class SanityCheck:
    """The model parameter randomization test for one image.

    ``rank_correlation`` compares the two maps at the layer's resolution (the
    upsampled maps would add only interpolation); a map that explains the
    *trained* model changes a lot (rho far below 1) once the weights are random.
    """

    trained: GradCam
    randomized: GradCam
    rank_correlation: float


def randomization_sanity_check(model: nn.Module, x: Tensor, target: int | None = None, layer: str | None = None,
                               seed: int = 0, image=None) -> SanityCheck:
    """Grad-CAM of the trained model vs. the same model with random weights, same target and layer."""
    trained = grad_cam(model, x, target=target, layer=layer, image=image)
    randomized = grad_cam(randomize_weights(model, seed), x, target=trained.target, layer=trained.layer, image=image)
    return SanityCheck(trained, randomized, rank_correlation(trained.layer_map, randomized.layer_map))
