"""Checks for lesson 05, "Inception-v4 and Inception-ResNet".

Every expected value is computed here with the course's own code (the model
blocks, ``costs`` and the residual scaling explorer), so the checks and the lesson
share one arithmetic.
"""
from __future__ import annotations

import functools

from .. import costs
from .core import check_number, correct, exercise_check, not_attempted, wrong

# Exercise 1: the parameters of one Inception-ResNet-A block of the shipped Inception-ResNet-v2
# (Figure 16's widths, 320 input channels): conv-BN in the branches, a linear 1x1 with bias.
EX1 = dict(in_channels=320)


def _block35():
    from ..models.inception_resnet import V2_BLOCK35, Block35

    return Block35(EX1["in_channels"], **V2_BLOCK35)


def _conv_weights(block) -> int:
    import torch.nn as nn

    return sum(m.weight.numel() for m in block.modules() if isinstance(m, nn.Conv2d))


@exercise_check
def check_block35_params(answer) -> None:
    """Exercise 1: parameters of one Block35 (Inception-ResNet-v2, 320 channels in), BN and biases included."""
    block = _block35()
    expected = costs.count_params(block)
    weights = _conv_weights(block)
    up_bias = block.up.bias.numel()
    bn = expected - weights - up_bias
    up = block.up.weight.numel() + up_bias
    return check_number(
        answer, expected,
        title="Exercise 1 (parameters of a Block35)",
        confirm=(f"{weights:,} convolution weights, {bn:,} BatchNorm parameters (gamma and beta of every "
                 f"traditional layer) and the {up_bias} biases of the linear 1x1: the 1x1 expansion alone holds "
                 f"{100 * up / expected:.0f}% of the block."),
        hint=("add up every convolution (in x out x kh x kw), the BatchNorm after each branch conv (2 per channel: "
              "gamma and beta) and the linear 1x1 that maps the concatenated branches back to 320 channels, with its "
              "bias. Check with costs.count_params."),
        mistakes={
            weights: "those are the convolution weights only: the BatchNorm layers (2 per channel) and the 1x1's bias count too.",
            weights + bn: "close: the linear 1x1 has a bias (no BatchNorm follows it).",
            weights + up_bias: "the BatchNorm layers after the branch convolutions have 2 parameters per channel.",
            expected - up: "the linear 1x1 'filter expansion' (back to 320 channels) belongs to the block too.",
        },
    )


# Exercise 2: the activation std after 20 blocks at residual scale 0.2, measured with the explorer's defaults.
EX2 = dict(scale=0.2, depth=20)


@functools.lru_cache(maxsize=1)
def _ex2_profiles():
    from ..explorers.residual_scaling import scaling_profile

    return scaling_profile(**EX2), scaling_profile(1.0, EX2["depth"])


@exercise_check
def check_std_after_20_blocks(answer) -> None:
    """Exercise 2: std after block 20 of ``explorers.scaling_profile(0.2, 20)`` (its default arguments)."""
    profile, unscaled = _ex2_profiles()
    expected = profile.block_std[-1]
    return check_number(
        answer, expected,
        title="Exercise 2 (std after 20 scaled blocks)",
        confirm=(f"the std grew {profile.growth:.2f}x over 20 blocks at scale 0.2, against "
                 f"{unscaled.growth:.2f}x without scaling: each block adds scale^2 times its residual's variance."),
        hint=("measure it: explorers.scaling_profile(scale=0.2, depth=20) returns the std after every block "
              "(block_std); take the last one."),
        mistakes={
            unscaled.block_std[-1]: "that is the unscaled stack (scale 1); the exercise asks for scale 0.2.",
            profile.stem_std: "that is the std after the stem, before the first block.",
            profile.growth: "that is the growth (last std / the stem's std); the exercise asks for the std itself.",
            profile.block_std[0]: "that is the std after the first block; take the last of the 20.",
        },
        rel_tol=0.01,
        integer=False,
    )


# Exercise 3: which stage of Inception-v4 (299 x 299) holds most of its MACs.
V4_STAGES = ("stem", "inception_a", "reduction_a", "inception_b", "reduction_b", "inception_c")


@functools.lru_cache(maxsize=1)
def _v4_stage_macs() -> dict[str, int]:
    import torch

    from ..models import create_model

    with torch.device("meta"):
        model = create_model("inception_v4")
    report = costs.cost_breakdown(model, (1, 3, 299, 299))
    return {name: report.row(name).macs for name in V4_STAGES}  # counted once per session (a few seconds)


@exercise_check
def check_most_macs(answer) -> None:
    """Exercise 3: the stage of inception_v4 with the most MACs, one of ``lesson05.V4_STAGES``."""
    title = "Exercise 3 (where Inception-v4 spends its MACs)"
    if answer is None:
        return not_attempted(title)
    if not isinstance(answer, str):
        return wrong(title, f"answer with the stage's name as text, one of {', '.join(V4_STAGES)}.")
    name = answer.strip().lower().replace("-", "_").replace(" ", "_")
    if name not in V4_STAGES:
        return wrong(title, f"{answer!r} is not one of the stages: {', '.join(V4_STAGES)}.")
    macs = _v4_stage_macs()
    best = max(macs, key=macs.get)
    total = sum(macs.values())
    if name == best:
        return correct(title, f"{100 * macs[best] / total:.0f}% of the network's MACs: seven blocks on the 17 x 17 grid, "
                              "each with 1x7 and 7x1 convolutions over 1024 channels.")
    if name == "stem":
        return wrong(title, "the stem is the most expensive single module, but a stage repeats its block: "
                            "multiply each block's MACs by how many times it appears (Figure 9), or count the stages.")
    return wrong(title, "count it: costs.cost_breakdown(model, (1, 3, 299, 299)) lists every stage's MACs "
                        "(build the model on the meta device to make it free).")
