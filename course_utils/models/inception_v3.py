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
channel counts as arguments, one row of :data:`INCEPTION_V3_TABLE` (the shipped
model's widths), so the mini variant is the same classes with scaled numbers.
"""
from __future__ import annotations

from dataclasses import dataclass

import torch
import torch.nn.functional as F
from torch import Tensor, nn

from ..checks import check_bool
from .base import INCEPTION_MEAN, INCEPTION_STD, CourseModel, FeatureInfo, PreprocessConfig
from .blocks import BasicConv2d, MultiBranch
from .config import ModelConfig, table_field
from .googlenet import transform_imagenet_to_inception
from .registry import WeightSource, register_model, register_weights

__all__ = [
    "INCEPTION_V3",
    "INCEPTION_V3_TABLE",
    "InceptionV3Config",
    "MINI_INCEPTION_V3",
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

    branch_labels = {"branch1x1": "1x1", "branch5x5": "5x5", "branch3x3dbl": "double 3x3", "branch_pool": "pool proj"}

    def __init__(
        self,
        in_channels: int,
        ch1x1: int,
        ch5x5red: int,
        ch5x5: int,
        ch3x3dbl_red: int,
        ch3x3dbl: int,
        pool_proj: int,
    ) -> None:
        super().__init__()
        self.branch1x1 = BasicConv2d(in_channels, ch1x1, kernel_size=1)
        # The shipped model's 5x5 branch (not in Figure 5, see the class docstring).
        self.branch5x5_1 = BasicConv2d(in_channels, ch5x5red, kernel_size=1)
        self.branch5x5_2 = BasicConv2d(ch5x5red, ch5x5, kernel_size=5, padding=2)
        self.branch3x3dbl_1 = BasicConv2d(in_channels, ch3x3dbl_red, kernel_size=1)
        self.branch3x3dbl_2 = BasicConv2d(ch3x3dbl_red, ch3x3dbl, kernel_size=3, padding=1)
        self.branch3x3dbl_3 = BasicConv2d(ch3x3dbl, ch3x3dbl, kernel_size=3, padding=1)
        self.branch_pool = BasicConv2d(in_channels, pool_proj, kernel_size=1)
        self.out_channels = ch1x1 + ch5x5 + ch3x3dbl + pool_proj

    def forward_branches(self, x: Tensor) -> dict[str, Tensor]:
        # N x C x 35 x 35 -> every branch 35 x 35
        return self.labelled({
            "branch1x1": self.branch1x1(x),  # N x 64
            "branch5x5": self.branch5x5_2(self.branch5x5_1(x)),  # N x 64
            "branch3x3dbl": self.branch3x3dbl_3(self.branch3x3dbl_2(self.branch3x3dbl_1(x))),  # N x 96
            "branch_pool": self.branch_pool(F.avg_pool2d(x, kernel_size=3, stride=1, padding=1)),  # N x pool_proj
        })


class InceptionB(MultiBranch):
    """Grid reduction 35 -> 17 (Figure 10): stride-2 convs beside a stride-2 max pool, concatenated.

    Pooling first would create a representational bottleneck; convolving first at
    full resolution costs four times the operations (Section 7). Doing both in
    parallel, each with stride 2, avoids both.
    """

    branch_labels = {"branch3x3": "3x3", "branch3x3dbl": "double 3x3", "branch_pool": "max pool"}

    def __init__(self, in_channels: int, ch3x3: int, ch3x3dbl_red: int, ch3x3dbl: int) -> None:
        super().__init__()
        self.branch3x3 = BasicConv2d(in_channels, ch3x3, kernel_size=3, stride=2)
        self.branch3x3dbl_1 = BasicConv2d(in_channels, ch3x3dbl_red, kernel_size=1)
        self.branch3x3dbl_2 = BasicConv2d(ch3x3dbl_red, ch3x3dbl, kernel_size=3, padding=1)
        self.branch3x3dbl_3 = BasicConv2d(ch3x3dbl, ch3x3dbl, kernel_size=3, stride=2)
        self.out_channels = ch3x3 + ch3x3dbl + in_channels

    def forward_branches(self, x: Tensor) -> dict[str, Tensor]:
        # N x 288 x 35 x 35 -> every branch 17 x 17
        return self.labelled({
            "branch3x3": self.branch3x3(x),  # N x 384
            "branch3x3dbl": self.branch3x3dbl_3(self.branch3x3dbl_2(self.branch3x3dbl_1(x))),  # N x 96
            "branch_pool": F.max_pool2d(x, kernel_size=3, stride=2),  # N x 288 (passed through)
        })


class InceptionC(MultiBranch):
    """The 17 x 17 module (Figure 6 with n = 7): 7x7 convolutions factorized into 1x7 then 7x1.

    A 1x7 followed by a 7x1 sees a 7x7 window with 14 / 49 = 29% of the weights.
    ``ch7x7red`` and ``ch7x7dbl_red`` are the widths inside the factorized branches
    (torchvision's ``channels_7x7``: 128, 160, 160, 192 in Mixed_6b-6e; both the same).
    """

    branch_labels = {"branch1x1": "1x1", "branch7x7": "7x7", "branch7x7dbl": "double 7x7", "branch_pool": "pool proj"}

    def __init__(
        self,
        in_channels: int,
        ch1x1: int,
        ch7x7red: int,
        ch7x7: int,
        ch7x7dbl_red: int,
        ch7x7dbl: int,
        pool_proj: int,
    ) -> None:
        super().__init__()
        c7, d7 = ch7x7red, ch7x7dbl_red
        self.branch1x1 = BasicConv2d(in_channels, ch1x1, kernel_size=1)
        self.branch7x7_1 = BasicConv2d(in_channels, c7, kernel_size=1)
        self.branch7x7_2 = BasicConv2d(c7, c7, kernel_size=(1, 7), padding=(0, 3))
        self.branch7x7_3 = BasicConv2d(c7, ch7x7, kernel_size=(7, 1), padding=(3, 0))
        self.branch7x7dbl_1 = BasicConv2d(in_channels, d7, kernel_size=1)
        self.branch7x7dbl_2 = BasicConv2d(d7, d7, kernel_size=(7, 1), padding=(3, 0))
        self.branch7x7dbl_3 = BasicConv2d(d7, d7, kernel_size=(1, 7), padding=(0, 3))
        self.branch7x7dbl_4 = BasicConv2d(d7, d7, kernel_size=(7, 1), padding=(3, 0))
        self.branch7x7dbl_5 = BasicConv2d(d7, ch7x7dbl, kernel_size=(1, 7), padding=(0, 3))
        self.branch_pool = BasicConv2d(in_channels, pool_proj, kernel_size=1)
        self.out_channels = ch1x1 + ch7x7 + ch7x7dbl + pool_proj

    def forward_branches(self, x: Tensor) -> dict[str, Tensor]:
        # N x 768 x 17 x 17 -> every branch 17 x 17
        b7 = self.branch7x7_3(self.branch7x7_2(self.branch7x7_1(x)))
        b7dbl = self.branch7x7dbl_1(x)
        for conv in (self.branch7x7dbl_2, self.branch7x7dbl_3, self.branch7x7dbl_4, self.branch7x7dbl_5):
            b7dbl = conv(b7dbl)
        return self.labelled({
            "branch1x1": self.branch1x1(x),  # N x 192
            "branch7x7": b7,  # N x 192: 1x7 then 7x1
            "branch7x7dbl": b7dbl,  # N x 192: 7x1, 1x7, 7x1, 1x7
            "branch_pool": self.branch_pool(F.avg_pool2d(x, kernel_size=3, stride=1, padding=1)),  # N x 192
        })


class InceptionD(MultiBranch):
    """Grid reduction 17 -> 8: 1x1 -> 3x3/2 | 1x1 -> 1x7 -> 7x1 -> 3x3/2 | 3x3/2 max pool."""

    branch_labels = {"branch3x3": "3x3", "branch7x7x3": "7x7 + 3x3", "branch_pool": "max pool"}

    def __init__(self, in_channels: int, ch3x3red: int, ch3x3: int, ch7x7x3: int) -> None:
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
        return self.labelled({
            "branch3x3": self.branch3x3_2(self.branch3x3_1(x)),  # N x 320
            "branch7x7x3": b7,  # N x 192
            "branch_pool": F.max_pool2d(x, kernel_size=3, stride=2),  # N x 768 (passed through)
        })


class InceptionE(MultiBranch):
    """The 8 x 8 module (Figure 7): filter banks expanded sideways (1x3 and 3x1 side by side).

    On the coarsest grid the paper widens rather than deepens, "to promote high
    dimensional representations": each 3x3 is followed by a 1x3 and a 3x1 in
    parallel whose outputs are concatenated.
    """

    # "3x3": a 1x1, then a 1x3 and a 3x1 side by side; "double 3x3": a 1x1, a 3x3, then the same pair.
    branch_labels = {"branch1x1": "1x1", "branch3x3": "3x3", "branch3x3dbl": "double 3x3", "branch_pool": "pool proj"}

    def __init__(
        self,
        in_channels: int,
        ch1x1: int,
        ch3x3red: int,
        ch3x3: int,
        ch3x3dbl_red: int,
        ch3x3dbl: int,
        pool_proj: int,
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
        return self.labelled({
            "branch1x1": self.branch1x1(x),  # N x 320
            "branch3x3": torch.cat([self.branch3x3_2a(b3), self.branch3x3_2b(b3)], 1),  # N x 768
            "branch3x3dbl": torch.cat([self.branch3x3dbl_3a(b3dbl), self.branch3x3dbl_3b(b3dbl)], 1),  # N x 768
            "branch_pool": self.branch_pool(F.avg_pool2d(x, kernel_size=3, stride=1, padding=1)),  # N x 192
        })


class InceptionAux(nn.Module):
    """The auxiliary classifier on Mixed_6e (Section 4, Figure 8: with BatchNorm).

    5x5/3 avg pool (17 -> 5) -> 1x1 conv 128 -> 5x5 conv 768 (-> 1 x 1) -> FC.
    The paper found it acts as a regularizer rather than helping early training.

    Args:
        in_channels, num_classes: input channels (768) and classes (0: no FC).
        conv0_channels, conv1_channels: widths of the two convs (128, 768).
        adaptive_pool: pool adaptively to 5 x 5 instead of 5x5/3, so that the
            head works on the small maps of the mini model. (The 5x5 conv needs a
            5 x 5 pooled map, which 5x5/3 pooling gives from 17 x 17 on: 299 px
            inputs, ``InceptionV3.aux_input_sizes``.)
    """

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
        self.fc = nn.Linear(self.conv1.conv.out_channels, num_classes) if num_classes > 0 else nn.Identity()

    def forward(self, x: Tensor) -> Tensor:
        # N x 768 x 17 x 17
        if self.adaptive_pool:
            x = F.adaptive_avg_pool2d(x, 5)
        else:
            x = F.avg_pool2d(x, kernel_size=5, stride=3)
        # N x 768 x 5 x 5
        x = self.conv0(x)
        # N x 128 x 5 x 5
        x = self.conv1(x)
        # N x 768 x 1 x 1
        x = F.adaptive_avg_pool2d(x, 1).flatten(1)
        # N x 768
        return self.fc(x)  # N x num_classes


# The shipped network's Inception modules in order, each row its module's channel arguments:
# Mixed_5b-5d (InceptionA, Figure 5): #1x1, #5x5 reduce, #5x5, double #3x3 reduce, double #3x3, pool proj
# Mixed_6a (InceptionB, Figure 10): #3x3, double #3x3 reduce, double #3x3 (+ max pool)
# Mixed_6b-6e (InceptionC, Figure 6): #1x1, #7x7 reduce, #7x7, double #7x7 reduce, double #7x7, pool proj
# Mixed_7a (InceptionD): #3x3 reduce, #3x3, #7x7x3 (+ max pool)
# Mixed_7b-7c (InceptionE, Figure 7): #1x1, #3x3 reduce, #3x3, double #3x3 reduce, double #3x3, pool proj
INCEPTION_V3_TABLE: dict[str, tuple[int, ...]] = {
    "Mixed_5b": (64, 48, 64, 64, 96, 32),  # 35 x 35 x 256
    "Mixed_5c": (64, 48, 64, 64, 96, 64),  # 35 x 35 x 288
    "Mixed_5d": (64, 48, 64, 64, 96, 64),  # 35 x 35 x 288
    "Mixed_6a": (384, 64, 96),  # 17 x 17 x 768
    "Mixed_6b": (192, 128, 192, 128, 192, 192),  # 17 x 17 x 768
    "Mixed_6c": (192, 160, 192, 160, 192, 192),  # 17 x 17 x 768
    "Mixed_6d": (192, 160, 192, 160, 192, 192),  # 17 x 17 x 768
    "Mixed_6e": (192, 192, 192, 192, 192, 192),  # 17 x 17 x 768  (the auxiliary head taps here)
    "Mixed_7a": (192, 320, 192),  # 8 x 8 x 1280
    "Mixed_7b": (320, 384, 384, 448, 384, 192),  # 8 x 8 x 2048
    "Mixed_7c": (320, 384, 384, 448, 384, 192),  # 8 x 8 x 2048
}
#: The stem's widths: Conv2d_1a_3x3, Conv2d_2a_3x3, Conv2d_2b_3x3, Conv2d_3b_1x1, Conv2d_4a_3x3.
STEM_CHANNELS = (32, 32, 64, 80, 192)


# ---------------------------------------------------------------------------
# the config
# ---------------------------------------------------------------------------
@dataclass(frozen=True)
class InceptionV3Config(ModelConfig):
    """Everything :class:`InceptionV3` is built from (the shared fields: :class:`~.config.ModelConfig`).

    Attributes:
        table: the Inception modules' channel arguments (``INCEPTION_V3_TABLE``), before ``width_mult``.
        stem_channels: the five stem convolutions' widths.
        small_stem: stride-1 convs and padded pools for 32-64 px inputs (48 -> 12 at Mixed_5b).
        aux_logits: build the auxiliary classifier (it runs in training mode only).
        aux_adaptive_pool: the auxiliary head pools adaptively to 5 x 5 (works on any
            map); False: 5x5/3 as released, which needs 299 px inputs in training mode.
        transform_input: re-normalize ImageNet-normalized inputs to [-1, 1] first,
            as the released weights expect (torchvision's ``transform_input``).
    """

    table: dict[str, tuple[int, ...]] = table_field(INCEPTION_V3_TABLE)
    stem_channels: tuple[int, ...] = STEM_CHANNELS
    small_stem: bool = False
    aux_logits: bool = True
    aux_adaptive_pool: bool = False
    transform_input: bool = False

    def check(self) -> None:
        super().check()
        for flag in ("small_stem", "aux_logits", "aux_adaptive_pool", "transform_input"):
            check_bool(getattr(self, flag), flag)
        if self.transform_input and self.in_chans != 3:
            raise ValueError("transform_input re-normalizes RGB ImageNet inputs and needs in_chans=3.")


# ---------------------------------------------------------------------------
# the network
# ---------------------------------------------------------------------------
class InceptionV3(CourseModel):
    """Inception v3 as released, built from an :class:`InceptionV3Config`.

    Presets: :func:`inception_v3`, :func:`mini_inception_v3`. Shape comments are
    for a 299 x 299 input.
    """

    # The auxiliary loss weight of Google's released training code (TF-slim's
    # train_image_classifier.py weighs the AuxLogits loss by 0.4).
    aux_loss_weight = 0.4
    aux_head_names = ("AuxLogits",)

    def __init__(self, config: InceptionV3Config = None) -> None:
        config = INCEPTION_V3 if config is None else config
        super().__init__(config)
        t = {name: config.widths(row) for name, row in config.table.items()}
        c1a, c2a, c2b, c3b, c4a = config.widths(config.stem_channels)

        # -- stem: 299 -> 35 with 3x3 convs and two 3x3/2 max pools ----------------
        # The small stem keeps the resolution (stride 1, padding 1, padded pools): 48 -> 12.
        stride1, pad = (1, 1) if config.small_stem else (2, 0)
        self.Conv2d_1a_3x3 = BasicConv2d(config.in_chans, c1a, kernel_size=3, stride=stride1, padding=pad)
        self.Conv2d_2a_3x3 = BasicConv2d(c1a, c2a, kernel_size=3, padding=pad)
        self.Conv2d_2b_3x3 = BasicConv2d(c2a, c2b, kernel_size=3, padding=1)
        self.maxpool1 = nn.MaxPool2d(kernel_size=3, stride=2, padding=pad)
        self.Conv2d_3b_1x1 = BasicConv2d(c2b, c3b, kernel_size=1)
        self.Conv2d_4a_3x3 = BasicConv2d(c3b, c4a, kernel_size=3, padding=pad)
        self.maxpool2 = nn.MaxPool2d(kernel_size=3, stride=2, padding=pad)

        # -- Inception modules, one per row of INCEPTION_V3_TABLE -------------------
        self.Mixed_5b = InceptionA(c4a, *t["Mixed_5b"])
        self.Mixed_5c = InceptionA(self.Mixed_5b.out_channels, *t["Mixed_5c"])
        self.Mixed_5d = InceptionA(self.Mixed_5c.out_channels, *t["Mixed_5d"])
        self.Mixed_6a = InceptionB(self.Mixed_5d.out_channels, *t["Mixed_6a"])
        self.Mixed_6b = InceptionC(self.Mixed_6a.out_channels, *t["Mixed_6b"])
        self.Mixed_6c = InceptionC(self.Mixed_6b.out_channels, *t["Mixed_6c"])
        self.Mixed_6d = InceptionC(self.Mixed_6c.out_channels, *t["Mixed_6d"])
        self.Mixed_6e = InceptionC(self.Mixed_6d.out_channels, *t["Mixed_6e"])
        self.AuxLogits = None
        if config.aux_logits:
            self.AuxLogits = InceptionAux(self.Mixed_6e.out_channels, self.num_classes, config.ch(128), config.ch(768),
                                          adaptive_pool=config.aux_adaptive_pool)
            if not config.aux_adaptive_pool:
                # 5x5/3 pooling then a 5x5 conv need Mixed_6e at 17 x 17: 299 x 299 inputs.
                self.aux_input_sizes = (299, 10**9)
        self.Mixed_7a = InceptionD(self.Mixed_6e.out_channels, *t["Mixed_7a"])
        self.Mixed_7b = InceptionE(self.Mixed_7a.out_channels, *t["Mixed_7b"])
        self.Mixed_7c = InceptionE(self.Mixed_7b.out_channels, *t["Mixed_7c"])

        # -- head --------------------------------------------------------------------
        self.build_head(self.Mixed_7c.out_channels)

        # timm's feature_info: the two stem outputs, then the last module at each grid size.
        r = 1 if config.small_stem else 2
        self.feature_info = [
            FeatureInfo("Conv2d_2b_3x3", c2b, r),
            FeatureInfo("Conv2d_4a_3x3", c4a, 2 * r),
            FeatureInfo("Mixed_5d", self.Mixed_5d.out_channels, 4 * r),
            FeatureInfo("Mixed_6e", self.Mixed_6e.out_channels, 8 * r),
            FeatureInfo("Mixed_7c", self.Mixed_7c.out_channels, 16 * r),
        ]

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
        # N x 2048 x 8 x 8: the last feature map (forward_features returns it)
        return x, aux


# ---------------------------------------------------------------------------
# presets
# ---------------------------------------------------------------------------
#: As released: 299 px inputs, at least 75 x 75 (torchvision's and Keras' min_size: the smallest
#: that reaches Mixed_7c). The released weights expect [-1, 1] inputs (mean = std = 0.5);
#: transform_input maps ImageNet-normalized ones there.
INCEPTION_V3 = InceptionV3Config(
    drop_rate=0.5, transform_input=True,
    preprocess=PreprocessConfig(input_size=(3, 299, 299), min_input_size=75, mean=INCEPTION_MEAN, std=INCEPTION_STD),
)
#: 32-64 px images: widths x 0.25 (multiples of 8), the small stem, no aux head by default
#: (it pools adaptively when asked for).
MINI_INCEPTION_V3 = InceptionV3Config(
    num_classes=10, drop_rate=0.2, small_stem=True, aux_logits=False, aux_adaptive_pool=True,
    width_mult=0.25, channel_divisor=8,
    preprocess=PreprocessConfig(input_size=(3, 48, 48), min_input_size=25, crop_pct=1.0),
)


@register_model
def inception_v3(**changes) -> InceptionV3:
    """Inception v3 for 299 x 299 inputs, weight-compatible with torchvision and timm.

    ``InceptionV3(INCEPTION_V3.replace(**changes))``. The auxiliary classifier is
    built by default (as in torchvision, which counts its parameters); training
    with it needs 299 x 299 inputs. Inputs of at least 75 x 75.

    ``transform_input=True`` (the default, as torchvision's pretrained builder)
    takes ImageNet-normalized images and re-maps them to the [-1, 1] range the
    released weights were trained on; timm's ``inception_v3.tf_in1k`` weights
    expect that same [-1, 1] range, so they work with it too. With
    ``transform_input=False`` feed [-1, 1] inputs yourself (``preprocess`` then
    says mean = std = 0.5).
    """
    return InceptionV3(INCEPTION_V3.replace(**changes))


@register_model
def mini_inception_v3(**changes) -> InceptionV3:
    """A small Inception v3 for 32-64 px images (lesson 04's CPU experiments).

    ``InceptionV3(MINI_INCEPTION_V3.replace(**changes))``: the same module classes
    and table with every channel count times ``width_mult`` (rounded to multiples
    of 8), a stem without early striding (48 x 48 reaches Mixed_5b at 12 x 12,
    Mixed_6b at 5 x 5, Mixed_7b at 2 x 2), and an optional auxiliary classifier
    that pools adaptively.
    """
    return InceptionV3(MINI_INCEPTION_V3.replace(**changes))


# ---------------------------------------------------------------------------
# torchvision and timm weights
# ---------------------------------------------------------------------------
_TOP_LEVEL = (
    "Conv2d_1a_3x3",
    "Conv2d_2a_3x3",
    "Conv2d_2b_3x3",
    "Conv2d_3b_1x1",
    "Conv2d_4a_3x3",
    *INCEPTION_V3_TABLE,
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
