"""The compare-models widget of lesson 08, the front end of ``course_utils.explorers.compare_models``."""
from __future__ import annotations

import html

import ipywidgets as widgets
import matplotlib.pyplot as plt

from ..checks import check_bool
from ..explorers.compare_models import AXES, ComparePoints, check_axis, compare_points, suggest_log
from ..family import _LABEL_OFFSETS, COLORS, _plain_log_ticks
from ._live import on_change, redraw


def plot_compare(result: ComparePoints, log_x: bool = True, log_y: bool = False, labels: bool = True, ax=None):
    """One point per model (the family's colours), ``y`` against ``x``; the models left out listed below."""
    if ax is None:
        fig, ax = plt.subplots(figsize=(7.5, 4))
    else:
        fig = ax.figure
    leftmost = min((p.x for p in result.points), default=None)
    for p in result.points:
        ax.plot(p.x, p.y, "o", markersize=8, color=COLORS.get(p.name, "k"), label=p.label)
        if labels:
            dx, dy, ha = _LABEL_OFFSETS.get(p.name, (7, -3, "left"))  # pairs that sit close on most axes
            if ha == "right" and p.x == leftmost:  # a label left of the leftmost point would cover the y axis
                dx, ha = abs(dx), "left"
            ax.annotate(p.label, (p.x, p.y), textcoords="offset points", xytext=(dx, dy), ha=ha, fontsize=8)
    if log_x and all(p.x > 0 for p in result.points):
        ax.set_xscale("log")
        _plain_log_ticks(ax, "x")
    if log_y and all(p.y > 0 for p in result.points):
        ax.set_yscale("log")
        _plain_log_ticks(ax, "y")
    ax.margins(y=0.1)
    if labels and result.points:  # room on the right for the labels
        lo, hi = ax.get_xlim()
        ax.set_xlim(lo, hi * 1.8 if ax.get_xscale() == "log" else hi + 0.3 * (hi - lo))
    if not labels and result.points:
        ax.legend(fontsize=7.5, loc="best")
    ax.set_xlabel(result.x_label + (" (log scale)" if ax.get_xscale() == "log" else ""))
    ax.set_ylabel(result.y_label + (" (log scale)" if ax.get_yscale() == "log" else ""), fontsize=9)
    ax.set_title(f"the Inception family: {len(result.points)} of {len(result.points) + len(result.left_out)} "
                 "models have both figures", fontsize=10)
    ax.grid(alpha=0.3, which="both")
    fig.tight_layout()
    return fig


def compare_models_widget(rows=None, x: str = "macs", y: str = "imagenet_top1", log_x: bool = True,
                          log_y: bool = False, labels: bool = True) -> widgets.Widget:
    """Two dropdowns (x and y axis, any figure of the family table) and three checkboxes -> a scatter plot.

    ``rows`` defaults to :func:`course_utils.family.family_table` (stored latency included).
    Choosing an axis switches its log checkbox to the scale that suits it
    (:func:`~course_utils.explorers.compare_models.suggest_log`); the checkbox still overrides.
    Nothing is measured here: every redraw only reads the rows.
    """
    x, y = check_axis(x, "x"), check_axis(y, "y")
    log_x, log_y = check_bool(log_x, "log_x"), check_bool(log_y, "log_y")
    labels = check_bool(labels, "labels")
    if rows is None:
        from ..family import family_table

        rows = family_table()
    compare_points(rows, x, y)  # bad rows fail here, before any control is built
    style = {"description_width": "60px"}
    options = [(axis.label, key) for key, axis in AXES.items()]
    x_axis = widgets.Dropdown(options=options, value=x, description="x axis", style=style,
                              layout=widgets.Layout(width="460px"))
    y_axis = widgets.Dropdown(options=options, value=y, description="y axis", style=style,
                              layout=widgets.Layout(width="460px"))
    log_x_box = widgets.Checkbox(value=log_x, description="log x", indent=False, layout=widgets.Layout(width="90px"))
    log_y_box = widgets.Checkbox(value=log_y, description="log y", indent=False, layout=widgets.Layout(width="90px"))
    labels_box = widgets.Checkbox(value=labels, description="labels", indent=False,
                                  layout=widgets.Layout(width="90px"))
    readout = widgets.HTML()
    plot = widgets.Output()
    state = {"hold": False}

    def update(_change=None):
        if state["hold"]:
            return
        result = compare_points(rows, x_axis.value, y_axis.value)
        lines = [f"{len(result.points)} models: {result.y_label} against {result.x_label}"]
        lines += [f"left out {labels}: {why}" for labels, why in result.left_out_by_reason()]
        readout.value = "<div style='font-size:12px'>" + "<br>".join(html.escape(line) for line in lines) + "</div>"
        redraw(plot, plot_compare, result, log_x=log_x_box.value, log_y=log_y_box.value, labels=labels_box.value)

    def axis_changed(change):
        box = log_x_box if change["owner"] is x_axis else log_y_box
        state["hold"] = True  # one redraw for the axis and its suggested scale
        try:
            box.value = suggest_log(change["new"])
        finally:
            state["hold"] = False
        update()

    x_axis.observe(axis_changed, names="value")
    y_axis.observe(axis_changed, names="value")
    on_change([log_x_box, log_y_box, labels_box], update)
    update()
    return widgets.VBox([x_axis, y_axis, widgets.HBox([log_x_box, log_y_box, labels_box]), readout, plot])
