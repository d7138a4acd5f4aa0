"""Inception-v4 (lesson 05), and the Reduction-A block it shares with Inception-ResNet.

Szegedy, Ioffe, Vanhoucke & Alemi (2016), "Inception-v4, Inception-ResNet and the
Impact of Residual Connections on Learning", https://arxiv.org/abs/1602.07261.

The whole network is the paper's Figure 9, read bottom to top:

=================  ==========  ===============  =================
stage              figure      output (at 299)  attribute
=================  ==========  ===============  =================
stem               Figure 3    384 x 35 x 35    ``stem``
4 x Inception-A    Figure 4    384 x 35 x 35    ``inception_a``
Reduction-A        Figure 7    1024 x 17 x 17   ``reduction_a``
7 x Inception-B    Figure 5    1024 x 17 x 17   ``inception_b``
Reduction-B        Figure 8    1536 x 8 x 8     ``reduction_b``
3 x Inception-C    Figure 6    1536 x 8 x 8     ``inception_c``
average pooling, dropout (keep 0.8), fully connected: ``global_pool``, ``dropout``, ``fc``
=================  ==========  ===============  =================

Convolutions marked "V" in the figures are valid-padded (``padding=0`` here); all the
others are same-padded. Every convolution is followed by batch normalization and ReLU
(:class:`~course_utils.models.blocks.BasicConv2d`). The channel numbers of each block are
module-level tables (``INCEPTION_A`` ...) transcribed from the figures, so a learner can
hold them next to the paper; :class:`InceptionV4Config` holds them and the blocks take
them as arguments, which is also how the mini variant for 32-64 px images is built from
the very same blocks.

Weight compatible with timm's ``inception_v4`` (Google's TF-slim checkpoint, ported to
PyTorch by Cadene), whose module layout this file follows (see :func:`timm_to_course`).
Where the code that produced that checkpoint fixes a detail the figures leave open (the
order of the 1xn and nx1 factors inside a branch, the branch order in a concatenation),
we follow the code, otherwise the weights would not fit.
"""
from __future__ import annotations

from collections import OrderedDict
from dataclasses import dataclass
from typing import Sequence

from torch import Tensor, nn

from ..checks import check_bool
from .base import MINI_INCEPTION_PREPROCESS, CourseModel, FeatureInfo, inception_preprocess
from .blocks import BasicConv2d, MultiBranch
from .config import ModelConfig, check_repeats, table_field
from .registry import WeightSource, register_model, register_weights

__all__ = [
    "INCEPTION_V4",
    "MINI_INCEPTION_V4",
    "InceptionV4",
    "InceptionV4Config",
    "InceptionV4Stem",
    "Mixed3a",
    "Mixed4a",
    "Mixed5a",
    "InceptionA",
    "ReductionA",
    "InceptionB",
    "ReductionB",
    "InceptionC",
    "inception_v4",
    "mini_inception_v4",
]

# --- the paper's tables ---------------------------------------------------------------
# Figure 4, Inception-A (35 x 35 grid): 1x1 | 1x1 -> 3x3 | 1x1 -> 3x3 -> 3x3 | avg pool -> 1x1.
INCEPTION_A = dict(ch1x1=96, ch3x3red=64, ch3x3=96, ch3x3dbl_red=64, ch3x3dbl=96, pool_proj=96)
# Figure 7 with Table 1's Inception-v4 row: n = 3x3/2 branch; k -> l -> m = 1x1 -> 3x3 -> 3x3/2.
REDUCTION_A = dict(k=192, l=224, m=256, n=384)
# Figure 5, Inception-B (17 x 17 grid): the 7x7 convolutions are factorized into 1x7 and 7x1.
INCEPTION_B = dict(
    ch1x1=384, ch7x7red=192, ch7x7=(224, 256), ch7x7dbl_red=192, ch7x7dbl=(192, 224, 224, 256), pool_proj=128
)
# Figure 8, Reduction-B (17 x 17 -> 8 x 8).
REDUCTION_B = dict(ch3x3red=192, ch3x3=192, ch7x7x3red=256, ch7x7x3=(256, 320, 320))
# Figure 6, Inception-C (8 x 8 grid): the last 3x3 of two branches splits into 1x3 and 3x1 side by side.
INCEPTION_C = dict(ch1x1=256, ch3x3red=384, ch3x3=256, ch3x3dbl_red=384, ch3x3dbl=(448, 512, 256), pool_proj=256)
# Figure 9: how many of each block.
REPEATS = (4, 7, 3)


