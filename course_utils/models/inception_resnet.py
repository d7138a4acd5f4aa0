"""Inception-ResNet-v1 and -v2 (lesson 05): Inception blocks with residual connections.

Szegedy, Ioffe, Vanhoucke & Alemi (2016), "Inception-v4, Inception-ResNet and the
Impact of Residual Connections on Learning", https://arxiv.org/abs/1602.07261.

Both networks follow the schema of the paper's Figure 15:

==========================  ======================  ======================  =============
stage                       Inception-ResNet-v1     Inception-ResNet-v2     attribute
==========================  ======================  ======================  =============
stem                        Figure 14               Figure 3 (see below)    ``stem``
Inception-ResNet-A (35x35)  5 x Figure 10           5 x Figure 16           ``block35``
Reduction-A                 Figure 7, Table 1       Figure 7, Table 1       ``mixed_6a``
Inception-ResNet-B (17x17)  10 x Figure 11          10 x Figure 17          ``block17``
Reduction-B                 Figure 12               Figure 18               ``mixed_7a``
Inception-ResNet-C (8x8)    5 x Figure 13           5 x Figure 19           ``block8``
==========================  ======================  ======================  =============

followed by average pooling, dropout (keep 0.8) and the classifier. The residual blocks'
names (``block35``, ``block17``, ``block8``: the grid size they work on) and the reduction
blocks' (``mixed_6a``, ``mixed_7a``) are TF-slim's and timm's.

Each residual block runs its Inception branches, concatenates them, projects the result
back to the input width with a *linear* 1x1 convolution ("1x1 Conv (... Linear)" in the
figures: no batch norm, no ReLU), scales it, adds it to the input and applies ReLU.

**Why the residual is scaled (Section 3.3).** With more than about 1000 filters the
residual networks became unstable: early in training the last layers started producing
only zeros ("died"), and neither a lower learning rate nor extra batch norm fixed it.
Multiplying the residual by a factor between 0.1 and 0.3 before the addition did. The
paper does not list the factors per block; Google's released code uses 0.17 for
Inception-ResNet-A, 0.10 for -B and 0.20 for -C, the defaults here (``scales``).

**What the shipped Inception-ResNet-v2 changes** (timm ``inception_resnet_v2`` = Google's
TF-slim checkpoint, which our ``inception_resnet_v2`` loads), each marked where it happens:

* the stem is not Figure 3's: it is Figure 14's first six layers with 192 channels at the
  end, a max pool, and an Inception-A-like block ``mixed_5b`` (as Inception-v3's Mixed_5b)
  giving 320 channels at 35 x 35 (Figure 3: 384);
* so the widths differ: 320 / 1088 / 2080 channels on the three grids (paper's figures:
  384 / 1154 / 2048; 1154 is not even what Reduction-A's output, 1152, would give);
* blocks repeat 10 / 20 / 10 times, not the paper's 5 / 10 / 5;
* the last Inception-ResNet-C block has no residual scaling (1.0) and no ReLU, and a
  1x1 convolution to 1536 channels (``conv2d_7b``) comes before the pooling.

Inception-ResNet-v1 has no published checkpoint in torchvision or timm: it is built
from the paper's figures exactly (5 / 10 / 5 blocks, every block ending in ReLU), and a
test compares every block's channel table with the figures.

In the paper, batch normalization is used "on top of the traditional layers, but not on
top of the summations" (Section 3.2): the block outputs are not normalized, to save GPU
memory, which let the authors stack more blocks.
"""
from __future__ import annotations

from collections import OrderedDict
from dataclasses import dataclass
from typing import Sequence

import torch
from torch import Tensor, nn

from ..checks import check_bool, check_int, check_number
from .base import MINI_INCEPTION_PREPROCESS, CourseModel, FeatureInfo, inception_preprocess
from .blocks import BasicConv2d, MultiBranch
from .config import ModelConfig, check_repeats, check_scales, table_field
from .inception_v4 import InceptionA, ReductionA
from .registry import WeightSource, register_model, register_weights

