"""Inception v3, lesson 04.

Szegedy, Vanhoucke, Ioffe, Shlens & Wojna, "Rethinking the Inception
Architecture for Computer Vision", CVPR 2016, https://arxiv.org/abs/1512.00567
-- Table 1 (the network), Figures 5, 6 and 7 (the three module types),
Figure 10 (grid reduction) and Section 4 (the auxiliary classifier).

The model is the one Google released and torchvision/timm ship (same attribute
names, so their state dicts load one to one). It is weight-compatible with
``torchvision.models.inception_v3`` and ``timm.create_model("inception_v3")``.
Where the shipped network differs from the paper, we keep the shipped one and
say so where it happens:

* Mixed_5b-5d (the "Figure 5" modules at 35 x 35) keep a 5x5 branch
  (1x1 48 -> 5x5 64) next to the double-3x3 branch, while Figure 5 replaces
  every 5x5 by two 3x3 convolutions;
* there are four Figure 6 modules (Mixed_6b-6e) where Table 1 lists five, and
  the stem (Conv2d_1a .. Conv2d_4a, two max pools) is not Table 1's.

Modules: :class:`InceptionA` (Figure 5), :class:`InceptionB` (grid reduction
35 -> 17, Figure 10), :class:`InceptionC` (Figure 6, n = 7: 7x7 factorized into
1x7 and 7x1), :class:`InceptionD` (grid reduction 17 -> 8), :class:`InceptionE`
(Figure 7: expanded filter bank at 8 x 8), :class:`InceptionAux` (the auxiliary
classifier on top of the last 17 x 17 layer, with BatchNorm). Each takes its
channel counts as arguments (defaults: the shipped model's), so the mini
variant is the same classes with scaled numbers.
"""
from __future__ import annotations

import inspect

import torch
import torch.nn.functional as F
from torch import Tensor, nn

from .base import INCEPTION_MEAN, INCEPTION_STD, CourseModel, FeatureInfo, GlobalAvgPool, PreprocessConfig
from .args import check_dropout, check_flag, check_in_chans, check_num_classes, check_width_mult, scale_channels
from .blocks import BasicConv2d, MultiBranch
from .googlenet import transform_imagenet_to_inception
from .registry import WeightSource, register_model, register_weights

__all__ = [
    "INCEPTION_V3_MODULES",
    "InceptionA",
    "InceptionAux",
    "InceptionB",
    "InceptionC",
    "InceptionD",
    "InceptionE",
    "InceptionV3",
    "convert_timm_inception_v3",
    "convert_torchvision_inception_v3",
    "inception_v3",
    "mini_inception_v3",
]


# ---------------------------------------------------------------------------
# the module types
# ---------------------------------------------------------------------------
class InceptionA(MultiBranch):
    """The 35 x 35 module (Figure 5), as shipped: 1x1 | 1x1 -> 5x5 | 1x1 -> 3x3 -> 3x3 | avg pool -> 1x1.

    Figure 5 replaces GoogLeNet's 5x5 by two 3x3 convolutions (the double-3x3
    branch). The released network -- and so torchvision and timm -- *also*
    keeps a 5x5 branch: a deviation from the figure, kept for weight compatibility.
    """

    def __init__(
        self,
        in_channels: int,
        pool_features: int,
        ch1x1: int = 64,
        ch5x5red: int = 48,
        ch5x5: int = 64,
        ch3x3dbl_red: int = 64,
        ch3x3dbl: int = 96,
    ) -> None:
        super().__init__()
        self.branch1x1 = BasicConv2d(in_channels, ch1x1, kernel_size=1)
        # The shipped model's 5x5 branch (not in Figure 5, see the class docstring).
        self.branch5x5_1 = BasicConv2d(in_channels, ch5x5red, kernel_size=1)
        self.branch5x5_2 = BasicConv2d(ch5x5red, ch5x5, kernel_size=5, padding=2)
        self.branch3x3dbl_1 = BasicConv2d(in_channels, ch3x3dbl_red, kernel_size=1)
        self.branch3x3dbl_2 = BasicConv2d(ch3x3dbl_red, ch3x3dbl, kernel_size=3, padding=1)
        self.branch3x3dbl_3 = BasicConv2d(ch3x3dbl, ch3x3dbl, kernel_size=3, padding=1)
        self.branch_pool = BasicConv2d(in_channels, pool_features, kernel_size=1)
        self.out_channels = ch1x1 + ch5x5 + ch3x3dbl + pool_features

    def forward_branches(self, x: Tensor) -> dict[str, Tensor]:
        # N x C x 35 x 35 -> every branch 35 x 35
        return {
            "1x1": self.branch1x1(x),  # N x 64
            "5x5": self.branch5x5_2(self.branch5x5_1(x)),  # N x 64
            "double 3x3": self.branch3x3dbl_3(self.branch3x3dbl_2(self.branch3x3dbl_1(x))),  # N x 96
            "pool proj": self.branch_pool(F.avg_pool2d(x, kernel_size=3, stride=1, padding=1)),  # N x pool_features
        }


