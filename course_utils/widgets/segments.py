"""The segment spectrum widget of lesson 06, the front end of ``course_utils.explorers.segments``."""
from __future__ import annotations

import html

import ipywidgets as widgets
import matplotlib.pyplot as plt

from ..explorers.segments import SegmentSpectrum, divisors, interleaved_latency, segment_spectrum
from ._live import redraw

#: The colours of lesson 06's spectrum figures: MACs, time, achieved rate.
COLORS = {"macs": "#4f81bd", "time": "#c0504d", "rate": "#9bbb59"}


def plot_segment_spectrum(result: SegmentSpectrum, selected: int | None = None, ax=None):
    """One chart against the number of groups (log scale): MACs and measured time, both relative to
    groups = 1, and the achieved GMAC/s on a second axis. ``selected`` is marked with a vertical line.

    On log axes the MACs are a straight line of slope -1 (they fall as 1/g); the time
    line shows how much of that the CPU turns into speed.
    """
    if ax is None:
        _, ax = plt.subplots(figsize=(8, 3.8))
    fig = ax.figure
    gs = result.groups
    base = result.points[0]
    ax.plot(gs, [p.macs / base.macs for p in result.points], "o-", color=COLORS["macs"], label="MACs (relative)")
    lines = ax.get_legend_handles_labels()
    if result.timed:
        ax.plot(gs, [p.latency.min_ms / base.latency.min_ms for p in result.points], "s-", color=COLORS["time"],
                label="time, best run (relative)")
        ax.fill_between(gs, [(p.latency.median_ms - p.latency.iqr_ms / 2) / base.latency.min_ms for p in result.points],
                        [(p.latency.median_ms + p.latency.iqr_ms / 2) / base.latency.min_ms for p in result.points],
                        color=COLORS["time"], alpha=0.12, linewidth=0, label="median +- IQR/2")
        rate_ax = ax.twinx()
        rate_ax.plot(gs, [result.macs_per_second(g) / 1e9 for g in gs], "^--", color=COLORS["rate"],
                     label="achieved GMAC/s (right axis)")
        rate_ax.set_ylabel("achieved GMAC/s", color=COLORS["rate"])
        rate_ax.set_ylim(bottom=0)
        handles, labels = ax.get_legend_handles_labels()
        h2, l2 = rate_ax.get_legend_handles_labels()
        lines = (handles + h2, labels + l2)
    ax.set_xscale("log", base=2)
    ax.set_yscale("log")
    ax.set_xticks(gs, [str(g) for g in gs], fontsize=8)
    ax.minorticks_off()
    ax.set_xlabel("groups g (segments); g = 1 regular conv, g = C depthwise")
    ax.set_ylabel("relative to groups = 1")
    if selected is not None:
        ax.axvline(selected, color="k", linestyle=":", linewidth=1)
    k, c = result.kernel_size, result.channels
    ax.set_title(f"{k}x{k} conv, {c} -> {c} channels, {result.spatial}x{result.spatial}, batch {result.batch_size}",
                 fontsize=10)
    ax.legend(*lines, fontsize=7.5, loc="lower left")
    ax.grid(alpha=0.3, which="both")
    fig.tight_layout()
    return fig


def segment_spectrum_widget(measure=None, **defaults) -> widgets.Widget:
    """Controls for the layer (channels, kernel, spatial size, batch) and a groups slider over the divisors of C.

    Changing the layer rebuilds the spectrum (counts it and, with "measure time" ticked,
    times every point on this CPU: about two seconds); moving the groups slider only
    moves the marker and the readout. ``measure`` replaces the timing function
    (see ``explorers.segments.segment_spectrum``).
    """
    start = {"channels": 96, "kernel_size": 3, "spatial": 24, "batch_size": 8, **defaults}
    style = {"description_width": "150px"}
    layout = widgets.Layout(width="440px")
    controls = {
        "channels": widgets.Dropdown(options=[32, 48, 64, 96, 128, 192, 256], value=start["channels"],
                                     description="channels C", style=style),
        "kernel_size": widgets.Dropdown(options=[3, 5, 7], value=start["kernel_size"], description="kernel k",
                                        style=style),
        "spatial": widgets.IntSlider(start["spatial"], 7, 56, 1, description="spatial size (H = W)", style=style,
                                     layout=layout),
        "batch_size": widgets.IntSlider(start["batch_size"], 1, 32, 1, description="batch size", style=style,
                                        layout=layout),
    }
    groups = widgets.SelectionSlider(options=divisors(start["channels"]), value=1, description="groups g",
                                     style=style, layout=layout, continuous_update=False)
    timing = widgets.Checkbox(value=True, description="measure time on this CPU", indent=False)
    readout = widgets.HTML()
    plot = widgets.Output()
    state: dict = {}

    def draw(_change=None):
        result, g = state["result"], groups.value
        p = result[g]
        line = (f"groups = {g}: {result.channels // g} channel(s) per segment, {p.params:,} parameters, "
                f"{p.macs:,} MACs per image ({100 * p.macs / result.points[0].macs:.1f}% of groups = 1)")
        if p.latency is not None:
            line += (f"; best run {p.latency.min_ms:.3f} ms ({100 * result.time_ratio(g):.0f}% of groups = 1), "
                     f"{result.macs_per_second(g) / 1e9:.2f} GMAC/s")
        table = [row for row in result.summary().splitlines() if row not in (result.verdict(), result.note)]
        readout.value = ("<b>" + html.escape(result.verdict()) + "</b><br>" + html.escape(line)
                         + (f"<br><i>{html.escape(result.note)}</i>" if result.note else "")
                         + "<pre style='font-size:11px'>" + html.escape("\n".join(table)) + "</pre>")
        redraw(plot, plot_segment_spectrum, result, selected=g)

    def rebuild(_change=None):
        c = controls["channels"].value
        options = divisors(c)
        if list(groups.options) != options:
            keep = groups.value if groups.value in options else 1
            groups.unobserve(draw, names="value")
            groups.options = options
            groups.value = keep
            groups.observe(draw, names="value")
        state["result"] = segment_spectrum(
            **{name: w.value for name, w in controls.items()},
            measure=(measure or interleaved_latency) if timing.value else None,
        )
        draw()

    for w in [*controls.values(), timing]:
        w.observe(rebuild, names="value")
    groups.observe(draw, names="value")
    rebuild()
    return widgets.VBox([*controls.values(), groups, timing, readout, plot])
