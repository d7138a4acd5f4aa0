"""GoogLeNet (Inception v1), lesson 02.

Szegedy et al., "Going deeper with convolutions", CVPR 2015,
https://arxiv.org/abs/1409.4842 -- Table 1 (the layer table), Figure 2(b)
(the Inception module with dimension reductions) and Figure 3 (the whole
network, auxiliary classifiers included).

One network class, :class:`GoogLeNet`, built from a :class:`GoogLeNetConfig`
(Table 1 and the choices below); three presets:

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

from dataclasses import dataclass
from typing import Mapping

from torch import Tensor, nn

from ..checks import check_bool, check_choice, check_fraction
from .base import IMAGENET_MEAN, IMAGENET_STD, INCEPTION_MEAN, INCEPTION_STD, CourseModel, FeatureInfo, PreprocessConfig
from .blocks import BasicConv2d, MultiBranch
from .config import ModelConfig, table_field
from .registry import WeightSource, register_model, register_weights

__all__ = [
    "GOOGLENET",
    "GOOGLENET_PAPER",
    "GOOGLENET_TABLE1",
    "GoogLeNet",
    "GoogLeNetAux",
    "GoogLeNetConfig",
    "Inception",
    "MINI_GOOGLENET",
    "convert_torchvision_googlenet",
    "googlenet",
    "googlenet_paper",
    "mini_googlenet",
]

# Table 1 of the paper, the Inception rows: the columns
# #1x1, #3x3 reduce, #3x3, #5x5 reduce, #5x5, pool proj (the arguments of Inception).
GOOGLENET_TABLE1: dict[str, tuple[int, int, int, int, int, int]] = {
    "inception3a": (64, 96, 128, 16, 32, 32),  # 28 x 28 x 256
    "inception3b": (128, 128, 192, 32, 96, 64),  # 28 x 28 x 480
    "inception4a": (192, 96, 208, 16, 48, 64),  # 14 x 14 x 512  (aux1 taps here)
    "inception4b": (160, 112, 224, 24, 64, 64),  # 14 x 14 x 512
    "inception4c": (128, 128, 256, 24, 64, 64),  # 14 x 14 x 512
    "inception4d": (112, 144, 288, 32, 64, 64),  # 14 x 14 x 528  (aux2 taps here)
    "inception4e": (256, 160, 320, 32, 128, 128),  # 14 x 14 x 832
    "inception5a": (256, 160, 320, 32, 128, 128),  # 7 x 7 x 832
    "inception5b": (384, 192, 384, 48, 128, 128),  # 7 x 7 x 1024
}
#: Stem channels of Table 1: conv1 (7x7/2), conv2 (the 3x3 reduce), conv3 (3x3).
STEM_CHANNELS = (64, 64, 192)


def transform_imagenet_to_inception(x: Tensor) -> Tensor:
    """Re-normalize an ImageNet-normalized batch to the [-1, 1] range (torchvision's ``transform_input``).

    ``x`` was normalized with ImageNet's per-channel mean/std; the result is
    ``(pixel - 0.5) / 0.5``, what the Google-trained checkpoints expect. It is
    one affine map per channel: ``x * std / 0.5 + (mean - 0.5) / 0.5``.
    """
    mean = x.new_tensor(IMAGENET_MEAN).view(1, 3, 1, 1)
    std = x.new_tensor(IMAGENET_STD).view(1, 3, 1, 1)
    return x * (std / 0.5) + (mean - 0.5) / 0.5


# ---------------------------------------------------------------------------
# building blocks
# ---------------------------------------------------------------------------
class Inception(MultiBranch):
    """The Inception module with dimension reductions (Figure 2(b)); arguments are Table 1's columns.

    Four branches, concatenated on channels: a 1x1 conv; a 1x1 reduction then
    a 3x3 conv; a 1x1 reduction then a 5x5 conv; a 3x3/1 max pool then a 1x1
    projection.

    Args:
        in_channels: channels of the input.
        ch1x1, ch3x3red, ch3x3, ch5x5red, ch5x5, pool_proj: Table 1's columns
            "#1x1", "#3x3 reduce", "#3x3", "#5x5 reduce", "#5x5", "pool proj".
        kernel_5x5: kernel of the "5x5" branch: 5 in the paper, 3 in torchvision's layout.
        norm: BatchNorm after each conv (torchvision) or conv bias only (paper).
    """

    branch_labels = {"branch1": "1x1", "branch2": "3x3", "branch3": "5x5", "branch4": "pool proj"}

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
        self.in_channels = in_channels
        self.out_channels = ch1x1 + ch3x3 + ch5x5 + pool_proj
        self.branch1 = BasicConv2d(in_channels, ch1x1, kernel_size=1, norm=norm)  # N x ch1x1 x H x W
        self.branch2 = nn.Sequential(  # N x ch3x3 x H x W
            BasicConv2d(in_channels, ch3x3red, kernel_size=1, norm=norm),
            BasicConv2d(ch3x3red, ch3x3, kernel_size=3, padding=1, norm=norm),
        )
        self.branch3 = nn.Sequential(  # N x ch5x5 x H x W
            BasicConv2d(in_channels, ch5x5red, kernel_size=1, norm=norm),
            # The paper's kernel here is 5x5. torchvision's GoogLeNet (and so its
            # pretrained weights) has a 3x3 kernel in this branch, a known bug kept
            # for weight compatibility: https://github.com/pytorch/vision/issues/906
            BasicConv2d(ch5x5red, ch5x5, kernel_size=kernel_5x5, padding=kernel_5x5 // 2, norm=norm),
        )
        self.branch4 = nn.Sequential(  # N x pool_proj x H x W
            nn.MaxPool2d(kernel_size=3, stride=1, padding=1, ceil_mode=True),
            BasicConv2d(in_channels, pool_proj, kernel_size=1, norm=norm),
        )


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
        drop_rate: dropout before the last FC layer.
    """

    def __init__(
        self,
        in_channels: int,
        num_classes: int,
        conv_channels: int = 128,
        hidden: int = 1024,
        paper_pool: bool = False,
        norm: bool = True,
        drop_rate: float = 0.7,
    ) -> None:
        super().__init__()
        # The paper pools 5x5/3 (Caffe rounds up); torchvision pools adaptively to 4x4.
        # 5x5/3 gives the 4x4 grid fc1 expects only from 12x12 to 14x14 maps: GoogLeNet.aux_input_sizes.
        self.pool = nn.AvgPool2d(5, stride=3, ceil_mode=True) if paper_pool else nn.AdaptiveAvgPool2d(4)
        self.conv = BasicConv2d(in_channels, conv_channels, kernel_size=1, norm=norm)
        self.fc1 = nn.Linear(conv_channels * 4 * 4, hidden)
        self.relu = nn.ReLU(inplace=True)
        self.dropout = nn.Dropout(p=drop_rate)
        self.fc2 = nn.Linear(hidden, num_classes) if num_classes > 0 else nn.Identity()

    def reset_classifier(self, num_classes: int) -> None:
        """Replace the last FC layer for ``num_classes`` (0 removes it)."""
        self.fc2 = nn.Linear(self.fc1.out_features, num_classes) if num_classes > 0 else nn.Identity()

    def forward(self, x: Tensor) -> Tensor:
        # aux1: N x 512 x 14 x 14, aux2: N x 528 x 14 x 14 (224 x 224 input)
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
# the config: Table 1 and what tells the variants apart
# ---------------------------------------------------------------------------
@dataclass(frozen=True)
class GoogLeNetConfig(ModelConfig):
    """Everything :class:`GoogLeNet` is built from (the shared fields: :class:`~.config.ModelConfig`).

    Attributes:
        table1: Table 1's Inception rows (``GOOGLENET_TABLE1``), before ``width_mult``.
        stem_channels: conv1, conv2, conv3 widths (Table 1: 64, 64, 192).
        small_stem: a 3x3/1 conv1 instead of 7x7/2, for 32-64 px images (the minis).
        batch_norm: BatchNorm after every conv, no conv bias (torchvision); the
            2014 paper predates batch normalization (conv bias + ReLU).
        lrn: local response normalization after maxpool1 and after conv3 (the paper's
            Figure 3, Caffe: size 5, alpha 1e-4, beta 0.75).
        kernel_5x5: the "5x5" branch's kernel: 5 (paper), 3 (torchvision, pytorch/vision#906).
        maxpool4_kernel: 3 (Table 1: 3x3/2), 2 (torchvision: same 14 -> 7 output, other window).
        aux_logits: build the two auxiliary classifiers (they run in training mode only).
        aux_paper_pool: the heads pool 5x5/3 as in the paper (needs 12-14 px maps at
            their taps, so 191-238 px inputs); False: adaptive 4x4 pooling (torchvision).
        aux_drop_rate: dropout inside the auxiliary heads (paper: 0.7).
        transform_input: re-normalize ImageNet-normalized inputs to [-1, 1] first, as
            torchvision's pretrained GoogLeNet expects (``preprocess`` then says ImageNet's mean/std).
    """

    table1: Mapping[str, tuple[int, ...]] = table_field(GOOGLENET_TABLE1)
    stem_channels: tuple[int, int, int] = STEM_CHANNELS
    small_stem: bool = False
    batch_norm: bool = True
    lrn: bool = False
    kernel_5x5: int = 5
    maxpool4_kernel: int = 3
    aux_logits: bool = False
    aux_paper_pool: bool = False
    aux_drop_rate: float = 0.7
    transform_input: bool = False

    def check(self) -> None:
        super().check()
        for flag in ("small_stem", "batch_norm", "lrn", "aux_logits", "aux_paper_pool", "transform_input"):
            check_bool(getattr(self, flag), flag)
        check_choice(self.kernel_5x5, "kernel_5x5", (5, 3), hint="(5: the paper; 3: torchvision's layout)")
        check_choice(self.maxpool4_kernel, "maxpool4_kernel", (3, 2), hint="(3: Table 1; 2: torchvision's layout)")
        check_fraction(self.aux_drop_rate, "aux_drop_rate", allow_one=False)
        if self.transform_input and self.in_chans != 3:
            raise ValueError("transform_input re-normalizes RGB ImageNet inputs and needs in_chans=3.")


# ---------------------------------------------------------------------------
# the network
# ---------------------------------------------------------------------------
class GoogLeNet(CourseModel):
    """GoogLeNet, Table 1 of Szegedy et al. 2014, built from a :class:`GoogLeNetConfig`.

    The presets :func:`googlenet`, :func:`googlenet_paper` and :func:`mini_googlenet`
    (or ``create_model``) pick the variant. Shape comments are for a 224 x 224
    input (the small stem's stride-1 conv1 halves every reduction: 48 x 48
    reaches inception3a at 12 x 12).
    """

    aux_loss_weight = 0.3  # Section 5: the auxiliary losses are added with a discount weight of 0.3
    aux_head_names = ("aux1", "aux2")  # Figure 3's two side classifiers (on 4a and 4d)

    def __init__(self, config: GoogLeNetConfig = None) -> None:
        config = GOOGLENET if config is None else config
        super().__init__(config)
        t = {name: config.widths(row) for name, row in config.table1.items()}
        c1, c2, c3 = config.widths(config.stem_channels)
        norm, kernel_5x5 = config.batch_norm, config.kernel_5x5

        # -- stem (Table 1 rows 1-4, Figure 3) ---------------------------------
        if config.small_stem:
            # 32-64 px images cannot afford 7x7/2 + max pool: a 3x3/1 conv keeps the
            # detail, and the two max pools below still halve the grid twice.
            self.conv1 = BasicConv2d(config.in_chans, c1, kernel_size=3, stride=1, padding=1)
        else:
            self.conv1 = BasicConv2d(config.in_chans, c1, kernel_size=7, stride=2, padding=3, norm=norm)
        self.maxpool1 = nn.MaxPool2d(3, stride=2, ceil_mode=True)  # Caffe pools round up: ceil_mode
        # Local response normalization (Figure 3, "LocalRespNorm"). BatchNorm made it obsolete.
        self.norm1 = nn.LocalResponseNorm(5, alpha=1e-4, beta=0.75, k=1.0) if config.lrn else nn.Identity()
        self.conv2 = BasicConv2d(c1, c2, kernel_size=1, norm=norm)  # Table 1: "#3x3 reduce" 64
        self.conv3 = BasicConv2d(c2, c3, kernel_size=3, padding=1, norm=norm)
        self.norm2 = nn.LocalResponseNorm(5, alpha=1e-4, beta=0.75, k=1.0) if config.lrn else nn.Identity()
        self.maxpool2 = nn.MaxPool2d(3, stride=2, ceil_mode=True)

        # -- Inception modules, one per row of Table 1, and the pools between them --
        self.inception3a = Inception(c3, *t["inception3a"], kernel_5x5=kernel_5x5, norm=norm)
        self.inception3b = Inception(self.inception3a.out_channels, *t["inception3b"], kernel_5x5=kernel_5x5, norm=norm)
        self.maxpool3 = nn.MaxPool2d(3, stride=2, ceil_mode=True)
        self.inception4a = Inception(self.inception3b.out_channels, *t["inception4a"], kernel_5x5=kernel_5x5, norm=norm)
        self.inception4b = Inception(self.inception4a.out_channels, *t["inception4b"], kernel_5x5=kernel_5x5, norm=norm)
        self.inception4c = Inception(self.inception4b.out_channels, *t["inception4c"], kernel_5x5=kernel_5x5, norm=norm)
        self.inception4d = Inception(self.inception4c.out_channels, *t["inception4d"], kernel_5x5=kernel_5x5, norm=norm)
        self.inception4e = Inception(self.inception4d.out_channels, *t["inception4e"], kernel_5x5=kernel_5x5, norm=norm)
        # Table 1 says 3x3/2; torchvision's maxpool4 is 2x2/2 (same 14 -> 7 output) and its weights expect that.
        self.maxpool4 = nn.MaxPool2d(config.maxpool4_kernel, stride=2, ceil_mode=True)
        self.inception5a = Inception(self.inception4e.out_channels, *t["inception5a"], kernel_5x5=kernel_5x5, norm=norm)
        self.inception5b = Inception(self.inception5a.out_channels, *t["inception5b"], kernel_5x5=kernel_5x5, norm=norm)

        # -- auxiliary classifiers (Figure 3's side branches, on 4a and 4d) ----------
        self.aux1 = self.aux2 = None
        if config.aux_logits:
            head = dict(conv_channels=config.ch(128), hidden=config.ch(1024), paper_pool=config.aux_paper_pool,
                        norm=norm, drop_rate=config.aux_drop_rate)
            self.aux1 = GoogLeNetAux(self.inception4a.out_channels, self.num_classes, **head)
            self.aux2 = GoogLeNetAux(self.inception4d.out_channels, self.num_classes, **head)
            if config.aux_paper_pool:
                # 5x5/3 pooling meets fc1's 4x4 only from 12x12 to 14x14 maps at the taps (stride 16).
                self.aux_input_sizes = (191, 238)

        # -- head: global average pooling (Table 1 "avg pool 7x7/1"), dropout, linear
        self.build_head(self.inception5b.out_channels)

        # Cumulative strides: 2 (conv1), 4 (maxpool1), 8 (maxpool2), 16, 32; halved by the small stem.
        r = 1 if config.small_stem else 2
        self.feature_info = [
            FeatureInfo("conv1", c1, r),
            FeatureInfo("conv3", c3, 2 * r),
            FeatureInfo("inception3b", self.inception3b.out_channels, 4 * r),
            FeatureInfo("inception4e", self.inception4e.out_channels, 8 * r),
            FeatureInfo("inception5b", self.inception5b.out_channels, 16 * r),
        ]

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
        # N x 1024 x 7 x 7: the last feature map (forward_features returns it)
        return x, aux


# ---------------------------------------------------------------------------
# presets
# ---------------------------------------------------------------------------
#: torchvision's layout (see the module docstring); the smallest input passing every pool is 15 px
#: (torchvision's meta says so too; the tests check that one pixel less fails).
GOOGLENET = GoogLeNetConfig(
    drop_rate=0.2, kernel_5x5=3, maxpool4_kernel=2, transform_input=True,
    # The ported weights were trained on [-1, 1] inputs (mean = std = 0.5); transform_input maps ImageNet's.
    preprocess=PreprocessConfig(input_size=(3, 224, 224), min_input_size=15, mean=INCEPTION_MEAN, std=INCEPTION_STD),
)
#: The 2014 paper (its 3x3 maxpool4 needs a 2x2 map: 31 px at least).
GOOGLENET_PAPER = GoogLeNetConfig(
    drop_rate=0.4, batch_norm=False, lrn=True, aux_logits=True, aux_paper_pool=True,
    preprocess=PreprocessConfig(input_size=(3, 224, 224), min_input_size=31),
)
#: 32-64 px images: the paper's table and 5x5 branches, BatchNorm, a small stem, widths x 0.25.
MINI_GOOGLENET = GoogLeNetConfig(
    num_classes=10, drop_rate=0.2, small_stem=True, width_mult=0.25, channel_divisor=8,
    preprocess=PreprocessConfig(input_size=(3, 48, 48), min_input_size=16, crop_pct=1.0),
)


@register_model
def googlenet(**changes) -> GoogLeNet:
    """GoogLeNet in torchvision's layout (224 x 224 inputs), weight-compatible with torchvision.

    ``GoogLeNet(GOOGLENET.replace(**changes))``: any :class:`GoogLeNetConfig` field
    can be changed by keyword (``num_classes``, ``aux_logits``, ``transform_input`` ...).
    Deviations from the paper (BatchNorm, the 3x3 "5x5" branch of pytorch/vision#906,
    2x2 maxpool4, adaptive auxiliary pooling) are torchvision's, kept so its weights load.

    ``transform_input=True`` (the default, as torchvision's pretrained builder)
    takes ImageNet-normalized images (``preprocess.mean/std``) and re-maps them
    to the [-1, 1] range the ported weights were trained on. With
    ``transform_input=False`` feed [-1, 1] inputs yourself (``preprocess`` then
    says mean = std = 0.5).

    ``aux_logits`` defaults to False: torchvision's checkpoint carries auxiliary
    heads that were never trained. Ask for them to train from scratch.
    Its parameter count and MACs: ``models.records.RECORDS["googlenet"]``.
    """
    return GoogLeNet(GOOGLENET.replace(**changes))


@register_model
def googlenet_paper(**changes) -> GoogLeNet:
    """GoogLeNet exactly as Table 1 and Figure 3 of the 2014 paper (224 x 224 inputs).

    ``GoogLeNet(GOOGLENET_PAPER.replace(**changes))``. Real 5x5 branches, conv bias +
    ReLU (no BatchNorm), local response normalization after maxpool1 and after conv3,
    3x3/2 max pools, dropout 0.4 and, by default, the paper's two auxiliary classifiers
    (weight 0.3), which need 191-238 px inputs in training mode. Table 1's ops sum to
    1.5 G; its first row is printed low (see tests/test_models_googlenet.py).
    No published weights: train it yourself.
    """
    return GoogLeNet(GOOGLENET_PAPER.replace(**changes))


@register_model
def mini_googlenet(**changes) -> GoogLeNet:
    """A small GoogLeNet for 32-64 px images (lesson 02's CPU experiments).

    ``GoogLeNet(MINI_GOOGLENET.replace(**changes))``. Same Inception modules and the
    same Table 1 as :func:`googlenet_paper` (5x5 branches), with BatchNorm for fast
    training, a 3x3/1 first convolution instead of 7x7/2 + LRN, and every channel
    count times ``width_mult`` (rounded to a multiple of 8). A 48 x 48 image
    reaches inception3a at 12 x 12 and inception5b at 3 x 3.
    """
    return GoogLeNet(MINI_GOOGLENET.replace(**changes))


# ---------------------------------------------------------------------------
# torchvision weights
# ---------------------------------------------------------------------------
_TV_PREFIXES = ("conv1.", "conv2.", "conv3.", "fc.", "aux1.", "aux2.") + tuple(name + "." for name in GOOGLENET_TABLE1)


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
