"""Residual scaling in a deep stack of Inception-ResNet-A blocks (lesson 05): the logic behind the scaling widget.

Szegedy, Ioffe, Vanhoucke & Alemi (2016), "Inception-v4, Inception-ResNet and the
Impact of Residual Connections on Learning", Section 3.3, https://arxiv.org/abs/1602.07261:
with more than about 1000 filters the residual variants "died" early in training, and
scaling each residual by a factor between 0.1 and 0.3 before the addition fixed it.

A residual block computes ``x + scale * r(x)``. Batch normalization sits only inside
``r`` (on the "traditional layers"), never on the sum, so nothing pulls the sum back to
unit variance: every block adds its residual's variance to the running total. With
``scale = 1`` the activations grow block after block; with 0.1-0.3 each block adds a
hundredth to a tenth as much (variance scales with ``scale ** 2``).

:class:`ResidualInceptionStack` is a plain stem, ``depth`` copies of the course's
:class:`~course_utils.models.inception_resnet.Block35` (the real block, at small
widths) and a classifier. :func:`scaling_profile` measures, at initialization, the
standard deviation after every block and the gradient norm that reaches the stem;
it takes well under a second for 40 blocks on a 2-core CPU, so the widget recomputes
it on every change. The lesson's stored experiment (``benchmarks/exp_residual_scaling.py``)
trains the same stack.
"""
from __future__ import annotations

from contextlib import contextmanager
from dataclasses import dataclass

import torch
import torch.nn.functional as F
from torch import Tensor, nn

from ..checks import check_int, check_number
from ..models.blocks import BasicConv2d
from ..models.inception_resnet import Block35

__all__ = [
    "STACK_BLOCK35",
    "PAPER_SCALES",
    "ResidualInceptionStack",
    "ScalingProfile",
    "scaling_profile",
    "compare_scales",
]

#: The stack's Inception-ResNet-A block: Figure 16's branch widths (32 | 32 -> 32 | 32 -> 48 -> 64) divided by 4.
STACK_BLOCK35 = dict(ch1x1=8, ch3x3red=8, ch3x3=8, ch3x3dbl_red=8, ch3x3dbl=(12, 16))
#: The range the paper recommends (Section 3.3: "between 0.1 and 0.3"), its ends and middle.
PAPER_SCALES = (0.1, 0.2, 0.3)
MAX_DEPTH = 200


class ResidualInceptionStack(nn.Module):
    """stem -> ``depth`` x Block35 (residual scale ``scale``) -> global average pool -> linear.

    ``N x 3 x S x S`` -> 3x3/2 conv-BN-ReLU (``channels``) -> 2x2 max pool (S/4 x S/4) ->
    ``depth`` residual Inception-ResNet-A blocks that keep ``channels`` channels, each
    ``ReLU(x + scale * up(concat(branches(x))))`` with BN only inside the branches ->
    average pool -> linear. At 48 px the blocks work on 12 x 12.
    """

    def __init__(self, depth: int = 40, scale: float = 1.0, channels: int = 32, num_classes: int = 10,
                 widths: dict | None = None) -> None:
        super().__init__()
        self.depth = check_int(depth, "depth", minimum=1, maximum=MAX_DEPTH)
        self.scale = check_number(scale, "scale", minimum=0, min_inclusive=False,
                                  hint="(the paper uses 0.1-0.3; 1.0 means no scaling)")
        channels = check_int(channels, "channels", minimum=1)
        self.stem = BasicConv2d(3, channels, 3, stride=2, padding=1)  # N x C x S/2 x S/2
        self.pool = nn.MaxPool2d(2)  # N x C x S/4 x S/4
        self.blocks = nn.Sequential(*[Block35(channels, **(widths or STACK_BLOCK35), scale=self.scale)
                                      for _ in range(self.depth)])
        self.global_pool = nn.AdaptiveAvgPool2d(1)
        self.fc = nn.Linear(channels, check_int(num_classes, "num_classes", minimum=1))

    def forward_stem(self, x: Tensor) -> Tensor:
        return self.pool(self.stem(x))  # N x C x S/4 x S/4

    def forward_head(self, x: Tensor) -> Tensor:
        return self.fc(self.global_pool(x).flatten(1))  # N x num_classes

    def forward(self, x: Tensor) -> Tensor:
        return self.forward_head(self.blocks(self.forward_stem(x)))


