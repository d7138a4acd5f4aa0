"""The BN explorer widget of lesson 03, the front end of ``course_utils.explorers.batchnorm``."""
from __future__ import annotations

import ipywidgets as widgets
import matplotlib.pyplot as plt

from ..explorers.batchnorm import BATCH_SIZES, MOMENTA, BNInputs, BNStatistics, bn_statistics
from ._live import on_change, redraw


def plot_bn_statistics(stats: BNStatistics, channel: int = 0, axes=None):
    """Left: one channel's batch means, running mean and population mean over the training steps.
    Right: the error of each, averaged over channels, in population standard deviations."""
    if axes is None:
        fig, axes = plt.subplots(1, 2, figsize=(10, 3.4))
    else:
        fig = axes[0].figure
    steps = range(1, stats.steps + 1)
    ax = axes[0]
    ax.plot(steps, stats.batch_mean[:, channel], ".", color="#c0504d", markersize=3, alpha=0.6, label="this batch's mean")
    ax.plot(steps, stats.running_mean[:, channel], "-", color="#4f81bd", label="running mean")
    ax.axhline(stats.population_mean[channel], color="black", linestyle="--", linewidth=1, label="population mean")
    ax.set_xlabel("training step")
    ax.set_ylabel(f"channel {channel}: mean")
    ax.set_title("one channel")
    ax.legend(fontsize=8, loc="lower right")
    ax.grid(alpha=0.3)
    ax = axes[1]
    ax.plot(steps, stats.mean_error("batch"), ".", color="#c0504d", markersize=3, alpha=0.6, label="this batch's mean")
    ax.plot(steps, stats.mean_error("running"), "-", color="#4f81bd", label="running mean")
    ax.set_yscale("log")
    ax.set_xlabel("training step")
    ax.set_ylabel("|error| / population std")
    ax.set_title("all channels (average)")
    ax.legend(fontsize=8, loc="upper right")
    ax.grid(alpha=0.3, which="both")
    fig.suptitle(f"batch size {stats.batch_size}, momentum {stats.momentum:g}", fontsize=10)
    fig.tight_layout()
    return fig


def bn_explorer_widget(inputs: BNInputs, batch_size: int = 32, momentum: float = 0.1, steps: int = 200,
                       channel: int = 0) -> widgets.Widget:
    """Batch-size and momentum sliders -> how far batch and running statistics are from the population (lesson 03).

    ``inputs`` comes from :func:`course_utils.explorers.batchnorm.capture_bn_inputs`.
    """
    style = {"description_width": "110px"}
    layout = widgets.Layout(width="440px")
    controls = {
        "batch_size": widgets.SelectionSlider(options=list(BATCH_SIZES), value=batch_size, description="batch size",
                                              style=style, layout=layout),
        "momentum": widgets.SelectionSlider(options=list(MOMENTA), value=momentum, description="momentum",
                                            style=style, layout=layout),
    }
    readout = widgets.HTML()
    plot = widgets.Output()

    def update(_change=None):
        stats = bn_statistics(inputs, steps=steps, **{name: w.value for name, w in controls.items()})
        readout.value = f"<pre>layer {inputs.layer}\n{stats.text()}</pre>"
        redraw(plot, plot_bn_statistics, stats, channel=channel)

    on_change(controls.values(), update)
    update()
    return widgets.VBox([*controls.values(), readout, plot])