class InceptionB(MultiBranch):
    """Grid reduction 35 -> 17 (Figure 10): stride-2 convs beside a stride-2 max pool, concatenated.

    Pooling first would create a representational bottleneck; convolving first at
    full resolution costs four times the operations (Section 7). Doing both in
    parallel, each with stride 2, avoids both.
    """

    def __init__(self, in_channels: int, ch3x3: int = 384, ch3x3dbl_red: int = 64, ch3x3dbl: int = 96) -> None:
        super().__init__()
        self.branch3x3 = BasicConv2d(in_channels, ch3x3, kernel_size=3, stride=2)
        self.branch3x3dbl_1 = BasicConv2d(in_channels, ch3x3dbl_red, kernel_size=1)
        self.branch3x3dbl_2 = BasicConv2d(ch3x3dbl_red, ch3x3dbl, kernel_size=3, padding=1)
        self.branch3x3dbl_3 = BasicConv2d(ch3x3dbl, ch3x3dbl, kernel_size=3, stride=2)
        self.out_channels = ch3x3 + ch3x3dbl + in_channels

    def forward_branches(self, x: Tensor) -> dict[str, Tensor]:
        # N x 288 x 35 x 35 -> every branch 17 x 17
        return {
            "3x3": self.branch3x3(x),  # N x 384
            "double 3x3": self.branch3x3dbl_3(self.branch3x3dbl_2(self.branch3x3dbl_1(x))),  # N x 96
            "max pool": F.max_pool2d(x, kernel_size=3, stride=2),  # N x 288 (passed through)
        }


class InceptionC(MultiBranch):
    """The 17 x 17 module (Figure 6 with n = 7): 7x7 convolutions factorized into 1x7 then 7x1.

    A 1x7 followed by a 7x1 sees a 7x7 window with 14 / 49 = 29% of the weights.
    ``channels_7x7`` is the width inside the factorized branches (128, 160, 160, 192
    in Mixed_6b-6e).
    """

    def __init__(
        self,
        in_channels: int,
        channels_7x7: int,
        ch1x1: int = 192,
        ch7x7: int = 192,
        ch7x7dbl: int = 192,
        pool_proj: int = 192,
    ) -> None:
        super().__init__()
        c7 = channels_7x7
        self.branch1x1 = BasicConv2d(in_channels, ch1x1, kernel_size=1)
        self.branch7x7_1 = BasicConv2d(in_channels, c7, kernel_size=1)
        self.branch7x7_2 = BasicConv2d(c7, c7, kernel_size=(1, 7), padding=(0, 3))
        self.branch7x7_3 = BasicConv2d(c7, ch7x7, kernel_size=(7, 1), padding=(3, 0))
        self.branch7x7dbl_1 = BasicConv2d(in_channels, c7, kernel_size=1)
        self.branch7x7dbl_2 = BasicConv2d(c7, c7, kernel_size=(7, 1), padding=(3, 0))
        self.branch7x7dbl_3 = BasicConv2d(c7, c7, kernel_size=(1, 7), padding=(0, 3))
        self.branch7x7dbl_4 = BasicConv2d(c7, c7, kernel_size=(7, 1), padding=(3, 0))
        self.branch7x7dbl_5 = BasicConv2d(c7, ch7x7dbl, kernel_size=(1, 7), padding=(0, 3))
        self.branch_pool = BasicConv2d(in_channels, pool_proj, kernel_size=1)
        self.out_channels = ch1x1 + ch7x7 + ch7x7dbl + pool_proj

    def forward_branches(self, x: Tensor) -> dict[str, Tensor]:
        # N x 768 x 17 x 17 -> every branch 17 x 17
        b7 = self.branch7x7_3(self.branch7x7_2(self.branch7x7_1(x)))
        b7dbl = self.branch7x7dbl_1(x)
        for conv in (self.branch7x7dbl_2, self.branch7x7dbl_3, self.branch7x7dbl_4, self.branch7x7dbl_5):
            b7dbl = conv(b7dbl)
        return {
            "1x1": self.branch1x1(x),  # N x 192
            "7x7 (1x7, 7x1)": b7,  # N x 192
            "double 7x7 (7x1, 1x7, 7x1, 1x7)": b7dbl,  # N x 192
            "pool proj": self.branch_pool(F.avg_pool2d(x, kernel_size=3, stride=1, padding=1)),  # N x 192
        }


