"""ipywidgets front ends for the pure functions in ``course_utils.explorers``, one module per widget.

Each ``*_widget()`` returns a widget; display it by leaving it as the last
expression of a cell. The logic lives in explorers (tested without a browser);
here are only controls, a text readout and a plot.

* ``bottleneck``  - ``cost_explorer_widget`` (lesson 01)
* ``seeing_inside`` - ``seeing_inside_widget`` (lesson 07)
"""
from .bottleneck import cost_explorer_widget, plot_bottleneck
from .seeing_inside import render_seeing_inside, seeing_inside_widget

__all__ = ["cost_explorer_widget", "plot_bottleneck", "render_seeing_inside", "seeing_inside_widget"]