def _avg_pool() -> nn.AvgPool2d:
    # The pooling branch averages a 3x3 window; count_include_pad=False (as TF's 'SAME' average
    # pooling) so border pixels are not darkened by the zero padding.
    return nn.AvgPool2d(3, stride=1, padding=1, count_include_pad=False)


# --- stem (Figure 3) ------------------------------------------------------------------
class Mixed3a(MultiBranch):
    """Stem, first split of Figure 3: 3x3 max pool /2 (V) beside a 3x3 conv /2 (V).

    Pooling and a strided convolution side by side halve the grid without the
    representational bottleneck of pooling alone (Inception-v3 paper, Section 5).
    """

    branch_labels = {"maxpool": "max pool", "conv": "3x3"}

    def __init__(self, in_channels: int, conv_out: int = 96) -> None:
        super().__init__()
        self.maxpool = nn.MaxPool2d(3, stride=2)  # N x 64 x 73 x 73
        self.conv = BasicConv2d(in_channels, conv_out, 3, stride=2)  # N x 96 x 73 x 73
        self.out_channels = in_channels + conv_out


class Mixed4a(MultiBranch):
    """Stem, second split of Figure 3: 1x1 -> 3x3 (V) beside 1x1 -> 1x7 -> 7x1 -> 3x3 (V)."""

    branch_labels = {"branch0": "3x3", "branch1": "7x7 + 3x3"}

    def __init__(self, in_channels: int, ch_red: int = 64, ch_out: int = 96) -> None:
        super().__init__()
        self.branch0 = nn.Sequential(
            BasicConv2d(in_channels, ch_red, 1),
            BasicConv2d(ch_red, ch_out, 3),
        )
        self.branch1 = nn.Sequential(
            BasicConv2d(in_channels, ch_red, 1),
            BasicConv2d(ch_red, ch_red, (1, 7), padding=(0, 3)),
            BasicConv2d(ch_red, ch_red, (7, 1), padding=(3, 0)),
            BasicConv2d(ch_red, ch_out, 3),
        )
        self.out_channels = 2 * ch_out  # each branch: N x 96 x 71 x 71


class Mixed5a(MultiBranch):
    """Stem, last split of Figure 3: 3x3 conv /2 (V) beside 3x3 max pool /2 (V)."""

    branch_labels = {"conv": "3x3", "maxpool": "max pool"}

    def __init__(self, in_channels: int, conv_out: int = 192) -> None:
        super().__init__()
        self.conv = BasicConv2d(in_channels, conv_out, 3, stride=2)  # N x 192 x 35 x 35
        self.maxpool = nn.MaxPool2d(3, stride=2)  # N x 192 x 35 x 35
        self.out_channels = conv_out + in_channels


class InceptionV4Stem(nn.Module):
    """The stem of Figure 3 (shared by Inception-v4 and, in the paper, Inception-ResNet-v2).

    Three plain convolutions, then three splits that each concatenate a convolution
    branch with another (pooling or convolution) branch: 299 x 299 x 3 -> 35 x 35 x 384.
    Names follow TF-slim: ``conv2d_1a`` is layer 1, first conv; ``mixed_3a`` layer 3 ...
    """

    def __init__(self, in_chans: int = 3) -> None:
        super().__init__()
        self.conv2d_1a = BasicConv2d(in_chans, 32, 3, stride=2)  # "3x3 Conv (32 stride 2 V)"
        self.conv2d_2a = BasicConv2d(32, 32, 3)  # "3x3 Conv (32 V)"
        self.conv2d_2b = BasicConv2d(32, 64, 3, padding=1)  # "3x3 Conv (64)"
        self.mixed_3a = Mixed3a(64, 96)
        self.mixed_4a = Mixed4a(self.mixed_3a.out_channels, 64, 96)
        self.mixed_5a = Mixed5a(self.mixed_4a.out_channels, 192)
        self.out_channels = self.mixed_5a.out_channels

    def forward(self, x: Tensor) -> Tensor:
        # N x 3 x 299 x 299
        x = self.conv2d_1a(x)  # N x 32 x 149 x 149
        x = self.conv2d_2a(x)  # N x 32 x 147 x 147
        x = self.conv2d_2b(x)  # N x 64 x 147 x 147
        x = self.mixed_3a(x)  # N x 160 x 73 x 73
        x = self.mixed_4a(x)  # N x 192 x 71 x 71
        return self.mixed_5a(x)  # N x 384 x 35 x 35