class InceptionD(MultiBranch):
    """Grid reduction 17 -> 8: 1x1 -> 3x3/2 | 1x1 -> 1x7 -> 7x1 -> 3x3/2 | 3x3/2 max pool."""

    def __init__(self, in_channels: int, ch3x3red: int = 192, ch3x3: int = 320, ch7x7x3: int = 192) -> None:
        super().__init__()
        self.branch3x3_1 = BasicConv2d(in_channels, ch3x3red, kernel_size=1)
        self.branch3x3_2 = BasicConv2d(ch3x3red, ch3x3, kernel_size=3, stride=2)
        self.branch7x7x3_1 = BasicConv2d(in_channels, ch7x7x3, kernel_size=1)
        self.branch7x7x3_2 = BasicConv2d(ch7x7x3, ch7x7x3, kernel_size=(1, 7), padding=(0, 3))
        self.branch7x7x3_3 = BasicConv2d(ch7x7x3, ch7x7x3, kernel_size=(7, 1), padding=(3, 0))
        self.branch7x7x3_4 = BasicConv2d(ch7x7x3, ch7x7x3, kernel_size=3, stride=2)
        self.out_channels = ch3x3 + ch7x7x3 + in_channels

    def forward_branches(self, x: Tensor) -> dict[str, Tensor]:
        # N x 768 x 17 x 17 -> every branch 8 x 8
        b7 = self.branch7x7x3_1(x)
        for conv in (self.branch7x7x3_2, self.branch7x7x3_3, self.branch7x7x3_4):
            b7 = conv(b7)
        return {
            "3x3": self.branch3x3_2(self.branch3x3_1(x)),  # N x 320
            "7x7 + 3x3": b7,  # N x 192
            "max pool": F.max_pool2d(x, kernel_size=3, stride=2),  # N x 768 (passed through)
        }


class InceptionE(MultiBranch):
    """The 8 x 8 module (Figure 7): filter banks expanded sideways (1x3 and 3x1 side by side).

    On the coarsest grid the paper widens rather than deepens, "to promote high
    dimensional representations": each 3x3 is followed by a 1x3 and a 3x1 in
    parallel whose outputs are concatenated.
    """

    def __init__(
        self,
        in_channels: int,
        ch1x1: int = 320,
        ch3x3red: int = 384,
        ch3x3: int = 384,
        ch3x3dbl_red: int = 448,
        ch3x3dbl: int = 384,
        pool_proj: int = 192,
    ) -> None:
        super().__init__()
        self.branch1x1 = BasicConv2d(in_channels, ch1x1, kernel_size=1)
        self.branch3x3_1 = BasicConv2d(in_channels, ch3x3red, kernel_size=1)
        self.branch3x3_2a = BasicConv2d(ch3x3red, ch3x3, kernel_size=(1, 3), padding=(0, 1))
        self.branch3x3_2b = BasicConv2d(ch3x3red, ch3x3, kernel_size=(3, 1), padding=(1, 0))
        self.branch3x3dbl_1 = BasicConv2d(in_channels, ch3x3dbl_red, kernel_size=1)
        self.branch3x3dbl_2 = BasicConv2d(ch3x3dbl_red, ch3x3dbl, kernel_size=3, padding=1)
        self.branch3x3dbl_3a = BasicConv2d(ch3x3dbl, ch3x3dbl, kernel_size=(1, 3), padding=(0, 1))
        self.branch3x3dbl_3b = BasicConv2d(ch3x3dbl, ch3x3dbl, kernel_size=(3, 1), padding=(1, 0))
        self.branch_pool = BasicConv2d(in_channels, pool_proj, kernel_size=1)
        self.out_channels = ch1x1 + 2 * ch3x3 + 2 * ch3x3dbl + pool_proj

    def forward_branches(self, x: Tensor) -> dict[str, Tensor]:
        # N x C x 8 x 8 -> every branch 8 x 8
        b3 = self.branch3x3_1(x)
        b3dbl = self.branch3x3dbl_2(self.branch3x3dbl_1(x))
        return {
            "1x1": self.branch1x1(x),  # N x 320
            "1x3 + 3x1": torch.cat([self.branch3x3_2a(b3), self.branch3x3_2b(b3)], 1),  # N x 768
            "3x3, then 1x3 + 3x1": torch.cat([self.branch3x3dbl_3a(b3dbl), self.branch3x3dbl_3b(b3dbl)], 1),  # 768
            "pool proj": self.branch_pool(F.avg_pool2d(x, kernel_size=3, stride=1, padding=1)),  # N x 192
        }


