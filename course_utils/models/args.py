"""Argument checks and channel scaling shared by the builders of every family.

Each check raises a ValueError (``checks.CourseError``; a ``CourseTypeError`` for the
wrong kind of value) naming the argument, what it must be and what it got, so that
``create_model("mini_googlenet", width_mult=0)`` says what to do instead of failing
deep inside a conv layer. They are thin wrappers of the shared checks in
``course_utils.checks``: any integral number counts as an integer (numpy's too),
bools do not. The checks return the value (as the type the builders use) so a
builder can validate and assign in one line.
"""
from __future__ import annotations

from typing import Any, Sequence

from ..checks import CourseError, check_bool, check_int, check_number, describe, is_int, is_number

# kept for the builders that test values directly
_is_number = is_number
_is_int = is_int


def check_num_classes(num_classes: int) -> int:
    """A whole number >= 0 (0: no classifier), as a Python int."""
    return check_int(num_classes, "num_classes", minimum=0, hint="0 removes the classifier.")


def check_in_chans(in_chans: int) -> int:
    """A whole number >= 1, as a Python int."""
    return check_int(in_chans, "in_chans", minimum=1, hint="Use 3 for RGB images, 1 for grayscale.")


def check_dropout(p: float, name: str = "dropout") -> float:
    """A probability in [0, 1)."""
    return check_number(
        p, name, minimum=0, maximum=1, max_inclusive=False,
        hint="It is the fraction of features zeroed at random during training.",
    )


def check_flag(value: bool, name: str) -> bool:
    """True or False (catches ``aux_logits="no"`` and friends)."""
    return check_bool(value, name)


def check_width_mult(width_mult: float) -> float:
    """A number in (0, 4]."""
    return check_number(
        width_mult, "width_mult", minimum=0, min_inclusive=False, maximum=4,
        hint="width_mult scales every channel count: 1.0 keeps the paper's widths, 0.25 makes a model "
        "about 16x cheaper.",
    )


def check_repeats(repeats: Sequence[int], n: int, what: str) -> tuple[int, ...]:
    """``repeats`` as a tuple of ``n`` positive integers (``what`` names the stages)."""
    try:
        values = tuple(repeats)
    except TypeError:
        values = ()
    if len(values) != n or any(not is_int(r) or r < 1 for r in values):
        raise CourseError(f"repeats must be {n} whole numbers of at least 1 ({what}), got {describe(repeats)}.")
    return tuple(int(r) for r in values)


def check_common_args(num_classes: int, in_chans: int, drop_rate: float) -> None:
    """The arguments every Inception-v4/-ResNet/Xception builder takes."""
    check_num_classes(num_classes)
    check_in_chans(in_chans)
    check_dropout(drop_rate, "drop_rate")


def scale_channels(channels: int, width_mult: float, divisor: int = 8) -> int:
    """``channels * width_mult`` rounded to a multiple of ``divisor`` (at least ``divisor``).

    The rule of MobileNet's width multiplier: round to the nearest multiple and
    never drop more than 10% below the exact product. ``width_mult=1`` returns
    ``channels`` unchanged, so a full-size table passes through untouched.
    """
    if width_mult == 1.0:
        return channels
    exact = channels * width_mult
    rounded = max(divisor, int(exact + divisor / 2) // divisor * divisor)
    if rounded < 0.9 * exact:
        rounded += divisor
    return rounded


def scale_width(channels: int, width_mult: float) -> int:
    """``channels * width_mult`` rounded to the nearest integer, at least 1 (Inception-v4,
    Inception-ResNet and Xception minis; GoogLeNet's family uses :func:`scale_channels`)."""
    return max(1, int(channels * width_mult + 0.5))


def scale_table(table: dict, width_mult: float) -> dict:
    """:func:`scale_width` applied to every channel count in a block table."""

    def scale(c):
        if isinstance(c, (tuple, list)):
            return tuple(scale(v) for v in c)
        return scale_width(c, width_mult)

    return {key: scale(value) for key, value in table.items()}
