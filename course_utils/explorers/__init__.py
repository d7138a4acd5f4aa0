"""Pure functions behind the course's interactive widgets, one module per widget.

Each widget in ``course_utils.widgets`` is a thin ipywidgets shell around a
function here, so what a learner plays with is computed, and tested, without a
browser.

* ``bottleneck``  - a k x k conv with and without a 1x1 reduction (lesson 01)
* ``seeing_inside`` - which views and layers a choice of model offers (lesson 07)
"""
from .bottleneck import BottleneckComparison, bottleneck_comparison
from .seeing_inside import VIEWS, SeeingInsideSelection, layer_catalog, seeing_inside_choices

__all__ = [
    "BottleneckComparison", "bottleneck_comparison",
    "VIEWS", "SeeingInsideSelection", "layer_catalog", "seeing_inside_choices",
]