@dataclass(frozen=True)
class ScalingProfile:
    """What one stack shows at initialization (train mode: BN uses the batch's statistics).

    Attributes:
        scale, depth: the stack's residual scale and number of blocks.
        stem_std: the standard deviation of the stem's output (what block 1 receives).
        block_std: the standard deviation after each block, ``depth`` values.
        stem_grad_norm: the L2 norm of d(loss)/d(stem output): the gradient that reaches the stem
            through all the blocks (loss: cross-entropy against random labels).
        logit_std: the standard deviation of the classifier's outputs.
    """

    scale: float
    depth: int
    stem_std: float
    block_std: tuple[float, ...]
    stem_grad_norm: float
    logit_std: float

    @property
    def growth(self) -> float:
        """std after the last block / std of the stem's output."""
        return self.block_std[-1] / self.stem_std

    def summary(self) -> str:
        return (f"scale {self.scale:g}, {self.depth} blocks: std {self.stem_std:.3f} after the stem -> "
                f"{self.block_std[-1]:.3f} after the last block ({self.growth:.2f}x); "
                f"gradient norm at the stem {self.stem_grad_norm:.3g}; logits' std {self.logit_std:.3g}")


def scaling_profile(scale: float, depth: int, channels: int = 32, batch_size: int = 16, image_size: int = 32,
                    seed: int = 0) -> ScalingProfile:
    """Build a :class:`ResidualInceptionStack` and measure it at initialization.

    The weights (PyTorch's default initialization), the input (standard normal images)
    and the labels come from ``seed`` through a private generator state, so the same
    arguments give the same profile and the caller's random stream is untouched. Two
    profiles with the same ``seed`` and different ``scale`` have the same weights.
    """
    scale = check_number(scale, "scale", minimum=0, min_inclusive=False,
                         hint="(the paper uses 0.1-0.3; 1.0 means no scaling)")
    depth = check_int(depth, "depth", minimum=1, maximum=MAX_DEPTH)
    batch_size = check_int(batch_size, "batch_size", minimum=2, hint="(BatchNorm needs at least 2 images)")
    image_size = check_int(image_size, "image_size", minimum=8)
    seed = check_int(seed, "seed", minimum=0)
    with torch.random.fork_rng(devices=[]), one_thread():
        torch.manual_seed(seed)
        model = ResidualInceptionStack(depth, scale, channels)
        x = torch.randn(batch_size, 3, image_size, image_size)
        labels = torch.randint(0, model.fc.out_features, (batch_size,))
        model.train()
        return _measure(model, x, labels, scale, depth)


def _measure(model: ResidualInceptionStack, x: Tensor, labels: Tensor, scale: float, depth: int) -> ScalingProfile:
    stds: list[float] = []
    hooks = [block.register_forward_hook(lambda _m, _i, out: stds.append(out.detach().std().item()))
             for block in model.blocks]
    try:
        stem_out = model.forward_stem(x)
        stem_out.retain_grad()
        logits = model.forward_head(model.blocks(stem_out))
        F.cross_entropy(logits, labels).backward()
    finally:
        for hook in hooks:
            hook.remove()
    return ScalingProfile(scale, depth, stem_out.detach().std().item(), tuple(stds),
                          stem_out.grad.norm().item(), logits.detach().std().item())


@contextmanager
def one_thread():
    """Run torch on one CPU thread inside the block, then restore the caller's setting.

    A stack of many small convolutions gains nothing from a second thread, and on a busy
    machine two threads waiting for each other made one profile 10-20x slower (measured).
    """
    before = torch.get_num_threads()
    torch.set_num_threads(1)
    try:
        yield
    finally:
        torch.set_num_threads(before)


def compare_scales(scales=(1.0, *PAPER_SCALES), depth: int = 40, **kwargs) -> dict[float, ScalingProfile]:
    """:func:`scaling_profile` for each scale, same seed (so the same weights): scale -> profile."""
    return {float(s): scaling_profile(s, depth, **kwargs) for s in scales}