__all__ = [
    "INCEPTION_RESNET_V1",
    "INCEPTION_RESNET_V2",
    "MINI_INCEPTION_RESNET_V1",
    "MINI_INCEPTION_RESNET_V2",
    "InceptionResNet",
    "InceptionResNetConfig",
    "InceptionResNetStem",
    "Mixed5b",
    "Block35",
    "Block17",
    "Block8",
    "InceptionResNetReductionB",
    "inception_resnet_v1",
    "inception_resnet_v2",
    "mini_inception_resnet_v1",
    "mini_inception_resnet_v2",
]

# --- the paper's tables ---------------------------------------------------------------
# Figure 14: the Inception-ResNet-v1 stem, one entry per layer: (name, out channels, kernel, stride, padding)
V1_STEM = (
    ("conv2d_1a", 32, 3, 2, 0),  # 3x3 Conv (32 stride 2 V)   -> 149 x 149
    ("conv2d_2a", 32, 3, 1, 0),  # 3x3 Conv (32 V)            -> 147 x 147
    ("conv2d_2b", 64, 3, 1, 1),  # 3x3 Conv (64)              -> 147 x 147
    ("maxpool_3a", None, 3, 2, 0),  # 3x3 MaxPool (stride 2 V) -> 73 x 73
    ("conv2d_3b", 80, 1, 1, 0),  # 1x1 Conv (80)              -> 73 x 73
    ("conv2d_4a", 192, 3, 1, 0),  # 3x3 Conv (192 V)          -> 71 x 71
    ("conv2d_4b", 256, 3, 2, 0),  # 3x3 Conv (256 stride 2 V) -> 35 x 35
)
# The shipped v2 stem (TF-slim): the same layers up to conv2d_4a, then a max pool and mixed_5b.
V2_STEM = V1_STEM[:6] + (("maxpool_5a", None, 3, 2, 0),)
# mixed_5b (TF-slim's, not in the paper): 1x1 | 1x1 -> 5x5 | 1x1 -> 3x3 -> 3x3 | avg pool -> 1x1.
V2_MIXED_5B = dict(ch1x1=96, ch5x5red=48, ch5x5=64, ch3x3dbl_red=64, ch3x3dbl=96, pool_proj=64)

# Inception-ResNet-A (35 x 35): 1x1 | 1x1 -> 3x3 | 1x1 -> 3x3 -> 3x3, then the linear 1x1 up.
V1_BLOCK35 = dict(ch1x1=32, ch3x3red=32, ch3x3=32, ch3x3dbl_red=32, ch3x3dbl=(32, 32))  # Figure 10
V2_BLOCK35 = dict(ch1x1=32, ch3x3red=32, ch3x3=32, ch3x3dbl_red=32, ch3x3dbl=(48, 64))  # Figure 16
# Reduction-A: Table 1's k, l, m, n.
V1_REDUCTION_A = dict(k=192, l=192, m=256, n=384)
V2_REDUCTION_A = dict(k=256, l=256, m=384, n=384)
# Inception-ResNet-B (17 x 17): 1x1 | 1x1 -> 1x7 -> 7x1, then the linear 1x1 up.
V1_BLOCK17 = dict(ch1x1=128, ch7x7red=128, ch7x7=(128, 128))  # Figure 11
V2_BLOCK17 = dict(ch1x1=192, ch7x7red=128, ch7x7=(160, 192))  # Figure 17
# Reduction-B (17 x 17 -> 8 x 8): three 1x1 -> .. -> 3x3/2 branches beside a 3x3/2 max pool.
V1_REDUCTION_B = dict(ch_red=256, ch3x3a=384, ch3x3b=256, ch3x3dbl=(256, 256))  # Figure 12
V2_REDUCTION_B = dict(ch_red=256, ch3x3a=384, ch3x3b=288, ch3x3dbl=(288, 320))  # Figure 18
# Inception-ResNet-C (8 x 8): 1x1 | 1x1 -> 1x3 -> 3x1, then the linear 1x1 up.
V1_BLOCK8 = dict(ch1x1=192, ch3x3red=192, ch3x3=(192, 192))  # Figure 13
V2_BLOCK8 = dict(ch1x1=192, ch3x3red=192, ch3x3=(224, 256))  # Figure 19

