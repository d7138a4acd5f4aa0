"""Checks for lesson 03, "Inception v2: batch normalization".

Every expected value is computed here by the course's code (``nn.BatchNorm2d``
itself, ``course_utils.batchnorm``, the shipped mini BN-Inception), never typed in.
"""
from __future__ import annotations

import functools

import torch
from torch import nn

from .core import check_number, correct, exercise_check, not_attempted, wrong

# Exercise 1: two training batches through a fresh BN (running mean starts at 0), PyTorch's momentum 0.1.
EX1 = dict(momentum=0.1, batch_means=(2.0, 4.0))


def _running_mean(momentum: float, batch_means, start: float = 0.0) -> float:
    """Feed batches whose channel mean is exactly ``batch_means[i]`` through a real nn.BatchNorm2d."""
    bn = nn.BatchNorm2d(1, momentum=momentum)
    with torch.no_grad():
        bn.running_mean.fill_(start)
        for m in batch_means:
            bn(torch.tensor([[[[m - 1.0]]], [[[m + 1.0]]]]))  # two values with mean m
    return bn.running_mean.item()


@exercise_check
def check_running_mean(answer) -> None:
    """Exercise 1: the running mean after two training batches with channel means 2.0 then 4.0 (momentum 0.1)."""
    momentum, (m1, m2) = EX1["momentum"], EX1["batch_means"]
    expected = _running_mean(momentum, (m1, m2))
    keep = 1 - momentum
    return check_number(
        answer, expected, integer=False, rel_tol=1e-4,
        title="Exercise 1 (running mean)",
        confirm="each update keeps 90% of the old estimate and adds 10% of the new batch mean; "
                "after two batches the estimate is still far below both means, because it started at 0.",
        hint="apply running = (1 - momentum) * running + momentum * batch_mean twice, starting from the initial value.",
        mistakes={
            _running_mean(keep, (m1, m2)): "that is the paper's convention read into PyTorch's argument: in PyTorch, "
                                           "momentum is the weight of the NEW batch statistic.",
            (m1 + m2) / 2: "that is the plain average of the two batch means: the running estimate starts from an "
                           "initial value and moves only a fraction of the way at each step.",
            momentum * m2: "that forgets the first update: the second step starts from where the first one left it.",
            keep * m1 + momentum * m2: "that starts from the first batch mean; a fresh BatchNorm2d's running mean starts at 0.",
            keep * momentum * m1 + keep * momentum * m2: "check which update the factor (1 - momentum) applies to: "
                                                         "only the older estimate is shrunk.",
        },
    )


# Exercise 4: fold a BN into the conv before it; the bias of output channel 0.
EX4 = dict(conv_bias=0.2, gamma=1.5, beta=0.1, mean=1.0, var=4.0, eps=1e-5)


def _ex2_modules() -> tuple[nn.Conv2d, nn.BatchNorm2d]:
    e = EX4
    conv = nn.Conv2d(1, 1, kernel_size=3, bias=True)
    bn = nn.BatchNorm2d(1, eps=e["eps"]).eval()
    with torch.no_grad():
        conv.bias.fill_(e["conv_bias"])
        bn.weight.fill_(e["gamma"])
        bn.bias.fill_(e["beta"])
        bn.running_mean.fill_(e["mean"])
        bn.running_var.fill_(e["var"])
    return conv, bn


def _folded_bias(conv_bias, gamma, beta, mean, var, eps) -> float:
    return beta + (conv_bias - mean) * gamma / (var + eps) ** 0.5


@exercise_check
def check_folded_bias(answer) -> None:
    """Exercise 4: the folded bias b' for conv bias 0.2 and BN gamma 1.5, beta 0.1, mean 1.0, var 4 (eps 1e-5)."""
    from ..batchnorm import folded_conv_weights

    conv, bn = _ex2_modules()
    expected = folded_conv_weights(conv, bn)[1].item()
    e = EX4
    return check_number(
        answer, expected, integer=False, rel_tol=1e-3,
        title="Exercise 4 (folded bias)",
        confirm="b' = beta + (b - mean) * gamma / sqrt(var + eps): the conv's own bias is shifted by the mean "
                "and scaled like the weights.",
        hint="write the eval-mode BN of the conv's output z = W*x + b and collect everything that does not multiply x.",
        mistakes={
            _folded_bias(0.0, e["gamma"], e["beta"], e["mean"], e["var"], e["eps"]):
                "that leaves out the conv's own bias b: it passes through the BN like every other part of z.",
            e["beta"] + (e["conv_bias"] - e["mean"]) * e["gamma"] / (e["var"] + e["eps"]):
                "BN divides by the standard deviation sqrt(var + eps), not by the variance.",
            (e["conv_bias"] - e["mean"]) * e["gamma"] / (e["var"] + e["eps"]) ** 0.5:
                "the shift beta is added after the scaling: it belongs in the folded bias.",
            _folded_bias(e["conv_bias"], e["gamma"], e["beta"], -e["mean"], e["var"], e["eps"]):
                "check the sign of the mean: BN subtracts it.",
            e["beta"] + (e["conv_bias"] - e["mean"]) / (e["var"] + e["eps"]) ** 0.5:
                "the scale gamma multiplies the normalized value, so it multiplies the bias too.",
            e["conv_bias"] * e["gamma"] / (e["var"] + e["eps"]) ** 0.5 + e["beta"] - e["mean"]:
                "the mean is subtracted before the scaling by gamma / sqrt(var + eps), so it is scaled too.",
        },
    )


