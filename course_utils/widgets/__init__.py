"""ipywidgets front ends for the pure functions in ``course_utils.explorers``, one module per widget.

Each ``*_widget()`` returns a widget; display it by leaving it as the last
expression of a cell. The logic lives in explorers (tested without a browser);
here are only controls, a text readout and a plot.

* ``bottleneck``  - ``cost_explorer_widget`` (lesson 01)
"""
from .bottleneck import cost_explorer_widget, plot_bottleneck

__all__ = ["cost_explorer_widget", "plot_bottleneck"]
