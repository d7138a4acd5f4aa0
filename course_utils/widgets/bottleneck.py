"""The cost explorer widget of lesson 01, the front end of ``course_utils.explorers.bottleneck``."""
from __future__ import annotations

import ipywidgets as widgets
import matplotlib.pyplot as plt
from matplotlib.ticker import FuncFormatter

from .. import costs
from ..checks import check_choice, check_int, check_kwargs
from ..explorers.bottleneck import BottleneckComparison, bottleneck_comparison
from ._live import on_change, redraw

#: What the cost explorer's controls offer: (min, max, step) of each slider, the kernel menu.
SLIDERS = {"in_channels": (8, 1024, 8), "out_channels": (8, 512, 8), "spatial": (7, 112, 1), "reduction": (4, 256, 4)}
KERNEL_SIZES = (1, 3, 5, 7)


def plot_bottleneck(result: BottleneckComparison, axes=None):
    """Bar charts of MACs and parameters, direct vs. with the 1x1 reduction (lesson 01)."""
    if axes is None:
        fig, axes = plt.subplots(1, 2, figsize=(9, 3.2))
    else:
        fig = axes[0].figure
    k = result.kernel_size
    labels = [f"{k}x{k} direct", f"1x1 ({result.reduction}) + {k}x{k}"]
    colors = ["#c0504d", "#4f81bd"]
    for ax, values, title in (
        (axes[0], [result.direct_macs, result.reduced_macs], "multiply-accumulates"),
        (axes[1], [result.direct_params, result.reduced_params], "parameters"),
    ):
        bars = ax.bar(labels, values, color=colors)
        ax.set_title(title)
        ax.set_ylabel("count")
        ax.yaxis.set_major_formatter(FuncFormatter(lambda v, _pos: costs.format_count(v)))
        for bar, value in zip(bars, values):
            ax.annotate(costs.format_count(value), (bar.get_x() + bar.get_width() / 2, value),
                        ha="center", va="bottom", fontsize=9)
        ax.set_ylim(0, max(values) * 1.18)
    effect = (f"the bottleneck saves {100 * result.mac_saving:.0f}% of the MACs" if result.mac_saving >= 0
              else f"the bottleneck costs {100 * -result.mac_saving:.0f}% more MACs")
    fig.suptitle(f"{result.in_channels}->{result.out_channels} channels at {result.spatial}x{result.spatial}: {effect}")
    fig.tight_layout()
    return fig


def cost_explorer_widget(**defaults) -> widgets.Widget:
    """Sliders for channels, kernel, spatial size and reduction width -> costs and savings (lesson 01)."""
    start = {"in_channels": 192, "out_channels": 32, "kernel_size": 5, "spatial": 28, "reduction": 16}
    check_kwargs(defaults, "cost_explorer_widget", start)
    start.update(defaults)
    # A value the controls cannot show is refused here, not clamped by a slider or refused by traitlets.
    for name, (low, high, _step) in SLIDERS.items():
        start[name] = check_int(start[name], name, minimum=low, maximum=high,
                                hint=f"The widget's slider offers {low} to {high}; "
                                     "explorers.bottleneck_comparison computes any size.")
    start["kernel_size"] = check_choice(start["kernel_size"], "kernel_size", KERNEL_SIZES,
                                        hint="These are what the widget's menu offers.")
    style = {"description_width": "150px"}
    layout = widgets.Layout(width="460px")

    def slider(name, description):
        low, high, step = SLIDERS[name]
        return widgets.IntSlider(start[name], low, high, step, description=description, style=style, layout=layout)

    controls = {
        "in_channels": slider("in_channels", "input channels"),
        "out_channels": slider("out_channels", "output channels"),
        "kernel_size": widgets.Dropdown(options=list(KERNEL_SIZES), value=start["kernel_size"], description="kernel size", style=style),
        "spatial": slider("spatial", "spatial size (HxW)"),
        "reduction": slider("reduction", "1x1 reduction width"),
    }
    readout = widgets.HTML()
    plot = widgets.Output()

    def update(_change=None):
        result = bottleneck_comparison(**{name: w.value for name, w in controls.items()})
        readout.value = "<pre>" + result.summary() + "</pre>"
        redraw(plot, plot_bottleneck, result)

    on_change(controls.values(), update)
    update()
    return widgets.VBox([*controls.values(), readout, plot])