PAPER_REPEATS = (5, 10, 5)  # Figure 15
SHIPPED_V2_REPEATS = (10, 20, 10)  # TF-slim / timm inception_resnet_v2 (deviation from Figure 15)
RESIDUAL_SCALES = (0.17, 0.10, 0.20)  # A, B, C: Google's code; the paper says "between 0.1 and 0.3"


# --- stems ------------------------------------------------------------------------------
class InceptionResNetStem(nn.Module):
    """The stem: a plain chain of convs and max pools, the rows of ``table``, then ``mixed_5b`` if given.

    Inception-ResNet-v1: Figure 14 (:data:`V1_STEM`), 299 x 299 x 3 -> 35 x 35 x 256; at
    299 px the grid goes 149 -> 147 -> 147 -> 73 -> 73 -> 71 -> 35 (the table's comments).
    The *shipped* Inception-ResNet-v2 (:data:`V2_STEM` and :class:`Mixed5b`): 35 x 35 x 320.
    Deviation: the paper says Inception-ResNet-v2 uses the Inception-v4 stem (Figure 3, 384
    channels out); Google's released code and checkpoint use Figure 14's layers up to
    ``conv2d_4a`` (192 channels), a 3x3/2 max pool and the Inception block ``mixed_5b``.
    A mini stem is the same class with another table.
    """

    def __init__(self, in_chans: int, table: Sequence[tuple], mixed_5b: dict | None = None) -> None:
        super().__init__()
        channels = in_chans
        for name, out, kernel, stride, padding in table:  # registered in order: forward runs them in order
            if out is None:
                self.add_module(name, nn.MaxPool2d(kernel, stride=stride, padding=padding))
            else:
                self.add_module(name, BasicConv2d(channels, out, kernel, stride=stride, padding=padding))
                channels = out
        self.mixed_5b = Mixed5b(channels, **mixed_5b) if mixed_5b is not None else None
        self.out_channels = self.mixed_5b.out_channels if mixed_5b is not None else channels

    def forward(self, x: Tensor) -> Tensor:
        # N x 3 x 299 x 299 -> N x 256 x 35 x 35 (v1); N x 192 x 35 x 35 before mixed_5b -> 320 (shipped v2)
        for layer in self.children():
            x = layer(x)
        return x


class Mixed5b(InceptionA):
    """TF-slim's last stem block of Inception-ResNet-v2 (not in the paper): 192 -> 320 channels.

    The Inception-A block of Inception-v3 (Mixed_5b there), 5x5 branch included: Inception-v4's
    :class:`InceptionA` with a 5x5 instead of a 3x3 in ``branch1``. Shipped widths
    (``V2_MIXED_5B``): N x 192 x 35 x 35 in; branches 96, 64 (the 5x5), 96 and 64 channels.
    """

    def __init__(
        self, in_channels: int, ch1x1: int, ch5x5red: int, ch5x5: int, ch3x3dbl_red: int, ch3x3dbl: int, pool_proj: int
    ) -> None:
        super().__init__(in_channels, ch1x1, ch5x5red, ch5x5, ch3x3dbl_red, ch3x3dbl, pool_proj, branch1_kernel=5)