class InceptionAux(nn.Module):
    """The auxiliary classifier on Mixed_6e (Section 4, Figure 8: with BatchNorm).

    5x5/3 avg pool (17 -> 5) -> 1x1 conv 128 -> 5x5 conv 768 (-> 1 x 1) -> FC.
    The paper found it acts as a regularizer rather than helping early training.

    Args:
        in_channels, num_classes: input channels (768) and classes (0: no FC).
        conv0_channels, conv1_channels: widths of the two convs (128, 768).
        adaptive_pool: pool adaptively to 5 x 5 instead of 5x5/3, so that the
            head works on the small maps of the mini model.
    """

    #: The 5x5 conv needs a 5 x 5 pooled map, which 5x5/3 pooling gives from 17 x 17 on.
    MIN_MAP = 17

    def __init__(
        self,
        in_channels: int,
        num_classes: int,
        conv0_channels: int = 128,
        conv1_channels: int = 768,
        adaptive_pool: bool = False,
    ) -> None:
        super().__init__()
        self.adaptive_pool = adaptive_pool
        self.conv0 = BasicConv2d(in_channels, conv0_channels, kernel_size=1)
        self.conv1 = BasicConv2d(conv0_channels, conv1_channels, kernel_size=5)
        self.fc = nn.Linear(conv1_channels, num_classes) if num_classes > 0 else nn.Identity()

    def reset_classifier(self, num_classes: int) -> None:
        """Replace the FC layer for ``num_classes`` (0 removes it)."""
        check_num_classes(num_classes)
        self.fc = nn.Linear(self.conv1.conv.out_channels, num_classes) if num_classes > 0 else nn.Identity()

    def forward(self, x: Tensor) -> Tensor:
        # N x 768 x 17 x 17
        if self.adaptive_pool:
            x = F.adaptive_avg_pool2d(x, 5)
        else:
            if min(x.shape[-2:]) < self.MIN_MAP:
                raise ValueError(
                    f"Inception v3's auxiliary classifier needs a {self.MIN_MAP}x{self.MIN_MAP} map at Mixed_6e "
                    f"(5x5/3 pooling, then a 5x5 conv), got {x.shape[-2]}x{x.shape[-1]}: train on inputs of at "
                    "least 299x299, use model.eval(), or build the model with aux_logits=False."
                )
            x = F.avg_pool2d(x, kernel_size=5, stride=3)
        # N x 768 x 5 x 5
        x = self.conv0(x)
        # N x 128 x 5 x 5
        x = self.conv1(x)
        # N x 768 x 1 x 1
        x = F.adaptive_avg_pool2d(x, 1).flatten(1)
        # N x 768
        return self.fc(x)  # N x num_classes


# The shipped network's Inception modules in order, with their channel arguments
# (the 5b-5d ones follow Figure 5, 6b-6e Figure 6, 7b-7c Figure 7).
INCEPTION_V3_MODULES: tuple = (
    ("Mixed_5b", InceptionA, dict(pool_features=32)),  # 35 x 35 x 256
    ("Mixed_5c", InceptionA, dict(pool_features=64)),  # 35 x 35 x 288
    ("Mixed_5d", InceptionA, dict(pool_features=64)),  # 35 x 35 x 288
    ("Mixed_6a", InceptionB, dict()),  # 17 x 17 x 768
    ("Mixed_6b", InceptionC, dict(channels_7x7=128)),  # 17 x 17 x 768
    ("Mixed_6c", InceptionC, dict(channels_7x7=160)),  # 17 x 17 x 768
    ("Mixed_6d", InceptionC, dict(channels_7x7=160)),  # 17 x 17 x 768
    ("Mixed_6e", InceptionC, dict(channels_7x7=192)),  # 17 x 17 x 768  (the auxiliary head taps here)
    ("Mixed_7a", InceptionD, dict()),  # 8 x 8 x 1280
    ("Mixed_7b", InceptionE, dict()),  # 8 x 8 x 2048
    ("Mixed_7c", InceptionE, dict()),  # 8 x 8 x 2048
)
# Each module type's default channel arguments (the shipped model's widths).
_DEFAULTS = {
    cls: {n: p.default for n, p in inspect.signature(cls).parameters.items() if p.default is not p.empty}
    for cls in (InceptionA, InceptionB, InceptionC, InceptionD, InceptionE)
}


