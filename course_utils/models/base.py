"""The small surface every course model shares (lessons 02-08).

Modelled on timm's model API (``forward_features``, ``forward_head``,
``num_features``, ``reset_classifier``, ``feature_info``) so that one
feature-map or Grad-CAM helper works for every member of the family.

A family's model class takes its config (``models.config``) and, in ``__init__``:

* calls ``super().__init__(config)`` (sets ``config``, ``num_classes``,
  ``in_chans`` and ``preprocess``: input size, mean/std ...),
* builds its layers, then the head with ``self.build_head(channels)``
  (global average pooling, dropout, classifier),
* sets ``self.feature_info``: a list of :class:`FeatureInfo`, one per stage,

and implements ``forward_features(x)`` (image -> last feature map). Models
with auxiliary classifiers name them in ``aux_head_names``, say which inputs
they can train on in ``aux_input_sizes``, and override
``_forward_trunk(x, with_aux)`` to return the auxiliary logits too; ``forward``
then returns :class:`AuxOutputs` in training mode.
"""
from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from typing import TYPE_CHECKING, NamedTuple

from torch import Tensor, nn

from ..checks import CourseError, check_image_tensor

from ..checks import check_int

if TYPE_CHECKING:
    from .config import ModelConfig

IMAGENET_MEAN = (0.485, 0.456, 0.406)
IMAGENET_STD = (0.229, 0.224, 0.225)
# Google's Inception v3/v4/Inception-ResNet/Xception checkpoints scale inputs to [-1, 1].
INCEPTION_MEAN = (0.5, 0.5, 0.5)
INCEPTION_STD = (0.5, 0.5, 0.5)


class FeatureInfo(NamedTuple):
    """One stage of a network: where to find it and what comes out of it.

    ``module`` is the attribute path (usable with ``model.get_submodule``),
    ``num_chs`` the channels of its output and ``reduction`` how many input
    pixels one output pixel steps over (the cumulative stride).
    """

    module: str
    num_chs: int
    reduction: int


@dataclass(frozen=True)
class PreprocessConfig:
    """Preprocessing facts that belong next to a model (timm's pretrained_cfg)."""

    input_size: tuple[int, int, int] = (3, 224, 224)
    min_input_size: int = 32
    mean: tuple[float, float, float] = IMAGENET_MEAN
    std: tuple[float, float, float] = IMAGENET_STD
    interpolation: str = "bilinear"
    crop_pct: float = 0.875


def inception_preprocess(
    size: int = 299,
    min_input_size: int = 75,
    crop_pct: float = 0.875,
    interpolation: str = "bicubic",
) -> PreprocessConfig:
    """The preprocessing of Google's released Inception checkpoints (v3/v4, Inception-ResNet,
    Xception, as timm's ``pretrained_cfg`` records it): inputs scaled to [-1, 1]
    (mean = std = 0.5), bicubic resizing, a ``size`` x ``size`` centre crop."""
    return PreprocessConfig(
        input_size=(3, size, size),
        min_input_size=min_input_size,
        mean=INCEPTION_MEAN,
        std=INCEPTION_STD,
        interpolation=interpolation,
        crop_pct=crop_pct,
    )


#: The Inception-v4, Inception-ResNet and Xception minis: 48 px, [-1, 1] inputs, no crop.
MINI_INCEPTION_PREPROCESS = inception_preprocess(size=48, min_input_size=32, crop_pct=1.0, interpolation="bilinear")


class AuxOutputs(NamedTuple):
    """What a model with auxiliary classifiers returns in training mode.

    ``logits`` is the main head; ``aux`` holds one tensor per auxiliary head,
    ordered from the earliest tap to the latest. In eval mode these models
    return plain logits, as torchvision's do.
    """

    logits: Tensor
    aux: tuple[Tensor, ...]


