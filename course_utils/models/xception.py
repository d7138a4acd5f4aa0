"""Xception (lesson 06): Inception taken to the extreme, with depthwise separable convolutions.

Chollet (2017), "Xception: Deep Learning with Depthwise Separable Convolutions",
https://arxiv.org/abs/1610.02357.

An Inception module splits the channels into a few segments (its branches) and maps
spatial correlations in each; Xception's hypothesis is that one can go to the extreme of
one segment per channel: a *depthwise* convolution (one 3x3 filter per channel) followed
by a *pointwise* 1x1 convolution that mixes channels. The network is the paper's Figure 5:

=============  ============================================================  ===============
flow           layers                                                        attribute
=============  ============================================================  ===============
entry flow     conv 32 /2, conv 64, 3 residual blocks to 128, 256, 728 (/2)  ``entry_flow``
middle flow    8 x residual block of 3 separable convs, 728 channels         ``middle_flow``
exit flow      residual block to 1024 (/2), sep conv 1536, sep conv 2048     ``exit_flow``
=============  ============================================================  ===============

then global average pooling, dropout 0.5 (Section 4.3) and the classifier. Every
convolution and separable convolution is followed by batch normalization (Figure 5's
caption). Params: 22,855,952, as in the paper's Table 3.

Weight compatible with timm's ``legacy_xception`` (the Keras checkpoint, ported to
PyTorch by Cadene); see :func:`timm_to_course`. Block numbering (``block1`` ...
``block12``) is timm's. The port keeps PyTorch's default batch-norm epsilon (1e-5)
where Keras used 1e-3; we keep 1e-5 so the ported weights give the same logits.
"""
from __future__ import annotations

from collections import OrderedDict

from torch import Tensor, nn

from .base import CourseModel, FeatureInfo, GlobalAvgPool, PreprocessConfig, inception_preprocess
from .blocks import BasicConv2d
from .args import check_common_args, check_width_mult, scale_width
from .inception_v4 import _mini_preprocess
from .registry import WeightSource, register_model, register_weights

__all__ = [
    "Xception",
    "SeparableConv2d",
    "SeparableConvBN",
    "XceptionBlock",
    "xception",
    "mini_xception",
]

BN_EPS = 1e-5  # see the module docstring

# Figure 5, one row per residual block: (out channels, separable convs, stride, grow_first)
ENTRY_FLOW = ((128, 2, 2, True), (256, 2, 2, True), (728, 2, 2, True))
MIDDLE_FLOW = (728, 3, 8)  # channels, separable convs per block, blocks ("repeated 8 times")
EXIT_FLOW_BLOCK = (1024, 2, 2, False)  # SeparableConv 728 then 1024: the block grows last
EXIT_FLOW_CONVS = (1536, 2048)


class SeparableConv2d(nn.Module):
    """Depthwise separable convolution: a depthwise k x k conv, then a pointwise 1x1 conv.

    ``depthwise`` has ``groups=in_channels``: each channel gets its own k x k filter, no
    channel mixing (depth multiplier 1, as every SeparableConv of Figure 5).
    ``pointwise`` is a 1x1 conv that mixes the channels. There is deliberately **no
    nonlinearity between the two**: Section 4.7 / Figure 10 of the paper show that an
    intermediate ReLU or ELU makes Xception converge slower and to a worse accuracy
    (unlike Inception modules, whose 1x1 outputs are followed by ReLU).

    Cost per output pixel: ``C_in * k * k + C_in * C_out`` multiply-adds instead of
    ``C_in * k * k * C_out`` for a regular convolution (lesson 06).
    """

    def __init__(self, in_channels: int, out_channels: int, kernel_size: int = 3, stride: int = 1, padding: int = 1):
        super().__init__()
        self.depthwise = nn.Conv2d(
            in_channels, in_channels, kernel_size, stride=stride, padding=padding, groups=in_channels, bias=False
        )
        self.pointwise = nn.Conv2d(in_channels, out_channels, 1, bias=False)

    def forward(self, x: Tensor) -> Tensor:
        x = self.depthwise(x)  # N x C_in x H x W: spatial filtering, channel by channel
        # (no ReLU here: the paper's ablation, Figure 10)
        return self.pointwise(x)  # N x C_out x H x W: channel mixing