# ---------------------------------------------------------------------------
# the network
# ---------------------------------------------------------------------------
class InceptionV3(CourseModel):
    """Inception v3 as released (use :func:`inception_v3` or :func:`mini_inception_v3`).

    Shape comments are for a 299 x 299 input.

    Args:
        num_classes: classes of the main and auxiliary classifiers (0: features only).
        aux_logits: build the auxiliary classifier (runs in training mode only).
        transform_input: re-normalize ImageNet-normalized inputs to [-1, 1] first,
            as the released weights expect (torchvision's ``transform_input``).
        dropout: dropout before the classifier (0.5 in torchvision).
        mini: the small-image stem (stride-1 convs, padded pools) for 32-64 px inputs.
        width_mult: multiplies every channel count.
        in_chans: input channels.
    """

    # The auxiliary loss weight of Google's released training code (TF-slim's
    # train_image_classifier.py weighs the AuxLogits loss by 0.4).
    aux_loss_weight = 0.4
    aux_head_names = ("AuxLogits",)

    def __init__(
        self,
        num_classes: int = 1000,
        aux_logits: bool = True,
        transform_input: bool = False,
        dropout: float = 0.5,
        mini: bool = False,
        width_mult: float = 1.0,
        in_chans: int = 3,
    ) -> None:
        super().__init__()
        if transform_input and in_chans != 3:
            raise ValueError("transform_input re-normalizes RGB ImageNet inputs and needs in_chans=3.")
        self.num_classes = num_classes
        self.transform_input = transform_input
        self.in_chans = in_chans

        def ch(c: int) -> int:
            return scale_channels(c, width_mult)

        # -- stem: 299 -> 35 with 3x3 convs and two 3x3/2 max pools ----------------
        # The mini stem keeps the resolution (stride 1, padding 1, padded pools): 48 -> 12.
        stride1, pad = (1, 1) if mini else (2, 0)
        self.Conv2d_1a_3x3 = BasicConv2d(in_chans, ch(32), kernel_size=3, stride=stride1, padding=pad)
        self.Conv2d_2a_3x3 = BasicConv2d(ch(32), ch(32), kernel_size=3, padding=pad)
        self.Conv2d_2b_3x3 = BasicConv2d(ch(32), ch(64), kernel_size=3, padding=1)
        self.maxpool1 = nn.MaxPool2d(kernel_size=3, stride=2, padding=pad)
        self.Conv2d_3b_1x1 = BasicConv2d(ch(64), ch(80), kernel_size=1)
        self.Conv2d_4a_3x3 = BasicConv2d(ch(80), ch(192), kernel_size=3, padding=pad)
        self.maxpool2 = nn.MaxPool2d(kernel_size=3, stride=2, padding=pad)

        # -- Inception modules: a loop over INCEPTION_V3_MODULES ------------------
        channels = ch(192)
        self.inception_names: list[str] = []
        for name, block_type, kwargs in INCEPTION_V3_MODULES:
            widths = {**_DEFAULTS[block_type], **kwargs}
            block = block_type(channels, **{k: ch(v) for k, v in widths.items()})
            setattr(self, name, block)
            self.inception_names.append(name)
            channels = block.out_channels
            if name == "Mixed_6e":
                aux_in = channels
        self.AuxLogits = (
            InceptionAux(aux_in, num_classes, ch(128), ch(768), adaptive_pool=mini) if aux_logits else None
        )
        # Training with the (non-adaptive) auxiliary head needs Mixed_6e at 17 x 17: 299 x 299 inputs.
        self.min_aux_input_size = 299 if (aux_logits and not mini) else None

        # -- head --------------------------------------------------------------------
        self.num_features = channels
        self.global_pool = GlobalAvgPool()
        self.dropout = nn.Dropout(p=dropout)
        self.fc = nn.Linear(channels, num_classes) if num_classes > 0 else nn.Identity()

        # timm's feature_info: the two stem outputs, then the last module at each grid size.
        r = 1 if mini else 2
        self.feature_info = [
            FeatureInfo("Conv2d_2b_3x3", ch(64), r),
            FeatureInfo("Conv2d_4a_3x3", ch(192), 2 * r),
            FeatureInfo("Mixed_5d", self.Mixed_5d.out_channels, 4 * r),
            FeatureInfo("Mixed_6e", self.Mixed_6e.out_channels, 8 * r),
            FeatureInfo("Mixed_7c", self.Mixed_7c.out_channels, 16 * r),
        ]
        if mini:
            self.preprocess = PreprocessConfig(input_size=(in_chans, 48, 48), min_input_size=25, crop_pct=1.0)
        else:
            # 75 x 75 is the smallest input that reaches Mixed_7c (torchvision's min_size, Keras' min_size).
            # Without transform_input the released weights expect [-1, 1] inputs (mean = std = 0.5).
            mean_std = {} if transform_input else dict(mean=INCEPTION_MEAN, std=INCEPTION_STD)
            self.preprocess = PreprocessConfig(input_size=(in_chans, 299, 299), min_input_size=75, **mean_std)

    @property
    def aux_logits(self) -> bool:
        return self.AuxLogits is not None

    def _forward_trunk(self, x: Tensor, with_aux: bool) -> tuple[Tensor, list[Tensor]]:
        """Image -> last feature map, plus the auxiliary logits when ``with_aux``."""
        if self.transform_input:
            x = transform_imagenet_to_inception(x)
        # N x 3 x 299 x 299
        x = self.Conv2d_1a_3x3(x)
        # N x 32 x 149 x 149
        x = self.Conv2d_2a_3x3(x)
        # N x 32 x 147 x 147
        x = self.Conv2d_2b_3x3(x)
        # N x 64 x 147 x 147
        x = self.maxpool1(x)
        # N x 64 x 73 x 73
        x = self.Conv2d_3b_1x1(x)
        # N x 80 x 73 x 73
        x = self.Conv2d_4a_3x3(x)
        # N x 192 x 71 x 71
        x = self.maxpool2(x)
        # N x 192 x 35 x 35
        x = self.Mixed_5b(x)
        # N x 256 x 35 x 35
        x = self.Mixed_5c(x)
        # N x 288 x 35 x 35
        x = self.Mixed_5d(x)
        # N x 288 x 35 x 35
        x = self.Mixed_6a(x)
        # N x 768 x 17 x 17
        x = self.Mixed_6b(x)
        # N x 768 x 17 x 17
        x = self.Mixed_6c(x)
        # N x 768 x 17 x 17
        x = self.Mixed_6d(x)
        # N x 768 x 17 x 17
        x = self.Mixed_6e(x)
        # N x 768 x 17 x 17
        aux = [self.AuxLogits(x)] if with_aux else []
        x = self.Mixed_7a(x)
        # N x 1280 x 8 x 8
        x = self.Mixed_7b(x)
        # N x 2048 x 8 x 8
        x = self.Mixed_7c(x)
        # N x 2048 x 8 x 8
        return x, aux

    def forward_features(self, x: Tensor) -> Tensor:
        """Image batch -> the last feature map (N x 2048 x 8 x 8 at 299 x 299)."""
        return self._forward_trunk(x, with_aux=False)[0]

    def check_aux_input(self, x: Tensor) -> None:
        if self.min_aux_input_size and min(x.shape[-2:]) < self.min_aux_input_size:
            raise ValueError(
                f"Training Inception v3 with its auxiliary classifier needs inputs of at least "
                f"{self.min_aux_input_size}x{self.min_aux_input_size} (the head pools Mixed_6e's 17x17 map 5x5/3 "
                f"and applies a 5x5 conv), got {x.shape[-2]}x{x.shape[-1]}. Resize to 299x299, build the model "
                "with aux_logits=False, or call model.eval() for inference."
            )


