"""Checks for lesson 01, "1x1 convolutions and FLOPs".

The expected values are computed with ``course_utils.costs`` from the
exercise's hyper-parameters, so the checks and the lesson share one arithmetic.
"""
from __future__ import annotations

import torch
from torch import nn

from .. import costs
from .core import check_callable, check_number, exercise_check

# Exercise 1: a 3x3 conv from 64 to 128 channels, with bias.
EX1 = dict(in_channels=64, out_channels=128, kernel_size=3)


@exercise_check
def check_conv_params(answer) -> None:
    """Exercise 1: parameters of ``nn.Conv2d(64, 128, kernel_size=3)`` (bias included)."""
    cin, cout, k = EX1["in_channels"], EX1["out_channels"], EX1["kernel_size"]
    expected = costs.conv_params(cin, cout, k, bias=True)
    return check_number(
        answer, expected,
        title="Exercise 1 (conv parameters)",
        confirm="each of the 128 filters has 3*3*64 weights plus one bias.",
        hint="each output channel has one filter; how many numbers does one filter hold, and what is added per output channel?",
        mistakes={
            costs.conv_params(cin, cout, k, bias=False): "close: nn.Conv2d has bias=True by default. What does the bias add per output channel?",
            k * k * cout + cout: "a filter spans ALL input channels, not just one: its size is k x k x C_in.",
            k * k * cin * cout * 2: "parameters do not depend on a factor of 2: that is the FLOPs convention for work, not weights.",
            k * k * cin + cout: "there is one k x k x C_in filter per output channel, not one in total.",
        },
    )


# Exercise 2: inception(3a)'s 3x3 branch (Table 1: #3x3 reduce 96, #3x3 128) on 28x28x192.
EX2 = dict(in_channels=192, reduce=96, out_channels=128, spatial=28)


def _ex2_parts() -> tuple[int, int]:
    e = EX2
    reduce = costs.conv_macs(e["in_channels"], e["reduce"], 1, e["spatial"])
    conv3 = costs.conv_macs(e["reduce"], e["out_channels"], 3, e["spatial"], padding=1)
    return reduce, conv3


@exercise_check
def check_branch_macs(answer) -> None:
    """Exercise 2: MACs of inception(3a)'s 3x3 branch, the 1x1 reduction included."""
    reduce, conv3 = _ex2_parts()
    e = EX2
    unreduced = costs.conv_macs(e["in_channels"], e["out_channels"], 3, e["spatial"], padding=1)
    return check_number(
        answer, reduce + conv3,
        title="Exercise 2 (3x3 branch MACs)",
        confirm=(f"the 1x1 reduction costs {costs.format_count(reduce)} MACs and saves "
                 f"{costs.format_count(unreduced - conv3)} on the 3x3 conv."),
        hint="count each conv of the branch separately: output positions x output channels x (kernel area x input channels).",
        mistakes={
            conv3: "that is the 3x3 conv alone: the 1x1 reduction in front of it costs MACs too.",
            reduce: "that is the 1x1 reduction alone: add the 3x3 conv that follows it.",
            2 * (reduce + conv3): "that is twice the answer: you counted FLOPs (multiply and add separately); the exercise asks for MACs.",
            unreduced: "that is the 3x3 conv WITHOUT the reduction (straight from 192 channels). The branch has a 96-channel 1x1 in front.",
            reduce + costs.conv_macs(e["reduce"], e["out_channels"], 3, 26): "the branch pads its 3x3 conv ('same'), so the output stays 28x28.",
        },
    )


# Exercise 3: receptive field of GoogLeNet's first three layers (conv 7x7/2, max pool 3x3/2, conv 3x3/1).
EX3 = [("conv 7x7/2", 7, 2), ("max pool 3x3/2", 3, 2), ("conv 3x3/1", 3, 1)]


@exercise_check
def check_receptive_field(answer) -> None:
    """Exercise 3: receptive field (in input pixels) after conv 7x7/2 -> max pool 3x3/2 -> conv 3x3/1."""
    expected = costs.receptive_field(EX3)[-1].size
    no_jump = 1 + sum(k - 1 for _, k, _ in EX3)
    return check_number(
        answer, expected,
        title="Exercise 3 (receptive field)",
        confirm="after two stride-2 layers, each step of the last 3x3 conv moves 4 input pixels.",
        hint="use r_out = r_in + (k - 1) * j_in and j_out = j_in * stride, starting from r = j = 1.",
        mistakes={
            no_jump: "that ignores the strides: after a stride-2 layer, neighbouring pixels are 2 input pixels apart, so later kernels reach further.",
            7 * 3 * 3: "receptive fields grow by adding, not multiplying: r_out = r_in + (k - 1) * j_in.",
            7 + 3 + 3: "close to the no-stride sum, but each layer adds (k - 1) * jump, not k.",
        },
    )


# Exercise 4 (code): turn a 1x1 convolution into the equivalent nn.Linear.
@exercise_check
def check_conv1x1_to_linear(answer) -> None:
    """Exercise 4: ``answer(conv)`` must return an nn.Linear equal to the 1x1 conv at every pixel."""

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
        answer, "Exercise 4 (1x1 conv as a Linear)", trial,
        confirm="a 1x1 convolution is the same Linear layer applied at every pixel.",
    )