# --- Inception and reduction blocks ---------------------------------------------------
class InceptionA(MultiBranch):
    """Inception-A, Figure 4 (35 x 35 grid): the 5x5 of GoogLeNet as two stacked 3x3s.

    Args follow the figure's columns: ``ch1x1`` (1x1 branch), ``ch3x3red`` -> ``ch3x3``
    (1x1 reduction then 3x3), ``ch3x3dbl_red`` -> ``ch3x3dbl`` (1x1 then two 3x3s),
    ``pool_proj`` (average pool then 1x1). Output: the four branches concatenated.
    ``branch1_kernel`` is 3 here; Inception-ResNet-v2's ``Mixed5b`` is this block with 5
    (its branch is then labelled "5x5").
    """

    branch_labels = {"branch0": "1x1", "branch1": "3x3", "branch2": "double 3x3", "branch3": "pool proj"}

    def __init__(
        self,
        in_channels: int,
        ch1x1: int,
        ch3x3red: int,
        ch3x3: int,
        ch3x3dbl_red: int,
        ch3x3dbl: int,
        pool_proj: int,
        branch1_kernel: int = 3,
    ) -> None:
        super().__init__()
        self.branch0 = BasicConv2d(in_channels, ch1x1, 1)
        self.branch1 = nn.Sequential(
            BasicConv2d(in_channels, ch3x3red, 1),
            BasicConv2d(ch3x3red, ch3x3, branch1_kernel, padding=branch1_kernel // 2),
        )
        self.branch2 = nn.Sequential(
            BasicConv2d(in_channels, ch3x3dbl_red, 1),
            BasicConv2d(ch3x3dbl_red, ch3x3dbl, 3, padding=1),
            BasicConv2d(ch3x3dbl, ch3x3dbl, 3, padding=1),
        )
        self.branch3 = nn.Sequential(_avg_pool(), BasicConv2d(in_channels, pool_proj, 1))
        # N x 384 x 35 x 35 in, each branch N x 96 x 35 x 35 out
        self.out_channels = ch1x1 + ch3x3 + ch3x3dbl + pool_proj
        if branch1_kernel != 3:
            self.branch_labels = {**InceptionA.branch_labels, "branch1": f"{branch1_kernel}x{branch1_kernel}"}


class ReductionA(MultiBranch):
    """Reduction-A, Figure 7: 35 x 35 -> 17 x 17, used by all three networks of the paper.

    Its filter counts are Table 1's ``k, l, m, n``: a 3x3/2 conv with ``n`` filters, a
    1x1 (``k``) -> 3x3 (``l``) -> 3x3/2 (``m``) branch, and a 3x3/2 max pool that passes the
    input channels through. Output channels: ``n + m + in_channels``.

    ========================  ===  ===  ===  ===
    Table 1                    k    l    m    n
    ========================  ===  ===  ===  ===
    Inception-v4              192  224  256  384
    Inception-ResNet-v1       192  192  256  384
    Inception-ResNet-v2       256  256  384  384
    ========================  ===  ===  ===  ===
    """

    branch_labels = {"branch0": "3x3", "branch1": "double 3x3", "branch2": "max pool"}

    def __init__(self, in_channels: int, k: int, l: int, m: int, n: int) -> None:  # noqa: E741 (paper's names)
        super().__init__()
        self.branch0 = BasicConv2d(in_channels, n, 3, stride=2)
        self.branch1 = nn.Sequential(
            BasicConv2d(in_channels, k, 1),
            BasicConv2d(k, l, 3, padding=1),
            BasicConv2d(l, m, 3, stride=2),
        )
        self.branch2 = nn.MaxPool2d(3, stride=2)
        # N x 384 x 35 x 35 in (Inception-v4): N x 384, 256, 384 x 17 x 17 out
        self.out_channels = n + m + in_channels


class InceptionB(MultiBranch):
    """Inception-B, Figure 5 (17 x 17 grid): 7x7 receptive fields from 1x7 and 7x1 factors.

    ``ch7x7`` are the outputs of the (1x7, 7x1) pair after the ``ch7x7red`` 1x1;
    ``ch7x7dbl`` the outputs of the four factors (7x1, 1x7, 7x1, 1x7) after ``ch7x7dbl_red``.
    A 1x7 then 7x1 costs 2 x 7 = 14 weights per channel pair instead of 49 (lesson 04).
    """

    branch_labels = {"branch0": "1x1", "branch1": "7x7", "branch2": "double 7x7", "branch3": "pool proj"}

    def __init__(
        self,
        in_channels: int,
        ch1x1: int,
        ch7x7red: int,
        ch7x7: Sequence[int],
        ch7x7dbl_red: int,
        ch7x7dbl: Sequence[int],
        pool_proj: int,
    ) -> None:
        super().__init__()
        c1, c2 = ch7x7
        d1, d2, d3, d4 = ch7x7dbl
        self.branch0 = BasicConv2d(in_channels, ch1x1, 1)
        self.branch1 = nn.Sequential(
            BasicConv2d(in_channels, ch7x7red, 1),
            BasicConv2d(ch7x7red, c1, (1, 7), padding=(0, 3)),
            BasicConv2d(c1, c2, (7, 1), padding=(3, 0)),
        )
        self.branch2 = nn.Sequential(
            BasicConv2d(in_channels, ch7x7dbl_red, 1),
            BasicConv2d(ch7x7dbl_red, d1, (7, 1), padding=(3, 0)),
            BasicConv2d(d1, d2, (1, 7), padding=(0, 3)),
            BasicConv2d(d2, d3, (7, 1), padding=(3, 0)),
            BasicConv2d(d3, d4, (1, 7), padding=(0, 3)),
        )
        self.branch3 = nn.Sequential(_avg_pool(), BasicConv2d(in_channels, pool_proj, 1))
        # N x 1024 x 17 x 17 in: N x 384, 256, 256, 128 x 17 x 17 out
        self.out_channels = ch1x1 + c2 + d4 + pool_proj


class ReductionB(MultiBranch):
    """Reduction-B of Inception-v4, Figure 8: 17 x 17 -> 8 x 8.

    A 1x1 -> 3x3/2 branch, a 1x1 -> 1x7 -> 7x1 -> 3x3/2 branch and a 3x3/2 max pool.
    (Inception-ResNet uses a different Reduction-B, Figures 12 and 18.)
    """

    branch_labels = {"branch0": "3x3", "branch1": "7x7 + 3x3", "branch2": "max pool"}

    def __init__(self, in_channels: int, ch3x3red: int, ch3x3: int, ch7x7x3red: int, ch7x7x3: Sequence[int]) -> None:
        super().__init__()
        c1, c2, c3 = ch7x7x3
        self.branch0 = nn.Sequential(
            BasicConv2d(in_channels, ch3x3red, 1),
            BasicConv2d(ch3x3red, ch3x3, 3, stride=2),
        )
        self.branch1 = nn.Sequential(
            BasicConv2d(in_channels, ch7x7x3red, 1),
            BasicConv2d(ch7x7x3red, c1, (1, 7), padding=(0, 3)),
            BasicConv2d(c1, c2, (7, 1), padding=(3, 0)),
            BasicConv2d(c2, c3, 3, stride=2),
        )
        self.branch2 = nn.MaxPool2d(3, stride=2)
        # N x 1024 x 17 x 17 in: N x 192, 320, 1024 x 8 x 8 out
        self.out_channels = ch3x3 + c3 + in_channels


class InceptionC(MultiBranch):
    """Inception-C, Figure 6 (8 x 8 grid): branches that end in a 1x3 and a 3x1 side by side.

    On the coarsest grid the paper widens instead of deepens ("expanded filter bank",
    Inception-v3 paper Figure 7): the last 3x3 of two branches is split into a 1x3 and a
    3x1 whose outputs are both kept. ``ch3x3dbl`` = (3x1 out, 1x3 out, each of the final
    pair); the 3x1 comes first as in the TF-slim code that produced the checkpoint.
    Output: ``ch1x1 + 2 ch3x3 + 2 ch3x3dbl[2] + pool_proj`` channels.
    """

    branch_labels = {
        "branch0": "1x1", "branch1_1a": "3x3 (1x3)", "branch1_1b": "3x3 (3x1)",
        "branch2_3a": "double 3x3 (1x3)", "branch2_3b": "double 3x3 (3x1)", "branch3": "pool proj",
    }

    def __init__(
        self,
        in_channels: int,
        ch1x1: int,
        ch3x3red: int,
        ch3x3: int,
        ch3x3dbl_red: int,
        ch3x3dbl: Sequence[int],
        pool_proj: int,
    ) -> None:
        super().__init__()
        d1, d2, d3 = ch3x3dbl
        self.branch0 = BasicConv2d(in_channels, ch1x1, 1)
        self.branch1_0 = BasicConv2d(in_channels, ch3x3red, 1)
        self.branch1_1a = BasicConv2d(ch3x3red, ch3x3, (1, 3), padding=(0, 1))
        self.branch1_1b = BasicConv2d(ch3x3red, ch3x3, (3, 1), padding=(1, 0))
        self.branch2_0 = BasicConv2d(in_channels, ch3x3dbl_red, 1)
        self.branch2_1 = BasicConv2d(ch3x3dbl_red, d1, (3, 1), padding=(1, 0))
        self.branch2_2 = BasicConv2d(d1, d2, (1, 3), padding=(0, 1))
        self.branch2_3a = BasicConv2d(d2, d3, (1, 3), padding=(0, 1))
        self.branch2_3b = BasicConv2d(d2, d3, (3, 1), padding=(1, 0))
        self.branch3 = nn.Sequential(_avg_pool(), BasicConv2d(in_channels, pool_proj, 1))
        self.out_channels = ch1x1 + 2 * ch3x3 + 2 * d3 + pool_proj

    def forward_branches(self, x: Tensor) -> dict[str, Tensor]:
        # N x 1536 x 8 x 8 in
        x1 = self.branch1_0(x)  # N x 384 x 8 x 8
        x2 = self.branch2_2(self.branch2_1(self.branch2_0(x)))  # N x 512 x 8 x 8
        return self.labelled({
            "branch0": self.branch0(x),  # N x 256 x 8 x 8
            "branch1_1a": self.branch1_1a(x1),  # N x 256 x 8 x 8
            "branch1_1b": self.branch1_1b(x1),  # N x 256 x 8 x 8
            "branch2_3a": self.branch2_3a(x2),  # N x 256 x 8 x 8
            "branch2_3b": self.branch2_3b(x2),  # N x 256 x 8 x 8
            "branch3": self.branch3(x),  # N x 256 x 8 x 8
        })


# --- the network ----------------------------------------------------------------------
class MiniStem(nn.Module):
    """A small stem for 32-64 px images: 48 x 48 -> 11 x 11 (two stride-2 steps, not five).

    The full stem shrinks 299 px by 8.5x before the first Inception block; at 48 px that
    would leave 5 x 5 pixels, so the mini keeps one plain conv pair and the max-pool /
    strided-conv split of Figure 3 (``mixed_3a``).
    """

    def __init__(self, in_chans: int, ch1: int, ch2: int, ch3: int) -> None:
        super().__init__()
        self.conv2d_1a = BasicConv2d(in_chans, ch1, 3, stride=2, padding=1)
        self.conv2d_2b = BasicConv2d(ch1, ch2, 3, padding=1)
        self.mixed_3a = Mixed3a(ch2, ch3)
        self.out_channels = self.mixed_3a.out_channels

    def forward(self, x: Tensor) -> Tensor:
        # N x 3 x 48 x 48
        x = self.conv2d_1a(x)  # N x ch1 x 24 x 24
        x = self.conv2d_2b(x)  # N x ch2 x 24 x 24
        return self.mixed_3a(x)  # N x (ch2 + ch3) x 11 x 11


@dataclass(frozen=True)
class InceptionV4Config(ModelConfig):
    """Everything :class:`InceptionV4` is built from (the shared fields: :class:`~.config.ModelConfig`).

    Attributes:
        inception_a, reduction_a, inception_b, reduction_b, inception_c: the blocks'
            channel tables (Figures 4, 7, 5, 8, 6), before ``width_mult``.
        repeats: how many Inception-A, -B and -C blocks (Figure 9: 4, 7, 3).
        small_stem: :class:`MiniStem` (48 px -> 11 x 11) instead of Figure 3's stem
            (299 px -> 35 x 35), for 32-64 px images.
        mini_stem_channels: the small stem's widths, before ``width_mult``.
    """

    inception_a: dict = table_field(INCEPTION_A)
    reduction_a: dict = table_field(REDUCTION_A)
    inception_b: dict = table_field(INCEPTION_B)
    reduction_b: dict = table_field(REDUCTION_B)
    inception_c: dict = table_field(INCEPTION_C)
    repeats: tuple[int, int, int] = REPEATS
    small_stem: bool = False
    mini_stem_channels: tuple[int, int, int] = (32, 64, 96)

    def check(self) -> None:
        super().check()
        check_repeats(self.repeats, 3, "Inception-A, Inception-B and Inception-C blocks")
        check_bool(self.small_stem, "small_stem")

    def table(self, name: str) -> dict:
        """The block table ``name`` at this config's width."""
        return {key: (self.widths(c) if isinstance(c, tuple) else self.ch(c)) for key, c in getattr(self, name).items()}


class InceptionV4(CourseModel):
    """Inception-v4, Figure 9: stem, 4 x A, Reduction-A, 7 x B, Reduction-B, 3 x C, head.

    Built from an :class:`InceptionV4Config`; presets :func:`inception_v4` (the paper's
    network) and :func:`mini_inception_v4`.
    """

    def __init__(self, config: InceptionV4Config = None) -> None:
        config = INCEPTION_V4 if config is None else config
        super().__init__(config)
        n_a, n_b, n_c = config.repeats
        if config.small_stem:
            ch1, ch2, ch3 = config.widths(config.mini_stem_channels)
            self.stem = MiniStem(config.in_chans, ch1, ch2, ch3)
            stem_features = [FeatureInfo("stem.conv2d_2b", ch2, 2)]
            r = 4  # conv2d_1a and mixed_3a each halve the grid
        else:
            self.stem = InceptionV4Stem(config.in_chans)
            stem_features = [FeatureInfo("stem.conv2d_2b", 64, 2), FeatureInfo("stem.mixed_3a", 160, 4)]
            r = 8  # conv2d_1a, mixed_3a and mixed_5a each halve the grid
        # Each stage repeats one block; only its first block sees a different input width.
        a, b, c = config.table("inception_a"), config.table("inception_b"), config.table("inception_c")
        self.inception_a = nn.Sequential(InceptionA(self.stem.out_channels, **a))
        self.inception_a.extend(InceptionA(self.inception_a[0].out_channels, **a) for _ in range(n_a - 1))
        self.reduction_a = ReductionA(self.inception_a[-1].out_channels, **config.table("reduction_a"))
        self.inception_b = nn.Sequential(InceptionB(self.reduction_a.out_channels, **b))
        self.inception_b.extend(InceptionB(self.inception_b[0].out_channels, **b) for _ in range(n_b - 1))
        self.reduction_b = ReductionB(self.inception_b[-1].out_channels, **config.table("reduction_b"))
        self.inception_c = nn.Sequential(InceptionC(self.reduction_b.out_channels, **c))
        self.inception_c.extend(InceptionC(self.inception_c[0].out_channels, **c) for _ in range(n_c - 1))
        self.build_head(self.inception_c[-1].out_channels)

        # Each reduction block halves the grid: strides 8, 16, 32 for the paper's network.
        self.feature_info = [
            *stem_features,
            FeatureInfo("inception_a", self.inception_a[-1].out_channels, r),
            FeatureInfo("inception_b", self.inception_b[-1].out_channels, 2 * r),
            FeatureInfo("inception_c", self.num_features, 4 * r),
        ]

    def forward_features(self, x: Tensor) -> Tensor:
        # N x 3 x 299 x 299
        x = self.stem(x)  # N x 384 x 35 x 35
        x = self.inception_a(x)  # N x 384 x 35 x 35
        x = self.reduction_a(x)  # N x 1024 x 17 x 17
        x = self.inception_b(x)  # N x 1024 x 17 x 17
        x = self.reduction_b(x)  # N x 1536 x 8 x 8
        return self.inception_c(x)  # N x 1536 x 8 x 8


# --- presets --------------------------------------------------------------------------
#: The paper's network: 299 px inputs, at least 75 x 75 (the valid-padded stem and reductions
#: need it); dropout keeps 0.8, i.e. drops 0.2.
INCEPTION_V4 = InceptionV4Config(drop_rate=0.2, preprocess=inception_preprocess(min_input_size=75, crop_pct=0.875))
#: 32-64 px images: the small stem, widths x 0.25, one block per stage.
MINI_INCEPTION_V4 = InceptionV4Config(
    num_classes=10, width_mult=0.25, repeats=(1, 1, 1), small_stem=True, preprocess=MINI_INCEPTION_PREPROCESS,
)


@register_model
def inception_v4(**changes) -> InceptionV4:
    """Inception-v4 as in the paper (Figure 9): 299 x 299 inputs.

    ``InceptionV4(INCEPTION_V4.replace(**changes))``. Inputs must be at least 75 x 75
    pixels. ``create_model("inception_v4", pretrained=True)`` loads timm's
    ``inception_v4.tf_in1k``.
    """
    return InceptionV4(INCEPTION_V4.replace(**changes))


@register_model
def mini_inception_v4(**changes) -> InceptionV4:
    """A small Inception-v4 for 32-64 px images (default 48 x 48), built from the same blocks.

    ``InceptionV4(MINI_INCEPTION_V4.replace(**changes))``. Differences from
    :func:`inception_v4`: the small :class:`MiniStem` (48 px -> 11 x 11 instead of
    299 px -> 35 x 35), every channel count of the paper's tables times
    ``width_mult``, and ``repeats`` = (Inception-A, -B, -C blocks) instead of (4, 7, 3).
    """
    return InceptionV4(MINI_INCEPTION_V4.replace(**changes))


# --- timm weights -----------------------------------------------------------------------
# timm keeps the network in one nn.Sequential ``features``; index -> our attribute path.
_TIMM_FEATURES = (
    ["stem.conv2d_1a", "stem.conv2d_2a", "stem.conv2d_2b", "stem.mixed_3a", "stem.mixed_4a", "stem.mixed_5a"]
    + [f"inception_a.{i}" for i in range(REPEATS[0])]
    + ["reduction_a"]
    + [f"inception_b.{i}" for i in range(REPEATS[1])]
    + ["reduction_b"]
    + [f"inception_c.{i}" for i in range(REPEATS[2])]
)


def timm_to_course(state_dict: dict) -> dict:
    """timm ``inception_v4`` state dict -> ours: ``features.<i>.`` -> stage names, ``last_linear`` -> ``fc``.

    Inside each block the branch names are the same (``branch0``, ``branch1.2.conv`` ...).
    """
    converted = OrderedDict()
    for key, value in state_dict.items():
        head, _, rest = key.partition(".")
        if head == "features":
            index, _, rest = rest.partition(".")
            key = f"{_TIMM_FEATURES[int(index)]}.{rest}"
        elif head == "last_linear":
            key = f"fc.{rest}"
        converted[key] = value
    return converted


register_weights(
    "inception_v4",
    WeightSource(library="timm", model_name="inception_v4", weights="tf_in1k", convert=timm_to_course),
)