class CourseModel(nn.Module):
    """Base class: the shared head, input checks and introspection."""

    num_classes: int
    num_features: int
    feature_info: list[FeatureInfo]
    preprocess: PreprocessConfig = PreprocessConfig()
    #: Weight of each auxiliary loss in the paper (GoogLeNet 0.3, Inception v3 0.4).
    aux_loss_weight: float = 0.0
    in_chans: int = 3
    #: (smallest, largest) input side on which the auxiliary heads can train; None: any size.
    aux_input_sizes: tuple[int, int] | None = None

    def __init__(self, config: "ModelConfig | None" = None) -> None:
        super().__init__()
        if config is not None:
            self.config = config
            self.num_classes = config.num_classes
            self.in_chans = config.in_chans
            self.preprocess = config.model_preprocess()
            # GoogLeNet and Inception v3 can take ImageNet-normalized inputs and re-map them
            # inside the model (torchvision's transform_input): preprocess then says ImageNet's.
            self.transform_input = getattr(config, "transform_input", False)
            if self.transform_input:
                self.preprocess = dataclasses.replace(self.preprocess, mean=IMAGENET_MEAN, std=IMAGENET_STD)

    def build_head(self, num_features: int) -> None:
        """The head every family shares: global average pooling, dropout (``config.drop_rate``), linear."""
        self.num_features = num_features
        self.global_pool = GlobalAvgPool()
        self.dropout = nn.Dropout(self.config.drop_rate)
        self.fc = nn.Linear(num_features, self.num_classes) if self.num_classes > 0 else nn.Identity()

    # -- input checks -----------------------------------------------------
    def check_input(self, x: Tensor) -> None:
        """Raise a ValueError (``checks.CourseError``), naming this model's requirement, for a bad
        input: not a tensor, no batch dimension, channels last, the wrong number of channels,
        integer pixels (as the dataset stores them), another dtype than the weights', too small."""
        name = type(self).__name__
        weight = next(self.parameters(), None)
        dtype = weight.dtype if weight is not None and weight.is_floating_point() else None
        check_image_tensor(x, "x", batched=True, channels=self.in_chans, dtype=dtype, who=name)
        min_size = self.preprocess.min_input_size
        if min(x.shape[-2:]) < min_size:
            raise CourseError(
                f"{name} needs inputs of at least {min_size}x{min_size} pixels, got "
                f"{x.shape[-2]}x{x.shape[-1]} (x has shape {tuple(x.shape)}); its usual input size is "
                f"{self.preprocess.input_size[1]}x{self.preprocess.input_size[2]}. "
                "Resize the image (torchvision.transforms.Resize) or use a mini_* model."
            )

    # -- the shared surface -------------------------------------------------
    def forward_features(self, x: Tensor) -> Tensor:
        """Image batch -> the last feature map.

        A model implements this, or, when it has auxiliary classifiers that tap the
        trunk part-way through, ``_forward_trunk`` (this then returns its feature map).
        """
        if type(self)._forward_trunk is CourseModel._forward_trunk:  # pragma: no cover - a subclass's mistake
            raise NotImplementedError(f"{type(self).__name__} implements neither forward_features nor _forward_trunk.")
        return self._forward_trunk(x, with_aux=False)[0]

    def forward_head(self, x: Tensor, pre_logits: bool = False) -> Tensor:
        """Feature map -> logits: global average pooling, dropout, classifier."""
        x = self.global_pool(x)  # N x num_features
        x = self.dropout(x)
        return x if pre_logits else self.fc(x)

    def _forward_trunk(self, x: Tensor, with_aux: bool) -> tuple[Tensor, list[Tensor]]:
        """The last feature map, and each auxiliary head's logits when ``with_aux``.

        Models with auxiliary classifiers override this (``forward_features`` then calls
        it with ``with_aux=False``); the heads tap the trunk part-way through.
        """
        return self.forward_features(x), []

    def check_aux_input(self, x: Tensor) -> None:
        """Raise ValueError when the auxiliary heads cannot train on ``x`` (see ``aux_input_sizes``)."""
        if self.aux_input_sizes is None:
            return
        low, high = self.aux_input_sizes
        if not (low <= min(x.shape[-2:]) and max(x.shape[-2:]) <= high):
            sizes = f"{low}x{low} to {high}x{high}" if high < 10**6 else f"at least {low}x{low}"
            raise ValueError(
                f"Training {type(self).__name__} with its auxiliary classifiers needs inputs of {sizes} "
                f"pixels (the heads' fixed pooling must meet their layers' sizes), got {x.shape[-2]}x{x.shape[-1]}. "
                "Resize the images, build the model with aux_logits=False, or call model.eval() for inference."
            )

    def forward(self, x: Tensor) -> Tensor | AuxOutputs:
        """Logits; in training mode with auxiliary heads, ``AuxOutputs(logits, aux_logits)``."""
        self.check_input(x)
        with_aux = self.training and bool(self.aux_heads())
        if with_aux:
            self.check_aux_input(x)  # before the forward pass, not deep inside a head
        try:
            features, aux = self._forward_trunk(x, with_aux)
        except ValueError as err:  # BatchNorm on a batch of one 1x1 map (Inception v3's auxiliary head)
            if not (with_aux and "more than 1 value per channel" in str(err)):
                raise
            raise CourseError(
                f"Training {type(self).__name__} with its auxiliary classifiers needs a batch of at least 2 "
                f"images (their BatchNorm layers average over the batch), got a batch of {x.shape[0]} (x has shape "
                f"{tuple(x.shape)}). Use "
                "batch_size >= 2 (and DataLoader(..., drop_last=True)), call model.eval() for inference, or "
                "build the model with aux_logits=False."
            ) from None
        logits = self.forward_head(features)
        # N x num_classes
        return AuxOutputs(logits, tuple(aux)) if with_aux else logits

    def get_classifier(self) -> nn.Module:
        return self.fc

    def reset_classifier(self, num_classes: int) -> None:
        """Replace the classifier (and any auxiliary classifiers) for ``num_classes``."""
        check_int(num_classes, "num_classes", minimum=0, hint="(0 removes the classifier.)")
        self.num_classes = num_classes
        if getattr(self, "config", None) is not None:  # the config keeps describing the model it built
            self.config = self.config.replace(num_classes=num_classes)
        self.fc = nn.Linear(self.num_features, num_classes) if num_classes > 0 else nn.Identity()
        for aux in self.aux_heads():
            aux.reset_classifier(num_classes)

    #: Attribute names of the auxiliary classifiers (None when built without them).
    aux_head_names: tuple[str, ...] = ()

    @property
    def aux_logits(self) -> bool:
        """Whether the model was built with its auxiliary classifiers."""
        return bool(self.aux_heads())

    def aux_heads(self) -> list[nn.Module]:
        """Auxiliary classifier modules (empty for models without them)."""
        return [head for name in self.aux_head_names if (head := getattr(self, name)) is not None]


class GlobalAvgPool(nn.Sequential):
    """Global average pooling followed by flatten: N x C x H x W -> N x C."""

    def __init__(self) -> None:
        super().__init__(nn.AdaptiveAvgPool2d(1), nn.Flatten(1))
