"""The kernel factorization explorer of lesson 04, the front end of ``course_utils.explorers.factorization``."""
from __future__ import annotations

import html

import ipywidgets as widgets
import matplotlib.pyplot as plt
from matplotlib.ticker import FuncFormatter

from .. import costs
from ..explorers.factorization import (
    FACTORIZATION_NAMES,
    KERNEL_SIZES,
    FactorizationComparison,
    available_factorizations,
    compare_factorizations,
    quick_latency,
)
from ._live import on_change, redraw

#: One colour per factorization, the same in every figure of lesson 04.
COLORS = {
    "full": "#c0504d",
    "stacked 3x3": "#4f81bd",
    "1xn + nx1": "#9bbb59",
    "two 2x2": "#8064a2",
    "depthwise-separable": "#f79646",
}


def plot_factorizations(result: FactorizationComparison, axes=None):
    """Bars side by side: parameters, MACs per image and measured time of each factorization.

    The x labels carry each one's receptive field and effective linear rank; the
    time panel shows the fastest of the repeated runs as the bar and the median as
    a black tick (when measured): on a busy machine the fastest run is the robust figure.
    """
    timed = all(r.latency is not None for r in result.results)
    panels = 3 if timed else 2
    if axes is None:
        fig, axes = plt.subplots(1, panels, figsize=(3.6 * panels, 3.6))
    else:
        fig = axes[0].figure
    labels = [f"{r.label}\nRF {r.receptive_field[0]}x{r.receptive_field[1]}, rank {r.linear_rank}"
              for r in result.results]
    colors = [COLORS[r.name] for r in result.results]
    series = [([r.params for r in result.results], "parameters", None),
              ([r.macs for r in result.results], "MACs per image", None)]
    if timed:
        series.append(([r.latency.min_ms for r in result.results], f"time, batch {result.batch_size} (ms, best run)",
                       [r.latency.median_ms for r in result.results]))
    base = result.baseline
    for ax, (values, title, medians) in zip(axes, series):
        bars = ax.bar(range(len(values)), values, color=colors)
        if medians:
            ax.plot(range(len(values)), medians, "_", color="k", markersize=14, label="median")
            ax.legend(fontsize=7, loc="upper right")
        ax.set_title(title, fontsize=10)
        ax.set_xticks(range(len(values)), labels, rotation=30, ha="right", fontsize=7.5)
        if medians is None:
            ax.yaxis.set_major_formatter(FuncFormatter(lambda v, _pos: costs.format_count(v)))
        ref = values[result.results.index(base)] if base is not None else None
        for bar, value in zip(bars, values):
            text = f"{100 * value / ref:.0f}%" if ref else (costs.format_count(value) if medians is None else f"{value:.2f}")
            ax.annotate(text, (bar.get_x() + bar.get_width() / 2, bar.get_height()), ha="center", va="bottom",
                        fontsize=8, xytext=(0, 2), textcoords="offset points")
        ax.set_ylim(0, max(values + (medians or [])) * 1.2)
        ax.grid(axis="y", alpha=0.3)
    n = result.kernel_size
    fig.suptitle(f"{n}x{n} conv, {result.in_channels}->{result.out_channels} channels (middle {result.mid_channels}), "
                 f"{result.spatial}x{result.spatial}" + ("   (% of the full conv)" if base is not None else ""),
                 fontsize=10)
    fig.tight_layout()
    return fig


def factorization_explorer_widget(measure=None, **defaults) -> widgets.Widget:
    """Controls for n, channels, intermediate width, spatial size, batch and the factorizations to compare.

    Every change rebuilds the modules, counts them and (with "measure time" ticked)
    times them on this machine: about a second on a 2-core CPU. ``measure`` replaces
    the timing function (see ``explorers.factorization.compare_factorizations``).
    """
    start = {"kernel_size": 7, "in_channels": 64, "out_channels": 64, "mid_channels": 64, "spatial": 17,
             "batch_size": 8, **defaults}
    style = {"description_width": "170px"}
    layout = widgets.Layout(width="440px")
    controls = {
        "kernel_size": widgets.Dropdown(options=list(KERNEL_SIZES), value=start["kernel_size"],
                                        description="kernel size n", style=style),
        "in_channels": widgets.IntSlider(start["in_channels"], 8, 512, 8, description="input channels",
                                         style=style, layout=layout),
        "out_channels": widgets.IntSlider(start["out_channels"], 8, 512, 8, description="output channels",
                                          style=style, layout=layout),
        "mid_channels": widgets.IntSlider(start["mid_channels"], 1, 512, 1, description="intermediate width",
                                          style=style, layout=layout),
        "spatial": widgets.IntSlider(start["spatial"], 7, 64, 1, description="spatial size (H = W)",
                                     style=style, layout=layout),
        "batch_size": widgets.IntSlider(start["batch_size"], 1, 64, 1, description="batch size",
                                        style=style, layout=layout),
    }
    boxes = {name: widgets.Checkbox(value=True, description=name, indent=False,
                                    layout=widgets.Layout(width="auto")) for name in FACTORIZATION_NAMES}
    timing = widgets.Checkbox(value=True, description="measure time on this CPU", indent=False)
    readout = widgets.HTML()
    plot = widgets.Output()

    def update(_change=None):
        n = controls["kernel_size"].value
        possible = available_factorizations(n)
        for name, box in boxes.items():
            box.disabled = name not in possible
        chosen = [name for name, box in boxes.items() if box.value and name in possible] or ["full"]
        kwargs = {name: w.value for name, w in controls.items()}
        result = compare_factorizations(
            **kwargs, factorizations=chosen,
            measure=(measure or quick_latency) if timing.value else None,
        )
        table = [line for line in result.summary().splitlines() if line not in (result.verdict(), result.note)]
        readout.value = ("<b>" + html.escape(result.verdict()) + "</b>"
                         + (f"<br><i>{html.escape(result.note)}</i>" if result.note else "")
                         + "<pre style='font-size:11px'>" + html.escape("\n".join(table)) + "</pre>")
        redraw(plot, plot_factorizations, result)

    on_change([*controls.values(), *boxes.values(), timing], update)
    update()
    choose = widgets.HBox([widgets.Label("compare:"), *boxes.values()])
    return widgets.VBox([*controls.values(), choose, timing, readout, plot])
