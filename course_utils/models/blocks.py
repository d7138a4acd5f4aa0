"""Building blocks shared by every model family (one place, used by all).

``BasicConv2d`` is the conv -> BatchNorm -> ReLU unit that torchvision's and
timm's Inception models are built from; with ``norm=False`` it is the plain
conv(+bias) -> ReLU unit of the original GoogLeNet paper (2014), which predates
batch normalization. ``SeparableConv2d`` is the depthwise separable convolution
(Xception's building block, BN-Inception's first layer) and ``SeparableConvBN``
the same followed by BatchNorm (and ReLU). ``MultiBranch`` is the Inception
module: branches side by side, each labelled in the paper's words.
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

    ``branch_labels`` maps each branch's attribute to its label in the paper's
    words, in concatenation order; the same few words serve every family, so
    lesson 07 reads the same for all of them:

    ``"1x1"``, ``"3x3"``, ``"5x5"``, ``"7x7"``
        a conv of that size (after its 1x1 reduction, if any; a factorized 7x7,
        1x7 then 7x1, is still the "7x7" branch);
    ``"double 3x3"``, ``"double 7x7"``
        two of them stacked (the 5x5 of GoogLeNet, factorized);
    ``"7x7 + 3x3"``
        a 7x7 (factorized) then a strided 3x3 (the 17 -> 8 grid reductions);
    ``"pool proj"``
        a pooling layer, then a 1x1 projection (GoogLeNet's Table 1 column;
        BN-Inception's "Pool +proj", pass-through included);
    ``"max pool"``
        a pooling layer whose output is concatenated as it is (grid reductions).

    :meth:`forward_branches` returns ``{label: output}``; keeping the branches
    addressable is what lets lesson 07 show each branch's feature maps and
    Grad-CAM separately. A block whose branches share a first layer (a 1x1
    feeding a 1x3 and a 3x1 side by side) overrides it, with the same labels.
    Residual blocks (Inception-ResNet) override ``forward`` to project and add
    the concatenation back onto ``x``.
    """

    #: Branch attribute -> the paper's label, in concatenation order (set by each block class).
    branch_labels: dict[str, str] = {}

    def forward_branches(self, x: Tensor) -> dict[str, Tensor]:
        # A branch the block was built without (a module with no 1x1 branch) is None: skipped.
        return {label: branch(x) for attr, label in self.branch_labels.items()
                if (branch := getattr(self, attr)) is not None}

    def labelled(self, outputs: dict[str, Tensor]) -> dict[str, Tensor]:
        """``{branch attribute: output}`` -> ``{label: output}`` (for blocks that override forward_branches)."""
        return {self.branch_labels[name]: out for name, out in outputs.items()}

    def forward(self, x: Tensor) -> Tensor:
        return torch.cat(list(self.forward_branches(x).values()), 1)


class SeparableConv2d(nn.Module):
    """Depthwise separable convolution: a depthwise k x k conv, then a pointwise 1x1 conv.

    ``depthwise`` has ``groups=in_channels``: each channel gets its own
    ``depth_multiplier`` k x k filters, no channel mixing. ``pointwise`` is a 1x1
    conv that mixes the channels. There is deliberately **no nonlinearity (and no
    BatchNorm) between the two**: one linear map, factorized. Xception's Section
    4.7 / Figure 10 show that an intermediate ReLU or ELU makes it converge slower
    and to a worse accuracy; TF-slim's ``separable_conv2d`` (BN-Inception's first
    layer, depth multiplier 8) is the same.

    Cost per output pixel: ``C_in * m * k * k + C_in * m * C_out`` multiply-adds (m the
    depth multiplier) instead of ``C_in * k * k * C_out`` for a regular convolution (lesson 06).
    """

    def __init__(
        self,
        in_channels: int,
        out_channels: int,
        kernel_size: int = 3,
        stride: int = 1,
        padding: int = 1,
        depth_multiplier: int = 1,
    ) -> None:
        super().__init__()
        mid = in_channels * depth_multiplier
        self.depthwise = nn.Conv2d(
            in_channels, mid, kernel_size, stride=stride, padding=padding, groups=in_channels, bias=False
        )
        self.pointwise = nn.Conv2d(mid, out_channels, 1, bias=False)

    def forward(self, x: Tensor) -> Tensor:
        x = self.depthwise(x)  # N x C_in*m x H x W: spatial filtering, channel by channel
        # (no ReLU here: Xception's ablation, Figure 10)
        return self.pointwise(x)  # N x C_out x H x W: channel mixing


class SeparableConvBN(nn.Module):
    """Separable conv -> BatchNorm (-> ReLU when ``activate``); ``conv`` and ``bn`` as in BasicConv2d.

    Inside Xception's residual blocks the ReLU comes *before* each separable conv
    (Figure 5 draws "ReLU, SeparableConv"), so those use ``activate=False`` after a
    separate ReLU; its exit flow's last two ("SeparableConv, ReLU") and
    BN-Inception's first layer use ``activate=True``.
    """

    def __init__(
        self, in_channels: int, out_channels: int, activate: bool = False, eps: float = 1e-3, **conv_args: int
    ) -> None:
        super().__init__()
        # conv_args: SeparableConv2d's kernel_size, stride, padding, depth_multiplier
        self.conv = SeparableConv2d(in_channels, out_channels, **conv_args)
        self.bn = nn.BatchNorm2d(out_channels, eps=eps)
        self.relu = nn.ReLU(inplace=True) if activate else nn.Identity()

    def forward(self, x: Tensor) -> Tensor:
        return self.relu(self.bn(self.conv(x)))