# Exercises 2 and 3: a trained mini BN-Inception, one batch in training mode by mistake.
EX_FORGOTTEN = dict(checkpoint="mini_bn_inception", split="test", images=64)


@functools.lru_cache(maxsize=1)
def _forgotten_eval() -> tuple[int, int, int, str, tuple]:
    """(changed state-dict entries, BN layers, parameters changed, most-moved BN layer, the names of the BN layers).

    Loads the shipped checkpoint, runs the first 64 test images through it in training
    mode under ``torch.no_grad()`` (no optimizer step) and compares the state dicts.
    """
    from ..checkpoints import load_checkpoint
    from ..data import embedded_dataset

    model, _ = load_checkpoint(EX_FORGOTTEN["checkpoint"])
    before = {k: v.clone() for k, v in model.state_dict().items()}
    x = embedded_dataset(EX_FORGOTTEN["split"], 0).normalized(range(EX_FORGOTTEN["images"]))
    model.train()
    with torch.no_grad():
        model(x)
    after = model.state_dict()
    changed = [k for k in before if not torch.equal(before[k], after[k])]
    params = {name for name, _ in model.named_parameters()}
    bns = tuple(name for name, m in model.named_modules() if isinstance(m, nn.BatchNorm2d))
    moved = {
        name: (after[f"{name}.running_mean"] - before[f"{name}.running_mean"]).abs().max().item() for name in bns
    }
    return len(changed), len(bns), len(params & set(changed)), max(moved, key=moved.get), bns


@exercise_check
def check_changed_entries(answer) -> None:
    """Exercise 2: how many state-dict entries of the trained mini BN-Inception change after one train-mode batch."""
    changed, bns, params_changed, _, _ = _forgotten_eval()
    assert params_changed == 0  # no optimizer step: only buffers can change
    return check_number(
        answer, changed,
        title="Exercise 2 (what a forgotten model.eval() changes)",
        confirm="every BatchNorm layer updates three buffers: running_mean, running_var and num_batches_tracked. "
                "No weight changes without an optimizer step, but the network computes a different function "
                "from now on.",
        hint="count with code: copy model.state_dict() (clone the tensors!), run the batch in training mode, "
             "and compare entry by entry with torch.equal.",
        mistakes={
            0: "torch.no_grad() only turns off gradients; a training-mode forward pass still updates BatchNorm's buffers.",
            bns: "that is the number of BatchNorm layers; how many of each layer's state-dict entries change?",
            2 * bns: "close: besides running_mean and running_var, one more buffer per BatchNorm layer changes.",
            4 * bns: "weight and bias (gamma and beta) are parameters: without an optimizer step they do not change.",
        },
    )


@exercise_check
def check_most_moved_layer(answer) -> None:
    """Exercise 3: the name of the BatchNorm layer whose running_mean moved most (largest absolute change)."""
    title = "Exercise 3 (which layer moved most)"
    _, _, _, expected, bns = _forgotten_eval()
    if answer is None:
        return not_attempted(title)
    if not isinstance(answer, str):
        return wrong(title, f"the answer is a module name (a string such as 'conv1.bn'), got {type(answer).__name__}.")
    name = answer.strip()
    if name.endswith(".running_mean"):
        name = name[: -len(".running_mean")]
    if name == expected:
        return correct(title, "one batch in training mode moved this layer's running mean the most "
                              "(by max |new - old| over its channels).")
    if name not in bns:
        return wrong(title, "that is not the name of a BatchNorm2d in the model: the names come from "
                            "model.named_modules(), e.g. 'conv1.bn'.")
    return wrong(title, "that layer moved, but not the most: compare max |new - old| of running_mean over every "
                        "BatchNorm layer, with the first 64 test images and the model fresh from the checkpoint.")
