"""Pure functions behind the course's interactive widgets, one module per widget.

Each widget in ``course_utils.widgets`` is a thin ipywidgets shell around a
function here, so what a learner plays with is computed, and tested, without a
browser.

* ``bottleneck``  - a k x k conv with and without a 1x1 reduction (lesson 01)
* ``seeing_inside`` - which views and layers a choice of model offers (lesson 07)
* ``batchnorm``   - batch and running statistics against the population's (lesson 03)
* ``inception_module`` - one Inception module, with reductions and naive, branch by branch (lesson 02)
* ``factorization`` - one n x n conv, five factorizations: params, MACs, receptive field, rank, time (lesson 04)
* ``segments``    - one k x k conv from groups = 1 to groups = C: params, MACs, measured time, GMAC/s (lesson 06)
* ``residual_scaling`` - activation std per block and stem gradient of a deep residual Inception stack (lesson 05)
* ``compare_models`` - any two figures of the family table against each other, ratios ranked (lesson 08)
"""
from .batchnorm import BNInputs, BNStatistics, bn_statistics, capture_bn_inputs
from .bottleneck import BottleneckComparison, bottleneck_comparison
from .factorization import FactorizationComparison, compare_factorizations, kernel_svd
from .residual_scaling import ResidualInceptionStack, ScalingProfile, compare_scales, scaling_profile
from .inception_module import ModuleCosts, inception_module_costs, naive_network, table1_presets
from .seeing_inside import VIEWS, SeeingInsideSelection, layer_catalog, seeing_inside_choices
from .segments import SegmentSpectrum, segment_spectrum
from .compare_models import AXES, ComparePoints, Ranking, best_ratio, compare_points, suggest_log  # noqa: F401

__all__ = [
    "BNInputs", "BNStatistics", "bn_statistics", "capture_bn_inputs",
    "BottleneckComparison", "bottleneck_comparison",
    "FactorizationComparison", "compare_factorizations", "kernel_svd",
    "ModuleCosts", "inception_module_costs", "naive_network", "table1_presets",
    "VIEWS", "SeeingInsideSelection", "layer_catalog", "seeing_inside_choices",
    "SegmentSpectrum", "segment_spectrum",
    "ResidualInceptionStack", "ScalingProfile", "compare_scales", "scaling_profile",
]