# ---------------------------------------------------------------------------
# builders
# ---------------------------------------------------------------------------
@register_model
def inception_v3(
    num_classes: int = 1000,
    aux_logits: bool = True,
    transform_input: bool = True,
    dropout: float = 0.5,
    in_chans: int = 3,
) -> InceptionV3:
    """Inception v3 for 299 x 299 inputs, weight-compatible with torchvision and timm.

    23,834,568 parameters without the auxiliary classifier, 27,161,264 with it
    (torchvision counts it: ``aux_logits=True`` is the default there and here),
    5.713 GMACs at 299 x 299. Inputs of at least 75 x 75; training with the
    auxiliary classifier needs 299 x 299.

    ``transform_input=True`` (the default, as torchvision's pretrained builder)
    takes ImageNet-normalized images and re-maps them to the [-1, 1] range the
    released weights were trained on; timm's ``inception_v3.tf_in1k`` weights
    expect that same [-1, 1] range, so they work with it too. With
    ``transform_input=False`` feed [-1, 1] inputs yourself (``preprocess`` then
    says mean = std = 0.5).
    """
    check_num_classes(num_classes)
    return InceptionV3(
        num_classes=num_classes,
        aux_logits=check_flag(aux_logits, "aux_logits"),
        transform_input=check_flag(transform_input, "transform_input"),
        dropout=check_dropout(dropout),
        in_chans=check_in_chans(in_chans),
    )


