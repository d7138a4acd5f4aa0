"""The residual scaling widget of lesson 05, the front end of ``course_utils.explorers.residual_scaling``."""
from __future__ import annotations

import html

import ipywidgets as widgets
import matplotlib.pyplot as plt

from ..checks import check_int, check_kwargs, check_number
from ..explorers.residual_scaling import ScalingProfile, scaling_profile
from ._live import on_change, redraw

#: (min, max, step) of the two sliders.
SCALE_RANGE = (0.05, 1.0, 0.05)
DEPTH_RANGE = (1, 80, 1)
#: Colours shared with lesson 05's figures: unscaled residuals red, scaled blue.
COLORS = {"unscaled": "#c0504d", "scaled": "#4f81bd"}


def plot_scaling(profile: ScalingProfile, reference: ScalingProfile | None = None, ax=None):
    """Activation std after each block (relative to the stem's output) for ``profile``, and ``reference`` dashed."""
    if ax is None:
        fig, ax = plt.subplots(figsize=(7, 3.4))
    else:
        fig = ax.figure
    blocks = range(0, profile.depth + 1)
    if reference is not None and reference.scale != profile.scale:
        ax.plot(range(0, reference.depth + 1), [1.0] + [s / reference.stem_std for s in reference.block_std], "--",
                color=COLORS["unscaled"], label=f"scale {reference.scale:g} (no scaling)")
    color = COLORS["unscaled"] if profile.scale == 1 else COLORS["scaled"]
    ax.plot(blocks, [1.0] + [s / profile.stem_std for s in profile.block_std], "-o", markersize=2.5, color=color,
            label=f"scale {profile.scale:g}")
    ax.set_xlabel("block")
    ax.set_ylabel("std / std after the stem")
    ax.set_title(f"activation growth at initialization, {profile.depth} residual Inception-ResNet-A blocks", fontsize=10)
    ax.set_ylim(bottom=0)
    ax.grid(alpha=0.3)
    ax.legend(fontsize=8, loc="upper left")
    fig.tight_layout()
    return fig


def residual_scaling_widget(**defaults) -> widgets.Widget:
    """Scale and depth sliders -> activation std per block and the stem's gradient norm, at initialization.

    Each change builds the stack (the same weights for every scale: seed 0) and runs one batch
    forward and backward: well under a second for 40 blocks on a 2-core CPU.
    """
    start = {"scale": 0.2, "depth": 40}
    check_kwargs(defaults, "residual_scaling_widget", start)
    start.update(defaults)
    start["scale"] = check_number(start["scale"], "scale", minimum=SCALE_RANGE[0], maximum=SCALE_RANGE[1],
                                  hint="(the slider's range; explorers.scaling_profile takes any positive scale)")
    start["depth"] = check_int(start["depth"], "depth", minimum=DEPTH_RANGE[0], maximum=DEPTH_RANGE[1],
                               hint="(the slider's range)")
    style = {"description_width": "150px"}
    layout = widgets.Layout(width="460px")
    scale = widgets.FloatSlider(start["scale"], min=SCALE_RANGE[0], max=SCALE_RANGE[1], step=SCALE_RANGE[2],
                                description="residual scale", style=style, layout=layout, readout_format=".2f")
    depth = widgets.IntSlider(start["depth"], *DEPTH_RANGE, description="blocks (depth)", style=style, layout=layout)
    readout = widgets.HTML()
    plot = widgets.Output()

    def update(_change=None):
        profile = scaling_profile(round(scale.value, 4), depth.value)
        reference = scaling_profile(1.0, depth.value) if profile.scale != 1 else None
        lines = [profile.summary()]
        if reference is not None:
            lines.append(reference.summary())
            lines.append(f"gradient at the stem: {profile.stem_grad_norm / reference.stem_grad_norm:.2f}x the "
                         "unscaled stack's")
        readout.value = "<pre style='font-size:11px'>" + html.escape("\n".join(lines)) + "</pre>"
        redraw(plot, plot_scaling, profile, reference)

    on_change([scale, depth], update)
    update()
    return widgets.VBox([scale, depth, readout, plot])
