"""The cost explorer of lesson 01: a k x k conv with and without a 1x1 bottleneck (pure logic).

``course_utils.widgets.bottleneck.cost_explorer_widget`` is its front end.
"""
from __future__ import annotations

from dataclasses import dataclass

from .. import costs
from ..checks import CourseError, check_int


@dataclass(frozen=True)
class BottleneckComparison:
    """A k x k conv computed directly vs. after a 1x1 reduction (lesson 01, widget).

    ``direct_*``: ``C_in -> C_out`` with a k x k kernel.
    ``reduced_*``: ``C_in -> reduction`` (1x1) then ``reduction -> C_out`` (k x k),
    the bottleneck of GoogLeNet's Figure 2(b).
    """

    in_channels: int
    out_channels: int
    kernel_size: int
    spatial: int
    reduction: int
    direct_params: int
    direct_macs: int
    reduced_params: int
    reduced_macs: int

    @property
    def mac_saving(self) -> float:
        """Fraction of the direct MACs saved by the bottleneck (negative = it costs more)."""
        return 1 - self.reduced_macs / self.direct_macs

    @property
    def param_saving(self) -> float:
        return 1 - self.reduced_params / self.direct_params

    @property
    def speedup(self) -> float:
        """How many times fewer MACs the bottleneck needs."""
        return self.direct_macs / self.reduced_macs

    def summary(self) -> str:
        k = self.kernel_size
        return (
            f"{k}x{k} conv {self.in_channels}->{self.out_channels} on {self.spatial}x{self.spatial}: "
            f"{costs.format_count(self.direct_macs)} MACs, {self.direct_params:,} params\n"
            f"1x1 {self.in_channels}->{self.reduction} then {k}x{k} {self.reduction}->{self.out_channels}: "
            f"{costs.format_count(self.reduced_macs)} MACs, {self.reduced_params:,} params\n"
            f"{self._verdict()}"
        )

    def _verdict(self) -> str:
        """The saving, or, for a reduction wider than pays, the extra cost (never a negative saving)."""
        if self.mac_saving >= 0:
            macs = f"saving: {100 * self.mac_saving:.1f}% of MACs ({self.speedup:.2f}x fewer)"
        else:
            macs = (f"no saving: the bottleneck costs {100 * -self.mac_saving:.1f}% more MACs "
                    f"({1 / self.speedup:.2f}x as many)")
        if self.param_saving >= 0:
            return f"{macs}, {100 * self.param_saving:.1f}% fewer parameters"
        return f"{macs}, {100 * -self.param_saving:.1f}% more parameters"


def bottleneck_comparison(
    in_channels: int = 192,
    out_channels: int = 32,
    kernel_size: int = 5,
    spatial: int = 28,
    reduction: int = 16,
    bias: bool = False,
) -> BottleneckComparison:
    """Costs of a ``kernel_size`` conv with and without a 1x1 reduction to ``reduction`` channels.

    The defaults are GoogLeNet inception(3a)'s 5x5 branch (Table 1: 192 input
    channels at 28x28, "#5x5 reduce" 16, "#5x5" 32). Padding keeps the spatial
    size ("same" convolution), as in every Inception branch.
    """
    kernel_size = check_int(kernel_size, "kernel_size", minimum=1,
                            hint="Use an odd size (1, 3, 5, 7, ...) so that 'same' padding exists.")
    if kernel_size % 2 == 0:
        raise CourseError(
            f"kernel_size must be a positive odd integer (1, 3, 5, 7, ...) so that 'same' padding exists, "
            f"got {kernel_size}."
        )
    in_channels = check_int(in_channels, "in_channels", minimum=1)
    out_channels = check_int(out_channels, "out_channels", minimum=1)
    spatial = check_int(spatial, "spatial", minimum=1, hint="It is the feature map's height and width.")
    reduction = check_int(reduction, "reduction", minimum=1, hint="It is the 1x1 reduction's output channels.")
    pad = kernel_size // 2
    direct = costs.conv_cost(in_channels, out_channels, kernel_size, spatial, padding=pad, bias=bias)
    reduce = costs.conv_cost(in_channels, reduction, 1, spatial, bias=bias)
    after = costs.conv_cost(reduction, out_channels, kernel_size, spatial, padding=pad, bias=bias)
    return BottleneckComparison(
        in_channels=in_channels,
        out_channels=out_channels,
        kernel_size=kernel_size,
        spatial=spatial,
        reduction=reduction,
        direct_params=direct.params,
        direct_macs=direct.macs,
        reduced_params=reduce.params + after.params,
        reduced_macs=reduce.macs + after.macs,
    )
