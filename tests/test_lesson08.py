"""Lesson 08 (transfer learning and the family compared): the exercise checks accept the right answers in every
numeric spelling, reject the typical wrong ones with a hint that does not give the answer away, and never raise.
(The transfer API and its stored experiment: tests/test_transfer.py; the family table and widget: tests/test_family.py;
the ImageNet route: tests/test_imagenet.py.)"""
import math
import re

import numpy as np
import pytest
import torch

from course_utils.exercises import lesson08
from course_utils.exercises.core import verdict_of
from course_utils.experiments import load_result, metric, paired_difference
from course_utils.family import family_table


@pytest.fixture(scope="module")
def transfer():
    return load_result("transfer_learning")


@pytest.fixture(scope="module")
def rows():
    return family_table(latency=False)


def _gives_away(out: str, value: str) -> bool:
    return re.search(rf"(?<![\d.,]){re.escape(value)}(?![\d.,])", out) is not None


def test_head_params_check(capsys):
    right = 2048 * 37 + 37 + 768 * 37 + 37
    assert verdict_of(lesson08.check_head_params, None) is None
    for spelling in (right, float(right), np.int64(right), torch.tensor(right)):
        assert verdict_of(lesson08.check_head_params, spelling) is True
    capsys.readouterr()
    for wrong in (2048 * 37 + 37, 768 * 37 + 37, 2048 * 37 + 768 * 37, 2048 * 37, 2048 * 1000 + 1000 + 768 * 1000 + 1000,
                  1, -5, "lots", [right], torch.tensor([right, right]), math.nan):
        assert verdict_of(lesson08.check_head_params, wrong) is False, wrong
        out = capsys.readouterr().out
        assert "[not yet]" in out and not _gives_away(out, f"{right:,}") and not _gives_away(out, str(right))


def test_best_top1_per_gmac_check_accepts_the_name_or_the_label(rows, capsys):
    best = max((r for r in rows if r.imagenet_top1 is not None), key=lambda r: r.imagenet_top1 / r.gmacs)
    assert verdict_of(lesson08.check_best_top1_per_gmac, None, rows) is None
    for spelling in (best.name, best.name.upper(), f" '{best.name}' ", best.label):
        assert verdict_of(lesson08.check_best_top1_per_gmac, spelling, rows) is True, spelling
    capsys.readouterr()
    no_top1 = [r.name for r in rows if r.imagenet_top1 is None]
    most_accurate = max((r for r in rows if r.imagenet_top1 is not None), key=lambda r: r.imagenet_top1).name
    for wrong in [most_accurate, *no_top1, "inception_v3", "resnet50", 3, None.__class__]:
        assert verdict_of(lesson08.check_best_top1_per_gmac, wrong, rows) is False, wrong
        out = capsys.readouterr().out
        assert "[not yet]" in out
        if wrong in no_top1:
            assert "no top-1" in out
        if wrong == most_accurate:
            assert "per GMAC" in out


def test_paired_interval_check(transfer, capsys):
    d = paired_difference(metric(transfer, "fine-tune, 20/class", "test_acc"), metric(transfer, "scratch, 20/class", "test_acc"))
    right = 100 * d.low
    assert verdict_of(lesson08.check_paired_interval, None, transfer) is None
    for spelling in (right, round(right, 1), np.float32(right), torch.tensor(right)):
        assert verdict_of(lesson08.check_paired_interval, spelling, transfer) is True, spelling
    capsys.readouterr()
    for wrong, hint in ((d.low, "fraction"), (100 * d.high, "upper end"), (100 * d.mean, "mean difference"),
                        (-100 * d.high, "subtract scratch"), (right + 5, "paired_difference")):
        assert verdict_of(lesson08.check_paired_interval, wrong, transfer) is False, wrong
        out = capsys.readouterr().out
        assert hint in out and not _gives_away(out, f"{right:.1f}")


def test_checks_never_raise_on_broken_inputs(capsys):
    """A learner who passes the wrong object gets a message, not a traceback."""
    assert verdict_of(lesson08.check_paired_interval, -2.0, {"arms": {}}) is False
    assert verdict_of(lesson08.check_best_top1_per_gmac, "googlenet", None) is False
    assert "could not be checked" in capsys.readouterr().out