# --- residual blocks --------------------------------------------------------------------
class _ResidualInception(MultiBranch):
    """x -> ReLU(x + scale * up(concat(branches(x)))): the shared shape of Figures 10-13, 16-19.

    ``up`` is the figures' "1x1 Conv (... Linear)": it restores the input width so the
    sum is possible, with a bias and without batch norm or ReLU (the paper normalizes only
    the "traditional layers", not the sums). ``scale`` is the residual scaling of
    Section 3.3 (see the module docstring); ``activate=False`` drops the final ReLU (only
    the very last block of the shipped Inception-ResNet-v2 does that).
    """

    def _finish(self, in_channels: int, branch_channels: int, scale: float, activate: bool) -> None:
        self.scale = check_number(scale, "the residual scale", minimum=0, min_inclusive=False,
                                  hint="(the paper uses 0.1-0.3; 1.0 means no scaling)")
        self.up = nn.Conv2d(branch_channels, in_channels, 1)
        self.relu = nn.ReLU(inplace=True) if activate else nn.Identity()
        self.out_channels = in_channels

    def forward(self, x: Tensor) -> Tensor:
        mixed = torch.cat(list(self.forward_branches(x).values()), 1)  # N x 128 x 35 x 35 (v2 Block35)
        residual = self.up(mixed)  # N x 320 x 35 x 35: back to the input width, linear
        # x + scale * residual, computed in one pass over the tensors (add's alpha argument)
        return self.relu(torch.add(x, residual, alpha=self.scale))  # N x 320 x 35 x 35

    def extra_repr(self) -> str:
        return f"scale={self.scale}"


class Block35(_ResidualInception):
    """Inception-ResNet-A (35 x 35 grid): Figure 10 (v1) and Figure 16 (v2).

    Branches: 1x1 (``ch1x1``) | 1x1 (``ch3x3red``) -> 3x3 (``ch3x3``) |
    1x1 (``ch3x3dbl_red``) -> 3x3 -> 3x3 (``ch3x3dbl``: the two outputs).
    """

    branch_labels = {"branch0": "1x1", "branch1": "3x3", "branch2": "double 3x3"}

    def __init__(
        self,
        in_channels: int,
        ch1x1: int,
        ch3x3red: int,
        ch3x3: int,
        ch3x3dbl_red: int,
        ch3x3dbl: Sequence[int],
        scale: float = RESIDUAL_SCALES[0],
        activate: bool = True,
    ) -> None:
        super().__init__()
        d1, d2 = ch3x3dbl
        self.branch0 = BasicConv2d(in_channels, ch1x1, 1)
        self.branch1 = nn.Sequential(
            BasicConv2d(in_channels, ch3x3red, 1),
            BasicConv2d(ch3x3red, ch3x3, 3, padding=1),
        )
        self.branch2 = nn.Sequential(
            BasicConv2d(in_channels, ch3x3dbl_red, 1),
            BasicConv2d(ch3x3dbl_red, d1, 3, padding=1),
            BasicConv2d(d1, d2, 3, padding=1),
        )
        # N x 320 x 35 x 35 in (shipped v2; v1: 256): N x 32, 32, 64 (v1: 32) x 35 x 35 out
        self._finish(in_channels, ch1x1 + ch3x3 + d2, scale, activate)


class _FactorizedResidual(_ResidualInception):
    """Inception-ResNet-B and -C: 1x1 (``ch1x1``) | 1x1 (``chred``) -> 1xn -> nx1 (``chnxn``).

    The n x n convolution factorized into 1 x n then n x 1 (Inception v3's Figure 6), with
    ``n = kernel``: 7 for -B (:class:`Block17`), 3 for -C (:class:`Block8`).
    """

    kernel: int

    def __init__(
        self, in_channels: int, ch1x1: int, chred: int, chnxn: Sequence[int], scale: float, activate: bool
    ) -> None:
        super().__init__()
        c1, c2 = chnxn
        n, pad = self.kernel, self.kernel // 2
        self.branch0 = BasicConv2d(in_channels, ch1x1, 1)
        self.branch1 = nn.Sequential(
            BasicConv2d(in_channels, chred, 1),
            BasicConv2d(chred, c1, (1, n), padding=(0, pad)),
            BasicConv2d(c1, c2, (n, 1), padding=(pad, 0)),
        )
        # Block17: N x 1088 x 17 x 17 in (shipped v2; v1: 896), N x 192, 192 (v1: 128, 128) out;
        # Block8: N x 2080 x 8 x 8 in (v1: 1792), N x 192, 256 (v1: 192, 192) out
        self._finish(in_channels, ch1x1 + c2, scale, activate)


