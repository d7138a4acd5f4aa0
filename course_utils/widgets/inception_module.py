"""The module builder widget of lesson 02, the front end of ``course_utils.explorers.inception_module``."""
from __future__ import annotations

import ipywidgets as widgets
import matplotlib.pyplot as plt
from matplotlib.ticker import FuncFormatter

from .. import costs
from ..explorers.inception_module import ModuleCosts, inception_module_costs, table1_presets
from ._live import redraw

#: One colour per branch, in concatenation order (the naive module's pool branch shares the 4th).
BRANCH_COLORS = ("#4f81bd", "#c0504d", "#9bbb59", "#8064a2")


def plot_module_costs(result: ModuleCosts, axes=None):
    """Stacked bars, one segment per branch: parameters, MACs and output channels, reduced vs naive."""
    if axes is None:
        fig, axes = plt.subplots(1, 3, figsize=(10, 3.3))
    else:
        fig = axes[0].figure
    bars = ("with reductions", "naive")
    for ax, field, title in (
        (axes[0], "params", "parameters"),
        (axes[1], "macs", "multiply-accumulates"),
        (axes[2], "out_channels", "output channels"),
    ):
        totals = []
        for x, branches in enumerate((result.reduced, result.naive)):
            bottom = 0
            for i, branch in enumerate(branches):
                value = getattr(branch, field)
                label = branch.name if x == 0 or i == 3 else None
                label = "max pool (naive)" if (x == 1 and i == 3) else label
                ax.bar(x, value, bottom=bottom, color=BRANCH_COLORS[i], hatch="//" if x == 1 and i == 3 else None,
                       edgecolor="white", label=label if ax is axes[0] else None)
                bottom += value
            totals.append(bottom)
        for x, total in enumerate(totals):
            ax.annotate(costs.format_count(total), (x, total), ha="center", va="bottom", fontsize=9)
        ax.set_xticks([0, 1], bars)
        ax.set_title(title, fontsize=10)
        ax.set_ylim(0, max(max(totals), 1) * 1.18)
        ax.yaxis.set_major_formatter(FuncFormatter(lambda v, _pos: costs.format_count(v)))
    axes[0].legend(fontsize=7, loc="upper left")
    s = result.spatial
    fig.suptitle(f"Inception module on {s}x{s}x{result.in_channels}: naive costs "
                 f"{result.naive_macs / max(result.reduced_macs, 1):.1f}x the MACs, outputs "
                 f"{result.naive_out_channels} instead of {result.reduced_out_channels} channels", fontsize=10)
    fig.tight_layout()
    return fig


def module_builder_widget(preset: str = "inception3a") -> widgets.Widget:
    """Sliders for the input (channels, spatial size) and Table 1's six widths, presets for every Table 1 module.

    Shows per-branch parameters, MACs and output channels of the module with
    dimension reductions (GoogLeNet's) and of the naive module with the same
    #1x1/#3x3/#5x5 widths (lesson 02).
    """
    presets = table1_presets()
    if preset not in presets:
        raise ValueError(f"preset must be one of {', '.join(presets)}, got {preset!r}.")
    style = {"description_width": "120px"}
    layout = widgets.Layout(width="330px")

    def slider(name, description, low, high, step):
        return widgets.IntSlider(presets[preset][name], low, high, step, description=description, style=style,
                                 layout=layout, continuous_update=False)

    controls = {
        "in_channels": slider("in_channels", "input channels", 16, 1024, 16),
        "spatial": slider("spatial", "spatial (H = W)", 7, 56, 7),
        "ch1x1": slider("ch1x1", "#1x1", 8, 512, 8),
        "ch3x3red": slider("ch3x3red", "#3x3 reduce", 8, 256, 8),
        "ch3x3": slider("ch3x3", "#3x3", 8, 512, 8),
        "ch5x5red": slider("ch5x5red", "#5x5 reduce", 8, 128, 8),
        "ch5x5": slider("ch5x5", "#5x5", 8, 256, 8),
        "pool_proj": slider("pool_proj", "pool proj", 8, 256, 8),
    }
    picker = widgets.Dropdown(options=[*presets, "custom"], value=preset, description="Table 1 preset", style=style)
    readout = widgets.HTML()
    plot = widgets.Output()
    state = {"applying": False}

    def update(_change=None):
        result = inception_module_costs(**{name: w.value for name, w in controls.items()})
        readout.value = "<pre>" + result.summary() + "</pre>"
        redraw(plot, plot_module_costs, result)

    def on_slider(_change):
        if state["applying"]:
            return
        current = {name: w.value for name, w in controls.items()}
        match = [n for n, p in presets.items() if p == current]
        picker.value = match[0] if match else "custom"
        update()

    def on_preset(change):
        if change["new"] == "custom":
            return
        state["applying"] = True
        try:
            for name, w in controls.items():
                w.value = presets[change["new"]][name]
        finally:
            state["applying"] = False
        update()

    for w in controls.values():
        w.observe(on_slider, names="value")
    picker.observe(on_preset, names="value")
    update()
    left = widgets.VBox([picker, controls["in_channels"], controls["spatial"]])
    middle = widgets.VBox([controls[k] for k in ("ch1x1", "ch3x3red", "ch3x3")])
    right = widgets.VBox([controls[k] for k in ("ch5x5red", "ch5x5", "pool_proj")])
    return widgets.VBox([widgets.HBox([left, middle, right]), readout, plot])
