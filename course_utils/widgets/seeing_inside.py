"""Seeing inside (lesson 07): menus for image, model, view and layer, and the figure they select.

The menu logic is :func:`course_utils.explorers.seeing_inside.seeing_inside_choices`;
here are only the controls and the drawing (:func:`render_seeing_inside`).
"""
from __future__ import annotations

from typing import Mapping, Sequence

import matplotlib.pyplot as plt
from matplotlib.figure import Figure
from torch import Tensor, nn

from ..explorers.seeing_inside import SeeingInsideSelection, layer_catalog, seeing_inside_choices
from ..viz.gradcam import grad_cam, grad_cam_branches
from ..viz.plots import cam_title, plot_feature_maps, plot_first_layer_filters, plot_grad_cam, plot_grad_cam_branches
from ..viz.probe import as_batch, branch_layer_names, capture_activations, capture_branches, shown_image

def render_seeing_inside(selection: SeeingInsideSelection, models: Mapping[str, nn.Module],
                         inputs: Mapping[str, Tensor], class_names: Sequence[str] | None = None,
                         display: Mapping[str, Tensor] | None = None, max_channels: int = 8) -> Figure:
    """Draw what ``selection`` asks for (the widget's output; also usable on its own).

    ``inputs[name]`` is the image as the models take it; ``display[name]``
    optionally the same image in [0, 1] for drawing.
    """
    model, x = models[selection.model], inputs[selection.image]
    image = display[selection.image] if display is not None else None
    if selection.view == "first-layer filters":
        return plot_first_layer_filters(model)
    if selection.view == "Grad-CAM per branch":
        cams = grad_cam_branches(model, x, selection.layer, image=image)
        return plot_grad_cam_branches(cams, class_names=class_names)
    if selection.view == "feature maps":
        if selection.layer in branch_layer_names(model):
            maps = capture_branches(model, x, selection.layer)
        else:
            maps = capture_activations(model, x, selection.layer)
        shown = image if image is not None else shown_image(model, as_batch(model, x), None)
        return plot_feature_maps(maps, max_channels=max_channels, image=shown,
                                 title=f"{selection.model}: feature maps at {selection.layer}")
    cam = grad_cam(model, x, layer=selection.layer, image=image)
    return plot_grad_cam(cam, class_names=class_names,
                         title=f"{selection.model}: {cam_title(cam, class_names)}\nat {cam.where}")


def seeing_inside_widget(models: Mapping[str, nn.Module], inputs: Mapping[str, Tensor],
                         class_names: Sequence[str] | None = None, display: Mapping[str, Tensor] | None = None):
    """Menus for image, model, view and layer, and the figure they select (lesson 07).

    ``models``: name -> model; ``inputs``: image name -> the image as the models
    take it (C x H x W); ``display``: optionally the images in [0, 1] for drawing.
    The menu logic is :func:`seeing_inside_choices`; drawing is :func:`render_seeing_inside`.
    """
    import ipywidgets as widgets  # imported here: the rest of viz works without a notebook front end
    from IPython.display import display as show

    if not models or not inputs:
        from ..checks import CourseError

        raise CourseError("Give at least one model and one image (models and inputs are dicts: name -> object).")
    first_input = next(iter(inputs.values()))
    catalogs = {name: layer_catalog(model, first_input) for name, model in models.items()}
    state = seeing_inside_choices(list(inputs), catalogs)
    style = {"description_width": "60px"}
    menus = {
        "image": widgets.Dropdown(options=list(inputs), value=state.image, description="image", style=style),
        "model": widgets.Dropdown(options=list(models), value=state.model, description="model", style=style),
        "view": widgets.Dropdown(options=state.view_options, value=state.view, description="view", style=style),
        "layer": widgets.Dropdown(options=state.layer_options, value=state.layer, description="layer", style=style),
    }
    note = widgets.HTML()
    out = widgets.Output()
    updating = [False]  # menus set by update() must not re-trigger it

    def update(_change=None) -> None:
        if updating[0]:
            return
        updating[0] = True
        try:
            selection = seeing_inside_choices(
                list(inputs), catalogs, image=menus["image"].value, model=menus["model"].value,
                view=menus["view"].value, layer=menus["layer"].value if menus["layer"].options else None,
            )
            menus["view"].options = selection.view_options
            menus["view"].value = selection.view
            menus["layer"].options = selection.layer_options
            menus["layer"].value = selection.layer
            menus["layer"].disabled = selection.layer is None
        finally:
            updating[0] = False
        note.value = f"<i>{selection.note}</i>" if selection.note else ""
        with out:
            out.clear_output(wait=True)
            fig = render_seeing_inside(selection, models, inputs, class_names=class_names, display=display)
            show(fig)  # this figure only (plt.show() would also flush any other open figure here)
            plt.close(fig)

    for menu in menus.values():
        menu.observe(update, names="value")
    update()
    return widgets.VBox([widgets.HBox(list(menus.values())), note, out])
