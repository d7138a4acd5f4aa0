"""Label smoothing and calibration (lesson 04, Inception v3 paper Section 7).

Szegedy et al. 2015 (https://arxiv.org/abs/1512.00567), Section 7, replace the
one-hot target ``q(k) = [k = y]`` by a mixture with the *uniform* distribution
over the K classes:

    q'(k) = (1 - eps) * [k = y] + eps / K

:func:`smoothed_targets` builds q', :func:`smoothed_cross_entropy` is the loss
``-sum_k q'(k) log p(k)`` written out, which equals PyTorch's
``nn.CrossEntropyLoss(label_smoothing=eps)`` (the loss ``course_utils.train.fit``
uses). :func:`reliability` measures what smoothing changes besides accuracy:
how confident the network is, and how far its confidence is from its accuracy
(expected calibration error, Guo et al. 2017, https://arxiv.org/abs/1706.04599),
with the bins of a reliability diagram (:func:`plot_reliability`).
"""
from __future__ import annotations

from typing import NamedTuple

import torch
import torch.nn.functional as F
from torch import Tensor

from .checks import CourseError, check_fraction, check_int, check_tensor

__all__ = ["smoothed_targets", "smoothed_cross_entropy", "Reliability", "reliability", "plot_reliability"]


def smoothed_targets(targets: Tensor, num_classes: int, eps: float = 0.1) -> Tensor:
    """Uniformly smoothed target distributions, one row per label: ``(1 - eps) one_hot + eps / K``.

    Every row sums to 1; the true class gets ``1 - eps + eps / K`` and every
    other class ``eps / K`` (the same for all of them: that is what "uniform" means).
    """
    check_tensor(targets, "targets", dims=1)
    k = check_int(num_classes, "num_classes", minimum=2)
    eps = check_fraction(eps, "eps", allow_one=False)
    if targets.numel() and (int(targets.min()) < 0 or int(targets.max()) >= k):
        raise CourseError(f"targets must be class indices from 0 to {k - 1}, got values from "
                          f"{int(targets.min())} to {int(targets.max())}.")
    return (1 - eps) * F.one_hot(targets.long(), k).float() + eps / k


def smoothed_cross_entropy(logits: Tensor, targets: Tensor, eps: float = 0.1) -> Tensor:
    """Cross-entropy against :func:`smoothed_targets`, averaged over the batch.

    ``-sum_k q'(k) log softmax(logits)_k``; equal to
    ``nn.CrossEntropyLoss(label_smoothing=eps)(logits, targets)``.
    """
    check_tensor(logits, "logits", dims=2)
    q = smoothed_targets(targets, logits.shape[1], eps)
    return -(q * F.log_softmax(logits, dim=1)).sum(1).mean()


class Reliability(NamedTuple):
    """Calibration of a classifier on a data set.

    ``ece``: expected calibration error, the count-weighted mean of
    ``|accuracy - confidence|`` over the confidence bins (0 = calibrated).
    ``bin_*``: per bin (equal-width bins of the largest softmax probability),
    the mean confidence, the accuracy and the number of samples (empty bins: 0).
    """

    accuracy: float
    mean_confidence: float
    ece: float
    bin_edges: list[float]
    bin_confidence: list[float]
    bin_accuracy: list[float]
    bin_count: list[int]


def reliability(logits: Tensor, targets: Tensor, bins: int = 10) -> Reliability:
    """Accuracy, mean confidence, ECE and the reliability diagram's bins from logits and labels."""
    check_tensor(logits, "logits", dims=2)
    check_tensor(targets, "targets", dims=1)
    bins = check_int(bins, "bins", minimum=1)
    if logits.shape[0] != targets.shape[0] or not len(targets):
        raise CourseError(f"logits and targets must describe the same non-empty set of samples, got "
                          f"{logits.shape[0]} rows of logits and {targets.shape[0]} labels.")
    probs = logits.float().softmax(1)
    confidence, predicted = probs.max(1)
    correct = (predicted == targets).float()
    edges = torch.linspace(0, 1, bins + 1)
    index = torch.bucketize(confidence, edges[1:-1], right=True)  # bin i holds (edge_i, edge_i+1]
    conf_b, acc_b, count_b = [], [], []
    ece = 0.0
    for b in range(bins):
        mask = index == b
        n = int(mask.sum())
        count_b.append(n)
        if n:
            c, a = confidence[mask].mean().item(), correct[mask].mean().item()
            ece += n / len(targets) * abs(a - c)
        else:
            c = a = 0.0
        conf_b.append(c)
        acc_b.append(a)
    return Reliability(correct.mean().item(), confidence.mean().item(), ece, edges.tolist(), conf_b, acc_b, count_b)


def plot_reliability(bin_accuracy, bin_count, ax=None, label: str = "", color: str = "C0", bins: int | None = None):
    """A reliability diagram: accuracy per confidence bin as bars, the diagonal = perfect calibration.

    Bars below the diagonal: the model is more confident than it is right
    (over-confident); above: under-confident. Empty bins are left out. Returns the Axes.
    """
    import matplotlib.pyplot as plt
    import numpy as np

    acc = np.asarray(bin_accuracy, dtype=float)
    counts = np.asarray(bin_count, dtype=float)
    bins = bins or len(acc)
    if ax is None:
        _, ax = plt.subplots(figsize=(4, 4))
    width = 1.0 / bins
    centres = (np.arange(bins) + 0.5) * width
    shown = counts > 0
    ax.bar(centres[shown], acc[shown], width=width * 0.9, color=color, alpha=0.6, edgecolor=color, label=label)
    ax.plot([0, 1], [0, 1], "k--", linewidth=1, label="perfectly calibrated")
    ax.set(xlim=(0, 1), ylim=(0, 1), xlabel="confidence (largest softmax probability)", ylabel="accuracy")
    ax.grid(alpha=0.3)
    return ax
