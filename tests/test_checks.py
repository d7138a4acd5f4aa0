"""Tests of course_utils.checks, the shared argument checks behind every message a learner reads."""
from __future__ import annotations

import numpy as np
import pytest
import torch
from torch import nn

from course_utils.checks import (
    CourseError,
    CourseException,
    CourseTypeError,
    check_bool,
    check_choice,
    check_fraction,
    check_image_tensor,
    check_int,
    check_int_pair,
    check_kwargs,
    check_module,
    check_number,
    check_tensor,
    describe,
    did_you_mean,
)


def test_the_exception_types_keep_existing_except_clauses_working():
    assert issubclass(CourseError, ValueError) and issubclass(CourseError, CourseException)
    assert issubclass(CourseTypeError, TypeError) and issubclass(CourseTypeError, ValueError)


@pytest.mark.parametrize("value", [3, np.int64(3), np.int8(3), np.uint16(3)])
def test_any_integral_number_is_an_int(value):
    result = check_int(value, "n", minimum=1)
    assert result == 3 and type(result) is int


@pytest.mark.parametrize(
    "value, error, words",
    [
        (True, CourseTypeError, "n must be a positive whole number, got True."),
        (2.5, CourseTypeError, "got 2.5 (float)"),
        (3.0, CourseTypeError, "Write it as 3"),
        ("3", CourseTypeError, "without quotes"),
        (torch.tensor(3), CourseTypeError, ".item()"),
        (0, CourseError, "n must be a positive whole number, got 0."),
        (np.int64(0), CourseError, "got 0."),  # never "got np.int64(0)" after "must be an integer"
    ],
)
def test_check_int_says_what_is_allowed(value, error, words):
    with pytest.raises(error) as info:
        check_int(value, "n", minimum=1)
    assert words in str(info.value)


def test_ranges_and_finite_numbers():
    assert check_int(5, "k", minimum=1, maximum=10) == 5
    with pytest.raises(CourseError, match="k must be a whole number from 1 to 10, got 11"):
        check_int(11, "k", minimum=1, maximum=10)
    assert check_number(np.float32(0.5), "lr", minimum=0, min_inclusive=False) == 0.5
    for bad in (0, -1, float("inf"), float("nan")):
        with pytest.raises(CourseError, match="lr must be a positive number"):
            check_number(bad, "lr", minimum=0, min_inclusive=False)
    assert check_number(float("inf"), "x", finite=False) == float("inf")
    with pytest.raises(CourseError, match="fraction, not a percentage: write 0.95"):
        check_fraction(95, "accuracy")
    with pytest.raises(CourseError, match=r"\[0, 1\)"):
        check_fraction(1.0, "label_smoothing", allow_one=False)


def test_choices_suggest_the_closest_name():
    assert check_choice("sgd", "optimizer", ["sgd", "adamw"]) == "sgd"
    with pytest.raises(CourseError, match="Did you mean 'adamw'"):
        check_choice("Adam", "optimizer", ["sgd", "adamw"])
    with pytest.raises(CourseTypeError):
        check_choice(True, "x", [1, 2])  # True is not the choice 1
    assert did_you_mean("GoogLeNet", ["googlenet", "xception"]) == " Did you mean 'googlenet'?"
    assert did_you_mean("zzz", ["googlenet"]) == ""
    with pytest.raises(CourseTypeError, match="unknown keyword argument 'epoch'. Did you mean 'epochs'"):
        check_kwargs({"epoch": 3}, "fit", ["epochs", "lr"])


def test_bools_pairs_tensors_and_modules():
    assert check_bool(np.bool_(True), "flag") is True
    with pytest.raises(CourseTypeError, match="aux_logits must be True or False, got 'no'"):
        check_bool("no", "aux_logits")
    assert check_int_pair(np.int64(3), "kernel_size") == (3, 3)
    assert check_int_pair((3, np.int32(5)), "kernel_size") == (3, 5)
    with pytest.raises(CourseError, match=r"kernel_size\[1\] must be a positive whole number"):
        check_int_pair((3, 0), "kernel_size")
    with pytest.raises(CourseTypeError, match="torch.from_numpy"):
        check_tensor(np.zeros(3), "x")
    with pytest.raises(CourseTypeError, match=r"create_model\('mini_googlenet'\)"):
        check_module("mini_googlenet", "model")
    with pytest.raises(CourseTypeError, match=r"Conv2d\(\), not the class"):
        check_module(nn.Conv2d, "model")


@pytest.mark.parametrize(
    "x, words",
    [
        (torch.zeros(2, 3, 8, 8, dtype=torch.uint8), ".float() / 255"),
        (torch.zeros(2, 3, 8, 8, dtype=torch.bool), "x.float()"),
        (torch.zeros(2, 3, 8, 8, dtype=torch.float64), "convert it with x.float()"),
        (torch.zeros(2, 8, 8, 3), "x.permute(0, 3, 1, 2)"),
        (torch.zeros(8, 8, 3, dtype=torch.uint8), "x.permute(2, 0, 1).unsqueeze(0)"),
        (torch.zeros(3, 8, 8), "x.unsqueeze(0)"),
        (torch.zeros(2, 1, 8, 8), "in_chans=1"),
        (torch.zeros(2, 3, 4, 4), "at least 8x8"),
    ],
)
def test_image_layouts_get_the_fix_in_the_message(x, words):
    with pytest.raises(CourseError) as info:
        check_image_tensor(x, "x", channels=3, dtype=torch.float32, min_size=8, who="Net")
    assert words in str(info.value)


def test_describe_never_prints_a_whole_model():
    assert describe(nn.Sequential(*[nn.Linear(4, 4)] * 50)) == "a Sequential module"
    assert describe(torch.zeros(2, 3)) == "a tensor of shape (2, 3) and dtype torch.float32"
    assert describe(np.int64(3)) == "3 (int64)"
    assert describe("x" * 500).endswith("...") and len(describe("x" * 500)) <= 60
