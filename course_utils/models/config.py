"""One way to build a model: a frozen config, a model class that reads it, presets.

Every family follows the same pattern (timm's ``model_args``, written down as a
dataclass):

* ``GoogLeNetConfig`` (a subclass of :class:`ModelConfig`) holds the paper's
  tables and every choice that tells one variant from another, each field
  documented where it is declared;
* ``GoogLeNet(config)`` builds the network from it;
* ``googlenet()``, ``googlenet_paper()``, ``mini_googlenet()`` are presets: a
  module-level config (``GOOGLENET`` ...) with any field changed by keyword,
  ``googlenet(num_classes=10)`` = ``GoogLeNet(GOOGLENET.replace(num_classes=10))``.

A config checks its fields when it is made, so a wrong value fails with a
message naming the field, what is allowed and what was given.
"""
from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from typing import Any, Sequence

from ..checks import CourseError, check_fraction, check_int, check_kwargs, check_number, is_int, is_number
from .base import PreprocessConfig


def scale_channels(channels: int, width_mult: float, divisor: int = 1) -> int:
    """``channels * width_mult`` rounded to the nearest multiple of ``divisor`` (at least ``divisor``).

    The course's one width rule, MobileNet's: round to the nearest multiple and
    never drop more than 10% below the exact product. ``width_mult=1`` returns
    ``channels`` unchanged, so a paper's table passes through untouched.
    ``divisor`` is part of each family's config: 8 for the GoogLeNet,
    BN-Inception and Inception-v3 minis (tensor-friendly widths), 1 (the nearest
    integer) for the Inception-v4, Inception-ResNet and Xception minis; the
    shipped checkpoints were trained with these widths.
    """
    if width_mult == 1.0 or channels == 0:  # 0: a branch the row does not have
        return channels
    exact = channels * width_mult
    rounded = max(divisor, int(exact + divisor / 2) // divisor * divisor)
    if rounded < 0.9 * exact:
        rounded += divisor
    return rounded


@dataclass(frozen=True)
class ModelConfig:
    """The fields every family's config shares (each family adds its tables and choices).

    Attributes:
        num_classes: classifier outputs (0 removes the classifier: features only).
        in_chans: input channels (3 for RGB).
        drop_rate: dropout before the classifier, a probability in [0, 1).
        width_mult: multiplies every channel count of the paper's tables (the minis use 0.25).
        channel_divisor: channel counts are rounded to multiples of it (:func:`scale_channels`).
        preprocess: input size, smallest input, mean/std, interpolation, crop (for ``in_chans`` 3).
    """

    num_classes: int = 1000
    in_chans: int = 3
    drop_rate: float = 0.0
    width_mult: float = 1.0
    channel_divisor: int = 1
    preprocess: PreprocessConfig = PreprocessConfig()

    def __post_init__(self) -> None:
        self.check()

    def check(self) -> None:
        """Raise CourseError (a ValueError) naming the first bad field; families extend it."""
        check_int(self.num_classes, "num_classes", minimum=0, hint="(0 removes the classifier.)")
        check_int(self.in_chans, "in_chans", minimum=1, hint="(3 for RGB images.)")
        check_fraction(self.drop_rate, "drop_rate", allow_one=False,
                       hint="(the fraction of features zeroed at random during training)")
        check_number(self.width_mult, "width_mult", minimum=0, maximum=4, min_inclusive=False,
                     hint="1.0 keeps the paper's widths, 0.25 makes a model about 16x cheaper.")
        check_int(self.channel_divisor, "channel_divisor", minimum=1)

    def replace(self, **changes: Any) -> "ModelConfig":
        """A copy with ``changes`` (checked); an unknown name lists the fields there are."""
        check_kwargs(changes, type(self).__name__, [f.name for f in dataclasses.fields(self)])
        return dataclasses.replace(self, **changes)

    def ch(self, channels: int) -> int:
        """A channel count of the paper's tables at this config's width (:func:`scale_channels`)."""
        return scale_channels(channels, self.width_mult, self.channel_divisor)

    def widths(self, row: Sequence) -> tuple:
        """:meth:`ch` applied to every channel count of a table row (nested tuples too; None stays None)."""
        return tuple(self.widths(c) if isinstance(c, (tuple, list)) else (None if c is None else self.ch(c))
                     for c in row)

    def model_preprocess(self) -> PreprocessConfig:
        """``preprocess`` with ``in_chans`` input channels."""
        return dataclasses.replace(self.preprocess, input_size=(self.in_chans, *self.preprocess.input_size[1:]))


def check_repeats(repeats: Sequence[int], n: int, what: str) -> None:
    """CourseError unless ``repeats`` holds ``n`` positive integers (``what`` names the stages)."""
    values = tuple(repeats) if isinstance(repeats, (tuple, list)) else ()
    if len(values) != n or any(not is_int(r) or r < 1 for r in values):
        raise CourseError(f"repeats must be {n} positive integers ({what}), got {repeats!r}.")


def check_scales(scales: Sequence[float], what: str) -> None:
    """CourseError unless ``scales`` holds 3 positive numbers (residual scaling, Inception-ResNet)."""
    values = tuple(scales) if isinstance(scales, (tuple, list)) else ()
    if len(values) != 3 or any(not is_number(s) or s <= 0 for s in values):
        raise CourseError(
            f"scales must be 3 positive numbers, the residual scaling of the {what} blocks "
            f"(the paper uses 0.1-0.3; 1.0 means no scaling), got {scales!r}."
        )


def table_field(table: Any) -> Any:
    """A config field whose default is one of the paper's (read-only) tables."""
    return dataclasses.field(default_factory=lambda: table)
