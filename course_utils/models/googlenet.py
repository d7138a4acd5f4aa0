"""GoogLeNet (Inception v1), lesson 02.

Szegedy et al., "Going deeper with convolutions", CVPR 2015,
https://arxiv.org/abs/1409.4842 -- Table 1 (the layer table), Figure 2(b)
(the Inception module with dimension reductions) and Figure 3 (the whole
network, auxiliary classifiers included).

One network class, :class:`GoogLeNet`, built by looping over Table 1, in
three layouts:

``googlenet``
    torchvision's layout, weight-compatible with ``torchvision.models.googlenet``
    (same attribute names, so the state dict maps one to one). It differs from
    the paper in ways written down where they happen: BatchNorm after every
    convolution (eps 1e-3, no conv bias, no LRN), a 3x3 kernel in the "5x5"
    branch (pytorch/vision#906), a 2x2 ``maxpool4``, auxiliary heads that pool
    adaptively to 4x4, dropout 0.2, and ``transform_input`` (see below).
``googlenet_paper``
    the 2014 paper: real 5x5 branches, conv bias and ReLU without BatchNorm,
    local response normalization after ``maxpool1`` and after ``conv3``
    (Figure 3, the Caffe model), dropout 0.4 and the paper's two auxiliary
    classifiers (5x5/3 average pool, 1x1 conv 128, FC 1024, dropout 0.7, FC).
``mini_googlenet``
    the same classes for 32-64 px images: a 3x3 stride-1 first convolution
    instead of 7x7/2, channel counts of Table 1 times ``width_mult`` (rounded
    to multiples of 8), BatchNorm, 10 classes. Trains on a CPU in seconds.

Auxiliary classifiers (Section 5 of the paper) only run in training mode; their
losses are added with weight 0.3 (``aux_loss_weight``). ``googlenet`` builds
them only on request (``aux_logits=True``): torchvision's published checkpoint
ships heads that were never trained, so we do not pretend they are.
"""
from __future__ import annotations

from torch import Tensor, nn

from .base import (
    INCEPTION_MEAN,
    INCEPTION_STD,
    CourseModel,
    FeatureInfo,
    GlobalAvgPool,
    PreprocessConfig,
)
from .args import check_dropout, check_flag, check_in_chans, check_num_classes, check_width_mult, scale_channels
from .blocks import BasicConv2d, MultiBranch
from .registry import WeightSource, register_model, register_weights

__all__ = [
    "GOOGLENET_TABLE1",
    "GoogLeNet",
    "GoogLeNetAux",
    "Inception",
    "convert_torchvision_googlenet",
    "googlenet",
    "googlenet_paper",
    "mini_googlenet",
]

# Table 1 of the paper, the Inception rows: name, then the columns
# #1x1, #3x3 reduce, #3x3, #5x5 reduce, #5x5, pool proj. A string is a
# max-pool row between modules. The network below is built from this table.
GOOGLENET_TABLE1: tuple = (
    ("inception3a", 64, 96, 128, 16, 32, 32),  # 28 x 28 x 256
    ("inception3b", 128, 128, 192, 32, 96, 64),  # 28 x 28 x 480
    "maxpool3",  # 14 x 14 x 480
    ("inception4a", 192, 96, 208, 16, 48, 64),  # 14 x 14 x 512  (aux1 taps here)
    ("inception4b", 160, 112, 224, 24, 64, 64),  # 14 x 14 x 512
    ("inception4c", 128, 128, 256, 24, 64, 64),  # 14 x 14 x 512
    ("inception4d", 112, 144, 288, 32, 64, 64),  # 14 x 14 x 528  (aux2 taps here)
    ("inception4e", 256, 160, 320, 32, 128, 128),  # 14 x 14 x 832
    "maxpool4",  # 7 x 7 x 832
    ("inception5a", 256, 160, 320, 32, 128, 128),  # 7 x 7 x 832
    ("inception5b", 384, 192, 384, 48, 128, 128),  # 7 x 7 x 1024
)
#: Stem channels of Table 1: conv1 (7x7/2), conv2 (the 3x3 reduce), conv3 (3x3).
STEM_CHANNELS = (64, 64, 192)
#: Where the auxiliary classifiers tap the network (Figure 3): after 4a and after 4d.
AUX_TAPS = ("inception4a", "inception4d")

_LAYOUTS = ("torchvision", "paper", "mini")


