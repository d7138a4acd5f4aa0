"""ipywidgets front ends for the pure functions in ``course_utils.explorers``, one module per widget.

Each ``*_widget()`` returns a widget; display it by leaving it as the last
expression of a cell. The logic lives in explorers (tested without a browser);
here are only controls, a text readout and a plot.

* ``bottleneck``  - ``cost_explorer_widget`` (lesson 01)
* ``seeing_inside`` - ``seeing_inside_widget`` (lesson 07)
* ``batchnorm``   - ``bn_explorer_widget`` (lesson 03)
* ``inception_module`` - ``module_builder_widget`` (lesson 02)
* ``factorization`` - ``factorization_explorer_widget`` (lesson 04)
* ``segments``    - ``segment_spectrum_widget`` (lesson 06)
* ``residual_scaling`` - ``residual_scaling_widget`` (lesson 05)
* ``compare_models`` - ``compare_models_widget`` (lesson 08)
"""
from .batchnorm import bn_explorer_widget, plot_bn_statistics
from .bottleneck import cost_explorer_widget, plot_bottleneck
from .factorization import factorization_explorer_widget, plot_factorizations
from .inception_module import module_builder_widget, plot_module_costs
from .residual_scaling import plot_scaling, residual_scaling_widget
from .seeing_inside import render_seeing_inside, seeing_inside_widget
from .segments import plot_segment_spectrum, segment_spectrum_widget
from .compare_models import compare_models_widget, plot_compare  # noqa: F401

__all__ = ["bn_explorer_widget", "plot_bn_statistics", "cost_explorer_widget", "plot_bottleneck", "factorization_explorer_widget", "plot_factorizations", "module_builder_widget", "plot_module_costs", "render_seeing_inside", "seeing_inside_widget", "plot_scaling", "residual_scaling_widget", "plot_segment_spectrum", "segment_spectrum_widget"]