class Block17(_FactorizedResidual):
    """Inception-ResNet-B (17 x 17 grid): Figure 11 (v1) and Figure 17 (v2).

    Branches: 1x1 (``ch1x1``) | 1x1 (``ch7x7red``) -> 1x7 -> 7x1 (``ch7x7``: the two outputs).
    """

    kernel = 7
    branch_labels = {"branch0": "1x1", "branch1": "7x7"}

    def __init__(
        self,
        in_channels: int,
        ch1x1: int,
        ch7x7red: int,
        ch7x7: Sequence[int],
        scale: float = RESIDUAL_SCALES[1],
        activate: bool = True,
    ) -> None:
        super().__init__(in_channels, ch1x1, ch7x7red, ch7x7, scale, activate)


class Block8(_FactorizedResidual):
    """Inception-ResNet-C (8 x 8 grid): Figure 13 (v1) and Figure 19 (v2).

    Branches: 1x1 (``ch1x1``) | 1x1 (``ch3x3red``) -> 1x3 -> 3x1 (``ch3x3``: the two outputs).
    """

    kernel = 3
    branch_labels = {"branch0": "1x1", "branch1": "3x3"}

    def __init__(
        self,
        in_channels: int,
        ch1x1: int,
        ch3x3red: int,
        ch3x3: Sequence[int],
        scale: float = RESIDUAL_SCALES[2],
        activate: bool = True,
    ) -> None:
        super().__init__(in_channels, ch1x1, ch3x3red, ch3x3, scale, activate)


class InceptionResNetReductionB(MultiBranch):
    """Reduction-B of Inception-ResNet (17 x 17 -> 8 x 8): Figure 12 (v1) and Figure 18 (v2).

    Three branches start with a 1x1 (``ch_red``): -> 3x3/2 (``ch3x3a``), -> 3x3/2
    (``ch3x3b``), -> 3x3 -> 3x3/2 (``ch3x3dbl``); the fourth is a 3x3/2 max pool.
    """

    branch_labels = {"branch0": "3x3", "branch1": "3x3 (second)", "branch2": "double 3x3", "branch3": "max pool"}

    def __init__(self, in_channels: int, ch_red: int, ch3x3a: int, ch3x3b: int, ch3x3dbl: Sequence[int]) -> None:
        super().__init__()
        d1, d2 = ch3x3dbl
        self.branch0 = nn.Sequential(
            BasicConv2d(in_channels, ch_red, 1),
            BasicConv2d(ch_red, ch3x3a, 3, stride=2),
        )
        self.branch1 = nn.Sequential(
            BasicConv2d(in_channels, ch_red, 1),
            BasicConv2d(ch_red, ch3x3b, 3, stride=2),
        )
        self.branch2 = nn.Sequential(
            BasicConv2d(in_channels, ch_red, 1),
            BasicConv2d(ch_red, d1, 3, padding=1),
            BasicConv2d(d1, d2, 3, stride=2),
        )
        self.branch3 = nn.MaxPool2d(3, stride=2)
        # N x 1088 x 17 x 17 in (shipped v2; v1: 896): N x 384, 288, 320, 1088 (v1: 384, 256, 256, 896) x 8 x 8
        self.out_channels = ch3x3a + ch3x3b + d2 + in_channels


