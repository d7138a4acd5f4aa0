"""Seeing inside (lesson 07): the pure logic of the pick-image/model/view/layer widget.

:func:`seeing_inside_choices` says which views and layers a choice of model
allows (no model runs, no browser); :func:`layer_catalog` lists a model's
layers for it. The ipywidgets front end is ``course_utils.widgets.seeing_inside``.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Mapping, Sequence

from torch import Tensor, nn

from ..checks import CourseError, describe, did_you_mean
from ..viz.gradcam import default_cam_layer
from ..viz.probe import as_batch, branch_layer_names, layer_names, probe_forward

#: What the widget can show, in menu order.
VIEWS: tuple[str, ...] = ("Grad-CAM", "Grad-CAM per branch", "feature maps", "first-layer filters")


@dataclass(frozen=True)
class SeeingInsideSelection:
    """What the lesson-07 widget should show, and the choices its menus should offer.

    ``layer`` is None for the filters view (it has no layer). ``note`` explains
    any choice that had to change (e.g. a layer the newly picked model lacks).
    """

    image: str
    model: str
    view: str
    layer: str | None
    layer_options: tuple[str, ...]
    view_options: tuple[str, ...]
    note: str = ""


def _pick(kind: str, value: str | None, options: Sequence[str]) -> str:
    if value is None:
        return options[0]
    if value not in options:
        raise CourseError(
            f"Unknown {kind} {describe(value)}.{did_you_mean(value, options)} Valid {kind}s: {', '.join(options)}."
        )
    return value


def seeing_inside_choices(
    images: Sequence[str],
    model_layers: Mapping[str, Mapping[str, Sequence[str]]],
    image: str | None = None,
    model: str | None = None,
    view: str | None = None,
    layer: str | None = None,
) -> SeeingInsideSelection:
    """The pure logic of the lesson-07 widget (no models run, no browser needed).

    Args:
        images: names of the images on offer.
        model_layers: per model name, ``{"stages": [...], "branches": [...], "default": name}``:
            its ``feature_info`` stages, its Inception modules and its default
            Grad-CAM layer (see :func:`layer_catalog`).
        image, model, view, layer: the current menu values (None = the first / default).

    Rules: per-branch Grad-CAM is offered only for models with Inception modules
    and then lists only those; feature maps and Grad-CAM list stages and Inception
    modules; filters need no layer. A layer the chosen model does not have (after
    switching model or view) becomes the model's default, and ``note`` says so.
    """
    if not images or not model_layers:
        raise CourseError("images and model_layers must not be empty: give at least one image and one model to choose from.")
    image = _pick("image", image, list(images))
    model = _pick("model", model, list(model_layers))
    catalog = model_layers[model]
    stages, branches = list(catalog.get("stages", ())), list(catalog.get("branches", ()))
    view_options = tuple(v for v in VIEWS if v != "Grad-CAM per branch" or branches)
    notes = []
    if view is not None and view not in VIEWS:
        raise CourseError(f"Unknown view {describe(view)}.{did_you_mean(view, VIEWS)} Valid views: {', '.join(VIEWS)}.")
    if view is None:
        view = view_options[0]
    elif view not in view_options:
        notes.append(f"{model} has no Inception modules, so there are no branches to explain; showing Grad-CAM.")
        view = "Grad-CAM"
    if view == "first-layer filters":
        return SeeingInsideSelection(image, model, view, None, (), view_options, " ".join(notes))
    if view == "Grad-CAM per branch":
        layer_options = tuple(branches)
    else:
        layer_options = tuple(dict.fromkeys(stages + branches))  # stages first, then modules not already listed
    default = catalog.get("default")
    if default not in layer_options:
        default = layer_options[-1]
    if layer is None:
        layer = default
    elif layer not in layer_options:
        notes.append(f"{model} has no layer {layer!r} for this view; showing {default!r} instead.")
        layer = default
    return SeeingInsideSelection(image, model, view, layer, layer_options, view_options, " ".join(notes))


def layer_catalog(model: nn.Module, x: Tensor) -> dict[str, object]:
    """``{"stages", "branches", "default"}`` of ``model`` for :func:`seeing_inside_choices`.

    Only layers with a spatial output for ``x`` are listed (one probing forward pass).
    """
    x = as_batch(model, x)
    names = list(dict.fromkeys(layer_names(model) + branch_layer_names(model)))
    _, outputs = probe_forward(model, x, names, keep=False)
    spatial = {n for n in names if isinstance(outputs.get(n), Tensor) and outputs[n].dim() == 4}
    return {
        "stages": [n for n in layer_names(model) if n in spatial],
        "branches": [n for n in branch_layer_names(model) if n in spatial],
        "default": default_cam_layer(model, x),
    }
