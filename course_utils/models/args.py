"""Argument checks and channel scaling shared by the builders of every family.

Each check raises ValueError naming the argument, what it must be and what it
got, so that ``create_model("mini_googlenet", width_mult=0)`` says what to do
instead of failing deep inside a conv layer. The checks return the value (as
the type the builders use) so a builder can validate and assign in one line.
"""
from __future__ import annotations

from typing import Any, Sequence


def _is_number(value: Any) -> bool:
    return isinstance(value, (int, float)) and not isinstance(value, bool)


def _is_int(value: Any) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


def check_num_classes(num_classes: int) -> int:
    """ValueError unless ``num_classes`` is a non-negative integer (0: no classifier)."""
    if not _is_int(num_classes) or num_classes < 0:
        raise ValueError(
            f"num_classes must be a non-negative integer (0 removes the classifier), got {num_classes!r}."
        )
    return num_classes


def check_in_chans(in_chans: int) -> int:
    """ValueError unless ``in_chans`` is a positive integer."""
    if not _is_int(in_chans) or in_chans < 1:
        raise ValueError(f"in_chans must be a positive integer (3 for RGB images), got {in_chans!r}.")
    return in_chans


def check_dropout(p: float, name: str = "dropout") -> float:
    """ValueError unless ``p`` is a probability in [0, 1)."""
    if not _is_number(p) or not 0 <= p < 1:
        raise ValueError(
            f"{name} must be a probability in [0, 1) (the fraction of features zeroed at random "
            f"during training), got {p!r}."
        )
    return float(p)


def check_flag(value: bool, name: str) -> bool:
    """ValueError unless ``value`` is a bool (catches ``aux_logits="no"`` and friends)."""
    if not isinstance(value, bool):
        raise ValueError(f"{name} must be True or False, got {value!r}.")
    return value


def check_width_mult(width_mult: float) -> float:
    """ValueError unless ``width_mult`` is a number in (0, 4]."""
    if not _is_number(width_mult) or not 0 < width_mult <= 4:
        raise ValueError(
            f"width_mult scales every channel count and must be a number in (0, 4], got {width_mult!r}; "
            "1.0 keeps the paper's widths, 0.25 makes a model about 16x cheaper."
        )
    return float(width_mult)


def check_repeats(repeats: Sequence[int], n: int, what: str) -> tuple[int, ...]:
    """``repeats`` as a tuple of ``n`` positive integers (``what`` names the stages)."""
    try:
        values = tuple(repeats)
    except TypeError:
        values = ()
    if len(values) != n or any(not _is_int(r) or r < 1 for r in values):
        raise ValueError(f"repeats must be {n} positive integers ({what}), got {repeats!r}.")
    return values


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