# --- the config -------------------------------------------------------------------------
@dataclass(frozen=True)
class InceptionResNetConfig(ModelConfig):
    """Everything :class:`InceptionResNet` is built from (the shared fields: :class:`~.config.ModelConfig`).

    Attributes:
        stem: the stem's layers, (name, out channels or None for a max pool, kernel, stride,
            padding) each, before ``width_mult`` (:data:`V1_STEM`, :data:`V2_STEM`, the minis').
        mixed_5b: the shipped v2 stem's last block (:data:`V2_MIXED_5B`), or None (v1).
        block35, reduction_a, block17, reduction_b, block8: the blocks' channel tables.
        repeats: number of (A, B, C) blocks (Figure 15: 5, 10, 5; shipped v2: 10, 20, 10).
        scales: residual scaling of the (A, B, C) blocks (Section 3.3).
        last_block_linear: the last C block without scaling and ReLU (shipped v2 only).
        final_conv: channels of a 1x1 conv before pooling (shipped v2: 1536), or None.
    """

    stem: tuple = V1_STEM
    mixed_5b: dict | None = None
    block35: dict = table_field(V1_BLOCK35)
    reduction_a: dict = table_field(V1_REDUCTION_A)
    block17: dict = table_field(V1_BLOCK17)
    reduction_b: dict = table_field(V1_REDUCTION_B)
    block8: dict = table_field(V1_BLOCK8)
    repeats: tuple[int, int, int] = PAPER_REPEATS
    scales: tuple[float, float, float] = RESIDUAL_SCALES
    last_block_linear: bool = False
    final_conv: int | None = None

    def check(self) -> None:
        super().check()
        check_repeats(self.repeats, 3, "Inception-ResNet-A, -B and -C blocks")
        check_scales(self.scales, "Inception-ResNet-A, -B and -C")
        check_bool(self.last_block_linear, "last_block_linear")
        if self.final_conv is not None:
            check_int(self.final_conv, "final_conv", minimum=1, hint="(or None: no 1x1 conv before pooling)")

    def table(self, name: str) -> dict:
        """The block table ``name`` at this config's width."""
        return {key: (self.widths(c) if isinstance(c, tuple) else self.ch(c)) for key, c in getattr(self, name).items()}


# --- the network ----------------------------------------------------------------------
class InceptionResNet(CourseModel):
    """Inception-ResNet (Figure 15): stem, Inception-ResNet-A/B/C stages, reductions, head.

    Built from an :class:`InceptionResNetConfig`; presets :func:`inception_resnet_v1`,
    :func:`inception_resnet_v2` and their mini variants.
    """

    def __init__(self, config: InceptionResNetConfig = None) -> None:
        config = INCEPTION_RESNET_V1 if config is None else config
        super().__init__(config)
        n_a, n_b, n_c = config.repeats
        scale_a, scale_b, scale_c = config.scales
        stem = tuple((name, None if out is None else config.ch(out), k, s, p) for name, out, k, s, p in config.stem)
        self.stem = InceptionResNetStem(config.in_chans, stem, config.table("mixed_5b") if config.mixed_5b else None)
        # Residual blocks keep their input width, so a stage is n copies of one block.
        width = self.stem.out_channels
        self.block35 = nn.Sequential(*[Block35(width, **config.table("block35"), scale=scale_a) for _ in range(n_a)])
        self.mixed_6a = ReductionA(width, **config.table("reduction_a"))
        width = self.mixed_6a.out_channels
        self.block17 = nn.Sequential(*[Block17(width, **config.table("block17"), scale=scale_b) for _ in range(n_b)])
        self.mixed_7a = InceptionResNetReductionB(width, **config.table("reduction_b"))
        width = self.mixed_7a.out_channels
        block8 = [Block8(width, **config.table("block8"), scale=scale_c) for _ in range(n_c)]
        if config.last_block_linear:
            # Shipped v2 only: the last block neither scales its residual nor applies ReLU,
            # because conv2d_7b (conv + BN + ReLU) follows it.
            block8[-1] = Block8(width, **config.table("block8"), scale=1.0, activate=False)
        self.block8 = nn.Sequential(*block8)
        self.conv2d_7b = None
        if config.final_conv is not None:
            # Shipped v2 only (not in the paper): 1x1 conv to 1536 channels before pooling.
            self.conv2d_7b = BasicConv2d(width, config.ch(config.final_conv), 1)
        self.build_head(self.conv2d_7b.conv.out_channels if self.conv2d_7b is not None else width)

        # The stem's stages: its last conv at each stride below the stem's own (2 and 4 at 299 px).
        stem_features, r = [], 1
        for name, out, _, stride, _ in stem:
            r *= stride
            if out is not None:
                stem_features = [f for f in stem_features if f.reduction != r] + [FeatureInfo(f"stem.{name}", out, r)]
        self.feature_info = [
            *(f for f in stem_features if f.reduction < r),
            FeatureInfo("block35", self.stem.out_channels, r),
            FeatureInfo("block17", self.mixed_6a.out_channels, 2 * r),
            FeatureInfo("conv2d_7b" if self.conv2d_7b is not None else "block8", self.num_features, 4 * r),
        ]

    def forward_features(self, x: Tensor) -> Tensor:
        # shipped v2 at 299 (v1 in brackets)
        # N x 3 x 299 x 299
        x = self.stem(x)  # N x 320 x 35 x 35 [256]
        x = self.block35(x)  # N x 320 x 35 x 35 [256]
        x = self.mixed_6a(x)  # N x 1088 x 17 x 17 [896]
        x = self.block17(x)  # N x 1088 x 17 x 17 [896]
        x = self.mixed_7a(x)  # N x 2080 x 8 x 8 [1792]
        x = self.block8(x)  # N x 2080 x 8 x 8 [1792]
        if self.conv2d_7b is not None:
            x = self.conv2d_7b(x)  # N x 1536 x 8 x 8
        return x


