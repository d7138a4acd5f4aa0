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
caption). Its parameter count agrees with the paper's Table 3 (``models.records``).

Weight compatible with timm's ``legacy_xception`` (the Keras checkpoint, ported to
PyTorch by Cadene); see :func:`timm_to_course`. Block numbering (``block1`` ...
``block12``) is timm's. The port keeps PyTorch's default batch-norm epsilon (1e-5)
where Keras used 1e-3; we keep 1e-5 so the ported weights give the same logits.
"""
from __future__ import annotations

from collections import OrderedDict
from dataclasses import dataclass

from torch import Tensor, nn

from ..checks import check_bool, check_int
from .base import MINI_INCEPTION_PREPROCESS, CourseModel, FeatureInfo, inception_preprocess
from .blocks import BasicConv2d, SeparableConvBN
from .config import ModelConfig
from .registry import WeightSource, register_model, register_weights

__all__ = [
    "MINI_XCEPTION",
    "XCEPTION",
    "Xception",
    "XceptionBlock",
    "XceptionConfig",
    "xception",
    "mini_xception",
]

BN_EPS = 1e-5  # see the module docstring

# Figure 5, one row per residual block: (out channels, separable convs, stride, grow_first)
ENTRY_FLOW = ((128, 2, 2, True), (256, 2, 2, True), (728, 2, 2, True))
MIDDLE_FLOW = (728, 3, 8)  # channels, separable convs per block, blocks ("repeated 8 times")
EXIT_FLOW_BLOCK = (1024, 2, 2, False)  # SeparableConv 728 then 1024: the block grows last
EXIT_FLOW_CONVS = (1536, 2048)


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
            rep[f"sepconv{i + 1}"] = SeparableConvBN(widths[i], widths[i + 1], eps=BN_EPS)
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


@dataclass(frozen=True)
class XceptionConfig(ModelConfig):
    """Everything :class:`Xception` is built from (the shared fields: :class:`~.config.ModelConfig`).

    Attributes:
        stem_channels: the entry flow's two plain convolutions (32, 64).
        entry_flow: one row per residual block: (out channels, separable convs, stride, grow_first).
        middle_flow: (channels, separable convs per block) of the repeated middle-flow block.
        middle_blocks: how many middle-flow blocks (Figure 5: "repeated 8 times").
        exit_flow_block: the exit flow's residual block, as an entry-flow row.
        exit_flow_convs: the two separable convs that end the exit flow (1536, 2048).
        same_padded_stem: same-padded stem convs (the minis: 48 px -> 24); the paper's are
            valid-padded (299 -> 147).
    """

    stem_channels: tuple[int, int] = (32, 64)
    entry_flow: tuple = ENTRY_FLOW
    middle_flow: tuple[int, int] = MIDDLE_FLOW[:2]
    middle_blocks: int = MIDDLE_FLOW[2]
    exit_flow_block: tuple = EXIT_FLOW_BLOCK
    exit_flow_convs: tuple[int, int] = EXIT_FLOW_CONVS
    same_padded_stem: bool = False

    def check(self) -> None:
        super().check()
        check_int(self.middle_blocks, "middle_blocks", minimum=0,
                  hint="(the number of middle-flow blocks; the paper repeats 8)")
        check_bool(self.same_padded_stem, "same_padded_stem")


class Xception(CourseModel):
    """Xception, Figure 5, built from an :class:`XceptionConfig` (presets :func:`xception`, :func:`mini_xception`)."""

    def __init__(self, config: XceptionConfig = None) -> None:
        config = XCEPTION if config is None else config
        super().__init__(config)
        c1, c2 = config.widths(config.stem_channels)
        pad = 1 if config.same_padded_stem else 0
        # Entry flow: two plain convolutions, then residual blocks that each halve the grid.
        entry = OrderedDict(
            conv1=BasicConv2d(config.in_chans, c1, 3, stride=2, padding=pad, eps=BN_EPS),
            conv2=BasicConv2d(c1, c2, 3, padding=pad, eps=BN_EPS),
        )
        channels = c2
        for i, (out, reps, stride, grow_first) in enumerate(config.entry_flow):
            entry[f"block{i + 1}"] = XceptionBlock(
                channels, config.ch(out), reps, stride, start_with_relu=i > 0, grow_first=grow_first
            )
            channels = config.ch(out)
        self.entry_flow = nn.Sequential(entry)

        # Middle flow: the same 728-channel block repeated; the grid stays 19 x 19.
        middle_out, middle_reps = config.ch(config.middle_flow[0]), config.middle_flow[1]
        first = len(config.entry_flow) + 1
        self.middle_flow = nn.Sequential(OrderedDict(
            (f"block{first + i}", XceptionBlock(channels, middle_out, middle_reps)) for i in range(config.middle_blocks)
        ))
        channels = middle_out if config.middle_blocks else channels
        middle_channels = channels

        # Exit flow: one last strided block, then two separable convs followed by ReLU.
        out, reps, stride, grow_first = config.exit_flow_block
        exit_layers = OrderedDict()
        exit_layers[f"block{first + config.middle_blocks}"] = XceptionBlock(
            channels, config.ch(out), reps, stride, grow_first=grow_first
        )
        channels = config.ch(out)
        for j, conv_out in enumerate(config.widths(config.exit_flow_convs)):
            exit_layers[f"conv{3 + j}"] = SeparableConvBN(channels, conv_out, activate=True, eps=BN_EPS)
            channels = conv_out
        self.exit_flow = nn.Sequential(exit_layers)
        self.build_head(channels)

        # Reductions: conv1 (2), then each strided block; the middle flow keeps the grid.
        self.feature_info = [
            FeatureInfo("entry_flow.conv2", c2, 2),
            FeatureInfo("entry_flow.block1", self.entry_flow.block1.out_channels, 4),
            FeatureInfo("entry_flow.block2", self.entry_flow.block2.out_channels, 8),
            FeatureInfo("middle_flow" if config.middle_blocks else "entry_flow", middle_channels, 16),
            FeatureInfo("exit_flow", channels, 32),
        ]

    def forward_features(self, x: Tensor) -> Tensor:
        # N x 3 x 299 x 299
        x = self.entry_flow(x)  # N x 728 x 19 x 19 (conv1 149, conv2 147, blocks 74, 37, 19)
        x = self.middle_flow(x)  # N x 728 x 19 x 19
        return self.exit_flow(x)  # N x 2048 x 10 x 10


#: The paper's network: 299 px inputs, at least 71 x 71 (the smallest size Keras accepts);
#: dropout 0.5 (Section 4.3).
XCEPTION = XceptionConfig(drop_rate=0.5, preprocess=inception_preprocess(min_input_size=71, crop_pct=0.8975))
#: 32-64 px images: same-padded stem, widths x 0.25, two middle-flow blocks.
MINI_XCEPTION = XceptionConfig(
    num_classes=10, width_mult=0.25, middle_blocks=2, same_padded_stem=True, preprocess=MINI_INCEPTION_PREPROCESS,
)


@register_model
def xception(**changes) -> Xception:
    """Xception as in the paper (Figure 5), 299 x 299 inputs: ``Xception(XCEPTION.replace(**changes))``.

    Inputs must be at least 71 x 71 pixels. ``create_model("xception", pretrained=True)``
    loads timm's ``legacy_xception.tf_in1k``.
    """
    return Xception(XCEPTION.replace(**changes))


@register_model
def mini_xception(**changes) -> Xception:
    """A small Xception for 32-64 px images (default 48 x 48), built from the same blocks.

    ``Xception(MINI_XCEPTION.replace(**changes))``. Differences from :func:`xception`:
    same-padded stem convolutions (48 px -> 24, not a valid-padded 299 -> 147), every
    channel count times ``width_mult`` and ``middle_blocks`` middle-flow blocks instead of 8.
    """
    return Xception(MINI_XCEPTION.replace(**changes))


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
