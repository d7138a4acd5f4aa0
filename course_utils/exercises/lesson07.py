"""Checks for lesson 07, "Seeing inside".

Expected values are computed from the objects the learner works with (the
model, the Grad-CAM result), with the same course_utils functions the lesson uses.
"""
from __future__ import annotations

from collections.abc import Sequence

import torch
from torch import nn

from .. import viz
from .core import as_number, check_number, correct, exercise_check, not_attempted, wrong


def _branch_widths(model: nn.Module, layer: str, size: int) -> list[int]:
    x = torch.zeros(1, getattr(model, "in_chans", 3), size, size)
    return [t.shape[1] for t in viz.capture_branches(model, x, layer).values()]


@exercise_check
def check_branch_widths(answer, model: nn.Module, layer: str = "inception3a", size: int = 48) -> None:
    """Exercise 1: the channels each branch of ``layer`` contributes, in concatenation order."""
    title = f"Exercise 1 (branch widths of {layer})"
    if answer is None:
        return not_attempted(title)
    expected = _branch_widths(model, layer, size)
    if isinstance(answer, dict):
        answer = list(answer.values())
    if isinstance(answer, torch.Tensor) and answer.dim() == 1:
        answer = answer.tolist()
    numbers = [as_number(v) for v in answer] if isinstance(answer, (list, tuple)) else [(None, "not a list")]
    whole = [problem is None and (isinstance(n, int) or n.is_integer()) for n, problem in numbers]
    if not numbers or not all(whole):
        return wrong(title, "give a list of whole numbers, one per branch, e.g. [a, b, c, d].")
    answer = [int(n) for n, _ in numbers]
    if list(answer) == expected:
        return correct(title, f"concatenated, the module outputs {sum(expected)} channels.")
    if len(answer) != len(expected):
        return wrong(title, f"{layer} has {len(expected)} branches; give one number for each.")
    if sorted(answer) == sorted(expected):
        return wrong(title, "the right numbers, in the wrong order: list them in the order the branches are concatenated.")
    if sum(answer) == sum(expected):
        return wrong(title, "the total is right but not the split: look at each branch's own output (dim 1 of its tensor).")
    return wrong(title, "capture the branches with viz.capture_branches and read dim 1 (channels) of each output.")


@exercise_check
def check_cam_mass(answer, cam: viz.GradCam, box: Sequence[int]) -> None:
    """Exercise 2: the fraction of ``cam.heatmap``'s mass inside ``box`` = (x0, y0, x1, y1)."""
    title = "Exercise 2 (Grad-CAM mass in the box)"
    if answer is None:
        return not_attempted(title)
    heat = cam.heatmap.detach().float()
    x0, y0, x1, y1 = (int(v) for v in box)
    expected = viz.cam_mass_in_box(heat, box)
    total = float(heat.sum())
    if not total > 0:
        return wrong(title, "this heat map is zero everywhere, so it has no mass to share out: compute Grad-CAM "
                            "again for the class the model predicts (and check the cells above ran).")
    mistakes = {
        float(heat[x0:x1, y0:y1].sum()) / total: "rows come first in an image tensor: index heatmap[y0:y1, x0:x1], not [x0:x1, y0:y1].",
        float(heat[y0:y1, x0:x1].sum()): "that is the mass inside the box; divide by the map's total mass to get a fraction.",
        float(heat[y0:y1 + 1, x0:x1 + 1].sum()) / total: "x1 and y1 are exclusive (as in Python slicing): do not add 1.",
        ((x1 - x0) * (y1 - y0)) / heat.numel(): "that is the box's share of the image AREA, the score of a uniform map, not of this one.",
    }
    return check_number(
        answer, expected, title=title,
        confirm=f"{100 * expected:.0f}% of the map lies on the object, whose box covers "
                f"{100 * (x1 - x0) * (y1 - y0) / heat.numel():.0f}% of the image.",
        hint="sum the heat map inside the box and divide by its sum over the whole image.",
        mistakes=mistakes, rel_tol=1e-3, integer=False,
    )


@exercise_check
def check_rank_correlation(answer, model: nn.Module, x, target: int, layer: str = "inception3b") -> None:
    """Exercise 3: the rank correlation between the trained and the randomized (seed 0) Grad-CAM maps at ``layer``."""
    title = f"Exercise 3 (the randomization test at {layer})"
    if answer is None:
        return not_attempted(title)
    value, problem = as_number(answer)
    if problem:
        return wrong(title, problem)
    expected = viz.randomization_sanity_check(model, x, target=target, layer=layer).rank_correlation
    default = viz.randomization_sanity_check(model, x, target=target).rank_correlation
    if expected != expected:  # NaN: the random model's map is zero everywhere here
        return correct(title, "for this image the random model's map is zero everywhere, so no correlation is defined.")
    if not -1 <= value <= 1:
        return wrong(title, "a rank correlation lies between -1 and 1.")
    if abs(value - expected) <= 0.01:
        how = "less" if expected < default else "at least as much"
        return correct(title, f"at {layer} the two maps agree {how} than at the default layer ({default:.2f}); "
                              "one image is an anecdote, so loop over more images to see the spread.")
    if default == default and abs(value - default) <= 0.01:
        return wrong(title, f"that is the value at the default layer; pass layer=\"{layer}\".")
    if abs(value - 1) <= 0.01:
        return wrong(title, "1 would mean the same ordering of positions: compare the trained map with the randomized one.")
    return wrong(title, f"run viz.randomization_sanity_check on this image with the target class and layer=\"{layer}\", "
                        "and read its rank_correlation.")
