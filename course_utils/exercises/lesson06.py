"""Checks for lesson 06, "Xception: depthwise separable convolutions and the segment spectrum".

Every expected value is computed here with the course's own functions (``separable``,
``costs``, the Xception model, the segment spectrum the learner measured), so the checks
and the lesson share one arithmetic.
"""
from __future__ import annotations

from .. import costs
from .core import as_number, check_number, correct, exercise_check, not_attempted, wrong

# Exercise 1: the exit flow's second separable conv: depthwise 3x3 on 728 channels, then 1x1 to 1024, on 19 x 19.
EX1 = dict(in_channels=728, out_channels=1024, kernel_size=3, spatial=19)


@exercise_check
def check_separable_macs(answer) -> None:
    """Exercise 1: MACs (one image) of a depthwise 3x3 on 728 channels then a 1x1 to 1024, on a 19 x 19 grid."""
    from ..separable import separable_cost

    c = separable_cost(**EX1)
    return check_number(
        answer, c.macs,
        title="Exercise 1 (MACs of a separable conv)",
        confirm=(f"the depthwise part is only {100 * c.depthwise_macs / c.macs:.1f}% of it; the pointwise 1x1 does "
                 f"almost all the arithmetic. A regular 3x3 would need {c.regular_macs / c.macs:.1f}x as many "
                 f"(1 / (1/C_out + 1/k^2))."),
        hint=("add the two convs: the depthwise does k x k MACs per input channel and output position; the "
              "pointwise does C_in x C_out per output position. 'Same' padding keeps the grid."),
        mistakes={
            c.regular_macs: "that is a regular 3x3 conv from 728 to 1024 channels, not the separable pair.",
            c.pointwise_macs: "that is the pointwise 1x1 alone; the depthwise 3x3 costs something too.",
            c.depthwise_macs: "that is the depthwise 3x3 alone; the pointwise 1x1 does most of the work.",
            2 * c.macs: "that is FLOPs (2 per multiply-add); the course counts MACs.",
            c.macs // (EX1["spatial"] ** 2): "that is per output position; multiply by the 19 x 19 positions.",
            costs.conv_macs(728, 728, 3, 19, padding=1) + c.pointwise_macs:
                "the depthwise conv has groups = 728: each output channel sees one input channel, not all 728.",
        },
    )


@exercise_check
def check_time_plateau(answer, spectrum) -> None:
    """Exercise 2: the number of groups at which the layer's measured time stops falling, from ``spectrum``."""
    title = "Exercise 2 (where the time stops falling)"
    if answer is None:
        return not_attempted(title)
    value, problem = as_number(answer)
    if problem:
        return wrong(title, problem)
    if not getattr(spectrum, "timed", False):
        return wrong(title, "the spectrum passed to the check was not timed: run the cell that measures it "
                            "(measure left at its default) and pass its result.")
    groups = spectrum.groups
    if value not in groups:
        return wrong(title, f"the number of groups must divide the {spectrum.channels} channels; "
                            f"this spectrum has groups {groups}.")
    value = int(value)
    # A reading is right when the time there is already near the fastest (within 15-40%, noise on a busy machine).
    accepted = {spectrum.plateau(t) for t in (0.15, 0.25, 0.4)}
    if value in accepted:
        return correct(title, (f"from groups = {value} on the best runs stay near the fastest "
                               f"({spectrum[value].latency.min_ms:.2f} ms against "
                               f"{min(p.latency.min_ms for p in spectrum.points):.2f} ms) while the MACs keep "
                               f"falling as 1/g: the achieved GMAC/s drops, the layer is no longer limited by "
                               "arithmetic."))
    if value > max(accepted):
        return wrong(title, ("the time had already stopped falling before that: compare each point's best run "
                             "with the fastest one (spectrum.summary()), not the MACs column."))
    return wrong(title, ("at that many groups the best run is still well above the fastest one: look further "
                         "along the spectrum (spectrum.summary() or the chart's red line)."))


@exercise_check
def check_middle_block_params(answer) -> None:
    """Exercise 3: the parameters of one middle-flow block of Xception (three separable convs 728 -> 728 with BN)."""
    import torch

    from ..models import create_model

    with torch.device("meta"):
        model = create_model("xception")
    block = model.middle_flow.block4
    expected = costs.count_params(block)
    sep = costs.conv_params(728, 728, 3, groups=728, bias=False) + costs.conv_params(728, 728, 1, bias=False)
    bn = 2 * 728
    return check_number(
        answer, expected,
        title="Exercise 3 (parameters of a middle-flow block)",
        confirm=(f"three separable convs of {sep:,} weights each plus three BatchNorms of {bn:,} (gamma and "
                 f"beta); the identity shortcut has none. Eight such blocks hold {8 * expected / 1e6:.1f} M of "
                 f"Xception's 22.9 M parameters."),
        hint=("each of the three separable convs has a depthwise 3x3 (one filter per channel) and a pointwise "
              "1x1 (728 x 728), followed by a BatchNorm with a scale and a shift per channel."),
        mistakes={
            3 * sep: "close: the three BatchNorms have learnable parameters too (gamma and beta per channel).",
            sep + bn: "that is one separable conv with its BN; a middle-flow block has three.",
            3 * (costs.conv_params(728, 728, 3, bias=False) + bn): "that is three regular 3x3 convs; these are separable.",
            3 * (sep + 4 * 728): "running mean and variance are buffers, not parameters: only gamma and beta count.",
        },
    )
