"""Building blocks shared by every model family (one place, used by all).

``BasicConv2d`` is the conv -> BatchNorm -> ReLU unit that torchvision's and
timm's Inception models are built from; with ``norm=False`` it is the plain
conv(+bias) -> ReLU unit of the original GoogLeNet paper (2014), which predates
batch normalization.
"""
from __future__ import annotations

import torch
from torch import Tensor, nn

_size = int | tuple[int, int]


class BasicConv2d(nn.Module):
    """conv -> BN -> ReLU (attribute names ``conv``, ``bn`` as in torchvision/timm).

    Args:
        in_channels, out_channels, kernel_size, stride, padding: as nn.Conv2d.
        norm: add BatchNorm (``eps`` as in the reference checkpoints: 1e-3).
            Without it the conv gets a bias, as in the pre-BN GoogLeNet paper.
        eps: BatchNorm epsilon.
    """

    def __init__(
        self,
        in_channels: int,
        out_channels: int,
        kernel_size: _size,
        stride: _size = 1,
        padding: _size = 0,
        norm: bool = True,
        eps: float = 1e-3,
    ) -> None:
        super().__init__()
        self.conv = nn.Conv2d(
            in_channels, out_channels, kernel_size, stride=stride, padding=padding, bias=not norm
        )
        self.bn = nn.BatchNorm2d(out_channels, eps=eps) if norm else nn.Identity()
        self.relu = nn.ReLU(inplace=True)

    def forward(self, x: Tensor) -> Tensor:
        return self.relu(self.bn(self.conv(x)))


class MultiBranch(nn.Module):
    """An Inception-style block: branches side by side, concatenated on channels.

    Subclasses implement ``forward_branches(x)`` returning an ordered dict of
    branch name -> output (in concatenation order). Keeping the branches
    addressable is what lets lesson 07 show each branch's feature maps and
    Grad-CAM separately. Residual blocks (Inception-ResNet) override
    ``forward`` to project and add the concatenation back onto ``x``.
    """

    def forward_branches(self, x: Tensor) -> dict[str, Tensor]:  # pragma: no cover - abstract
        raise NotImplementedError

    def forward(self, x: Tensor) -> Tensor:
        return torch.cat(list(self.forward_branches(x).values()), 1)