def transform_imagenet_to_inception(x: Tensor) -> Tensor:
    """Re-normalize an ImageNet-normalized batch to the [-1, 1] range (torchvision's ``transform_input``).

    ``x`` was normalized with ImageNet's per-channel mean/std; the result is
    ``(pixel - 0.5) / 0.5``, what the Google-trained checkpoints expect. It is
    one affine map per channel: ``x * std / 0.5 + (mean - 0.5) / 0.5``.
    """
    mean = x.new_tensor((0.485, 0.456, 0.406)).view(1, 3, 1, 1)
    std = x.new_tensor((0.229, 0.224, 0.225)).view(1, 3, 1, 1)
    return x * (std / 0.5) + (mean - 0.5) / 0.5


# ---------------------------------------------------------------------------
# building blocks
# ---------------------------------------------------------------------------
class Inception(MultiBranch):
    """The Inception module with dimension reductions (Figure 2(b)); arguments are Table 1's columns.

    Four branches, concatenated on channels: a 1x1 conv; a 1x1 reduction then
    a 3x3 conv; a 1x1 reduction then a 5x5 conv; a 3x3/1 max pool then a 1x1
    projection. The branch names returned by :meth:`forward_branches` are the
    table's column names ("1x1", "3x3", "5x5", "pool proj").

    Args:
        in_channels: channels of the input.
        ch1x1, ch3x3red, ch3x3, ch5x5red, ch5x5, pool_proj: Table 1's columns
            "#1x1", "#3x3 reduce", "#3x3", "#5x5 reduce", "#5x5", "pool proj".
        kernel_5x5: kernel of the "5x5" branch: 5 in the paper, 3 in torchvision's layout.
        norm: BatchNorm after each conv (torchvision) or conv bias only (paper).
    """

    def __init__(
        self,
        in_channels: int,
        ch1x1: int,
        ch3x3red: int,
        ch3x3: int,
        ch5x5red: int,
        ch5x5: int,
        pool_proj: int,
        kernel_5x5: int = 5,
        norm: bool = True,
    ) -> None:
        super().__init__()
        if kernel_5x5 not in (3, 5):
            raise ValueError(f"kernel_5x5 must be 5 (the paper) or 3 (torchvision's layout), got {kernel_5x5!r}.")
        self.in_channels = in_channels
        self.out_channels = ch1x1 + ch3x3 + ch5x5 + pool_proj
        self.branch1 = BasicConv2d(in_channels, ch1x1, kernel_size=1, norm=norm)
        self.branch2 = nn.Sequential(
            BasicConv2d(in_channels, ch3x3red, kernel_size=1, norm=norm),
            BasicConv2d(ch3x3red, ch3x3, kernel_size=3, padding=1, norm=norm),
        )
        self.branch3 = nn.Sequential(
            BasicConv2d(in_channels, ch5x5red, kernel_size=1, norm=norm),
            # The paper's kernel here is 5x5. torchvision's GoogLeNet (and so its
            # pretrained weights) has a 3x3 kernel in this branch, a known bug kept
            # for weight compatibility: https://github.com/pytorch/vision/issues/906
            BasicConv2d(ch5x5red, ch5x5, kernel_size=kernel_5x5, padding=kernel_5x5 // 2, norm=norm),
        )
        self.branch4 = nn.Sequential(
            nn.MaxPool2d(kernel_size=3, stride=1, padding=1, ceil_mode=True),
            BasicConv2d(in_channels, pool_proj, kernel_size=1, norm=norm),
        )

    def forward_branches(self, x: Tensor) -> dict[str, Tensor]:
        # N x in_channels x H x W -> each branch keeps H x W
        return {
            "1x1": self.branch1(x),  # N x ch1x1 x H x W
            "3x3": self.branch2(x),  # N x ch3x3 x H x W
            "5x5": self.branch3(x),  # N x ch5x5 x H x W
            "pool proj": self.branch4(x),  # N x pool_proj x H x W
        }


class GoogLeNetAux(nn.Module):
    """An auxiliary classifier (Section 5 of the paper, the side branches of Figure 3).

    avg pool -> 1x1 conv (128) + ReLU -> FC (1024) + ReLU -> dropout (0.7) -> FC.

    Args:
        in_channels: channels at the tap (512 after 4a, 528 after 4d).
        num_classes: classes of the classifier (0: no final layer).
        conv_channels, hidden: the 1x1 conv's and the first FC layer's widths (128, 1024).
        paper_pool: the paper's 5x5 average pool with stride 3 (14x14 -> 4x4). False:
            torchvision's adaptive average pool to 4x4, which accepts any map size.
        norm: BatchNorm after the 1x1 conv (torchvision) or conv bias (paper).
        dropout: dropout before the last FC layer.
    """

    def __init__(
        self,
        in_channels: int,
        num_classes: int,
        conv_channels: int = 128,
        hidden: int = 1024,
        paper_pool: bool = False,
        norm: bool = True,
        dropout: float = 0.7,
    ) -> None:
        super().__init__()
        self.paper_pool = paper_pool
        # The paper pools 5x5/3 (Caffe rounds up); torchvision pools adaptively to 4x4.
        self.pool = nn.AvgPool2d(5, stride=3, ceil_mode=True) if paper_pool else nn.AdaptiveAvgPool2d(4)
        self.conv = BasicConv2d(in_channels, conv_channels, kernel_size=1, norm=norm)
        self.fc1 = nn.Linear(conv_channels * 4 * 4, hidden)
        self.relu = nn.ReLU(inplace=True)
        self.dropout = nn.Dropout(p=dropout)
        self.fc2 = nn.Linear(hidden, num_classes) if num_classes > 0 else nn.Identity()

    def reset_classifier(self, num_classes: int) -> None:
        """Replace the last FC layer for ``num_classes`` (0 removes it)."""
        check_num_classes(num_classes)
        self.fc2 = nn.Linear(self.fc1.out_features, num_classes) if num_classes > 0 else nn.Identity()

    def forward(self, x: Tensor) -> Tensor:
        # aux1: N x 512 x 14 x 14, aux2: N x 528 x 14 x 14 (224 x 224 input)
        if self.paper_pool and not (12 <= min(x.shape[-2:]) and max(x.shape[-2:]) <= 14):
            # 5x5/3 pooling gives the 4x4 grid that fc1 expects only from 12x12 to 14x14.
            raise ValueError(
                f"The paper's auxiliary classifier pools 5x5 with stride 3 down to 4x4 and needs a feature "
                f"map of 12x12 to 14x14 at its tap, got {x.shape[-2]}x{x.shape[-1]}: train googlenet_paper "
                "on inputs of 191x191 to 238x238 (224x224 in the paper), use model.eval(), or build it "
                "with aux_logits=False."
            )
        x = self.pool(x)
        # N x C x 4 x 4
        x = self.conv(x)
        # N x 128 x 4 x 4
        x = x.flatten(1)
        # N x 2048
        x = self.relu(self.fc1(x))
        # N x 1024
        x = self.dropout(x)
        return self.fc2(x)  # N x num_classes


# ---------------------------------------------------------------------------
# the network
# ---------------------------------------------------------------------------
class GoogLeNet(CourseModel):
    """GoogLeNet, Table 1 of Szegedy et al. 2014, in one of three layouts.

    Use the builders :func:`googlenet`, :func:`googlenet_paper` and
    :func:`mini_googlenet` (or ``create_model``): they validate arguments and
    pick the layout's defaults. Shape comments below are for a 224 x 224 input
    (the mini layout's stride-1 conv1 halves every reduction: 48 x 48 reaches
    inception3a at 12 x 12).

    Args:
        layout: ``"torchvision"``, ``"paper"`` or ``"mini"`` (see the module docstring).
        num_classes: classes of the main and auxiliary classifiers (0: features only).
        aux_logits: build the two auxiliary classifiers (run in training mode only).
        transform_input: re-normalize ImageNet-normalized inputs to [-1, 1] first,
            as torchvision's pretrained GoogLeNet expects (torchvision layout only).
        dropout, dropout_aux: dropout before the main / auxiliary classifiers.
        width_mult: multiplies every channel count of Table 1 (mini layout).
        in_chans: input channels.
    """

    aux_loss_weight = 0.3  # Section 5: the auxiliary losses are added with a discount weight of 0.3
    aux_head_names = ("aux1", "aux2")  # Figure 3's two side classifiers (on 4a and 4d)

    def __init__(
        self,
        layout: str = "torchvision",
        num_classes: int = 1000,
        aux_logits: bool = False,
        transform_input: bool = False,
        dropout: float = 0.2,
        dropout_aux: float = 0.7,
        width_mult: float = 1.0,
        in_chans: int = 3,
    ) -> None:
        super().__init__()
        if layout not in _LAYOUTS:
            raise ValueError(f"layout must be one of {_LAYOUTS}, got {layout!r}.")
        if transform_input and in_chans != 3:
            raise ValueError("transform_input re-normalizes RGB ImageNet inputs and needs in_chans=3.")
        self.layout = layout
        self.num_classes = num_classes
        self.aux_logits = aux_logits
        self.transform_input = transform_input
        self.in_chans = in_chans
        norm = layout != "paper"  # the 2014 network predates batch normalization
        paper = layout == "paper"
        mini = layout == "mini"

        def ch(c: int) -> int:
            return scale_channels(c, width_mult)

        c1, c2, c3 = (ch(c) for c in STEM_CHANNELS)
        # -- stem (Table 1 rows 1-4, Figure 3) ---------------------------------
        if mini:
            # 32-64 px images cannot afford 7x7/2 + max pool: a 3x3/1 conv keeps the
            # detail, and the two max pools below still halve the grid twice.
            self.conv1 = BasicConv2d(in_chans, c1, kernel_size=3, stride=1, padding=1)
        else:
            self.conv1 = BasicConv2d(in_chans, c1, kernel_size=7, stride=2, padding=3, norm=norm)
        self.maxpool1 = nn.MaxPool2d(3, stride=2, ceil_mode=True)  # Caffe pools round up: ceil_mode
        # Local response normalization (Figure 3, "LocalRespNorm"; Caffe: size 5,
        # alpha 1e-4, beta 0.75). BatchNorm made it obsolete: absent from the other layouts.
        self.norm1 = nn.LocalResponseNorm(5, alpha=1e-4, beta=0.75, k=1.0) if paper else nn.Identity()
        self.conv2 = BasicConv2d(c1, c2, kernel_size=1, norm=norm)  # Table 1: "#3x3 reduce" 64
        self.conv3 = BasicConv2d(c2, c3, kernel_size=3, padding=1, norm=norm)
        self.norm2 = nn.LocalResponseNorm(5, alpha=1e-4, beta=0.75, k=1.0) if paper else nn.Identity()
        self.maxpool2 = nn.MaxPool2d(3, stride=2, ceil_mode=True)

        # -- Inception modules and the pools between them: a loop over Table 1 --
        # torchvision's layout keeps the 3x3 kernel of its "5x5" branch (pytorch/vision#906).
        kernel_5x5 = 3 if layout == "torchvision" else 5
        channels = c3
        self.inception_names: list[str] = []
        for row in GOOGLENET_TABLE1:
            if isinstance(row, str):
                # Table 1 says 3x3/2 for both pools; torchvision's maxpool4 is 2x2/2
                # (same 14 -> 7 output, different window) and its weights expect that.
                kernel = 2 if (row == "maxpool4" and layout == "torchvision") else 3
                setattr(self, row, nn.MaxPool2d(kernel, stride=2, ceil_mode=True))
                continue
            name, *columns = row
            block = Inception(channels, *(ch(c) for c in columns), kernel_5x5=kernel_5x5, norm=norm)
            setattr(self, name, block)
            self.inception_names.append(name)
            channels = block.out_channels

        # -- auxiliary classifiers (Figure 3's side branches) --------------------
        if aux_logits:
            self.aux1 = self._make_aux(AUX_TAPS[0], num_classes, paper, norm, dropout_aux, ch)
            self.aux2 = self._make_aux(AUX_TAPS[1], num_classes, paper, norm, dropout_aux, ch)
        else:
            self.aux1 = None
            self.aux2 = None

        # -- head: global average pooling (Table 1 "avg pool 7x7/1"), dropout, linear
        self.num_features = channels
        self.global_pool = GlobalAvgPool()
        self.dropout = nn.Dropout(p=dropout)
        self.fc = nn.Linear(channels, num_classes) if num_classes > 0 else nn.Identity()

        # Cumulative strides: 2 (conv1), 4 (maxpool1), 8 (maxpool2), 16, 32; the mini
        # layout's stride-1 conv1 halves each.
        r = 1 if mini else 2
        self.feature_info = [
            FeatureInfo("conv1", c1, r),
            FeatureInfo("conv3", c3, 2 * r),
            FeatureInfo("inception3b", self.inception3b.out_channels, 4 * r),
            FeatureInfo("inception4e", self.inception4e.out_channels, 8 * r),
            FeatureInfo("inception5b", self.inception5b.out_channels, 16 * r),
        ]
        # min_input_size: the smallest input that passes every max pool (measured; the
        # tests check that one pixel less fails). torchvision's meta says 15 as well;
        # the paper's 3x3 maxpool4 needs a 2x2 map (31 px), the mini's stride-1 stem 16 px.
        if mini:
            self.preprocess = PreprocessConfig(input_size=(in_chans, 48, 48), min_input_size=16, crop_pct=1.0)
        elif paper:
            self.preprocess = PreprocessConfig(input_size=(in_chans, 224, 224), min_input_size=31)
        else:
            # Without transform_input, torchvision's weights expect [-1, 1] inputs (mean = std = 0.5).
            mean_std = {} if transform_input else dict(mean=INCEPTION_MEAN, std=INCEPTION_STD)
            self.preprocess = PreprocessConfig(input_size=(in_chans, 224, 224), min_input_size=15, **mean_std)

    def _make_aux(self, tap: str, num_classes: int, paper: bool, norm: bool, dropout: float, ch) -> GoogLeNetAux:
        in_channels = getattr(self, tap).out_channels
        return GoogLeNetAux(
            in_channels,
            num_classes,
            conv_channels=ch(128),
            hidden=ch(1024),
            paper_pool=paper,
            norm=norm,
            dropout=dropout,
        )

    def _forward_trunk(self, x: Tensor, with_aux: bool) -> tuple[Tensor, list[Tensor]]:
        """Image -> last feature map, plus the auxiliary logits when ``with_aux``."""
        if self.transform_input:
            x = transform_imagenet_to_inception(x)
        # N x 3 x 224 x 224
        x = self.conv1(x)
        # N x 64 x 112 x 112
        x = self.maxpool1(x)
        # N x 64 x 56 x 56
        x = self.norm1(x)
        x = self.conv2(x)
        # N x 64 x 56 x 56
        x = self.conv3(x)
        # N x 192 x 56 x 56
        x = self.norm2(x)
        x = self.maxpool2(x)
        # N x 192 x 28 x 28
        x = self.inception3a(x)
        # N x 256 x 28 x 28
        x = self.inception3b(x)
        # N x 480 x 28 x 28
        x = self.maxpool3(x)
        # N x 480 x 14 x 14
        x = self.inception4a(x)
        # N x 512 x 14 x 14
        aux = []
        if with_aux:
            aux.append(self.aux1(x))
        x = self.inception4b(x)
        # N x 512 x 14 x 14
        x = self.inception4c(x)
        # N x 512 x 14 x 14
        x = self.inception4d(x)
        # N x 528 x 14 x 14
        if with_aux:
            aux.append(self.aux2(x))
        x = self.inception4e(x)
        # N x 832 x 14 x 14
        x = self.maxpool4(x)
        # N x 832 x 7 x 7
        x = self.inception5a(x)
        # N x 832 x 7 x 7
        x = self.inception5b(x)
        # N x 1024 x 7 x 7
        return x, aux

    def forward_features(self, x: Tensor) -> Tensor:
        """Image batch -> the last feature map (N x 1024 x 7 x 7 at 224 x 224)."""
        return self._forward_trunk(x, with_aux=False)[0]


# ---------------------------------------------------------------------------
# builders
# ---------------------------------------------------------------------------
def _build(layout: str, num_classes, aux_logits, transform_input, dropout, dropout_aux, width_mult, in_chans):
    check_num_classes(num_classes)
    return GoogLeNet(
        layout=layout,
        num_classes=num_classes,
        aux_logits=check_flag(aux_logits, "aux_logits"),
        transform_input=check_flag(transform_input, "transform_input"),
        dropout=check_dropout(dropout),
        dropout_aux=check_dropout(dropout_aux, "dropout_aux"),
        width_mult=check_width_mult(width_mult),
        in_chans=check_in_chans(in_chans),
    )


@register_model
def googlenet(
    num_classes: int = 1000,
    aux_logits: bool = False,
    transform_input: bool = True,
    dropout: float = 0.2,
    dropout_aux: float = 0.7,
    in_chans: int = 3,
) -> GoogLeNet:
    """GoogLeNet in torchvision's layout (224 x 224 inputs), weight-compatible with torchvision.

    6,624,904 parameters (13,004,888 with ``aux_logits=True``), 1.50 GMACs at
    224 x 224, as ``torchvision.models.googlenet``. Deviations from the paper
    (BatchNorm, the 3x3 "5x5" branch of pytorch/vision#906, 2x2 maxpool4,
    adaptive auxiliary pooling) are torchvision's, kept so its weights load.

    ``transform_input=True`` (the default, as torchvision's pretrained builder)
    takes ImageNet-normalized images (``preprocess.mean/std``) and re-maps them
    to the [-1, 1] range the ported weights were trained on. With
    ``transform_input=False`` feed [-1, 1] inputs yourself (``preprocess`` then
    says mean = std = 0.5).

    ``aux_logits`` defaults to False: torchvision's checkpoint carries auxiliary
    heads that were never trained. Ask for them to train from scratch.
    """
    return _build("torchvision", num_classes, aux_logits, transform_input, dropout, dropout_aux, 1.0, in_chans)


@register_model
def googlenet_paper(
    num_classes: int = 1000,
    aux_logits: bool = True,
    dropout: float = 0.4,
    dropout_aux: float = 0.7,
    in_chans: int = 3,
) -> GoogLeNet:
    """GoogLeNet exactly as Table 1 and Figure 3 of the 2014 paper (224 x 224 inputs).

    Real 5x5 branches, conv bias + ReLU (no BatchNorm), local response
    normalization after maxpool1 and after conv3, 3x3/2 max pools, dropout 0.4
    and, by default, the paper's two auxiliary classifiers (weight 0.3), which
    need 224 x 224 inputs in training mode. About 1.6 GMACs (Table 1's ops sum to
    1.5 G; its first row is printed low, see tests/test_models_googlenet.py).
    No published weights: train it yourself.
    """
    return _build("paper", num_classes, aux_logits, False, dropout, dropout_aux, 1.0, in_chans)


@register_model
def mini_googlenet(
    num_classes: int = 10,
    width_mult: float = 0.25,
    aux_logits: bool = False,
    dropout: float = 0.2,
    dropout_aux: float = 0.7,
    in_chans: int = 3,
) -> GoogLeNet:
    """A small GoogLeNet for 32-64 px images (lesson 02's CPU experiments).

    Same Inception modules and the same Table 1 as :func:`googlenet_paper` (5x5
    branches), with BatchNorm for fast training, a 3x3/1 first convolution
    instead of 7x7/2 + LRN, and every channel count times ``width_mult``
    (rounded to a multiple of 8). A 48 x 48 image reaches inception3a at 12 x 12
    and inception5b at 3 x 3.
    """
    return _build("mini", num_classes, aux_logits, False, dropout, dropout_aux, width_mult, in_chans)


# ---------------------------------------------------------------------------
# torchvision weights
# ---------------------------------------------------------------------------
_TV_PREFIXES = ("conv1.", "conv2.", "conv3.", "fc.", "aux1.", "aux2.") + tuple(
    row[0] + "." for row in GOOGLENET_TABLE1 if not isinstance(row, str)
)


def convert_torchvision_googlenet(state_dict: dict, keep_aux: bool = False) -> dict:
    """torchvision GoogLeNet state dict -> ours (for :func:`googlenet`).

    Our attribute names are torchvision's, so the keys map one to one. What
    differs is handled here: torchvision's published checkpoint contains the two
    auxiliary heads, which were never trained (torchvision warns about it); they
    are dropped unless ``keep_aux=True``, so the result loads strictly into the
    default ``googlenet()`` (no auxiliary heads). Keys that torchvision's model
    does not have raise ValueError, so a wrong checkpoint fails loudly.
    """
    unknown = [k for k in state_dict if not k.startswith(_TV_PREFIXES)]
    if unknown:
        raise ValueError(
            f"Not a torchvision GoogLeNet state dict: unexpected keys {unknown[:5]}"
            f"{' ...' if len(unknown) > 5 else ''}. Expected keys under {sorted(p[:-1] for p in _TV_PREFIXES)}."
        )
    return {
        k: v for k, v in state_dict.items() if keep_aux or not k.startswith(("aux1.", "aux2."))
    }


register_weights(
    "googlenet",
    WeightSource(
        library="torchvision",
        model_name="googlenet",
        weights="IMAGENET1K_V1",
        convert=convert_torchvision_googlenet,
        # Our default layout: inputs re-normalized inside the model. torchvision's builder
        # then removes the (untrained) auxiliary heads itself, as our default has none.
        reference_kwargs=dict(transform_input=True),
    ),
)