# --- presets ------------------------------------------------------------------------------
# Mini stems (32-64 px): one stride-2 conv, one same-padded conv, then the family's own
# last stride-2 step, 48 x 48 -> 11 x 11 (the full stems shrink 299 -> 35).
MINI_V1_STEM = (
    ("conv2d_1a", 32, 3, 2, 1),  # -> 24 x 24
    ("conv2d_2b", 64, 3, 1, 1),  # -> 24 x 24
    ("conv2d_4b", 256, 3, 2, 0),  # -> 11 x 11 (Figure 14's last layer)
)
MINI_V2_STEM = (
    ("conv2d_1a", 32, 3, 2, 1),  # -> 24 x 24
    ("conv2d_2b", 64, 3, 1, 1),  # -> 24 x 24
    ("maxpool_5a", None, 3, 2, 0),  # -> 11 x 11, then mixed_5b
)

#: Inception-ResNet-v1 from the paper's figures (14, 10, 7, 11, 12, 13; schema Figure 15): 5 / 10 / 5
#: residual blocks, 256 / 896 / 1792 channels on the 35 / 17 / 8 grids, 299 px inputs (at least 75).
#: No published checkpoint; its cost is "roughly" that of Inception-v3 (Section 3.2).
INCEPTION_RESNET_V1 = InceptionResNetConfig(drop_rate=0.2, preprocess=inception_preprocess(crop_pct=0.875))
#: Inception-ResNet-v2 as shipped (TF-slim, timm): see the module docstring for its deviations.
INCEPTION_RESNET_V2 = InceptionResNetConfig(
    drop_rate=0.2, stem=V2_STEM, mixed_5b=V2_MIXED_5B, block35=V2_BLOCK35, reduction_a=V2_REDUCTION_A,
    block17=V2_BLOCK17, reduction_b=V2_REDUCTION_B, block8=V2_BLOCK8, repeats=SHIPPED_V2_REPEATS,
    last_block_linear=True, final_conv=1536, preprocess=inception_preprocess(crop_pct=0.8975),
)
#: 32-64 px: a 3-layer stem (48 px -> 11 x 11), widths x 0.25, (1, 2, 1) blocks.
MINI_INCEPTION_RESNET_V1 = INCEPTION_RESNET_V1.replace(
    num_classes=10, drop_rate=0.0, width_mult=0.25, stem=MINI_V1_STEM, repeats=(1, 2, 1),
    preprocess=MINI_INCEPTION_PREPROCESS,
)
#: As the shipped v2, with a 3-layer stem plus mixed_5b, widths x 0.25 (conv2d_7b too), (1, 2, 1) blocks.
MINI_INCEPTION_RESNET_V2 = INCEPTION_RESNET_V2.replace(
    num_classes=10, drop_rate=0.0, width_mult=0.25, stem=MINI_V2_STEM, repeats=(1, 2, 1),
    preprocess=MINI_INCEPTION_PREPROCESS,
)


