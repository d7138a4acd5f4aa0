"""Seeing inside a network (lesson 07): feature maps, Grad-CAM, first-layer filters.

Everything here works for every course model through the small API of
:class:`~course_utils.models.base.CourseModel`: ``feature_info`` names the stages
a learner can look at, and every Inception module is a
:class:`~course_utils.models.blocks.MultiBranch` whose ``forward_branches``
keeps the branches addressable, so each branch can be shown on its own.

One module per job; every public name is importable from ``course_utils.viz``:

* ``probe``    - inputs, layer names, hooks: :func:`capture_activations` (any named
  layer), :func:`capture_branches` (each branch of an Inception module before the
  merge), :func:`display_image`, :func:`layer_names`, :func:`branch_layer_names`.
* ``gradcam``  - Grad-CAM (Selvaraju et al., 2017, Eq. 1-2) through Captum:
  :func:`grad_cam`, :func:`grad_cam_branches`, :func:`default_cam_layer`.
* ``sanity``   - the model parameter randomization test (Adebayo et al., 2018,
  section 3) and localization scores: :func:`randomize_weights`,
  :func:`randomization_sanity_check`, :func:`rank_correlation`,
  :func:`cam_mass_in_box`, :func:`cam_peak_in_box`.
* ``plots``    - the figures: :func:`plot_feature_maps`, :func:`plot_grad_cam`,
  :func:`plot_grad_cam_branches`, :func:`plot_sanity_check`,
  :func:`plot_first_layer_filters`.

The lesson-07 widget lives with the other widgets: its logic in
``course_utils.explorers.seeing_inside``, its front end in
``course_utils.widgets.seeing_inside`` (also reachable here as
``viz.seeing_inside_widget`` etc., for the notebook).

Conventions: ``x`` is always what you would pass to ``model(x)`` (normalized,
``N x C x H x W`` or one ``C x H x W`` image). Figures are drawn with the image
un-normalized by ``model.preprocess`` unless ``image=`` (values in [0, 1]) is given:
pass it when the data was normalized otherwise (the embedded dataset uses its own
mean and std: ``image=data.denormalize(x)``).
Every plot function returns its matplotlib Figure; end a notebook cell with
``plt.show()``. Models are run in eval mode (running BatchNorm statistics, no
dropout, plain logits even for models with auxiliary heads) and put back in the
mode they were in afterwards; every hook is removed even when the forward pass fails.
"""
from __future__ import annotations

from .gradcam import MIN_CAM_GRID, GradCam, default_cam_layer, grad_cam, grad_cam_branches
from .plots import (
    HEATMAP_CMAP,
    first_layer_filters,
    plot_feature_maps,
    plot_first_layer_filters,
    plot_grad_cam,
    plot_grad_cam_branches,
    plot_sanity_check,
)
from .probe import (
    branch_layer_names,
    capture_activations,
    capture_branches,
    display_image,
    layer_names,
    resolve_layer,
)
from .sanity import (
    SanityCheck,
    cam_mass_in_box,
    cam_peak_in_box,
    randomization_sanity_check,
    randomize_weights,
    rank_correlation,
)

# The lesson-07 widget's names, from where they live (imported on first use:
# those modules import viz, so an eager import here would be circular).
_SEEING_INSIDE = {
    "VIEWS": "course_utils.explorers.seeing_inside",
    "SeeingInsideSelection": "course_utils.explorers.seeing_inside",
    "layer_catalog": "course_utils.explorers.seeing_inside",
    "seeing_inside_choices": "course_utils.explorers.seeing_inside",
    "render_seeing_inside": "course_utils.widgets.seeing_inside",
    "seeing_inside_widget": "course_utils.widgets.seeing_inside",
}


def __getattr__(name: str):
    if name in _SEEING_INSIDE:
        import importlib

        return getattr(importlib.import_module(_SEEING_INSIDE[name]), name)
    raise AttributeError(f"module 'course_utils.viz' has no attribute {name!r}")


__all__ = [
    "GradCam",
    "HEATMAP_CMAP",
    "MIN_CAM_GRID",
    "SanityCheck",
    "branch_layer_names",
    "cam_mass_in_box",
    "cam_peak_in_box",
    "capture_activations",
    "capture_branches",
    "default_cam_layer",
    "display_image",
    "first_layer_filters",
    "grad_cam",
    "grad_cam_branches",
    "layer_names",
    "plot_feature_maps",
    "plot_first_layer_filters",
    "plot_grad_cam",
    "plot_grad_cam_branches",
    "plot_sanity_check",
    "randomization_sanity_check",
    "randomize_weights",
    "rank_correlation",
    "resolve_layer",
    *_SEEING_INSIDE,
]