class SeparableConvBN(nn.Module):
    """Separable conv -> batch norm (-> ReLU when ``activate``); ``conv`` and ``bn`` as BasicConv2d.

    Inside the residual blocks the ReLU comes *before* each separable conv (Figure 5 draws
    "ReLU, SeparableConv"), so those use ``activate=False`` after a separate ReLU; the exit
    flow's last two ("SeparableConv, ReLU") use ``activate=True``.
    """

    def __init__(self, in_channels: int, out_channels: int, activate: bool = False) -> None:
        super().__init__()
        self.conv = SeparableConv2d(in_channels, out_channels)
        self.bn = nn.BatchNorm2d(out_channels, eps=BN_EPS)
        self.relu = nn.ReLU(inplace=True) if activate else nn.Identity()

    def forward(self, x: Tensor) -> Tensor:
        return self.relu(self.bn(self.conv(x)))


class _ConvBN(nn.Module):
    """1x1 strided conv -> batch norm: the projection shortcut of the strided blocks."""

    def __init__(self, in_channels: int, out_channels: int, stride: int) -> None:
        super().__init__()
        self.conv = nn.Conv2d(in_channels, out_channels, 1, stride=stride, bias=False)
        self.bn = nn.BatchNorm2d(out_channels, eps=BN_EPS)

    def forward(self, x: Tensor) -> Tensor:
        return self.bn(self.conv(x))


class XceptionBlock(nn.Module):
    """One residual block of Figure 5: (ReLU, SeparableConv, BN) x ``reps`` [+ max pool] + shortcut.

    Args:
        in_channels, out_channels: widths; the block changes width in its first separable
            conv (``grow_first``, entry and middle flow) or in its last (the exit flow's
            block: 728 -> 728 -> 1024).
        reps: number of separable convolutions (2 in entry/exit flow, 3 in the middle flow).
        stride: 2 ends the block with a 3x3/2 max pool and gives the shortcut a strided
            1x1 conv + BN ("Conv 1x1, stride 2x2" in Figure 5); 1 keeps the identity shortcut.
        start_with_relu: False for the first block, whose input has just been through ReLU.
    """

    def __init__(
        self,
        in_channels: int,
        out_channels: int,
        reps: int,
        stride: int = 1,
        start_with_relu: bool = True,
        grow_first: bool = True,
    ) -> None:
        super().__init__()
        widths = [in_channels]
        for i in range(reps):
            grow_here = i == 0 if grow_first else i == reps - 1
            widths.append(out_channels if grow_here else widths[-1])
        rep = OrderedDict()
        for i in range(reps):
            if i > 0 or start_with_relu:
                # The block's first ReLU must not be in place: the shortcut still needs its input.
                rep[f"relu{i + 1}"] = nn.ReLU(inplace=i > 0)
            rep[f"sepconv{i + 1}"] = SeparableConvBN(widths[i], widths[i + 1])
        if stride != 1:
            rep["maxpool"] = nn.MaxPool2d(3, stride, padding=1)
        self.rep = nn.Sequential(rep)
        if stride != 1 or in_channels != out_channels:
            self.skip = _ConvBN(in_channels, out_channels, stride)
        else:
            self.skip = nn.Identity()
        self.out_channels = out_channels

    def forward(self, x: Tensor) -> Tensor:
        # entry-flow block 1 at 299: N x 64 x 147 x 147 in
        residual = self.rep(x)  # N x 128 x 74 x 74
        shortcut = self.skip(x)  # N x 128 x 74 x 74
        # No ReLU after the sum: the next block starts with one (pre-activation order).
        return residual + shortcut


