"""The BN explorer of lesson 03: batch statistics and the running estimate against the population (pure logic).

A BatchNorm layer in training mode normalizes with the mean and variance of the
current batch, and keeps a running estimate (an exponential moving average) for
inference. How far is either from the statistics of the whole population of
activations? That depends on the batch size (noise of one batch) and the momentum
(how many batches the running estimate averages, and how fast it forgets).

The activations are real: :func:`capture_bn_inputs` records what a BN layer of a
trained model receives, per image and channel, as the mean and the mean of squares
over H x W. Because every image has the same H x W, the statistics over (N, H, W)
of any batch follow exactly from those per-image numbers, so the explorer can
draw thousands of batches in milliseconds. ``course_utils.widgets.batchnorm`` is
its front end.
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import torch
from torch import nn

#: The batch sizes and momenta the widget offers.
BATCH_SIZES: tuple = (1, 2, 4, 8, 16, 32, 64, 128, 256)
MOMENTA: tuple = (0.01, 0.03, 0.1, 0.3, 0.5, 1.0)


@dataclass(frozen=True)
class BNInputs:
    """Per-image, per-channel statistics of what one BN layer receives (``images x channels``).

    ``mean[i, c]`` and ``sq_mean[i, c]`` are the mean of x and of x**2 over the
    ``spatial`` (H * W) positions of image i, channel c.
    """

    layer: str
    mean: np.ndarray
    sq_mean: np.ndarray
    spatial: int

    @property
    def population_mean(self) -> np.ndarray:
        return self.mean.mean(axis=0)

    @property
    def population_var(self) -> np.ndarray:
        """Variance over all images and positions (the population: every image we have)."""
        return self.sq_mean.mean(axis=0) - self.population_mean**2


class _Captured(Exception):
    """Raised by the capture hook to end a forward pass early."""


@torch.no_grad()
def capture_bn_inputs(model: nn.Module, layer: str, images: torch.Tensor, batch_size: int = 256) -> BNInputs:
    """Record the input of the BatchNorm2d ``layer`` (a name from ``model.named_modules()``) for ``images``.

    The model runs in eval mode, so nothing in it changes, and each forward pass
    stops right after ``layer`` (the rest of the network is not needed).
    """
    modules = dict(model.named_modules())
    if layer not in modules or not isinstance(modules[layer], nn.BatchNorm2d):
        bns = [name for name, m in modules.items() if isinstance(m, nn.BatchNorm2d)]
        raise ValueError(f"{layer!r} is not a BatchNorm2d of this model; some that are: {', '.join(bns[:6])}, ...")
    means, sq_means, spatial = [], [], 0

    def hook(_module, inputs, _output):
        nonlocal spatial
        x = inputs[0].double()
        spatial = x.shape[2] * x.shape[3]
        means.append(x.mean(dim=(2, 3)))
        sq_means.append((x * x).mean(dim=(2, 3)))

    def stop(_module, _inputs, _output):
        raise _Captured  # the layers after this one are not needed: skip them

    handle = modules[layer].register_forward_hook(hook)
    stopper = modules[layer].register_forward_hook(stop)
    was_training = model.training
    model.eval()
    try:
        for start in range(0, len(images), batch_size):
            try:
                model(images[start:start + batch_size])
            except _Captured:
                pass
    finally:
        stopper.remove()
        handle.remove()
        model.train(was_training)
    return BNInputs(layer, torch.cat(means).numpy(), torch.cat(sq_means).numpy(), spatial)


@dataclass(frozen=True)
class BNStatistics:
    """What the explorer computed for one batch size and momentum (``steps`` training batches).

    Arrays are ``steps x channels``; errors are in units of each channel's population
    standard deviation (mean) or relative to its population variance (variance),
    averaged over channels.
    """

    batch_size: int
    momentum: float
    population_mean: np.ndarray
    population_var: np.ndarray
    batch_mean: np.ndarray
    batch_var: np.ndarray
    running_mean: np.ndarray
    running_var: np.ndarray

    @property
    def steps(self) -> int:
        return self.batch_mean.shape[0]

    def mean_error(self, which: str = "batch") -> np.ndarray:
        """|estimate - population mean| / population std per step, averaged over channels."""
        estimate = self.batch_mean if which == "batch" else self.running_mean
        return (np.abs(estimate - self.population_mean) / np.sqrt(self.population_var)).mean(axis=1)

    def var_error(self, which: str = "batch") -> np.ndarray:
        """|estimate / population variance - 1| per step, averaged over channels."""
        estimate = self.batch_var if which == "batch" else self.running_var
        return np.abs(estimate / self.population_var - 1).mean(axis=1)

    def settled(self) -> slice:
        """The second half of the steps, after the running estimate has warmed up."""
        return slice(self.steps // 2, None)

    def summary(self) -> dict[str, float]:
        """Typical errors over the second half of the steps (medians; see :meth:`mean_error`)."""
        s = self.settled()
        return {
            "batch mean error": float(np.median(self.mean_error("batch")[s])),
            "running mean error": float(np.median(self.mean_error("running")[s])),
            "batch var error": float(np.median(self.var_error("batch")[s])),
            "running var error": float(np.median(self.var_error("running")[s])),
        }

    def text(self) -> str:
        s = self.summary()
        return (
            f"batch size {self.batch_size}, momentum {self.momentum:g} ({self.steps} training steps; "
            f"typical errors over the last {self.steps - self.steps // 2}):\n"
            f"  mean:     this batch's {s['batch mean error']:.3f} std off, running estimate {s['running mean error']:.3f} std off\n"
            f"  variance: this batch's {100 * s['batch var error']:.1f}% off, running estimate {100 * s['running var error']:.1f}% off"
        )


def bn_statistics(
    inputs: BNInputs, batch_size: int = 32, momentum: float = 0.1, steps: int = 200, seed: int = 0
) -> BNStatistics:
    """Simulate ``steps`` training batches of ``batch_size`` images through one BN layer.

    Each batch draws images without replacement; its mean and (biased) variance over
    N x H x W follow from the per-image statistics. The running estimate starts as
    PyTorch's does (mean 0, variance 1) and is updated after each batch with
    ``running = (1 - momentum) * running + momentum * batch``, the variance in its
    unbiased form (times n / (n - 1), n = batch_size * H * W).
    """
    n_images = inputs.mean.shape[0]
    if not isinstance(batch_size, (int, np.integer)) or not 1 <= batch_size <= n_images:
        raise ValueError(f"batch_size must be an integer from 1 to {n_images} (the images captured), got {batch_size!r}.")
    if not 0 < momentum <= 1:
        raise ValueError(f"momentum must be in (0, 1], got {momentum!r}.")
    if not isinstance(steps, (int, np.integer)) or steps < 2:
        raise ValueError(f"steps must be an integer of at least 2, got {steps!r}.")
    rng = np.random.default_rng(seed)
    # steps x batch_size image indices, each row without repeats
    picks = np.argsort(rng.random((steps, n_images)), axis=1)[:, :batch_size]
    batch_mean = inputs.mean[picks].mean(axis=1)  # steps x C: mean over N, H, W
    batch_var = inputs.sq_mean[picks].mean(axis=1) - batch_mean**2  # biased, as BN normalizes with
    n = batch_size * inputs.spatial
    unbiased = batch_var * n / (n - 1)
    channels = batch_mean.shape[1]
    running_mean = np.empty_like(batch_mean)
    running_var = np.empty_like(batch_var)
    rm, rv = np.zeros(channels), np.ones(channels)
    for t in range(steps):
        rm = (1 - momentum) * rm + momentum * batch_mean[t]
        rv = (1 - momentum) * rv + momentum * unbiased[t]
        running_mean[t], running_var[t] = rm, rv
    return BNStatistics(int(batch_size), float(momentum), inputs.population_mean, inputs.population_var,
                        batch_mean, batch_var, running_mean, running_var)


def running_average_weights(momentum: float, steps: int) -> np.ndarray:
    """Weight of each past batch in the running estimate after ``steps`` updates (oldest first).

    Batch t (of T) contributes ``momentum * (1 - momentum) ** (T - t)``; the rest,
    ``(1 - momentum) ** T``, is still the initial value. About ``1 / momentum``
    recent batches carry most of the weight.
    """
    t = np.arange(1, steps + 1)
    return momentum * (1 - momentum) ** (steps - t)