@register_model
def mini_inception_v3(
    num_classes: int = 10,
    width_mult: float = 0.25,
    aux_logits: bool = False,
    dropout: float = 0.2,
    in_chans: int = 3,
) -> InceptionV3:
    """A small Inception v3 for 32-64 px images (lesson 04's CPU experiments).

    The same module classes and table with every channel count times
    ``width_mult`` (rounded to multiples of 8), a stem without early striding
    (48 x 48 reaches Mixed_5b at 12 x 12, Mixed_6b at 5 x 5, Mixed_7b at 2 x 2),
    and an optional auxiliary classifier that pools adaptively.
    """
    check_num_classes(num_classes)
    return InceptionV3(
        num_classes=num_classes,
        aux_logits=check_flag(aux_logits, "aux_logits"),
        dropout=check_dropout(dropout),
        mini=True,
        width_mult=check_width_mult(width_mult),
        in_chans=check_in_chans(in_chans),
    )


# ---------------------------------------------------------------------------
# torchvision and timm weights
# ---------------------------------------------------------------------------
_TOP_LEVEL = (
    "Conv2d_1a_3x3",
    "Conv2d_2a_3x3",
    "Conv2d_2b_3x3",
    "Conv2d_3b_1x1",
    "Conv2d_4a_3x3",
    *(name for name, _, _ in INCEPTION_V3_MODULES),
    "AuxLogits",
    "fc",
)


def _convert(state_dict: dict, library: str) -> dict:
    prefixes = tuple(name + "." for name in _TOP_LEVEL)
    unknown = [k for k in state_dict if not k.startswith(prefixes)]
    if unknown:
        raise ValueError(
            f"Not a {library} inception_v3 state dict: unexpected keys {unknown[:5]}"
            f"{' ...' if len(unknown) > 5 else ''}. Expected keys under {', '.join(_TOP_LEVEL)}."
        )
    return dict(state_dict)


def convert_torchvision_inception_v3(state_dict: dict) -> dict:
    """torchvision ``inception_v3`` state dict -> ours.

    Our attribute names are torchvision's, so keys map one to one; a key that
    torchvision's model does not have raises ValueError. torchvision's published
    checkpoint includes the (trained) auxiliary classifier: load it into the
    default ``inception_v3()`` (``aux_logits=True``).
    """
    return _convert(state_dict, "torchvision")


def convert_timm_inception_v3(state_dict: dict) -> dict:
    """timm ``inception_v3`` state dict -> ours.

    timm's model is torchvision's with the same names (its ``ConvNormAct`` has
    ``conv`` and ``bn``, its pools ``Pool1``/``Pool2`` have no weights), so keys
    map one to one. Only timm's ``tv_in1k`` weights carry ``AuxLogits``; the
    others (``tf_in1k``, ...) load into ``inception_v3(aux_logits=False)``.
    """
    return _convert(state_dict, "timm")


register_weights(
    "inception_v3",
    WeightSource(
        library="torchvision",
        model_name="inception_v3",
        weights="IMAGENET1K_V1",
        convert=convert_torchvision_inception_v3,
        # Our defaults: auxiliary classifier kept, inputs re-normalized inside the model.
        reference_kwargs=dict(aux_logits=True, transform_input=True),
    ),
)