class Xception(CourseModel):
    """Xception, Figure 5. Build it with :func:`xception` or :func:`mini_xception`."""

    def __init__(
        self,
        widths: dict,
        middle_blocks: int,
        stem_padding: int,
        num_classes: int,
        drop_rate: float,
        preprocess: PreprocessConfig,
        in_chans: int = 3,
    ) -> None:
        super().__init__()
        self.in_chans = in_chans
        self.preprocess = preprocess
        c1, c2 = widths["stem"]
        # Entry flow: two plain convolutions, then residual blocks that each halve the grid.
        # The paper's stem convs are valid-padded (stem_padding=0); the mini's are same-padded.
        entry = OrderedDict(
            conv1=BasicConv2d(in_chans, c1, 3, stride=2, padding=stem_padding, eps=BN_EPS),
            conv2=BasicConv2d(c1, c2, 3, padding=stem_padding, eps=BN_EPS),
        )
        channels = c2
        entry_channels = []
        for i, (out, reps, stride, grow_first) in enumerate(widths["entry"]):
            entry[f"block{i + 1}"] = XceptionBlock(
                channels, out, reps, stride, start_with_relu=i > 0, grow_first=grow_first
            )
            channels = out
            entry_channels.append(out)
        self.entry_flow = nn.Sequential(entry)

        # Middle flow: the same 728-channel block repeated; the grid stays 19 x 19.
        middle_out, middle_reps = widths["middle"]
        first = len(widths["entry"]) + 1
        self.middle_flow = nn.Sequential(
            OrderedDict(
                (f"block{first + i}", XceptionBlock(channels, middle_out, middle_reps)) for i in range(middle_blocks)
            )
        )
        channels = middle_out if middle_blocks else channels
        middle_channels = channels

        # Exit flow: one last strided block, then two separable convs followed by ReLU.
        out, reps, stride, grow_first = widths["exit_block"]
        exit_layers = OrderedDict()
        exit_layers[f"block{first + middle_blocks}"] = XceptionBlock(channels, out, reps, stride, grow_first=grow_first)
        channels = out
        for j, conv_out in enumerate(widths["exit_convs"]):
            exit_layers[f"conv{3 + j}"] = SeparableConvBN(channels, conv_out, activate=True)
            channels = conv_out
        self.exit_flow = nn.Sequential(exit_layers)

        self.num_features = channels
        self.num_classes = num_classes
        self.global_pool = GlobalAvgPool()
        self.dropout = nn.Dropout(drop_rate)
        self.fc = nn.Linear(channels, num_classes) if num_classes > 0 else nn.Identity()
        # Reductions: conv1 (2), then each strided block; the middle flow keeps the grid.
        self.feature_info = [
            FeatureInfo("entry_flow.conv2", c2, 2),
            FeatureInfo("entry_flow.block1", entry_channels[0], 4),
            FeatureInfo("entry_flow.block2", entry_channels[1], 8),
            FeatureInfo("middle_flow" if middle_blocks else "entry_flow", middle_channels, 16),
            FeatureInfo("exit_flow", channels, 32),
        ]

    def forward_features(self, x: Tensor) -> Tensor:
        # N x 3 x 299 x 299
        x = self.entry_flow(x)  # N x 728 x 19 x 19 (conv1 149, conv2 147, blocks 74, 37, 19)
        x = self.middle_flow(x)  # N x 728 x 19 x 19
        return self.exit_flow(x)  # N x 2048 x 10 x 10


def _widths(width_mult: float = 1.0) -> dict:
    def c(n: int) -> int:
        return scale_width(n, width_mult)

    return dict(
        stem=(c(32), c(64)),
        entry=tuple((c(out), reps, stride, grow) for out, reps, stride, grow in ENTRY_FLOW),
        middle=(c(MIDDLE_FLOW[0]), MIDDLE_FLOW[1]),
        exit_block=(c(EXIT_FLOW_BLOCK[0]),) + EXIT_FLOW_BLOCK[1:],
        exit_convs=tuple(c(n) for n in EXIT_FLOW_CONVS),
    )


@register_model
def xception(num_classes: int = 1000, in_chans: int = 3, drop_rate: float = 0.5) -> Xception:
    """Xception as in the paper (Figure 5): 22.9 M parameters, 8.4 GMACs at 299 x 299.

    Args:
        num_classes: classifier outputs (0 removes the classifier).
        in_chans: input channels.
        drop_rate: dropout before the classifier (paper, Section 4.3: 0.5 on ImageNet).

    Inputs must be at least 71 x 71 pixels (the smallest size Keras accepts for Xception).
    ``create_model("xception", pretrained=True)`` loads timm's ``legacy_xception.tf_in1k``.
    """
    check_common_args(num_classes, in_chans, drop_rate)
    return Xception(
        _widths(),
        middle_blocks=MIDDLE_FLOW[2],
        stem_padding=0,
        num_classes=num_classes,
        drop_rate=drop_rate,
        preprocess=inception_preprocess(in_chans, min_input_size=71, crop_pct=0.8975),
        in_chans=in_chans,
    )