@register_model
def inception_resnet_v1(**changes) -> InceptionResNet:
    """Inception-ResNet-v1 from the paper's figures: ``InceptionResNet(INCEPTION_RESNET_V1.replace(**changes))``.

    ``scales`` changes the residual scaling of the A, B and C blocks (Section 3.3).
    """
    return InceptionResNet(INCEPTION_RESNET_V1.replace(**changes))


@register_model
def inception_resnet_v2(**changes) -> InceptionResNet:
    """Inception-ResNet-v2 as shipped by Google (TF-slim) and timm.

    ``InceptionResNet(INCEPTION_RESNET_V2.replace(**changes))``. Deviations from the
    paper (module docstring): TF-slim stem with ``mixed_5b``, blocks repeated 10 / 20 / 10
    (paper: 5 / 10 / 5), widths 320 / 1088 / 2080, a linear last block and ``conv2d_7b``.
    299 x 299 inputs (at least 75 x 75). ``create_model("inception_resnet_v2",
    pretrained=True)`` loads timm's ``inception_resnet_v2.tf_in1k``.
    """
    return InceptionResNet(INCEPTION_RESNET_V2.replace(**changes))


@register_model
def mini_inception_resnet_v1(**changes) -> InceptionResNet:
    """A small Inception-ResNet-v1 for 32-64 px images (default 48 x 48), from the same blocks.

    ``InceptionResNet(MINI_INCEPTION_RESNET_V1.replace(**changes))``: a 3-layer stem
    (48 px -> 11 x 11), every channel count times ``width_mult`` and ``repeats``
    (A, B, C) blocks instead of (5, 10, 5).
    """
    return InceptionResNet(MINI_INCEPTION_RESNET_V1.replace(**changes))


@register_model
def mini_inception_resnet_v2(**changes) -> InceptionResNet:
    """A small Inception-ResNet-v2 for 32-64 px images (default 48 x 48), from the same blocks.

    ``InceptionResNet(MINI_INCEPTION_RESNET_V2.replace(**changes))``: a 3-layer stem plus
    ``mixed_5b`` (48 px -> 11 x 11), every channel count times ``width_mult``, ``repeats``
    (A, B, C) blocks instead of (10, 20, 10). Like the shipped network it keeps the linear
    last block and ``conv2d_7b`` (1536 x ``width_mult`` channels).
    """
    return InceptionResNet(MINI_INCEPTION_RESNET_V2.replace(**changes))


# --- timm weights -----------------------------------------------------------------------
_TIMM_V2_STAGES = {
    "repeat": "block35",
    "repeat_1": "block17",
    "repeat_2": "block8",
    "classif": "fc",
    "mixed_6a": "mixed_6a",
    "mixed_7a": "mixed_7a",
    "conv2d_7b": "conv2d_7b",
}


def timm_v2_to_course(state_dict: dict) -> dict:
    """timm ``inception_resnet_v2`` state dict -> ours.

    * the stem layers (``conv2d_1a`` ... ``mixed_5b``) move under ``stem.``;
    * ``repeat`` / ``repeat_1`` / ``repeat_2`` become ``block35`` / ``block17`` / ``block8``,
      and timm's separate last ``block8`` becomes our ``block8.9``;
    * a residual block's linear 1x1 ``conv2d`` is our ``up``; ``classif`` is ``fc``.
    """
    n_block8 = SHIPPED_V2_REPEATS[2]
    converted = OrderedDict()
    for key, value in state_dict.items():
        head, _, rest = key.partition(".")
        if head in _TIMM_V2_STAGES:
            key = f"{_TIMM_V2_STAGES[head]}.{rest}"
        elif head == "block8":
            key = f"block8.{n_block8 - 1}.{rest}"
        else:
            key = f"stem.{key}"
        parts = key.split(".")
        if parts[0] in ("block35", "block17", "block8") and parts[-2] == "conv2d":
            parts[-2] = "up"
        converted[".".join(parts)] = value
    return converted


register_weights(
    "inception_resnet_v2",
    WeightSource(library="timm", model_name="inception_resnet_v2", weights="tf_in1k", convert=timm_v2_to_course),
)
