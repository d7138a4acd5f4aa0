"""BN-Inception (Inception v2), lesson 03.

Ioffe & Szegedy, "Batch Normalization: Accelerating Deep Network Training by
Reducing Internal Covariate Shift", ICML 2015, https://arxiv.org/abs/1502.03167
-- the Appendix, Figure 5 (the layer table) and the list of changes above it.

What changes against GoogLeNet (the Appendix's own list):

* BatchNorm after every convolution (and no local response normalization);
* each 5x5 convolution becomes two 3x3 convolutions ("double 3x3" columns);
* three Inception modules at 28x28 instead of two;
* inside a module the pooling is sometimes average, sometimes max (Figure 5's
  "Pool +proj" column);
* no max pool between module groups: modules 3c and 4e reduce the grid
  themselves, with stride-2 convolutions next to a stride-2 max pool whose
  output is passed through unprojected ("max + pass through");
* the first convolution is separable, with depth multiplier 8;
* no dropout (Section 4.2.1, "Remove Dropout").

There is no reference implementation in torchvision or timm and no weights to
load. Google's TF-slim ``inception_v2.py`` implements the same network; it is
where we looked where the table is unclear (padding, the separable first
layer). The table is inconsistent in one place, and we keep both readings
available (``match_output_sizes``): the channel columns of 4c and 4d say
"avg + 128", which makes those modules output 608 channels (and 4e 1056),
while the output-size column prints 576 (and 1024). TF-slim uses 96-channel
pool projections there, which reproduces the printed output sizes.

Its parameters and MACs, derived by counting this model, are in
``models.records.RECORDS["bn_inception"]`` (and the README's model-zoo table).
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Mapping

from torch import Tensor, nn

from ..checks import check_bool
from .base import CourseModel, FeatureInfo, PreprocessConfig
from .blocks import BasicConv2d, MultiBranch, SeparableConvBN
from .config import ModelConfig, table_field
from .googlenet import STEM_CHANNELS
from .registry import register_model

__all__ = [
    "BN_INCEPTION", "BN_INCEPTION_FIGURE5", "BNInception", "BNInceptionConfig", "InceptionBN", "MINI_BN_INCEPTION",
    "bn_inception", "mini_bn_inception",
]

# Figure 5 of the BN paper, the Inception rows: stride, then the columns
# #1x1, #3x3 reduce, #3x3, double #3x3 reduce, double #3x3, and "Pool +proj"
# split into the pooling type and the projection width (None: "pass through").
BN_INCEPTION_FIGURE5: dict[str, tuple] = {
    "inception3a": (1, 64, 64, 64, 64, 96, "avg", 32),  # 28 x 28 x 256
    "inception3b": (1, 64, 64, 96, 64, 96, "avg", 64),  # 28 x 28 x 320
    "inception3c": (2, 0, 128, 160, 64, 96, "max", None),  # 14 x 14 x 576
    "inception4a": (1, 224, 64, 96, 96, 128, "avg", 128),  # 14 x 14 x 576
    "inception4b": (1, 192, 96, 128, 96, 128, "avg", 128),  # 14 x 14 x 576
    "inception4c": (1, 160, 128, 160, 128, 160, "avg", 128),  # 14 x 14 x 608 (table: 576)
    "inception4d": (1, 96, 128, 192, 160, 192, "avg", 128),  # 14 x 14 x 608 (table: 576)
    "inception4e": (2, 0, 128, 192, 192, 256, "max", None),  # 7 x 7 x 1056 (table: 1024)
    "inception5a": (1, 352, 192, 320, 160, 224, "avg", 128),  # 7 x 7 x 1024
    "inception5b": (1, 352, 192, 320, 192, 224, "max", 128),  # 7 x 7 x 1024
}
#: TF-slim's pool projections for 4c and 4d, which give the printed 576 output channels.
SLIM_POOL_PROJ = {"inception4c": 96, "inception4d": 96}


class InceptionBN(MultiBranch):
    """A BN-Inception module (one row of Figure 5); arguments are the table's columns.

    Branches: a 1x1 conv (absent when ``ch1x1`` is 0, as in 3c and 4e); a 1x1
    reduction then a 3x3 conv; a 1x1 reduction then two 3x3 convs (the 5x5 of
    GoogLeNet, factorized); a 3x3 pool (average or max) then a 1x1 projection,
    or the pool's output itself ("pass through", ``pool_proj=None``).

    With ``stride=2`` (modules 3c and 4e) the 3x3 conv, the second conv of the
    double 3x3 and the max pool all have stride 2, so the module halves the grid
    and its pass-through branch carries all input channels along.

    Args:
        in_channels: channels of the input.
        ch1x1, ch3x3red, ch3x3, ch3x3dbl_red, ch3x3dbl: Figure 5's "#1x1", "#3x3
            reduce", "#3x3", "double #3x3 reduce", "double #3x3".
        pool: ``"avg"`` or ``"max"`` (the "Pool" column).
        pool_proj: the "+proj" width, or None for "pass through".
        stride: 1, or 2 for the grid-reducing modules.
    """

    # Figure 5's column names; "max pool": the stride-2 modules' pooled input, passed through.
    branch_labels = {
        "branch1x1": "1x1", "branch3x3": "3x3", "branch3x3dbl": "double 3x3",
        "branch_pool": "pool proj", "branch_pass": "max pool",
    }

    def __init__(
        self,
        in_channels: int,
        ch1x1: int,
        ch3x3red: int,
        ch3x3: int,
        ch3x3dbl_red: int,
        ch3x3dbl: int,
        pool: str,
        pool_proj: int | None,
        stride: int = 1,
    ) -> None:
        super().__init__()
        if pool not in ("avg", "max"):
            raise ValueError(f"pool must be 'avg' or 'max' (Figure 5's Pool column), got {pool!r}.")
        if stride not in (1, 2):
            raise ValueError(f"stride must be 1 or 2, got {stride!r}.")
        if stride == 2 and (ch1x1 or pool_proj is not None):
            raise ValueError(
                "A stride-2 module (3c, 4e) has no 1x1 branch and passes its pooled input through: "
                "use ch1x1=0 and pool_proj=None."
            )
        self.in_channels = in_channels
        self.stride = stride
        self.branch1x1 = BasicConv2d(in_channels, ch1x1, kernel_size=1) if ch1x1 else None
        self.branch3x3 = nn.Sequential(
            BasicConv2d(in_channels, ch3x3red, kernel_size=1),
            BasicConv2d(ch3x3red, ch3x3, kernel_size=3, stride=stride, padding=1),
        )
        # Two stacked 3x3 convs see a 5x5 window with 2 * 9 / 25 = 72% of a 5x5's weights.
        self.branch3x3dbl = nn.Sequential(
            BasicConv2d(in_channels, ch3x3dbl_red, kernel_size=1),
            BasicConv2d(ch3x3dbl_red, ch3x3dbl, kernel_size=3, padding=1),
            BasicConv2d(ch3x3dbl, ch3x3dbl, kernel_size=3, stride=stride, padding=1),
        )
        # padding=1 keeps the pool aligned with the stride-2 convs: every branch gives the same grid.
        pool_layer = (
            nn.AvgPool2d(3, stride=stride, padding=1) if pool == "avg" else nn.MaxPool2d(3, stride=stride, padding=1)
        )
        self.pool_type = pool
        if pool_proj is None:
            self.branch_pool = None
            self.branch_pass = pool_layer  # "pass through": the pooled input, all its channels
        else:
            self.branch_pool = nn.Sequential(pool_layer, BasicConv2d(in_channels, pool_proj, kernel_size=1))
            self.branch_pass = None
        self.out_channels = ch1x1 + ch3x3 + ch3x3dbl + (in_channels if pool_proj is None else pool_proj)



@dataclass(frozen=True)
class BNInceptionConfig(ModelConfig):
    """Everything :class:`BNInception` is built from (the shared fields: :class:`~.config.ModelConfig`).

    Attributes:
        figure5: Figure 5's Inception rows (``BN_INCEPTION_FIGURE5``), before ``width_mult``.
        stem_channels: conv1, conv2, conv3 widths (64, 64, 192 as in GoogLeNet).
        small_stem: a 3x3/1 conv1 instead of the 7x7/2 one, for 32-64 px images (the minis).
        separable_conv1: the paper's separable 7x7/2 first layer (depth multiplier 8);
            False gives a plain 7x7/2 conv, as in the Caffe ports of this network.
        match_output_sizes: 96-channel pool projections in 4c and 4d (TF-slim), so the
            output sizes are the table's printed 576 / 1024 instead of 608 / 1056.
    """

    figure5: Mapping[str, tuple] = table_field(BN_INCEPTION_FIGURE5)
    stem_channels: tuple[int, int, int] = STEM_CHANNELS
    small_stem: bool = False
    separable_conv1: bool = True
    match_output_sizes: bool = False

    def check(self) -> None:
        super().check()
        for flag in ("small_stem", "separable_conv1", "match_output_sizes"):
            check_bool(getattr(self, flag), flag)


class BNInception(CourseModel):
    """BN-Inception: Figure 5 of Ioffe & Szegedy 2015, built from a :class:`BNInceptionConfig`.

    Shape comments are for a 224 x 224 input and the table's channel columns
    (``match_output_sizes=False``). Presets: :func:`bn_inception`, :func:`mini_bn_inception`.
    """

    def __init__(self, config: BNInceptionConfig = None) -> None:
        config = BN_INCEPTION if config is None else config
        super().__init__(config)
        rows = dict(config.figure5)
        if config.match_output_sizes:
            rows.update({name: rows[name][:-1] + (pool_proj,) for name, pool_proj in SLIM_POOL_PROJ.items()})
        # Each row: stride, then the channel columns at this width, the pool type and the projection.
        t = {name: (stride, *config.widths(ch), pool, None if proj is None else config.ch(proj))
             for name, (stride, *ch, pool, proj) in rows.items()}
        c1, c2, c3 = config.widths(config.stem_channels)  # 64, 64, 192 as in GoogLeNet

        # -- stem (Figure 5 rows 1-4): GoogLeNet's, with BatchNorm and without LRN ----
        if config.small_stem:
            self.conv1 = BasicConv2d(config.in_chans, c1, kernel_size=3, stride=1, padding=1)
        elif config.separable_conv1:
            # "Our model employed separable convolution with depth multiplier 8 on the
            # first convolutional layer" (Appendix): 3 x 8 = 24 depthwise channels, then
            # a 1x1 conv to 64, nothing in between (as TF-slim's separable_conv2d).
            self.conv1 = SeparableConvBN(config.in_chans, c1, activate=True, kernel_size=7, stride=2, padding=3,
                                         depth_multiplier=8)
        else:
            self.conv1 = BasicConv2d(config.in_chans, c1, kernel_size=7, stride=2, padding=3)
        self.maxpool1 = nn.MaxPool2d(3, stride=2, ceil_mode=True)
        self.conv2 = BasicConv2d(c1, c2, kernel_size=1)  # Figure 5: "#3x3 reduce" 64
        self.conv3 = BasicConv2d(c2, c3, kernel_size=3, padding=1)
        self.maxpool2 = nn.MaxPool2d(3, stride=2, ceil_mode=True)

        # -- Inception modules, one per row of Figure 5 (no pools in between) ---------
        self.inception3a = _module(c3, t["inception3a"])
        self.inception3b = _module(self.inception3a.out_channels, t["inception3b"])
        self.inception3c = _module(self.inception3b.out_channels, t["inception3c"])
        self.inception4a = _module(self.inception3c.out_channels, t["inception4a"])
        self.inception4b = _module(self.inception4a.out_channels, t["inception4b"])
        self.inception4c = _module(self.inception4b.out_channels, t["inception4c"])
        self.inception4d = _module(self.inception4c.out_channels, t["inception4d"])
        self.inception4e = _module(self.inception4d.out_channels, t["inception4e"])
        self.inception5a = _module(self.inception4e.out_channels, t["inception5a"])
        self.inception5b = _module(self.inception5a.out_channels, t["inception5b"])

        # -- head: global average pooling (Figure 5 "avg pool 7x7/1") and a linear layer
        self.build_head(self.inception5b.out_channels)

        r = 1 if config.small_stem else 2  # cumulative strides halve with the small stride-1 stem
        self.feature_info = [
            FeatureInfo("conv1", c1, r),
            FeatureInfo("conv3", c3, 2 * r),
            FeatureInfo("inception3b", self.inception3b.out_channels, 4 * r),
            FeatureInfo("inception4d", self.inception4d.out_channels, 8 * r),
            FeatureInfo("inception5b", self.inception5b.out_channels, 16 * r),
        ]

    def forward_features(self, x: Tensor) -> Tensor:
        """Image batch -> the last feature map (N x 1024 x 7 x 7 at 224 x 224)."""
        # N x 3 x 224 x 224
        x = self.conv1(x)
        # N x 64 x 112 x 112
        x = self.maxpool1(x)
        # N x 64 x 56 x 56
        x = self.conv2(x)
        # N x 64 x 56 x 56
        x = self.conv3(x)
        # N x 192 x 56 x 56
        x = self.maxpool2(x)
        # N x 192 x 28 x 28
        x = self.inception3a(x)
        # N x 256 x 28 x 28
        x = self.inception3b(x)
        # N x 320 x 28 x 28
        x = self.inception3c(x)
        # N x 576 x 14 x 14  (stride 2: 160 + 96 + 320 passed through)
        x = self.inception4a(x)
        # N x 576 x 14 x 14
        x = self.inception4b(x)
        # N x 576 x 14 x 14
        x = self.inception4c(x)
        # N x 608 x 14 x 14  (576 with match_output_sizes)
        x = self.inception4d(x)
        # N x 608 x 14 x 14  (576)
        x = self.inception4e(x)
        # N x 1056 x 7 x 7  (stride 2: 192 + 256 + 608 passed through; 1024)
        x = self.inception5a(x)
        # N x 1024 x 7 x 7
        x = self.inception5b(x)
        # N x 1024 x 7 x 7
        return x


def _module(in_channels: int, row: tuple) -> InceptionBN:
    """One Inception module from a row of Figure 5 (stride, channel columns, pool, projection)."""
    stride, ch1x1, ch3x3red, ch3x3, dbl_red, dbl, pool, pool_proj = row
    return InceptionBN(in_channels, ch1x1, ch3x3red, ch3x3, dbl_red, dbl, pool, pool_proj, stride=stride)


# ---------------------------------------------------------------------------
# presets
# ---------------------------------------------------------------------------
#: The BN paper's network; min_input_size: the smallest input every layer accepts (tests check one less fails).
BN_INCEPTION = BNInceptionConfig(preprocess=PreprocessConfig(input_size=(3, 224, 224), min_input_size=7))
#: 32-64 px images: the same table at width x 0.25 (multiples of 8), a 3x3/1 first conv.
MINI_BN_INCEPTION = BNInceptionConfig(
    num_classes=10, small_stem=True, width_mult=0.25, channel_divisor=8,
    preprocess=PreprocessConfig(input_size=(3, 48, 48), min_input_size=4, crop_pct=1.0),
)


@register_model
def bn_inception(**changes) -> BNInception:
    """BN-Inception (Inception v2) as in the BN paper's Figure 5, for 224 x 224 inputs.

    ``BNInception(BN_INCEPTION.replace(**changes))``. There is no reference
    implementation in torchvision or timm, and no pretrained weights: its costs
    (``models.records``) are derived by counting this model. No auxiliary
    classifier (Figure 5 has none), no dropout (Section 4.2.1).
    See the module docstring for the table's 4c/4d inconsistency (``match_output_sizes``).
    """
    return BNInception(BN_INCEPTION.replace(**changes))


@register_model
def mini_bn_inception(**changes) -> BNInception:
    """A small BN-Inception for 32-64 px images (lesson 03's CPU experiments).

    ``BNInception(MINI_BN_INCEPTION.replace(**changes))``: the same modules and
    Figure 5 table, channels times ``width_mult`` (rounded to multiples of 8), and
    a 3x3/1 first convolution instead of the separable 7x7/2: a 48 x 48 image
    reaches inception3a at 12 x 12 and 5b at 3 x 3.
    """
    return BNInception(MINI_BN_INCEPTION.replace(**changes))
