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

Params and MACs at 224 x 224, 1000 classes (eval, counted by
``course_utils.costs``; see tests/test_models_bn_inception.py):
``bn_inception()`` 11,278,528 params, 1.949 GMACs;
``bn_inception(match_output_sizes=True)`` 11,188,288 params, 1.935 GMACs.
For comparison ``googlenet_paper(aux_logits=False)``: 6,998,552 params, 1.583 GMACs.
"""
from __future__ import annotations

from torch import Tensor, nn

from .args import check_dropout, check_flag, check_in_chans, check_num_classes, check_width_mult, scale_channels
from .base import CourseModel, FeatureInfo, GlobalAvgPool, PreprocessConfig
from .blocks import BasicConv2d, MultiBranch
from .googlenet import STEM_CHANNELS
from .registry import register_model

__all__ = ["BN_INCEPTION_FIGURE5", "BNInception", "InceptionBN", "SeparableConv2d", "bn_inception", "mini_bn_inception"]

# Figure 5 of the BN paper, the Inception rows: name, stride, then the columns
# #1x1, #3x3 reduce, #3x3, double #3x3 reduce, double #3x3, and "Pool +proj"
# split into the pooling type and the projection width (None: "pass through").
BN_INCEPTION_FIGURE5: tuple = (
    ("inception3a", 1, 64, 64, 64, 64, 96, "avg", 32),  # 28 x 28 x 256
    ("inception3b", 1, 64, 64, 96, 64, 96, "avg", 64),  # 28 x 28 x 320
    ("inception3c", 2, 0, 128, 160, 64, 96, "max", None),  # 14 x 14 x 576
    ("inception4a", 1, 224, 64, 96, 96, 128, "avg", 128),  # 14 x 14 x 576
    ("inception4b", 1, 192, 96, 128, 96, 128, "avg", 128),  # 14 x 14 x 576
    ("inception4c", 1, 160, 128, 160, 128, 160, "avg", 128),  # 14 x 14 x 608 (table: 576)
    ("inception4d", 1, 96, 128, 192, 160, 192, "avg", 128),  # 14 x 14 x 608 (table: 576)
    ("inception4e", 2, 0, 128, 192, 192, 256, "max", None),  # 7 x 7 x 1056 (table: 1024)
    ("inception5a", 1, 352, 192, 320, 160, 224, "avg", 128),  # 7 x 7 x 1024
    ("inception5b", 1, 352, 192, 320, 192, 224, "max", 128),  # 7 x 7 x 1024
)
#: TF-slim's pool projections for 4c and 4d, which give the printed 576 output channels.
SLIM_POOL_PROJ = {"inception4c": 96, "inception4d": 96}


class SeparableConv2d(nn.Module):
    """Depthwise kxk conv (``depth_multiplier`` filters per input channel) -> pointwise conv-BN-ReLU.

    The BN paper's first layer ("separable convolution with depth multiplier 8",
    Appendix): a 7x7/2 depthwise conv turns 3 channels into 24, a 1x1 conv mixes
    them into 64. As in TF-slim's ``separable_conv2d`` there is no BN or ReLU
    between the two: one linear map, factorized (the building block of Xception, lesson 06).
    """

    def __init__(
        self, in_channels: int, out_channels: int, kernel_size: int, stride: int, padding: int, depth_multiplier: int
    ) -> None:
        super().__init__()
        mid = in_channels * depth_multiplier
        self.depthwise = nn.Conv2d(
            in_channels, mid, kernel_size, stride=stride, padding=padding, groups=in_channels, bias=False
        )
        self.pointwise = BasicConv2d(mid, out_channels, kernel_size=1)  # conv -> BN -> ReLU

    def forward(self, x: Tensor) -> Tensor:
        # N x 3 x 224 x 224 -> N x 24 x 112 x 112 -> N x 64 x 112 x 112
        return self.pointwise(self.depthwise(x))


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
            self.branch_pool = pool_layer  # "pass through": the pooled input, all its channels
        else:
            self.branch_pool = nn.Sequential(pool_layer, BasicConv2d(in_channels, pool_proj, kernel_size=1))
        self.out_channels = ch1x1 + ch3x3 + ch3x3dbl + (in_channels if pool_proj is None else pool_proj)

    def forward_branches(self, x: Tensor) -> dict[str, Tensor]:
        # N x in_channels x H x W -> each branch gives H/stride x W/stride
        branches = {}
        if self.branch1x1 is not None:
            branches["1x1"] = self.branch1x1(x)  # N x ch1x1
        branches["3x3"] = self.branch3x3(x)  # N x ch3x3
        branches["double 3x3"] = self.branch3x3dbl(x)  # N x ch3x3dbl
        proj = isinstance(self.branch_pool, nn.Sequential)
        branches[f"{self.pool_type} pool" + (" + proj" if proj else "")] = self.branch_pool(x)  # N x pool_proj (or C)
        return branches


class BNInception(CourseModel):
    """BN-Inception: Figure 5 of Ioffe & Szegedy 2015 (use :func:`bn_inception`).

    Shape comments are for a 224 x 224 input and the table's channel columns
    (``match_output_sizes=False``).

    Args:
        num_classes: classes of the classifier (0: features only).
        dropout: dropout before the classifier (the paper removed it: 0).
        separable_conv1: the paper's separable 7x7/2 first layer (depth multiplier 8);
            False gives a plain 7x7/2 conv, as in the Caffe ports of this network.
        match_output_sizes: 96-channel pool projections in 4c and 4d (TF-slim), so the
            output sizes are the table's printed 576 / 1024 instead of 608 / 1056.
        mini: the small-image stem (3x3/1 first conv) of :func:`mini_bn_inception`.
        width_mult: multiplies every channel count of the table.
        in_chans: input channels.
    """

    def __init__(
        self,
        num_classes: int = 1000,
        dropout: float = 0.0,
        separable_conv1: bool = True,
        match_output_sizes: bool = False,
        mini: bool = False,
        width_mult: float = 1.0,
        in_chans: int = 3,
    ) -> None:
        super().__init__()
        self.num_classes = num_classes
        self.in_chans = in_chans

        def ch(c: int) -> int:
            return scale_channels(c, width_mult)

        c1, c2, c3 = (ch(c) for c in STEM_CHANNELS)  # 64, 64, 192 as in GoogLeNet
        # -- stem (Figure 5 rows 1-4): GoogLeNet's, with BatchNorm and without LRN ----
        if mini:
            self.conv1 = BasicConv2d(in_chans, c1, kernel_size=3, stride=1, padding=1)
        elif separable_conv1:
            # "Our model employed separable convolution with depth multiplier 8 on the
            # first convolutional layer" (Appendix): 3 x 8 = 24 depthwise channels.
            self.conv1 = SeparableConv2d(in_chans, c1, 7, stride=2, padding=3, depth_multiplier=8)
        else:
            self.conv1 = BasicConv2d(in_chans, c1, kernel_size=7, stride=2, padding=3)
        self.maxpool1 = nn.MaxPool2d(3, stride=2, ceil_mode=True)
        self.conv2 = BasicConv2d(c1, c2, kernel_size=1)  # Figure 5: "#3x3 reduce" 64
        self.conv3 = BasicConv2d(c2, c3, kernel_size=3, padding=1)
        self.maxpool2 = nn.MaxPool2d(3, stride=2, ceil_mode=True)

        # -- Inception modules: a loop over Figure 5 (no pools in between) ---------
        channels = c3
        self.inception_names: list[str] = []
        for name, stride, ch1x1, ch3x3red, ch3x3, dbl_red, dbl, pool, pool_proj in BN_INCEPTION_FIGURE5:
            if match_output_sizes and name in SLIM_POOL_PROJ:
                pool_proj = SLIM_POOL_PROJ[name]
            block = InceptionBN(
                channels,
                ch(ch1x1) if ch1x1 else 0,
                ch(ch3x3red),
                ch(ch3x3),
                ch(dbl_red),
                ch(dbl),
                pool,
                None if pool_proj is None else ch(pool_proj),
                stride=stride,
            )
            setattr(self, name, block)
            self.inception_names.append(name)
            channels = block.out_channels

        # -- head: global average pooling (Figure 5 "avg pool 7x7/1") and a linear layer
        self.num_features = channels
        self.global_pool = GlobalAvgPool()
        self.dropout = nn.Dropout(p=dropout)
        self.fc = nn.Linear(channels, num_classes) if num_classes > 0 else nn.Identity()

        r = 1 if mini else 2  # cumulative strides halve with the mini's stride-1 stem
        self.feature_info = [
            FeatureInfo("conv1", c1, r),
            FeatureInfo("conv3", c3, 2 * r),
            FeatureInfo("inception3b", self.inception3b.out_channels, 4 * r),
            FeatureInfo("inception4d", self.inception4d.out_channels, 8 * r),
            FeatureInfo("inception5b", self.inception5b.out_channels, 16 * r),
        ]
        # min_input_size: the smallest input every layer accepts (the tests check one less fails).
        if mini:
            self.preprocess = PreprocessConfig(input_size=(in_chans, 48, 48), min_input_size=4, crop_pct=1.0)
        else:
            self.preprocess = PreprocessConfig(input_size=(in_chans, 224, 224), min_input_size=7)

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


@register_model
def bn_inception(
    num_classes: int = 1000,
    dropout: float = 0.0,
    separable_conv1: bool = True,
    match_output_sizes: bool = False,
    in_chans: int = 3,
) -> BNInception:
    """BN-Inception (Inception v2) as in the BN paper's Figure 5, for 224 x 224 inputs.

    11,278,528 parameters and 1.949 GMACs at 224 x 224 (11,188,288 and 1.935 G
    with ``match_output_sizes=True``), derived from the table by counting this
    model: there is no reference implementation in torchvision or timm, and no
    pretrained weights. No auxiliary classifier (Figure 5 has none).
    See the module docstring for the table's 4c/4d inconsistency.
    """
    check_num_classes(num_classes)
    return BNInception(
        num_classes=num_classes,
        dropout=check_dropout(dropout),
        separable_conv1=check_flag(separable_conv1, "separable_conv1"),
        match_output_sizes=check_flag(match_output_sizes, "match_output_sizes"),
        in_chans=check_in_chans(in_chans),
    )


@register_model
def mini_bn_inception(
    num_classes: int = 10, width_mult: float = 0.25, dropout: float = 0.0, in_chans: int = 3
) -> BNInception:
    """A small BN-Inception for 32-64 px images (lesson 03's CPU experiments).

    The same modules and Figure 5 table, channels times ``width_mult`` (rounded
    to multiples of 8), and a 3x3/1 first convolution instead of the separable
    7x7/2: a 48 x 48 image reaches inception3a at 12 x 12 and 5b at 3 x 3.
    """
    check_num_classes(num_classes)
    return BNInception(
        num_classes=num_classes,
        dropout=check_dropout(dropout),
        mini=True,
        width_mult=check_width_mult(width_mult),
        in_chans=check_in_chans(in_chans),
    )