@register_model
def mini_xception(
    num_classes: int = 10,
    in_chans: int = 3,
    width_mult: float = 0.25,
    middle_blocks: int = 2,
    drop_rate: float = 0.0,
) -> Xception:
    """A small Xception for 32-64 px images (default 48 x 48), built from the same blocks.

    Differences from :func:`xception`: same-padded stem convolutions (48 px -> 24, not a
    valid-padded 299 -> 147), every channel count times ``width_mult`` and
    ``middle_blocks`` middle-flow blocks instead of 8.
    """
    check_common_args(num_classes, in_chans, drop_rate)
    check_width_mult(width_mult)
    if not isinstance(middle_blocks, int) or isinstance(middle_blocks, bool) or middle_blocks < 0:
        raise ValueError(
            f"middle_blocks is the number of middle-flow blocks (the paper repeats 8) and must be a "
            f"non-negative integer, got {middle_blocks!r}."
        )
    return Xception(
        _widths(width_mult),
        middle_blocks=middle_blocks,
        stem_padding=1,
        num_classes=num_classes,
        drop_rate=drop_rate,
        preprocess=_mini_preprocess(in_chans),
        in_chans=in_chans,
    )


# --- timm weights -----------------------------------------------------------------------
def _timm_block_path(block: int) -> str:
    n_entry, n_middle = len(ENTRY_FLOW), MIDDLE_FLOW[2]
    if block <= n_entry:
        return f"entry_flow.block{block}"
    if block <= n_entry + n_middle:
        return f"middle_flow.block{block}"
    return f"exit_flow.block{block}"


def timm_to_course(state_dict: dict) -> dict:
    """timm ``legacy_xception`` state dict -> ours.

    timm keeps each block's layers in one flat list ``rep`` of (ReLU, SeparableConv2d,
    BatchNorm2d) triples (block 1 lacks the first ReLU), calls the depthwise conv
    ``conv1`` and the shortcut ``skip`` / ``skipbn``; the stem and exit convs are
    top-level ``conv1``/``bn1`` ... ``conv4``/``bn4``. We name them per Figure 5.
    """
    converted = OrderedDict()
    stem_and_exit = {
        "conv1": "entry_flow.conv1.conv",
        "bn1": "entry_flow.conv1.bn",
        "conv2": "entry_flow.conv2.conv",
        "bn2": "entry_flow.conv2.bn",
        "conv3": "exit_flow.conv3.conv",
        "bn3": "exit_flow.conv3.bn",
        "conv4": "exit_flow.conv4.conv",
        "bn4": "exit_flow.conv4.bn",
        "fc": "fc",
    }
    for key, value in state_dict.items():
        parts = key.split(".")
        if parts[0] in stem_and_exit:
            new = stem_and_exit[parts[0]]
            rest = parts[1:]
            if rest[0] == "conv1":  # exit-flow separable conv: depthwise is timm's conv1
                rest = ["depthwise"] + rest[1:]
            key = ".".join([new, *rest])
        elif parts[0].startswith("block"):
            block = int(parts[0][len("block"):])
            path = _timm_block_path(block)
            if parts[1] == "skip":
                key = f"{path}.skip.conv.{parts[2]}"
            elif parts[1] == "skipbn":
                key = f"{path}.skip.bn.{parts[2]}"
            else:  # rep.<index>[.conv1|.pointwise].<param>
                index = int(parts[2]) + (1 if block == 1 else 0)  # block 1 has no leading ReLU
                sep = index // 3 + 1
                if index % 3 == 1:  # SeparableConv2d
                    sub = "depthwise" if parts[3] == "conv1" else "pointwise"
                    key = f"{path}.rep.sepconv{sep}.conv.{sub}.{parts[4]}"
                else:  # BatchNorm2d
                    key = f"{path}.rep.sepconv{sep}.bn.{parts[3]}"
        converted[key] = value
    return converted


register_weights(
    "xception",
    WeightSource(library="timm", model_name="legacy_xception", weights="tf_in1k", convert=timm_to_course),
)
