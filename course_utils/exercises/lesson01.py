"""Checks for lesson 01, "1x1 convolutions and FLOPs".

The expected values are computed with ``course_utils.costs`` from the
exercise's hyper-parameters, so the checks and the lesson share one arithmetic.
"""
from __future__ import annotations

import torch
from torch import nn

from .. import costs
from .core import check_callable, check_number, exercise_check

# Exercise 1: GoogLeNet's conv1 (Table 1: convolution 7x7/2, 64 channels, on the 224x224x3 image; padding 3),
# printed in the table as 2.7K params and 34M ops.
EX1 = dict(in_channels=3, out_channels=64, kernel_size=7, stride=2, padding=3, input_size=224)
TABLE1_PRINTED_OPS = 34_000_000


@exercise_check
def check_conv1_macs(answer) -> None:
    """Exercise 1: MACs of GoogLeNet's conv1 (7x7/2, 3 -> 64 channels, 224x224 input, padding 3), one image."""
    e = EX1
    cin, cout, k, size = e["in_channels"], e["out_channels"], e["kernel_size"], e["input_size"]
    expected = costs.conv_macs(cin, cout, k, size, stride=e["stride"], padding=e["padding"])
    no_padding = costs.conv_macs(cin, cout, k, size, stride=e["stride"])
    no_stride = costs.conv_macs(cin, cout, k, size, padding=e["padding"])
    out = costs.conv_output_size(size, k, stride=e["stride"], padding=e["padding"])[0]
    return check_number(
        answer, expected,
        title="Exercise 1 (Table 1's conv1)",
        confirm=(f"{costs.format_count(expected)} MACs, not the {costs.format_count(TABLE1_PRINTED_OPS)} the table prints: "
                 f"{out}x{out} outputs x {cout} channels x (7 x 7 x {cin}) each. The printed row is a misprint."),
        hint="output positions x output channels x (kernel area x input channels); the stride-2 output is not 224x224.",
        mistakes={
            TABLE1_PRINTED_OPS: "that is the figure the table prints; compute the layer's MACs from its hyper-parameters instead.",
            no_stride: "the layer has stride 2: how wide is its output?",
            no_padding: "close: with padding 3 the output is a little wider than without.",
            expected // cin: "a 7x7 filter spans all 3 input channels (R, G and B).",
            2 * expected: "check your unit: this course counts multiply-accumulates, one multiply together with its add.",
            costs.conv_params(cin, cout, k, bias=False): "that is the number of weights; MACs count the work over all output positions.",
            costs.conv_params(cin, cout, k): "that is the number of parameters; MACs count the work over all output positions.",
        },
        rel_tol=0.005, integer=False,  # "about 118 million" is right too
    )


# Exercise 3: inception(3a)'s 3x3 branch (Table 1: #3x3 reduce 96, #3x3 128) on 28x28x192.
EX3 = dict(in_channels=192, reduce=96, out_channels=128, spatial=28)


def _ex3_parts() -> tuple[int, int]:
    e = EX3
    reduce = costs.conv_macs(e["in_channels"], e["reduce"], 1, e["spatial"])
    conv3 = costs.conv_macs(e["reduce"], e["out_channels"], 3, e["spatial"], padding=1)
    return reduce, conv3


@exercise_check
def check_branch_macs(answer) -> None:
    """Exercise 3: MACs of inception(3a)'s 3x3 branch, the 1x1 reduction included."""
    reduce, conv3 = _ex3_parts()
    e = EX3
    unreduced = costs.conv_macs(e["in_channels"], e["out_channels"], 3, e["spatial"], padding=1)
    return check_number(
        answer, reduce + conv3,
        title="Exercise 3 (3x3 branch MACs)",
        confirm=(f"the 1x1 reduction costs {costs.format_count(reduce)} MACs and saves "
                 f"{costs.format_count(unreduced - conv3)} on the 3x3 conv."),
        hint="count each conv of the branch separately: output positions x output channels x (kernel area x input channels).",
        mistakes={
            conv3: "that is the 3x3 conv alone: the 1x1 reduction in front of it costs MACs too.",
            reduce: "that is the 1x1 reduction alone: add the 3x3 conv that follows it.",
            2 * (reduce + conv3): "check your unit: this course counts multiply-accumulates, one multiply together with its add.",
            unreduced: "that is the 3x3 conv WITHOUT the reduction (straight from 192 channels). The branch has a 96-channel 1x1 in front.",
            reduce + costs.conv_macs(e["reduce"], e["out_channels"], 3, 26): "the branch pads its 3x3 conv ('same'), so the output stays 28x28.",
        },
    )


# Exercise 4: receptive field of GoogLeNet's first three layers (conv 7x7/2, max pool 3x3/2, conv 3x3/1).
EX4 = [("conv 7x7/2", 7, 2), ("max pool 3x3/2", 3, 2), ("conv 3x3/1", 3, 1)]


@exercise_check
def check_receptive_field(answer) -> None:
    """Exercise 4: receptive field (in input pixels) after conv 7x7/2 -> max pool 3x3/2 -> conv 3x3/1."""
    expected = costs.receptive_field(EX4)[-1].size
    no_jump = 1 + sum(k - 1 for _, k, _ in EX4)
    return check_number(
        answer, expected,
        title="Exercise 4 (receptive field)",
        confirm="after two stride-2 layers, each step of the last 3x3 conv moves 4 input pixels.",
        hint="use r_out = r_in + (k - 1) * j_in and j_out = j_in * stride, starting from r = j = 1.",
        mistakes={
            no_jump: "that ignores the strides: after a stride-2 layer, neighbouring pixels are 2 input pixels apart, so later kernels reach further.",
            7 * 3 * 3: "receptive fields grow by adding, not multiplying: r_out = r_in + (k - 1) * j_in.",
            7 + 3 + 3: "close to the no-stride sum, but each layer adds (k - 1) * jump, not k.",
        },
    )


# Exercise 2 (code): turn a 1x1 convolution into the equivalent nn.Linear.
@exercise_check
def check_conv1x1_to_linear(answer) -> None:
    """Exercise 2: ``answer(conv)`` must return an nn.Linear equal to the 1x1 conv at every pixel."""

    def trial(fn) -> str | None:
        generator = torch.Generator().manual_seed(0)
        for bias in (True, False):
            conv = nn.Conv2d(6, 4, kernel_size=1, bias=bias)
            with torch.no_grad():
                for p in conv.parameters():
                    p.copy_(torch.randn(p.shape, generator=generator))
            linear = fn(conv)
            if not isinstance(linear, nn.Linear):
                return f"return an nn.Linear, got {type(linear).__name__}."
            if (linear.in_features, linear.out_features) != (6, 4):
                return (f"the Linear maps {linear.in_features} -> {linear.out_features} features; "
                        "a 1x1 conv maps C_in input channels to C_out output channels per pixel.")
            if (linear.bias is None) != (conv.bias is None):
                return "keep the bias if and only if the conv has one."
            x = torch.randn(2, 6, 5, 5, generator=generator)
            expected = conv(x)
            got = linear(x.permute(0, 2, 3, 1)).permute(0, 3, 1, 2)
            if not torch.allclose(got, expected, atol=1e-5):
                return ("shapes fit but the numbers differ: conv.weight has shape (C_out, C_in, 1, 1); "
                        "Linear.weight has shape (out_features, in_features). Copy the bias too.")
        return None

    return check_callable(
        answer, "Exercise 2 (1x1 conv as a Linear)", trial,
        confirm="a 1x1 convolution is the same Linear layer applied at every pixel.",
    )
